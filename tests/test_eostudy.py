"""
Tests for dicomtw.eostudy: the ``-rns`` names and the ``-tos`` timer.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from twisted.internet.defer import maybeDeferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.eostudy import EndedStudy, EndOfStudy, rename_files, renamed


class RenamedTests(SynchronousTestCase):
    """
    ``-rns`` names: two characters of the file name and a counter.
    """

    def test_names(self) -> None:
        cases = [
            ("CT.1.2.3", 1, "CT000001"),
            ("SRt.1.2", 2, "SR000002"),
            ("UNKNOWN.1.2", 3, "UN000003"),
            ("CT.X.1.2.dcm", 12, "CT000012"),
            ("20261203162123112.MR", 4, "MR000004"),
            ("20261203162123112_0001.MRe.dcm", 5, "MR000005"),
        ]
        for name, number, expected in cases:
            self.assertEqual(renamed(name, number), expected, name)

    def test_rename_files(self) -> None:
        """
        Files are renamed in reception order; a missing one gives a
        warning and the others are still renamed.
        """
        directory = tempfile.mkdtemp(prefix="dicomtw-eos-")
        self.addCleanup(lambda: [os.remove(os.path.join(directory, n))
                                 for n in os.listdir(directory)]
                        and os.rmdir(directory))  # fmt: skip
        paths = [os.path.join(directory, n) for n in ("MR.1", "CT.2", "CT.3")]
        for path in paths:
            with open(path, "w"):
                pass
        warnings = rename_files(
            EndedStudy(
                directory, [paths[0], os.path.join(directory, "CT.9"), *paths[1:]]
            )
        )
        self.assertEqual(len(warnings), 1)
        self.assertIn("cannot rename file", warnings[0])
        self.assertEqual(
            sorted(os.listdir(directory)), ["CT000003", "CT000004", "MR000001"]
        )


class TimerTests(SynchronousTestCase):
    """
    ``-tos``: a study ends after that many seconds without activity.
    """

    def test_timeout(self) -> None:
        clock = Clock()
        closed: list[EndedStudy] = []
        studies = [EndedStudy("out/S_1")]

        def close() -> EndedStudy | None:
            if studies:
                closed.append(studies[0])
                return studies.pop()
            return None

        def run_blocking(function: Any, *args: Any) -> Any:
            return maybeDeferred(function, *args)

        end = EndOfStudy(clock, run_blocking, close, rename=True, timeout=5)
        end.activity("A", "B", "127.0.0.1")
        clock.advance(4)
        end.activity("A", "B", "127.0.0.1")
        clock.advance(4)
        self.assertEqual(closed, [])
        clock.advance(1)
        self.assertEqual([s.directory for s in closed], ["out/S_1"])
        clock.advance(10)
        self.assertEqual(len(closed), 1)
