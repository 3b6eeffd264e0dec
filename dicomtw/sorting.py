"""
Study subdirectories (``-ss``, ``-su``, ``-sp``): their names, and the
"current study" the reference keeps for the whole process (behaviour
reference §8 and Appendix C).

Pure: the caller creates the directories.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from dicomtw.naming import sanitise_uid

CONCURRENT = "sort-conc-studies"
STUDY_UID = "sort-on-study-uid"
PATIENT_NAME = "sort-on-patientname"

# Appendix C: Latin-1 letters 0xC0-0xFF and their ASCII stand-ins; "_"
# where there is none.
_LATIN1 = (
    "A A A A Ae A A C E E E E I I I I "
    "D N O O O O Oe _ O U U U Ue Y _ ss "
    "a a a a ae a a c e e e e i i i i "
    "d n o o o o oe _ o u u u ue y _ y"
).split()


def transliterate(raw: bytes) -> str:
    """
    A patient name as a directory name, byte by byte (Appendix C): ASCII
    letters and digits kept, Latin-1 letters approximated, anything else
    ``_``.
    """
    out = []
    for byte in raw:
        if 0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A:
            out.append(chr(byte))
        elif byte >= 0xC0:
            out.append(_LATIN1[byte - 0xC0])
        else:
            out.append("_")
    return "".join(out)


def patient_directory_name(raw: bytes | None) -> tuple[str, bool]:
    """
    The ``<name>`` part for ``-sp``: the first value of Patient's Name
    without trailing spaces, transliterated; ``ANONYMOUS`` when absent or
    blank.

    :returns: the name and whether it was anonymous.
    """
    if raw is None:
        return "ANONYMOUS", True
    first = raw.split(b"\\", 1)[0].rstrip(b" \0")
    if not first:
        return "ANONYMOUS", True
    return transliterate(first), False


def stamp(now: float) -> str:
    """
    ``YYYYMMDD_hhmmssmmm`` in local time.
    """
    return time.strftime("%Y%m%d_%H%M%S", time.localtime(now)) + (
        f"{int(now * 1000) % 1000:03d}"
    )


def _joined(prefix: str, rest: str) -> str:
    return f"{prefix}_{rest}" if prefix else rest


@dataclass
class StudyTracker:
    """
    The current study of this process and its directory name, as the
    reference keeps them across associations.
    """

    mode: str
    prefix: str = ""
    study_uid: str | None = None
    directory: str | None = None

    def directory_for(
        self, study_uid: str, patient_name: bytes | None, now: float
    ) -> tuple[str, bool]:
        """
        The directory name for an object of ``study_uid``: the current one
        while the study goes on, else a new one (a new study begins).

        :returns: the name and whether a new study began.
        :raises ValueError: for a name that would not be a subdirectory
            (``.`` or ``..``, which the reference would use).
        """
        if study_uid == self.study_uid and self.directory is not None:
            return self.directory, False
        if self.mode == STUDY_UID:
            clean, _ = sanitise_uid(study_uid)
            name = _joined(self.prefix, clean)
        elif self.mode == PATIENT_NAME:
            patient, _ = patient_directory_name(patient_name)
            name = f"{patient}_{stamp(now)}"
        else:
            name = _joined(self.prefix, stamp(now))
        if name in ("", ".", ".."):
            raise ValueError(f"study directory name {name!r} is not a subdirectory")
        self.study_uid = study_uid
        self.directory = name
        return name, True
