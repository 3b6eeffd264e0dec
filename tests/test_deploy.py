"""
Twisted-native deployment: systemd socket activation (a listening socket,
and one connection per instance with ``--inetd``) through
``systemd-socket-activate``, and ``twistd`` as a daemon with a pid file.
Run with pytest.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
from twisted.trial.unittest import SkipTest, SynchronousTestCase

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

ACTIVATE = shutil.which("systemd-socket-activate")


def _wait_for_echo(port: int, limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while run_tool([dcmtk_tool("echoscu"), "127.0.0.1", str(port)]).returncode:
        if time.monotonic() > deadline:
            raise AssertionError(f"no C-ECHO answer on port {port}")
        time.sleep(0.2)


@requires_dcmtk
class DeployTests(SynchronousTestCase):
    """
    storescu stores through each deployment.
    """

    def setUp(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dicomtw-deploy-"))
        self.output = self.directory / "out"
        self.output.mkdir()
        self.sent = write_object(
            make_ct("deploy"), self.directory / "ct.dcm", ExplicitVRLittleEndian
        )

    def start(self, argv: list[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=open(self.directory / "server.log", "wb"),
            env=server_environment(),
        )

        def stop() -> None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)

        self.addCleanup(stop)
        return process

    def store(self, port: int) -> None:
        result = run_tool(
            [dcmtk_tool("storescu"), "127.0.0.1", str(port), str(self.sent)], timeout=30
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        uid = read_dataset(self.sent).SOPInstanceUID
        self.assertTrue((self.output / f"CT.{uid}").exists())

    def test_systemd_listening_socket(self) -> None:
        """
        ``--listen systemd:domain=INET:index=0`` serves on a socket passed
        by systemd (``Accept=no``).
        """
        if ACTIVATE is None:
            raise SkipTest("systemd-socket-activate is not installed")
        port = free_port()
        self.start(
            [
                ACTIVATE,
                # Twisted needs LISTEN_FDNAMES, which systemd always sets.
                "--fdname=dicom",
                "-l",
                f"127.0.0.1:{port}",
                sys.executable,
                "-m",
                "dicomtw",
                "-od",
                str(self.output),
                "--listen",
                "systemd:domain=INET:index=0",
            ]
        )
        _wait_for_echo(port)
        self.store(port)

    def test_systemd_accept_inetd(self) -> None:
        """
        ``--inetd`` serves a connection that systemd accepted and passed as
        standard input (``Accept=yes``).
        """
        if ACTIVATE is None:
            raise SkipTest("systemd-socket-activate is not installed")
        port = free_port()
        self.start(
            [
                ACTIVATE,
                "--accept",
                "--inetd",
                "-l",
                f"127.0.0.1:{port}",
                sys.executable,
                "-m",
                "dicomtw",
                "--inetd",
                "-od",
                str(self.output),
            ]
        )
        _wait_for_echo(port)
        self.store(port)

    def test_twistd_daemon(self) -> None:
        """
        ``twistd`` daemonizes with a pid file and log file; SIGTERM stops it.
        """
        self.daemon([])

    def test_twistd_daemon_drops_privileges(self) -> None:
        """
        Started as root with ``--uid``/``--gid``, the daemon stores files as
        that user.
        """
        if os.getuid() != 0:
            raise SkipTest("needs root to change user")
        os.chmod(self.directory, 0o777)
        os.chmod(self.output, 0o777)
        self.daemon(["--uid=65534", "--gid=65534"])
        [stored] = list(self.output.glob("CT.*"))
        self.assertEqual(stored.stat().st_uid, 65534)

    def daemon(self, extra: list[str]) -> None:
        """
        Run ``twistd`` as a daemon, store through it, stop it.
        """
        port = free_port()
        pid_file = self.directory / "storescp.pid"
        log_file = self.directory / "storescp.log"
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from twisted.scripts.twistd import run; run()",
                f"--pidfile={pid_file}",
                f"--logfile={log_file}",
                *extra,
                "storescp",
                "-od",
                str(self.output),
                str(port),
            ],
            env=server_environment(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        deadline = time.monotonic() + 20
        while not pid_file.exists():
            self.assertLess(time.monotonic(), deadline, "no pid file")
            time.sleep(0.1)
        pid = int(pid_file.read_text())
        self.addCleanup(_kill_quietly, pid)
        _wait_for_echo(port)
        self.store(port)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while pid_file.exists():
            self.assertLess(time.monotonic(), deadline, "daemon did not stop")
            time.sleep(0.1)
        log = log_file.read_text()
        self.assertIn(f"starting on {port}", log)
        self.assertIn("Server Shut Down", log)
        self.assertNotIn("Traceback", log)


def _kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@requires_dcmtk
class TLSEndpointTests(SynchronousTestCase):
    """
    ``--listen ssl:...`` serves DICOM over TLS with a certificate made by
    the openssl command; DCMTK's storescu (verifying the server against
    it) and pynetdicom's TLS client store through it.
    """

    def test_ssl_endpoint(self) -> None:
        """
        storescu ``+tla +cf`` and pynetdicom with ``tls_args`` both store.
        """
        openssl = shutil.which("openssl")
        if openssl is None:
            raise SkipTest("the openssl command is not installed")
        directory = Path(tempfile.mkdtemp(prefix="dicomtw-tls-"))
        key, cert = directory / "key.pem", directory / "cert.pem"
        made = subprocess.run(
            [
                openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", str(key), "-out", str(cert), "-days", "2",
                "-subj", "/CN=localhost",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )  # fmt: skip
        self.assertEqual(made.returncode, 0, made.stderr)
        output = directory / "out"
        output.mkdir()
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable, "-m", "dicomtw", "-od", str(output), "--listen",
                f"ssl:{port}:privateKey={key}:certKey={cert}:interface=127.0.0.1",
            ],
            stderr=subprocess.DEVNULL,
            env=server_environment(),
        )  # fmt: skip
        self.addCleanup(server.wait, 10)
        self.addCleanup(server.terminate)
        sent = write_object(
            make_ct("tls"), directory / "ct.dcm", ExplicitVRLittleEndian
        )
        storescu = [dcmtk_tool("storescu"), "+tla", "+cf", str(cert)]
        deadline = time.monotonic() + 20
        while run_tool([*storescu, "127.0.0.1", str(port), str(sent)]).returncode:
            self.assertLess(time.monotonic(), deadline, "storescu over TLS failed")
            time.sleep(0.3)
        uid = read_dataset(sent).SOPInstanceUID
        self.assertTrue((output / f"CT.{uid}").exists())

        import ssl

        from pynetdicom import AE

        context = ssl.create_default_context(cafile=str(cert))
        ae = AE(ae_title="TLSSCU")
        ae.add_requested_context("1.2.840.10008.5.1.4.1.1.2", ExplicitVRLittleEndian)
        dataset = make_ct("tls-pynetdicom")
        dataset.file_meta = FileMetaDataset()
        dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        assoc = ae.associate("127.0.0.1", port, tls_args=(context, "localhost"))
        self.assertTrue(assoc.is_established)
        try:
            self.assertEqual(assoc.send_c_store(dataset).Status, 0)
        finally:
            assoc.release()
        self.assertTrue((output / f"CT.{dataset.SOPInstanceUID}").exists())
