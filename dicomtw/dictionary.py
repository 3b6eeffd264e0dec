"""
pydicom's data dictionary and UID registry, loaded without importing
pydicom.

Importing the ``pydicom`` package runs its initialisation, which loads
numpy and the pixel data handlers: some 20 MB of resident memory and a
second of start-up that a storage SCP never uses.  The two registry
modules are plain data, so, unless pydicom is already imported, they are
loaded on their own from pydicom's installed package.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any


def _registry(name: str) -> ModuleType:
    """
    :param name: a module of the ``pydicom`` package, e.g. ``_uid_dict``.
    :returns: that module, loaded without running pydicom's ``__init__``.
    """
    loaded = sys.modules.get(f"pydicom.{name}")
    if loaded is not None:
        return loaded
    package = importlib.util.find_spec("pydicom")
    locations = package.submodule_search_locations if package else None
    if locations:
        path = os.path.join(list(locations)[0], f"{name}.py")
        spec = importlib.util.spec_from_file_location(f"dicomtw._pydicom{name}", path)
        if spec is not None and spec.loader is not None and os.path.exists(path):
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    return importlib.import_module(f"pydicom.{name}")


#: UID -> (name, type, info, retired, keyword), pydicom's UID registry.
UID_REGISTRY: Mapping[str, tuple[Any, ...]] = _registry("_uid_dict").UID_dictionary

_DICTIONARY = _registry("_dicom_dict").DicomDictionary

#: Tag -> VR for the tags with one VR in the data dictionary (``+uc``);
#: DCMDICTPATH files add to it at start-up.
SINGLE_VRS: dict[int, bytes] = {
    tag: entry[0].encode("ascii")
    for tag, entry in _DICTIONARY.items()
    if len(entry[0]) == 2
}

#: The tags the data dictionary gives the VR SQ: in implicit VR, the only
#: way to tell a defined-length sequence from any other value.
SEQUENCE_TAGS: set[int] = {
    tag for tag, entry in _DICTIONARY.items() if entry[0] == "SQ"
}


#: Tag -> the dictionary's VRs, for the tags with several (``US or SS``,
#: ``OB or OW``): which one applies depends on other elements.
MULTI_VRS: dict[int, tuple[bytes, ...]] = {
    tag: tuple(vr.encode("ascii") for vr in entry[0].split(" or "))
    for tag, entry in _DICTIONARY.items()
    if " or " in entry[0]
}


def _repeaters() -> list[tuple[int, int, tuple[bytes, ...]]]:
    entries = []
    for key, entry in _registry("_dicom_dict").RepeatersDictionary.items():
        mask = int("".join("0" if c in "xX" else "F" for c in key), 16)
        value = int(key.replace("x", "0").replace("X", "0"), 16)
        vrs = tuple(vr.encode("ascii") for vr in entry[0].split(" or "))
        entries.append((mask, value, vrs))
    return entries


#: ``(mask, value, VRs)`` of the repeating-group entries (``60xx3000``).
REPEATING_VRS: list[tuple[int, int, tuple[bytes, ...]]] = _repeaters()


#: The VRs with reserved bytes and a 4-byte length in explicit VR (PS3.5
#: §7.1.2).
LONG_VRS = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())

#: The VRs whose values the reference holds as character strings: when it
#: writes a data set it drops their trailing padding (spaces; null bytes
#: and all white space for UI) and pads them to even length again.
STRING_VRS = frozenset(b"AE AS CS DA DS DT IS LO LT PN SH ST TM UC UI UR UT".split())


def implicit_string_vr(tag: int) -> bytes | None:
    """
    The string VR (:data:`STRING_VRS`) the data dictionary gives a public
    tag as its only VR, or ``None``: for private tags, tags with several
    VRs, unknown tags and binary VRs.
    """
    if tag & 0x10000:
        return None
    vr = SINGLE_VRS.get(tag)
    if vr is None and tag not in MULTI_VRS:
        for mask, value, vrs in REPEATING_VRS:
            if tag & mask == value:
                vr = vrs[0] if len(vrs) == 1 else None
                break
    return vr if vr in STRING_VRS else None


def public_vrs(tag: int) -> tuple[bytes, ...]:
    """
    The VRs the data dictionary gives a public tag, or ``()`` if it does
    not know it.
    """
    single = SINGLE_VRS.get(tag)
    if single is not None:
        return (single,)
    multi = MULTI_VRS.get(tag)
    if multi is not None:
        return multi
    for mask, value, vrs in REPEATING_VRS:
        if tag & mask == value:
            return vrs
    return ()


def _private_entries() -> dict[tuple[int, str, int], bytes]:
    entries = {}
    for creator, tags in _registry("_private_dict").private_dictionaries.items():
        for key, entry in tags.items():
            vr = entry[0]
            if len(vr) != 2 or "x" in key[:4].lower():
                continue
            try:
                group, element = int(key[:4], 16), int(key[6:], 16)
            except ValueError:
                continue
            entries[(group, creator, element)] = vr.encode("ascii")
    return entries


#: (group, private creator, element low byte) -> VR, for private tags with
#: one VR: pydicom's private dictionary, and DCMDICTPATH files.
PRIVATE_VRS: dict[tuple[int, str, int], bytes] = _private_entries()

_PUBLIC = re.compile(r"^\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)\s+(\S+)\s+(\S+)")

#: Names of public tags from DCMDICTPATH files, ahead of pydicom's.
EXTRA_NAMES: dict[int, str] = {}


def keyword(tag: int) -> str | None:
    """
    The dictionary name of a public tag, for messages, or ``None``.
    """
    name = EXTRA_NAMES.get(tag)
    if name is not None:
        return name
    entry = _DICTIONARY.get(tag)
    return str(entry[4]) if entry and entry[4] else None


_PRIVATE = re.compile(r'^\(([0-9A-Fa-f]{4}),"([^"]*)",([0-9A-Fa-f]{2})\)\s+(\S+)')


def read_dcmtk_dictionary(
    text: str, names: dict[int, str] | None = None
) -> tuple[dict[int, bytes], dict[tuple[int, str, int], bytes]]:
    """
    Parse a data dictionary in DCMTK's ``dicom.dic`` format: public lines
    ``(gggg,eeee) VR Name VM Version`` and private lines
    ``(gggg,"creator",ee) VR ...``; ``#`` comments.  Entries with
    repeating groups (``60xx``) or several VRs are skipped.

    :param names: filled with the public tags' names, when given.

    :returns: the public and the private single-VR entries.
    """
    public: dict[int, bytes] = {}
    private: dict[tuple[int, str, int], bytes] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = _PRIVATE.match(line)
        if match:
            group, creator, element, vr = match.groups()
            if len(vr) == 2:
                private[(int(group, 16), creator, int(element, 16))] = vr.encode()
            continue
        match = _PUBLIC.match(line)
        if match:
            group, element, vr, name = match.groups()
            tag = int(group, 16) << 16 | int(element, 16)
            if names is not None:
                names[tag] = name
            if len(vr) == 2:
                public[tag] = vr.encode()
    return public, private


def load_dictionary_path(value: str) -> tuple[list[str], list[str]]:
    """
    ``DCMDICTPATH``: load every file of the colon-separated list and add
    its entries to :data:`SINGLE_VRS`, :data:`SEQUENCE_TAGS` and
    :data:`PRIVATE_VRS` (later files win).

    :returns: the files loaded and the files that could not be read.
    """
    loaded, failed = [], []
    for path in filter(None, value.split(os.pathsep)):
        try:
            with open(path, encoding="latin-1") as stream:
                public, private = read_dcmtk_dictionary(stream.read(), EXTRA_NAMES)
        except OSError:
            failed.append(path)
            continue
        for tag, vr in public.items():
            SINGLE_VRS[tag] = vr
            if vr == b"SQ":
                SEQUENCE_TAGS.add(tag)
        PRIVATE_VRS.update(private)
        loaded.append(path)
    return loaded, failed
