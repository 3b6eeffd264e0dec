"""
Tests for dicomtw.access: hosts_access(5) matching, calling AE
allow-lists, and ``+ac`` on real sockets over IPv4 and IPv6 loopback.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from dicomtw.access import CallingAllowList, Client, allowed, client_matches, parse
from dicomtw.framing import Framer
from dicomtw.pdu import AAssociateAC, AAssociateRJ
from dicomtw.testing import ScriptedPeer
from peers import free_port, server_environment

LOCALHOST = Client("localhost", "127.0.0.1")
REMOTE = Client("pacs.example.org", "192.168.10.7")
ANONYMOUS = Client(None, "10.1.2.3")
IPV6 = Client(None, "::1")


class PatternTests(SynchronousTestCase):
    """
    Each client pattern of hosts_access(5).
    """

    def test_all_and_local(self) -> None:
        """
        ALL matches everyone; LOCAL only host names without a dot.
        """
        self.assertTrue(client_matches("ALL", REMOTE))
        self.assertTrue(client_matches("LOCAL", LOCALHOST))
        self.assertFalse(client_matches("LOCAL", REMOTE))
        self.assertFalse(client_matches("LOCAL", ANONYMOUS))

    def test_known_unknown(self) -> None:
        """
        KNOWN and UNKNOWN tell whether the host name is known.
        """
        self.assertTrue(client_matches("KNOWN", REMOTE))
        self.assertTrue(client_matches("UNKNOWN", ANONYMOUS))
        self.assertFalse(client_matches("UNKNOWN", REMOTE))

    def test_names_and_suffixes(self) -> None:
        """
        A host name matches exactly (any case); a leading dot matches a
        domain suffix.
        """
        self.assertTrue(client_matches("PACS.example.org", REMOTE))
        self.assertTrue(client_matches(".example.org", REMOTE))
        self.assertFalse(client_matches(".example.com", REMOTE))
        self.assertFalse(client_matches("example.org", REMOTE))

    def test_addresses(self) -> None:
        """
        Addresses match exactly, by prefix, net/mask and CIDR, in IPv4 and
        bracketed IPv6.
        """
        self.assertTrue(client_matches("192.168.10.7", REMOTE))
        self.assertTrue(client_matches("192.168.", REMOTE))
        self.assertFalse(client_matches("192.169.", REMOTE))
        self.assertTrue(client_matches("192.168.0.0/255.255.0.0", REMOTE))
        self.assertTrue(client_matches("192.168.10.0/24", REMOTE))
        self.assertFalse(client_matches("192.168.11.0/24", REMOTE))
        self.assertTrue(client_matches("[::1]", IPV6))
        self.assertTrue(client_matches("[::]/0", IPV6))
        self.assertFalse(client_matches("[fe80::]/64", IPV6))
        self.assertFalse(client_matches("127.0.0.0/8", IPV6))

    def test_wildcards(self) -> None:
        """
        Shell wildcards match addresses and host names.
        """
        self.assertTrue(client_matches("192.168.*", REMOTE))
        self.assertTrue(client_matches("pacs.*.org", REMOTE))
        self.assertFalse(client_matches("ris?.example.org", REMOTE))


class DecisionTests(SynchronousTestCase):
    """
    The allow file wins, then the deny file, then access is granted.
    """

    def test_order(self) -> None:
        """
        Allowed by the allow file even when the deny file denies all.
        """
        self.assertTrue(allowed("storescp: 127.0.0.1", "ALL: ALL", LOCALHOST))
        self.assertFalse(allowed("storescp: 10.", "ALL: ALL", LOCALHOST))
        self.assertTrue(allowed("", "", LOCALHOST))

    def test_daemon_names(self) -> None:
        """
        Rules for other daemons do not apply.
        """
        self.assertTrue(allowed("", "sshd: ALL", LOCALHOST))
        self.assertFalse(allowed("", "storescp@host: ALL", LOCALHOST))

    def test_except(self) -> None:
        """
        ``EXCEPT`` removes clients from a list.
        """
        deny = "storescp: ALL EXCEPT 127.0.0.1 [::1]"
        self.assertTrue(allowed("", deny, LOCALHOST))
        self.assertTrue(allowed("", deny, IPV6))
        self.assertFalse(allowed("", deny, REMOTE))

    def test_file_syntax(self) -> None:
        """
        Comments, commas, continuation lines and a third field are read as
        hosts_access(5) says.
        """
        rules = parse(
            "# comment\n"
            "storescp, echoscu : 10.0.0.1 \\\n"
            "   10.0.0.2 : spawn /bin/echo\n"
            "\n"
            "ALL:ALL\n"
        )
        self.assertEqual(rules[0].daemons, ("storescp", "echoscu"))
        self.assertEqual(rules[0].clients, ("10.0.0.1", "10.0.0.2"))
        self.assertEqual(rules[1].clients, ("ALL",))


class CallingAllowListTests(SynchronousTestCase):
    """
    Beyond the reference: calling AE titles, optionally with an address.
    """

    def test_titles(self) -> None:
        """
        Listed titles are admitted, from the listed address if one is given.
        """
        allow = CallingAllowList.from_options(["CT01", "MR01@127.0.0.1"])
        self.assertTrue(allow.admits("CT01", "192.168.1.1"))
        self.assertTrue(allow.admits("MR01", "127.0.0.1"))
        self.assertFalse(allow.admits("MR01", "127.0.0.2"))
        self.assertFalse(allow.admits("OTHER", "127.0.0.1"))
        self.assertTrue(CallingAllowList().admits("ANY", "1.2.3.4"))


def _associate(family: int, host: str, port: int, calling: str = "TESTSCU") -> object:
    """
    Send an A-ASSOCIATE-RQ and return the first PDU answered, or ``None``
    when the connection is closed without one.
    """
    peer = ScriptedPeer(calling_ae=calling)
    peer.propose(1, "1.2.840.10008.1.1", "1.2.840.10008.1.2")
    with socket.socket(family, socket.SOCK_STREAM) as connection:
        connection.settimeout(10)
        connection.connect((host, port))
        try:
            connection.sendall(peer.associate())
        except OSError:
            return None
        framer = Framer(1 << 20)
        while True:
            try:
                data = connection.recv(65536)
            except OSError:
                return None
            if not data:
                return None
            framer.feed(data)
            pdu = framer.next_pdu()
            if pdu is not None:
                return pdu


class RealSocketTests(SynchronousTestCase):
    """
    ``+ac`` with hosts files that allow and deny 127.0.0.1 and ::1, and the
    calling AE allow-list, on a running server.
    """

    def serve(self, *options: str) -> int:
        directory = Path(tempfile.mkdtemp(prefix="dicomtw-access-"))
        self.allow = directory / "hosts.allow"
        self.deny = directory / "hosts.deny"
        self.allow.write_text("")
        self.deny.write_text("")
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dicomtw",
                "-od",
                str(directory),
                "--hosts-allow",
                str(self.allow),
                "--hosts-deny",
                str(self.deny),
                "--listen",
                f"tcp:{port}:interface=127.0.0.1",
                "--listen",
                f"tcp6:{port}:interface=\\:\\:1",
                *options,
            ],
            stderr=subprocess.DEVNULL,
            env=server_environment(),
        )
        self.addCleanup(process.wait, 10)
        self.addCleanup(process.terminate)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                self.assertLess(time.monotonic(), deadline, "server did not start")
                time.sleep(0.1)

    def test_deny_and_allow(self) -> None:
        """
        A deny rule for 127.0.0.1 closes IPv4 connections without an
        answer while ::1 is served; an allow rule then lets 127.0.0.1 in
        and denying ::1 shuts it out; the files are read per connection.
        """
        port = self.serve("+ac", "-dhl")
        self.deny.write_text("storescp: 127.0.0.1\n")
        self.assertIsNone(_associate(socket.AF_INET, "127.0.0.1", port))
        self.assertIsInstance(_associate(socket.AF_INET6, "::1", port), AAssociateAC)
        self.allow.write_text("storescp: 127.0.0.1\n")
        self.deny.write_text("storescp: ALL\n")
        self.assertIsInstance(
            _associate(socket.AF_INET, "127.0.0.1", port), AAssociateAC
        )
        self.assertIsNone(_associate(socket.AF_INET6, "::1", port))
        self.allow.write_text("storescp: [::1]\n")
        self.assertIsInstance(_associate(socket.AF_INET6, "::1", port), AAssociateAC)

    def test_calling_ae_allow_list(self) -> None:
        """
        With ``--allow-calling-ae``, other calling AE titles get
        A-ASSOCIATE-RJ (permanent, service user, calling AE title not
        recognized).
        """
        port = self.serve("--allow-calling-ae", "GOOD@127.0.0.1")
        self.assertIsInstance(
            _associate(socket.AF_INET, "127.0.0.1", port, "GOOD"), AAssociateAC
        )
        self.assertEqual(
            _associate(socket.AF_INET, "127.0.0.1", port, "BAD"), AAssociateRJ(1, 1, 3)
        )
        self.assertEqual(
            _associate(socket.AF_INET6, "::1", port, "GOOD"), AAssociateRJ(1, 1, 3)
        )
