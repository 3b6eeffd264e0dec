"""
Interoperability of the storage SCP with DCMTK's real programs.

Each test starts a server on a free loopback port with its own output
directory, drives it with ``/usr/bin/echoscu``, ``storescu`` or ``dcmsend``,
and checks what was stored.  The server under test is dicomtw (``python -m
dicomtw``) unless ``DICOMTW_TEST_SERVER=dcmtk`` is set, in which case the
same tests run against DCMTK's own ``/usr/bin/storescp``: that validates the
tests against the reference program.

The server's own file meta elements (0002,0012) and (0002,0013) differ
between the two programs and are not checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from peers import (
    OBJECT_MAKERS,
    UNCOMPRESSED,
    ServerProcess,
    assert_same_dataset,
    compressed_versions,
    dcmtk_tool,
    make_ct,
    make_uid,
    read_dataset,
    requires_dcmtk,
    run_tool,
    storescu_profile,
    write_object,
)
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGLosslessSV1,
)
from twisted.trial.unittest import SynchronousTestCase

#: Which storage SCP the tests run against: ``dicomtw`` or ``dcmtk``.
SERVER_KIND = os.environ.get("DICOMTW_TEST_SERVER", "dicomtw")
if SERVER_KIND not in ServerProcess.KINDS:
    raise RuntimeError(
        f"DICOMTW_TEST_SERVER={SERVER_KIND!r}; use one of {ServerProcess.KINDS}"
    )

#: The file-name prefix of each test object's SOP class (storescp's table).
PREFIX = {"ct": "CT", "mr": "MR", "sr": "SRt", "rtplan": "RP", "pdf": "PDF"}

#: The calling AE title every peer program uses.
CALLING_AE = "INTEROP-SCU"

#: A SOP class no DICOM dictionary knows.
UNKNOWN_SOP_CLASS = make_uid("unknown-sop-class")

# Network timeouts for the peer programs, in seconds: a hung server fails a
# test quickly instead of stalling the suite.
_PEER_TIMEOUTS = ["-to", "10", "-ta", "10", "-td", "10"]
_TOOL_TIMEOUT = 30


@requires_dcmtk
class StoreSCPInteropTests(SynchronousTestCase):
    """
    The storage SCP under test works with DCMTK's echoscu, storescu and
    dcmsend.
    """

    def setUp(self) -> None:
        """
        Make a scratch directory with ``sent/`` for the objects sent.
        """
        self.workdir = Path(tempfile.mkdtemp(prefix="dicomtw-interop-"))
        self.addCleanup(shutil.rmtree, self.workdir, ignore_errors=True)
        self.sent = self.workdir / "sent"
        self.sent.mkdir()

    def start_server(self, *options: str) -> ServerProcess:
        """
        Start the server under test, to be stopped when the test ends.

        :param options: storescp options besides ``-od`` and the port.
        :returns: the running server.
        """
        server = ServerProcess(self.workdir / "received", options, kind=SERVER_KIND)
        self.addCleanup(server.stop)
        return server.__enter__()

    def run_peer(
        self,
        server: ServerProcess,
        tool: str,
        options: Sequence[str] = (),
        files: Sequence[Path] = (),
    ) -> subprocess.CompletedProcess[str]:
        """
        Run a DCMTK network program against the server.

        :param server: the server to talk to.
        :param tool: ``echoscu``, ``storescu`` or ``dcmsend``.
        :param options: options besides the AE titles and timeouts.
        :param files: the files or directories to send.
        :returns: the finished program.
        :raises AssertionError: if the server is no longer running afterwards.
        """
        done = run_tool(
            [
                dcmtk_tool(tool),
                "-aet",
                CALLING_AE,
                "-aec",
                "STORESCP",
                *_PEER_TIMEOUTS,
                *options,
                "127.0.0.1",
                str(server.port),
                *map(str, files),
            ],
            timeout=_TOOL_TIMEOUT,
        )
        self.assertIsNone(
            server.returncode,
            f"server died while serving {tool}:\n{server.log_text()}",
        )
        return done

    def assert_peer_succeeded(
        self, server: ServerProcess, done: subprocess.CompletedProcess[str]
    ) -> None:
        """
        Fail, showing both sides' output, unless a peer program exited 0.

        :param server: the server the program talked to.
        :param done: the finished program.
        """
        if done.returncode != 0:
            self.fail(
                f"{done.args[0]} exited with {done.returncode}\n"
                f"--- its output:\n{done.stdout}{done.stderr}"
                f"--- server log:\n{server.log_text()}"
            )

    def write_sent(self, kind: str, transfer_syntax: str, seed: str) -> Path:
        """
        Write a test object to be sent.

        :param kind: a key of :data:`OBJECT_MAKERS`.
        :param transfer_syntax: the uncompressed syntax to write it in.
        :param seed: the name its UIDs are derived from.
        :returns: the file.
        """
        path = self.sent / f"{seed}.dcm"
        return write_object(OBJECT_MAKERS[kind](seed), path, transfer_syntax)

    def assert_received(
        self,
        server: ServerProcess,
        sent_path: Path,
        prefix: str,
        transfer_syntax: str,
    ) -> Path:
        """
        Check that the server stored a sent object faithfully.

        The file must be named ``<prefix>.<SOP Instance UID>``, hold the same
        data set, carry matching file meta information in the given transfer
        syntax, and be readable by DCMTK's ``dcmdump``.

        :param server: the server that received the object.
        :param sent_path: the file that was sent.
        :param prefix: the expected file-name prefix, e.g. ``CT``.
        :param transfer_syntax: the transfer syntax it was sent in.
        :returns: the received file.
        """
        sent = read_dataset(sent_path)
        path = server.output_dir / f"{prefix}.{sent.SOPInstanceUID}"
        if not path.is_file():
            self.fail(
                f"{path.name} not stored; output directory holds "
                f"{[p.name for p in server.stored_files()]}\n"
                f"--- server log:\n{server.log_text()}"
            )
        assert_same_dataset(sent_path, path)
        meta = read_dataset(path).file_meta
        self.assertEqual(
            (
                meta.MediaStorageSOPClassUID,
                meta.MediaStorageSOPInstanceUID,
                meta.TransferSyntaxUID,
                meta.get("SourceApplicationEntityTitle", "").strip(),
            ),
            (sent.SOPClassUID, sent.SOPInstanceUID, transfer_syntax, CALLING_AE),
        )
        dump = run_tool([dcmtk_tool("dcmdump"), "-q", str(path)])
        self.assertEqual((dump.returncode, dump.stderr), (0, ""), f"dcmdump -q {path}")
        return path

    def check_store(
        self, kind: str, transfer_syntax: str, storescu_options: Sequence[str] = ()
    ) -> None:
        """
        Send one object with storescu to a default server and check it.

        :param kind: a key of :data:`OBJECT_MAKERS`.
        :param transfer_syntax: the syntax the object is written and sent in.
        :param storescu_options: extra storescu options, e.g. ``["-xi"]``.
        """
        sent = self.write_sent(kind, transfer_syntax, f"{kind}-{transfer_syntax}")
        server = self.start_server()
        done = self.run_peer(server, "storescu", storescu_options, [sent])
        self.assert_peer_succeeded(server, done)
        self.assert_received(server, sent, PREFIX[kind], transfer_syntax)

    def test_echo(self) -> None:
        """
        echoscu's C-ECHO succeeds.
        """
        server = self.start_server()
        done = self.run_peer(server, "echoscu", ["-v"])
        self.assert_peer_succeeded(server, done)
        self.assertIn("Received Echo Response (Success)", done.stderr)

    def test_store_ct_implicit_little(self) -> None:
        """
        A CT image sent in implicit VR little endian is stored unchanged.
        """
        self.check_store("ct", ImplicitVRLittleEndian, ["-xi"])

    def test_store_ct_explicit_little(self) -> None:
        """
        A CT image sent in explicit VR little endian is stored unchanged.
        """
        self.check_store("ct", ExplicitVRLittleEndian)

    def test_store_ct_explicit_big(self) -> None:
        """
        A CT image sent in explicit VR big endian is stored unchanged.
        """
        self.check_store("ct", ExplicitVRBigEndian)

    def test_store_mr_implicit_little(self) -> None:
        """
        An MR image sent in implicit VR little endian is stored unchanged.
        """
        self.check_store("mr", ImplicitVRLittleEndian, ["-xi"])

    def test_store_mr_explicit_little(self) -> None:
        """
        An MR image sent in explicit VR little endian is stored unchanged.
        """
        self.check_store("mr", ExplicitVRLittleEndian)

    def test_store_mr_explicit_big(self) -> None:
        """
        An MR image sent in explicit VR big endian is stored unchanged.
        """
        self.check_store("mr", ExplicitVRBigEndian)

    def test_store_sr_implicit_little(self) -> None:
        """
        A Basic Text SR sent in implicit VR little endian is stored unchanged.
        """
        self.check_store("sr", ImplicitVRLittleEndian, ["-xi"])

    def test_store_sr_explicit_little(self) -> None:
        """
        A Basic Text SR sent in explicit VR little endian is stored unchanged.
        """
        self.check_store("sr", ExplicitVRLittleEndian)

    def test_store_sr_explicit_big(self) -> None:
        """
        A Basic Text SR sent in explicit VR big endian is stored unchanged.
        """
        self.check_store("sr", ExplicitVRBigEndian)

    def test_store_rtplan_implicit_little(self) -> None:
        """
        An RT Plan sent in implicit VR little endian is stored unchanged.
        """
        self.check_store("rtplan", ImplicitVRLittleEndian, ["-xi"])

    def test_store_rtplan_explicit_little(self) -> None:
        """
        An RT Plan sent in explicit VR little endian is stored unchanged.
        """
        self.check_store("rtplan", ExplicitVRLittleEndian)

    def test_store_rtplan_explicit_big(self) -> None:
        """
        An RT Plan sent in explicit VR big endian is stored unchanged.
        """
        self.check_store("rtplan", ExplicitVRBigEndian)

    def test_store_pdf_implicit_little(self) -> None:
        """
        An Encapsulated PDF sent in implicit VR little endian is stored
        unchanged.
        """
        self.check_store("pdf", ImplicitVRLittleEndian, ["-xi"])

    def test_store_pdf_explicit_little(self) -> None:
        """
        An Encapsulated PDF sent in explicit VR little endian is stored
        unchanged.
        """
        self.check_store("pdf", ExplicitVRLittleEndian)

    def test_store_pdf_explicit_big(self) -> None:
        """
        An Encapsulated PDF sent in explicit VR big endian is stored
        unchanged.
        """
        self.check_store("pdf", ExplicitVRBigEndian)

    def test_accept_all_stores_deflated_as_sent(self) -> None:
        """
        With ``+xa`` a deflated CT image is accepted deflated and stored in
        the deflated transfer syntax.
        """
        source = self.write_sent("ct", ExplicitVRLittleEndian, "ct-deflated")
        sent = compressed_versions(source, self.sent / "compressed")[
            DeflatedExplicitVRLittleEndian
        ]
        server = self.start_server("+xa")
        done = self.run_peer(server, "storescu", ["-xd"], [sent])
        self.assert_peer_succeeded(server, done)
        self.assert_received(server, sent, "CT", DeflatedExplicitVRLittleEndian)

    def test_accept_all_stores_jpeg_as_sent(self) -> None:
        """
        With ``+xa`` a JPEG lossless CT image is accepted compressed and
        stored in the JPEG lossless transfer syntax, pixel data unchanged.
        """
        source = self.write_sent("ct", ExplicitVRLittleEndian, "ct-jpeg")
        sent = compressed_versions(source, self.sent / "compressed")[JPEGLosslessSV1]
        server = self.start_server("+xa")
        done = self.run_peer(server, "storescu", ["-xs"], [sent])
        self.assert_peer_succeeded(server, done)
        self.assert_received(server, sent, "CT", JPEGLosslessSV1)

    def test_dcmsend_directory(self) -> None:
        """
        dcmsend sends a directory of objects of several SOP classes and
        transfer syntaxes in one association; each is stored unchanged, in
        explicit VR little endian, which a default server prefers to the other
        uncompressed syntaxes that dcmsend proposes with it.
        """
        sent = {
            self.write_sent(kind, transfer_syntax, f"dir-{kind}-{transfer_syntax}"): (
                PREFIX[kind]
            )
            for kind in OBJECT_MAKERS
            for transfer_syntax in UNCOMPRESSED
        }
        server = self.start_server()
        done = self.run_peer(server, "dcmsend", ["-v", "+sd"], [self.sent])
        self.assert_peer_succeeded(server, done)
        self.assertIn(f"with status SUCCESS  : {len(sent)}", done.stderr)
        for path, prefix in sent.items():
            self.assert_received(server, path, prefix, ExplicitVRLittleEndian)
        self.assertEqual(len(server.stored_files()), len(sent))

    def write_unknown(self) -> tuple[Path, list[str]]:
        """
        Write an object of an unknown SOP class and a storescu profile for it.

        :returns: the file and the storescu options that propose its class.
        """
        ds = make_ct("unknown")
        ds.SOPClassUID = UNKNOWN_SOP_CLASS
        path = write_object(ds, self.sent / "unknown.dcm", ExplicitVRLittleEndian)
        profile = storescu_profile(self.workdir / "unknown.cfg", [UNKNOWN_SOP_CLASS])
        return path, ["-xf", *profile]

    def test_unknown_sop_class_refused(self) -> None:
        """
        By default a presentation context for an unknown SOP class is
        refused, so storescu fails and nothing is stored.
        """
        sent, options = self.write_unknown()
        server = self.start_server()
        done = self.run_peer(server, "storescu", options, [sent])
        self.assertNotEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertEqual(server.stored_files(), [])

    def test_unknown_sop_class_promiscuous(self) -> None:
        """
        With ``-pm`` an object of an unknown SOP class is stored as
        ``UNKNOWN.<SOP Instance UID>``.
        """
        sent, options = self.write_unknown()
        server = self.start_server("-pm")
        done = self.run_peer(server, "storescu", options, [sent])
        self.assert_peer_succeeded(server, done)
        self.assert_received(server, sent, "UNKNOWN", ExplicitVRLittleEndian)
