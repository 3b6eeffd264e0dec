"""
Tests of the process models: ``--inetd`` under an inetd-style launcher and
``--fork``, with DCMTK's storescu and pynetdicom as peers.  Run them with
pytest.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from peers import (
    dcmtk_tool,
    free_port,
    make_ct,
    read_dataset,
    requires_dcmtk,
    run_tool,
    server_environment,
    write_object,
)
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.storage import SPOOL_PREFIX, remove_spool_files

VERIFICATION = "1.2.840.10008.1.1"


def _large_ct(sop_instance: str) -> bytes:
    """
    An explicit VR little endian CT data set with 2 MB of pixel data.
    """
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = sop_instance
    ds.PixelData = bytes(2_000_000)
    ds["PixelData"].VR = "OB"
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = False
    write_dataset(buffer, ds)
    return buffer.getvalue()


class InetdLauncher:
    """
    What inetd does for a ``nowait`` service: accept one connection and
    run the server with the connected socket as standard input and output.
    """

    def __init__(self, arguments: list[str]) -> None:
        self.arguments = arguments
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(30)
        self.port = self.listener.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        with connection:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dicomtw", *self.arguments],
                stdin=connection,
                stdout=connection,
                env=server_environment(),
            )
        self.listener.close()

    def wait(self, timeout: float = 30) -> int:
        """
        :returns: the server's exit status.
        """
        self.thread.join(timeout)
        assert self.process is not None, "no connection was made"
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise


@requires_dcmtk
class InetdTests(SynchronousTestCase):
    """
    ``--inetd`` serves one association on its standard input, then exits.
    """

    def setUp(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dicomtw-inetd-"))
        self.output = self.directory / "out"
        self.output.mkdir()
        self.sent = write_object(
            make_ct("inetd"), self.directory / "ct.dcm", ExplicitVRLittleEndian
        )

    def test_store_through_inetd(self) -> None:
        """
        storescu stores through an inetd-style launch; the server exits 0
        after the association, and the object is on disk.
        """
        launcher = InetdLauncher(["--inetd", "-od", str(self.output)])
        result = run_tool(
            [dcmtk_tool("storescu"), "127.0.0.1", str(launcher.port), str(self.sent)],
            timeout=30,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(launcher.wait(), 0)
        uid = read_dataset(self.sent).SOPInstanceUID
        self.assertEqual(read_dataset(self.output / f"CT.{uid}").SOPInstanceUID, uid)

    def test_standard_input_not_a_socket(self) -> None:
        """
        With standard input that is no socket the run ends at once, with
        status 0 and nothing on standard output, as the reference's.
        """
        result = subprocess.run(
            [sys.executable, "-m", "dicomtw", "--inetd", "-od", str(self.output)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            env=server_environment(),
            check=False,
        )
        self.assertEqual(result.returncode, 0)
        self.assertEqual(result.stdout, b"")


@requires_dcmtk
class ForkTests(SynchronousTestCase):
    """
    ``--fork`` serves each association in a child process.
    """

    def setUp(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dicomtw-fork-"))
        self.output = self.directory / "out"
        self.output.mkdir()

    def serve(self, *options: str) -> int:
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dicomtw",
                "--fork",
                "-od",
                str(self.output),
                *options,
                str(port),
            ],
            stderr=open(self.directory / "server.log", "wb"),
            env=server_environment(),
        )
        self.addCleanup(self._stop, process)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if (
                run_tool([dcmtk_tool("echoscu"), "127.0.0.1", str(port)]).returncode
                == 0
            ):
                return port
            time.sleep(0.2)
        raise AssertionError("the forking server did not answer")

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def test_concurrent_senders(self) -> None:
        """
        Eight storescu processes at once all succeed, each object stored.
        """
        port = self.serve()
        senders = []
        for index in range(8):
            path = write_object(
                make_ct(f"fork{index}"),
                self.directory / f"ct{index}.dcm",
                ExplicitVRLittleEndian,
            )
            senders.append(
                subprocess.Popen(
                    [dcmtk_tool("storescu"), "127.0.0.1", str(port), str(path)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
        for sender in senders:
            self.assertEqual(sender.wait(60), 0)
        self.assertEqual(len(list(self.output.glob("CT.*"))), 8)

    def test_child_logs_its_pid(self) -> None:
        """
        A child logs the reference's "Association Received in child
        process (pid: N)" at -v.
        """
        port = self.serve("-v")
        self.assertEqual(
            run_tool([dcmtk_tool("echoscu"), "127.0.0.1", str(port)]).returncode, 0
        )
        deadline = time.monotonic() + 10
        log = self.directory / "server.log"
        while "in child process (pid: " not in log.read_text():
            self.assertLess(time.monotonic(), deadline, log.read_text())
            time.sleep(0.1)

    def test_killed_child_leaves_nothing(self) -> None:
        """
        A child killed in the middle of a data set leaves no spool file,
        and the parent goes on serving.
        """
        port = self.serve()
        ae = AE(ae_title="KILLER")
        ae.add_requested_context("1.2.840.10008.5.1.4.1.1.2", ExplicitVRLittleEndian)
        assoc = ae.associate("127.0.0.1", port)
        self.assertTrue(assoc.is_established)
        # Send a command and the first fragments of a data set by hand.
        from dicomtw.testing import ScriptedPeer

        peer = ScriptedPeer(max_pdu=16384)
        context = assoc.accepted_contexts[0].context_id
        pdus = peer.store(
            context, "1.2.840.10008.5.1.4.1.1.2", "1.2.3.4.5", _large_ct("1.2.3.4.5")
        )
        transport = assoc.dul.socket.socket
        for pdu in pdus[:20]:
            transport.sendall(pdu)
        deadline = time.monotonic() + 10
        while not list(self.output.glob(f"{SPOOL_PREFIX}*")):
            self.assertLess(time.monotonic(), deadline, "no spool file appeared")
            time.sleep(0.05)
        [spool] = list(self.output.glob(f"{SPOOL_PREFIX}*"))
        child = int(spool.name[len(SPOOL_PREFIX) :].split("-")[0])
        os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while list(self.output.iterdir()):
            self.assertLess(time.monotonic(), deadline, "spool file left behind")
            time.sleep(0.05)
        assoc.abort()
        echo = run_tool([dcmtk_tool("echoscu"), "127.0.0.1", str(port)])
        self.assertEqual(echo.returncode, 0)

    def test_limit_counts_children(self) -> None:
        """
        With --max-associations 1, a second association while a child
        serves the first gets A-ASSOCIATE-RJ transient, local limit
        exceeded.
        """
        port = self.serve("--max-associations", "1")
        ae = AE(ae_title="HOLDER")
        ae.add_requested_context(VERIFICATION)
        # The children that answered serve()'s echo probes may not have
        # been reaped yet; until they are, they count.
        deadline = time.monotonic() + 10
        while not (first := ae.associate("127.0.0.1", port)).is_established:
            self.assertLess(time.monotonic(), deadline, "never accepted")
            time.sleep(0.2)
        try:
            second = ae.associate("127.0.0.1", port)
            self.assertTrue(
                second.is_rejected,
                f"second association: established={second.is_established}"
                f" aborted={second.is_aborted}; first still up: {first.is_alive()}",
            )
            rejection = second.acceptor.primitive
            self.assertEqual(
                (rejection.result, rejection.result_source, rejection.diagnostic),
                (2, 3, 2),
            )
        finally:
            first.release()


class SpoolCleanupTests(SynchronousTestCase):
    """
    Spool files of processes that are gone are removed; others are not.
    """

    def test_remove_spool_files(self) -> None:
        """
        Files of a named pid, or of dead processes, are removed; files of
        live processes and other files stay.
        """
        directory = Path(tempfile.mkdtemp(prefix="dicomtw-spool-"))
        dead = subprocess.Popen(["true"])
        dead.wait()
        live = os.getppid()
        names = [
            f"{SPOOL_PREFIX}{dead.pid}-aa.part",
            f"{SPOOL_PREFIX}{live}-bb.part",
            "CT.1.2.3",
        ]
        for name in names:
            (directory / name).write_bytes(b"x")
        self.assertEqual(remove_spool_files(str(directory)), 1)
        self.assertEqual(sorted(p.name for p in directory.iterdir()), sorted(names[1:]))
        self.assertEqual(remove_spool_files(str(directory), live), 1)
        self.assertEqual([p.name for p in directory.iterdir()], ["CT.1.2.3"])
