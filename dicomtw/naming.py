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
    if _has_separator(extension):
        raise ValueError(f"file name extension {extension!r} contains a separator")
    clean, _changed = sanitise_uid(sop_instance)
    return f"{file_prefix(sop_class)}.{clean}{extension}"


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
