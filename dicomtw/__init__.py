"""
dicomtw: a DICOM network stack on Twisted, and a storage SCP built on it.
"""

from __future__ import annotations

__version__ = "0.1.0"
