"""
Output file names built from peer-supplied values, and the checks that keep
them inside the output directory.

Behaviour reference §7.1 and §7.3.  The reference binary keeps only
``A-Z a-z 0-9 . : @ -`` of a SOP Instance UID and turns every other
character into ``_``; dicomtw does the same, so no peer value can name a
path outside the output directory or in a subdirectory of it.  Peer text
should be decoded as ISO 8859-1 before it gets here, so that each received
byte is one character and is replaced by exactly one ``_``, as the
reference replaces bytes.
"""

from __future__ import annotations

import os
import re
import time
import uuid

from dicomtw.sopclasses import file_prefix

_UNSAFE = re.compile(r"[^A-Za-z0-9.:@\-]")
_SEPARATORS = frozenset(filter(None, ("/", "\x00", os.sep, os.altsep)))


def sanitise_uid(value: str) -> tuple[str, bool]:
    """
    Replace every character a UID may not bring into a file name by ``_``.

    An ``_`` in the input is replaced by itself, which is no change: the
    flag says whether the name differs from the UID, so that the warning
    the caller logs never shows two equal strings.

    :param value: a UID as received (white space already stripped, §6.6).
    :returns: the cleaned UID, and whether it differs from ``value`` (the
        caller logs a warning then).
    """
    clean = _UNSAFE.sub("_", value)
    return clean, clean != value


def default_file_name(sop_class: str, sop_instance: str, extension: str = "") -> str:
    """
    Build a default file name, ``<prefix>.<instance UID><extension>`` (§7.3).

    :param sop_class: the command's Affected SOP Class UID, which picks the
        prefix (``UNKNOWN`` for a class not in Appendix A).
    :param sop_instance: the command's Affected SOP Instance UID; it is
        sanitised here.
    :param extension: the ``-fe`` value, appended verbatim.
    :returns: a file name without directory.
    :raises ValueError: if the extension contains a path separator or NUL.
    """
    _check_extension(extension)
    clean, _changed = sanitise_uid(sop_instance)
    return f"{file_prefix(sop_class)}.{clean}{extension}"


def _check_extension(extension: str) -> None:
    if _has_separator(extension):
        raise ValueError(f"file name extension {extension!r} contains a separator")


def safe_join(directory: str, name: str) -> str:
    """
    Join a directory and a file name that must stay directly inside it.

    The directory keeps its spelling in the result (a relative ``-od``
    stays relative, §7.1).  A single component that is not ``.`` or
    ``..`` and has no separator or NUL names an entry of the directory
    itself, whatever the directory's real path; and a rename onto that
    entry replaces it, never what a symbolic link there points to.

    :param directory: the output (or study) directory.
    :param name: a single path component.
    :returns: ``directory/name``.
    :raises ValueError: if the name is empty, ``.`` or ``..``, contains a
        separator or NUL, or the result would not lie directly inside the
        directory.
    """
    if name in ("", ".", "..") or _has_separator(name):
        raise ValueError(f"unsafe file name {name!r}")
    return os.path.join(directory, name)


def _has_separator(text: str) -> bool:
    """
    Tell whether text contains a path separator or NUL.

    :param text: the text to check.
    :returns: True if any separator character occurs in it.
    """
    return any(character in text for character in _SEPARATORS)


def unique_file_name(sop_class: str, extension: str = "") -> str:
    """
    ``+uf``: ``<prefix>.X.<new UID><extension>`` with a freshly made UID
    (a ``2.25`` UUID-derived one), so that it never collides (§7.4).
    """
    _check_extension(extension)
    return f"{file_prefix(sop_class)}.X.2.25.{uuid.uuid4().int}{extension}"


class TimeNamer:
    """
    ``-tn``: ``<YYYYMMDDhhmmssmmm>[_<NNNN>].<prefix><extension>`` in local
    time, with the reference's serial scheme (§7.5): a serial is added only
    when the name would equal the previous one this namer gave, and reset
    as soon as a name differs.
    """

    def __init__(self) -> None:
        self._previous: str | None = None
        self._counter: int | None = None

    def name(self, sop_class: str, extension: str, now: float) -> str:
        """
        :param now: the reception time of the command, seconds since the
            epoch.
        """
        _check_extension(extension)
        stamp = time.strftime("%Y%m%d%H%M%S", time.localtime(now))
        stamp += f"{int(now * 1000) % 1000:03d}"
        suffix = f".{file_prefix(sop_class)}{extension}"
        serial = "" if self._counter is None else f"_{self._counter:04d}"
        candidate = f"{stamp}{serial}{suffix}"
        if candidate == self._previous:
            self._counter = 0 if self._counter is None else self._counter + 1
            candidate = f"{stamp}_{self._counter:04d}{suffix}"
        else:
            self._counter = None
            candidate = f"{stamp}{suffix}"
        self._previous = candidate
        return candidate
