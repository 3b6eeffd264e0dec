"""
``python -m dicomtw``: the same as ``dicomtw-storescp``.
"""

from __future__ import annotations

from dicomtw.cli import main

main()
