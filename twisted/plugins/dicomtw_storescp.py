"""
The ``twistd storescp`` plugin: names :mod:`dicomtw.tap` without importing it.
"""

from __future__ import annotations

from twisted.application.service import ServiceMaker

dicomtw_storescp = ServiceMaker(
    "dicomtw storescp",
    "dicomtw.tap",
    "DICOM storage SCP (storescp replacement)",
    "storescp",
)
