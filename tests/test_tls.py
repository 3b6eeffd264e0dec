"""
TLS (``+tls``) with certificates made by the openssl command: DCMTK's
storescu and echoscu, pynetdicom, and ``openssl s_client`` as peers.  Run
with pytest.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from peers import (
    dcmtk_tool,
    free_port,
    make_ct,
    requires_dcmtk,
    run_tool,
    server_environment,
    write_object,
)

OPENSSL = shutil.which("openssl")


def _openssl(*arguments: str) -> None:
    assert OPENSSL is not None
    result = subprocess.run(
        [OPENSSL, *arguments], capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr.decode()


class PKI:
    """
    A CA, a server and a client certificate it signed, and a client
    certificate of another CA; keys unencrypted except ``protected.key``.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        for ca in ("ca", "other"):
            _openssl(
                "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", str(directory / f"{ca}.key"),
                "-out", str(directory / f"{ca}.crt"),
                "-days", "2", "-subj", f"/CN=Test {ca}",
            )  # fmt: skip
        for name, ca in (("server", "ca"), ("client", "ca"), ("stranger", "other")):
            _openssl(
                "req", "-newkey", "rsa:2048", "-nodes",
                "-keyout", str(directory / f"{name}.key"),
                "-out", str(directory / f"{name}.csr"), "-subj", f"/CN={name}",
            )  # fmt: skip
            _openssl(
                "x509", "-req", "-in", str(directory / f"{name}.csr"),
                "-CA", str(directory / f"{ca}.crt"),
                "-CAkey", str(directory / f"{ca}.key"), "-CAcreateserial",
                "-out", str(directory / f"{name}.crt"), "-days", "2",
            )  # fmt: skip
        _openssl(
            "pkey", "-in", str(directory / "server.key"), "-aes256",
            "-passout", "pass:secret", "-out", str(directory / "protected.key"),
        )  # fmt: skip

    def path(self, name: str) -> str:
        return str(self.directory / name)


CA_CONFIG = """
[ ca ]
default_ca = test
[ test ]
dir = .
database = ./index.txt
new_certs_dir = ./newcerts
serial = ./serial
crlnumber = ./crlnumber
certificate = ./ca.crt
private_key = ./ca.key
default_md = sha256
default_crl_days = 2
policy = anything
unique_subject = no
[ anything ]
commonName = supplied
"""


def revoking_ca(directory: Path) -> None:
    """
    A CA run with ``openssl ca``: ``good``, ``revoked`` (listed in
    ``ca.crl``) and ``expired`` (valid in January 2020) client certificates.
    """
    directory.mkdir()
    (directory / "newcerts").mkdir()
    (directory / "index.txt").write_text("")
    (directory / "serial").write_text("1000\n")
    (directory / "crlnumber").write_text("1000\n")
    (directory / "ca.cnf").write_text(CA_CONFIG)

    def run(*arguments: str) -> None:
        assert OPENSSL is not None
        result = subprocess.run(
            [OPENSSL, *arguments], cwd=directory, capture_output=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr.decode()

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
        "-out", "ca.crt", "-days", "2", "-subj", "/CN=Revoking CA")  # fmt: skip
    for name in ("good", "revoked", "expired"):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", f"/CN={name}")  # fmt: skip
        dates = (
            ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"]
            if name == "expired" else ["-days", "2"]
        )  # fmt: skip
        run("ca", "-batch", "-config", "ca.cnf", "-in", f"{name}.csr",
            "-out", f"{name}.crt", *dates)  # fmt: skip
    run("ca", "-batch", "-config", "ca.cnf", "-revoke", "revoked.crt")
    run("ca", "-batch", "-config", "ca.cnf", "-gencrl", "-out", "ca.crl")


@requires_dcmtk
class TLSTests(SynchronousTestCase):
    """
    Peer authentication, security profiles and key passwords.
    """

    @classmethod
    def setUpClass(cls) -> None:
        if OPENSSL is None:
            raise SkipTest("the openssl command is not installed")
        cls.directory = Path(tempfile.mkdtemp(prefix="dicomtw-tls-"))
        cls.pki = PKI(cls.directory)
        revoking_ca(cls.directory / "ca2")
        cls.sent = write_object(
            make_ct("tls-test"), cls.directory / "ct.dcm", ExplicitVRLittleEndian
        )

    def serve(self, *options: str, key: str = "server.key") -> tuple[int, Path]:
        output = Path(tempfile.mkdtemp(prefix="out-", dir=self.directory))
        port = free_port()
        log = output.with_suffix(".log")
        process = subprocess.Popen(
            [
                sys.executable, "-m", "dicomtw", "-v", "-od", str(output),
                "+tls", self.pki.path(key), self.pki.path("server.crt"),
                "+cf", self.pki.path("ca.crt"), *options, str(port),
            ],
            stderr=open(log, "wb"),
            env=server_environment(),
        )  # fmt: skip
        self.addCleanup(process.wait, 10)
        self.addCleanup(process.terminate)
        deadline = time.monotonic() + 20
        while subprocess.run(
            [
                OPENSSL or "openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                "-cert", self.pki.path("client.crt"),
                "-key", self.pki.path("client.key"),
                "-cipher", "ALL:eNULL:@SECLEVEL=0",
            ],
            input=b"", capture_output=True, timeout=10, check=False,
        ).returncode:  # fmt: skip
            self.assertIsNone(process.poll(), log.read_text())
            self.assertLess(time.monotonic(), deadline, "server did not start")
            time.sleep(0.2)
        return port, log

    def storescu(self, port: int, *identity: str) -> int:
        return run_tool(
            [
                dcmtk_tool("storescu"), *identity,
                "+cf", self.pki.path("ca.crt"),
                "127.0.0.1", str(port), str(self.sent),
            ]
        ).returncode  # fmt: skip

    def test_require_peer_certificate(self) -> None:
        """
        By default (``-rc``) a client certificate of the trusted CA is
        needed: storescu with one stores (its subject is logged and given
        to -xcr commands), without one or with another CA's it fails.
        """
        record = self.directory / f"subject-{time.monotonic_ns()}.txt"
        port, log = self.serve(
            "-xs", "-xcr", f'echo "$DICOMTW_PEER_CERTIFICATE" > {record}'
        )
        client = ("+tls", self.pki.path("client.key"), self.pki.path("client.crt"))
        stranger = (
            "+tls",
            self.pki.path("stranger.key"),
            self.pki.path("stranger.crt"),
        )
        self.assertEqual(self.storescu(port, *client), 0)
        self.assertNotEqual(self.storescu(port, "+tla"), 0)
        self.assertNotEqual(self.storescu(port, *stranger), 0)
        text = log.read_text()
        self.assertIn("Peer certificate: CN=client", text)
        self.assertIn("TLS error", text)
        # -xcr commands see the subject in their environment.
        self.assertEqual(record.read_text().strip(), "CN=client")

    def test_revocation_and_expiry(self) -> None:
        """
        With ``+crl``, a revoked client certificate is refused while a good
        one of the same CA is accepted; an expired one is always refused;
        without the CRL the revoked one passes.
        """
        ca2 = self.directory / "ca2"

        def client(name: str) -> tuple[str, ...]:
            return ("+tls", str(ca2 / f"{name}.key"), str(ca2 / f"{name}.crt"))

        trust = ("+cf", str(ca2 / "ca.crt"))
        port, _ = self.serve(*trust, "+crl", str(ca2 / "ca.crl"))
        self.assertEqual(self.storescu(port, *client("good")), 0)
        self.assertNotEqual(self.storescu(port, *client("revoked")), 0)
        self.assertNotEqual(self.storescu(port, *client("expired")), 0)
        port, _ = self.serve(*trust)
        self.assertEqual(self.storescu(port, *client("revoked")), 0)

    def test_der_and_certificate_directory(self) -> None:
        """
        ``-der`` reads DER key and certificate; ``+cd`` trusts a hashed
        certificate directory; echoscu with a client certificate works.
        """
        der = self.directory / "der"
        if not der.exists():
            der.mkdir()
            _openssl("pkey", "-in", self.pki.path("server.key"), "-outform", "DER",
                     "-out", str(der / "server.der.key"))  # fmt: skip
            _openssl("x509", "-in", self.pki.path("server.crt"), "-outform", "DER",
                     "-out", str(der / "server.der.crt"))  # fmt: skip
            trusted = der / "trusted"
            trusted.mkdir()
            shutil.copy(self.pki.path("ca.crt"), trusted / "ca.pem")
            _openssl("rehash", str(trusted))
        output = Path(tempfile.mkdtemp(prefix="out-", dir=self.directory))
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable, "-m", "dicomtw", "-od", str(output), "+tls",
                str(der / "server.der.key"), str(der / "server.der.crt"), "-der",
                "+cd", str(der / "trusted"), "-ta", "5", str(port),
            ],
            stderr=subprocess.DEVNULL, env=server_environment(),
        )  # fmt: skip
        self.addCleanup(process.wait, 10)
        self.addCleanup(process.terminate)
        echo = [
            dcmtk_tool("echoscu"), "+tls", self.pki.path("client.key"),
            self.pki.path("client.crt"), "+cf", self.pki.path("ca.crt"),
            "127.0.0.1", str(port),
        ]  # fmt: skip
        deadline = time.monotonic() + 20
        while run_tool(echo).returncode:
            self.assertIsNone(process.poll())
            self.assertLess(time.monotonic(), deadline, "no TLS echo")
            time.sleep(0.2)

    def test_systemd_socket(self) -> None:
        """
        ``+tls`` also secures a ``--listen`` endpoint, here a socket
        inherited from systemd.
        """
        activate = shutil.which("systemd-socket-activate")
        if activate is None:
            raise SkipTest("systemd-socket-activate is not installed")
        output = Path(tempfile.mkdtemp(prefix="out-", dir=self.directory))
        port = free_port()
        process = subprocess.Popen(
            [
                activate, "--fdname=dicom", "-l", f"127.0.0.1:{port}",
                sys.executable, "-m", "dicomtw", "-od", str(output),
                "+tls", self.pki.path("server.key"), self.pki.path("server.crt"),
                "+cf", self.pki.path("ca.crt"),
                "--listen", "systemd:domain=INET:index=0",
            ],
            stderr=subprocess.DEVNULL, env=server_environment(),
        )  # fmt: skip
        self.addCleanup(process.wait, 10)
        self.addCleanup(process.terminate)
        client = ("+tls", self.pki.path("client.key"), self.pki.path("client.crt"))
        self.assertEqual(self.storescu(port, *client), 0)
        self.assertEqual(len(list(output.glob("CT.*"))), 1)
        self.assertNotEqual(
            run_tool([dcmtk_tool("echoscu"), "127.0.0.1", str(port)]).returncode, 0
        )

    def test_verify_and_ignore(self) -> None:
        """
        ``-vc`` accepts anonymous clients but not untrusted certificates;
        ``-ic`` accepts both.
        """
        stranger = (
            "+tls",
            self.pki.path("stranger.key"),
            self.pki.path("stranger.crt"),
        )
        port, _ = self.serve("-vc")
        self.assertEqual(self.storescu(port, "+tla"), 0)
        self.assertNotEqual(self.storescu(port, *stranger), 0)
        port, _ = self.serve("-ic")
        self.assertEqual(self.storescu(port, "+tla"), 0)
        self.assertEqual(self.storescu(port, *stranger), 0)

    def protocol_accepted(self, port: int, version: str) -> bool:
        result = subprocess.run(
            [
                OPENSSL or "openssl", "s_client", version, "-cipher",
                "ALL:@SECLEVEL=0", "-cert", self.pki.path("client.crt"),
                "-key", self.pki.path("client.key"),
                "-connect", f"127.0.0.1:{port}",
            ],
            input=b"", capture_output=True, timeout=10, check=False,
        )  # fmt: skip
        return result.returncode == 0

    def test_profiles(self) -> None:
        """
        ``+py`` (default) refuses TLS 1.1 and accepts 1.2 and 1.3; ``+px``
        accepts 1.1; ``+pz`` accepts only 1.2.
        """
        port, _ = self.serve()
        self.assertFalse(self.protocol_accepted(port, "-tls1_1"))
        self.assertTrue(self.protocol_accepted(port, "-tls1_2"))
        self.assertTrue(self.protocol_accepted(port, "-tls1_3"))
        port, _ = self.serve("+px")
        self.assertTrue(self.protocol_accepted(port, "-tls1_1"))
        port, _ = self.serve("+pz")
        self.assertTrue(self.protocol_accepted(port, "-tls1_2"))
        self.assertFalse(self.protocol_accepted(port, "-tls1_3"))
        port, _ = self.serve("+pa")
        self.assertFalse(self.protocol_accepted(port, "-tls1_3"))
        self.assertTrue(self.cipher_accepted(port, "AES128-SHA"))
        self.assertFalse(self.cipher_accepted(port, "ECDHE-RSA-AES128-GCM-SHA256"))
        port, _ = self.serve("+pn")
        self.assertTrue(self.cipher_accepted(port, "NULL-SHA"))
        self.assertFalse(self.cipher_accepted(port, "AES128-SHA"))

    def test_profile_ciphers(self) -> None:
        """
        A TLS 1.2 client limited to AES128-SHA is refused by ``+py`` and
        accepted by ``+px``.
        """
        port, _ = self.serve()
        self.assertFalse(self.cipher_accepted(port, "AES128-SHA"))
        self.assertTrue(self.cipher_accepted(port, "ECDHE-RSA-AES128-GCM-SHA256"))
        port, _ = self.serve("+px")
        self.assertTrue(self.cipher_accepted(port, "AES128-SHA"))

    def test_added_cipher(self) -> None:
        """
        ``+cs`` adds a suite to the profile's: AES128-SHA is then accepted
        under ``+py`` too; unknown and unencrypted suites are fatal.
        """
        port, _ = self.serve("+cs", "TLS_RSA_WITH_AES_128_CBC_SHA")
        self.assertTrue(self.cipher_accepted(port, "AES128-SHA"))
        for name, message in (
            ("BOGUS", b"0001:0007 Illegal call"),
            ("TLS_RSA_WITH_NULL_SHA", b"000b:000a Ciphersuite not allowed"),
        ):
            result = subprocess.run(
                [
                    sys.executable, "-m", "dicomtw", "+tls",
                    self.pki.path("server.key"), self.pki.path("server.crt"),
                    "+cs", name, "-od", str(self.directory), str(free_port()),
                ],
                capture_output=True, timeout=60, env=server_environment(),
                check=False,
            )  # fmt: skip
            self.assertEqual(result.returncode, 1, name)
            self.assertIn(message, result.stderr)

    def test_list_ciphers(self) -> None:
        """
        ``+cc`` lists the same suites as the reference, and exits 0.
        """

        def listed(argv: list[str]) -> list[str]:
            result = subprocess.run(
                argv, capture_output=True, timeout=60, text=True,
                env=server_environment(), check=False,
            )  # fmt: skip
            self.assertEqual(result.returncode, 0)
            return [
                line.strip()
                for line in result.stdout.splitlines()
                if line.startswith("  TLS_")
            ]

        ours = listed([sys.executable, "-m", "dicomtw", "+cc"])
        self.assertEqual(ours, listed([dcmtk_tool("storescp"), "+cc"]))
        self.assertGreater(len(ours), 10)

    def cipher_accepted(self, port: int, cipher: str) -> bool:
        result = subprocess.run(
            [
                OPENSSL or "openssl", "s_client", "-tls1_2", "-cipher",
                f"{cipher}:eNULL:@SECLEVEL=0" if cipher == "NULL-SHA"
                else f"{cipher}:@SECLEVEL=0", "-cert", self.pki.path("client.crt"),
                "-key", self.pki.path("client.key"),
                "-connect", f"127.0.0.1:{port}",
            ],
            input=b"", capture_output=True, timeout=10, check=False,
        )  # fmt: skip
        return result.returncode == 0

    def test_plaintext_and_stalled_handshake(self) -> None:
        """
        A plain DICOM client on the TLS port is closed with one log line.
        As in the reference, a client that never starts the handshake is
        cut off by -ts, not -ta; ARTIM (-ta) starts once the handshake is
        done.
        """
        port, log = self.serve("-ta", "1", "-ts", "3")
        self.assertNotEqual(
            run_tool([dcmtk_tool("echoscu"), "127.0.0.1", str(port)]).returncode, 0
        )
        with socket.create_connection(("127.0.0.1", port), timeout=10) as silent:
            started = time.monotonic()
            try:
                self.assertEqual(silent.recv(1), b"")
            except ConnectionResetError:
                pass  # closed all the same
            self.assertGreater(time.monotonic() - started, 2.5)
            self.assertLess(time.monotonic() - started, 6)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.load_cert_chain(
            self.pki.path("client.crt"), self.pki.path("client.key")
        )
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context.wrap_socket(raw) as quiet:
                started = time.monotonic()
                try:
                    self.assertEqual(quiet.recv(1), b"")
                except (ConnectionResetError, ssl.SSLError):
                    pass  # closed all the same
                self.assertLess(time.monotonic() - started, 2.5)
        text = log.read_text()
        self.assertEqual(text.count("TLS error"), 1)
        self.assertEqual(text.count("TLS handshake not complete after 3"), 1)
        self.assertIn("ARTIM timer expired", text)

    def test_inetd(self) -> None:
        """
        TLS on a connection handed over by an inetd-style launcher.
        """
        from test_process import InetdLauncher

        output = Path(tempfile.mkdtemp(prefix="inetd-", dir=self.directory))
        launcher = InetdLauncher(
            [
                "--inetd", "-od", str(output), "+tls", self.pki.path("server.key"),
                self.pki.path("server.crt"), "+cf", self.pki.path("ca.crt"),
            ]
        )  # fmt: skip
        client = ("+tls", self.pki.path("client.key"), self.pki.path("client.crt"))
        self.assertEqual(self.storescu(launcher.port, *client), 0)
        self.assertEqual(launcher.wait(), 0)
        self.assertEqual(len(list(output.glob("CT.*"))), 1)

    def test_key_password(self) -> None:
        """
        An encrypted key loads with ``+pw``; a wrong password is the
        reference's fatal error.
        """
        port, _ = self.serve("+pw", "secret", key="protected.key")
        client = ("+tls", self.pki.path("client.key"), self.pki.path("client.crt"))
        self.assertEqual(self.storescu(port, *client), 0)
        result = subprocess.run(
            [
                sys.executable, "-m", "dicomtw", "+tls",
                self.pki.path("protected.key"), self.pki.path("server.crt"),
                "+pw", "wrong", "-od", str(self.directory), str(free_port()),
            ],
            capture_output=True, timeout=60, env=server_environment(), check=False,
        )  # fmt: skip
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"000b:0004 Unable to load private TLS key", result.stderr)

    def test_pynetdicom_and_fork(self) -> None:
        """
        pynetdicom with a client certificate stores, also with ``--fork``.
        """
        for options in ((), ("--fork",)):
            port, _ = self.serve(*options)
            context = ssl.create_default_context(cafile=self.pki.path("ca.crt"))
            context.check_hostname = False
            context.load_cert_chain(
                self.pki.path("client.crt"), self.pki.path("client.key")
            )
            ae = AE(ae_title="TLSSCU")
            ae.add_requested_context(
                "1.2.840.10008.5.1.4.1.1.2", ExplicitVRLittleEndian
            )
            dataset = make_ct(f"tls-{len(options)}")
            dataset.file_meta = FileMetaDataset()
            dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            assoc = ae.associate("127.0.0.1", port, tls_args=(context, None))
            self.assertTrue(assoc.is_established, options)
            try:
                self.assertEqual(assoc.send_c_store(dataset).Status, 0)
            finally:
                assoc.release()
