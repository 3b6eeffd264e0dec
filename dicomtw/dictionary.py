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

#: Tag -> VR for the tags with one VR in the data dictionary (``+uc``).
SINGLE_VRS: Mapping[int, bytes] = {
    tag: entry[0].encode("ascii")
    for tag, entry in _DICTIONARY.items()
    if len(entry[0]) == 2
}

#: The tags the data dictionary gives the VR SQ: in implicit VR, the only
#: way to tell a defined-length sequence from any other value.
SEQUENCE_TAGS: frozenset[int] = frozenset(
    tag for tag, entry in _DICTIONARY.items() if entry[0] == "SQ"
)
