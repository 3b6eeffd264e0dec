"""
``-xcr`` (``--exec-on-reception``) and ``-xs`` (``--exec-sync``): the
placeholders, inert peer values, and DCMTK's storescu as the peer.
"""

from __future__ import annotations

import tempfile
import time
import unittest
from pathlib import Path

from peers import (
    ServerProcess,
    dcmtk_tool,
    make_ct,
    requires_dcmtk,
    run_tool,
    write_object,
)
from pydicom.uid import ExplicitVRLittleEndian

from dicomtw.commands import expand, quoted


class ExpandTests(unittest.TestCase):
    def test_values(self) -> None:
        command = expand(
            "store #p/#f from #a to #c at #r", "out", "CT.1.2", "MY SCU", "ANY", "h"
        )
        self.assertEqual(command, 'store out/CT.1.2 from "MY SCU" to "ANY" at "h"')

    def test_passes_in_order(self) -> None:
        """
        Each placeholder is one pass; later passes see earlier results, and
        other ``#`` sequences stay, as in the reference.
        """
        self.assertEqual(expand("##p #x", "out", "f", "a", "c", "r"), "#out #x")
        self.assertEqual(expand("#a", "d", "f", "#r", "c", "r"), '""r""')

    def test_ignore_leaves_path_placeholders(self) -> None:
        self.assertEqual(expand("#p #f #a", None, None, "A", "C", "R"), '#p #f "A"')

    def test_quoting_is_inert(self) -> None:
        self.assertEqual(quoted('a"$(x)`y`\\'), '"a\\"\\$(x)\\`y\\`\\\\"')


class ReceptionCommandTests(unittest.TestCase):
    def setUp(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dicomtw-xcr-"))
        self.sent = write_object(
            make_ct("xcr"), self.directory / "ct.dcm", ExplicitVRLittleEndian
        )
        self.record = self.directory / "record.txt"

    def storescu(self, port: int, *options: str, copies: int = 1) -> float:
        started = time.monotonic()
        result = run_tool(
            [
                dcmtk_tool("storescu"), *options, "127.0.0.1", str(port),
                *[str(self.sent)] * copies,
            ]
        )  # fmt: skip
        self.assertEqual(result.returncode, 0, result.stderr)
        return time.monotonic() - started

    @requires_dcmtk
    def test_placeholders_and_hostile_titles(self) -> None:
        """
        The command runs after every store with the reference's values; AE
        titles that would run commands in the reference reach it as text.
        """
        template = (
            f"cd {self.directory} && "
            f"printf '%s|%s|%s|%s|%s\\n' #p #f #a #c #r >> {self.record}"
        )
        output = self.directory / "out"
        with ServerProcess(output, ["-xcr", template]) as server:
            self.storescu(server.port, "-aet", "MY SCU")
            self.storescu(server.port, "-aet", "$(touch PWNED)", "-aec", 'A"`id`')
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self.record.exists() and self.record.read_text().count("\n") == 2:
                    break
                time.sleep(0.05)
        name = server.stored_files()[0].name
        self.assertEqual(
            self.record.read_text().splitlines(),
            [
                f"{output}|{name}|MY SCU|ANY-SCP|127.0.0.1",
                f'{output}|{name}|$(touch PWNED)|A"`id`|127.0.0.1',
            ],
        )
        self.assertFalse((self.directory / "PWNED").exists())

    @requires_dcmtk
    def test_exec_sync(self) -> None:
        """
        With -xs the association waits for each command (after its
        response); without, it does not.
        """
        output = self.directory / "out"
        with ServerProcess(output, ["-xs", "-xcr", "sleep 1"]) as server:
            self.assertGreaterEqual(self.storescu(server.port, copies=2), 1.9)
        with ServerProcess(output, ["-xcr", "sleep 1"]) as server:
            self.assertLess(self.storescu(server.port, copies=2), 1.5)

    @requires_dcmtk
    def test_inetd_socket_not_lent(self) -> None:
        """
        Under --inetd the peer's socket arrives as standard input, which the
        server replaces with /dev/null before serving: a command inherits
        that, and can neither read nor eat DICOM data.
        """
        from test_process import InetdLauncher

        output = self.directory / "out"
        output.mkdir()
        template = (
            f"if test -S /dev/stdin; then echo socket; else echo other; fi"
            f" > {self.record}"
        )
        launcher = InetdLauncher(
            ["--inetd", "-od", str(output), "-xs", "-xcr", template]
        )
        self.storescu(launcher.port)
        self.assertEqual(launcher.wait(), 0)
        self.assertEqual(self.record.read_text(), "other\n")
