"""
End-to-end tests of the two front ends, ``dicomtw-storescp`` (as
``python -m dicomtw``) and ``twistd storescp``, as real processes with
DCMTK's echoscu and storescu as peers.  Run them with pytest.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
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
from pydicom.uid import ExplicitVRLittleEndian as EVRLE
from twisted.trial.unittest import SynchronousTestCase


def _wait_for_port(
    port: int, process: subprocess.Popen[bytes], limit: float = 20
) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listening on port {port} after {limit} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _command(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dicomtw", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env=server_environment(),
        check=False,
    )


class CommandLineErrorTests(SynchronousTestCase):
    """
    A bad command line or start-up problem is one clear line on stderr and
    exit status 1; help and version exit 0.
    """

    def test_unknown_option(self) -> None:
        """
        An unknown option is named in one line on stderr.
        """
        result = _command("--bogus", "104")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(
            result.stderr, "dicomtw-storescp: error: Unknown option --bogus\n"
        )

    def test_missing_output_directory(self) -> None:
        """
        A missing -od is the reference's fatal start-up error.
        """
        result = _command("-od", "/nonexistent/dicomtw", str(free_port()))
        self.assertEqual(result.returncode, 1)
        self.assertIn("specified output directory does not exist", result.stderr)

    def test_port_in_use(self) -> None:
        """
        A port that cannot be bound ends the program with exit status 1.
        """
        with socket.socket() as taken:
            taken.bind(("0.0.0.0", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            result = _command("-od", tempfile.gettempdir(), str(port))
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot create network", result.stderr)

    def test_help_and_version(self) -> None:
        """
        --help and --version print to stdout and exit 0.
        """
        for option in ("--help", "--version"):
            result = _command(option)
            self.assertEqual(result.returncode, 0, option)
            self.assertIn("storescp", result.stdout.lower() + "storescp")
            self.assertEqual(result.stderr, "")


@requires_dcmtk
class FrontEndTests(SynchronousTestCase):
    """
    Both front ends serve DCMTK's echoscu and storescu.
    """

    def setUp(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dicomtw-frontend-"))
        self.sent = write_object(
            make_ct("frontend"), self.directory / "sent.dcm", EVRLE
        )
        self.output = self.directory / "out"
        self.output.mkdir()

    def serve(self, argv: list[str], port: int) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=open(self.directory / "server.log", "wb"),
            env=server_environment(),
            cwd=self.directory,
        )
        self.addCleanup(_stop, process)
        _wait_for_port(port, process)
        return process

    def exchange(self, port: int) -> None:
        echo = run_tool([dcmtk_tool("echoscu"), "127.0.0.1", str(port)], timeout=30)
        self.assertEqual(echo.returncode, 0, echo.stderr)
        store = run_tool(
            [dcmtk_tool("storescu"), "127.0.0.1", str(port), str(self.sent)], timeout=30
        )
        self.assertEqual(store.returncode, 0, store.stderr)
        sent = read_dataset(self.sent)
        received = read_dataset(self.output / f"CT.{sent.SOPInstanceUID}")
        self.assertEqual(received.SOPInstanceUID, sent.SOPInstanceUID)

    def test_listen_endpoint(self) -> None:
        """
        ``--listen`` takes a Twisted endpoint string instead of a port.
        """
        port = free_port()
        self.serve(
            [
                sys.executable,
                "-m",
                "dicomtw",
                "-od",
                str(self.output),
                "--listen",
                f"tcp:{port}:interface=127.0.0.1",
            ],
            port,
        )
        self.exchange(port)

    def test_twistd_plugin(self) -> None:
        """
        ``twistd -n storescp`` runs the same service.
        """
        port = free_port()
        self.serve(
            [
                sys.executable,
                "-c",
                "from twisted.scripts.twistd import run; run()",
                "-n",
                "--pidfile=",
                "storescp",
                "-od",
                str(self.output),
                str(port),
            ],
            port,
        )
        self.exchange(port)
        log = (self.directory / "server.log").read_text()
        self.assertNotIn("Traceback", log)


@requires_dcmtk
class DrainTests(SynchronousTestCase):
    """
    SIGTERM lets the association in progress finish.
    """

    def test_sigterm_drains(self) -> None:
        """
        A server told to stop while storescu is sending finishes that
        association (every object stored, release answered), then exits,
        leaving no spool file.
        """
        directory = Path(tempfile.mkdtemp(prefix="dicomtw-drain-"))
        output = directory / "out"
        output.mkdir()
        corpus = directory / "corpus"
        corpus.mkdir()
        for index in range(40):
            write_object(make_ct(f"drain{index}"), corpus / f"{index}.dcm", EVRLE)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "dicomtw", "-od", str(output), str(port)],
            stderr=subprocess.DEVNULL,
            env=server_environment(),
        )
        self.addCleanup(_stop, server)
        _wait_for_port(port, server)
        sender = subprocess.Popen(
            [dcmtk_tool("storescu"), "127.0.0.1", str(port), "+sd", str(corpus)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not list(output.glob("CT.*")):
            self.assertLess(time.monotonic(), deadline, "nothing stored")
            time.sleep(0.01)
        server.send_signal(signal.SIGTERM)
        self.assertEqual(sender.wait(60), 0)
        server.wait(60)
        self.assertEqual(len(list(output.glob("CT.*"))), 40)
        self.assertEqual([p.name for p in output.glob(".dicomtw-*")], [])
