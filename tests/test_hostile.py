"""
Hostile peers over raw loopback sockets against a running storage SCP.

One server (``-pdu 4096 -ta 2 -ts 3``) serves every test of
:class:`HostilePeerTests`.  Each test plays one misbehaving peer with a
raw socket: garbage instead of PDUs, absurd PDU lengths, malformed
A-ASSOCIATE-RQ items, P-DATA out of place or too long, path tricks in SOP
Instance UIDs, silence, a byte-by-byte trickle, a reset in the middle of a
large data set, and a data set cut inside an element.  After each one the
same server must still answer a C-ECHO.

The server under test is dicomtw unless ``DICOMTW_TEST_SERVER=dcmtk`` is
set.  Against DCMTK's ``storescp`` several tests fail by design (it holds
malformed requests open without an answer, creates no spool file, aborts
instead of answering a truncated data set); such runs are for information
only.

Run with ``python -m pytest``: the server is started in ``setUpClass``,
which trial's own runner does not call.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import struct
import tempfile
import time
from pathlib import Path

from peers import ServerProcess, make_ct, make_uid
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import UID, CTImageStorage, ImplicitVRLittleEndian
from pynetdicom import AE
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.dimse import CommandSet, Tag, decode_command
from dicomtw.framing import Framer
from dicomtw.pdu import (
    PDU,
    PDV,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AReleaseRP,
    PDataTF,
)
from dicomtw.testing import ScriptedPeer

#: Which storage SCP the tests run against: ``dicomtw`` or ``dcmtk``.
SERVER_KIND = os.environ.get("DICOMTW_TEST_SERVER", "dicomtw")
if SERVER_KIND not in ServerProcess.KINDS:
    raise RuntimeError(
        f"DICOMTW_TEST_SERVER={SERVER_KIND!r}; use one of {ServerProcess.KINDS}"
    )

#: The server's maximum receive PDU length (``-pdu``).
SERVER_MAX_PDU = 4096
#: The server's ACSE timeout (``-ta``), seconds.
ACSE_TIMEOUT = 2.0
#: The server's socket timeout (``-ts``), seconds.
SOCKET_TIMEOUT = 3.0

#: The timeout of every blocking socket operation of the raw peer.
PEER_TIMEOUT = 10.0
#: How long a server may take to close a connection it has given up on.
CLOSE_DEADLINE = 5.0
#: How long a server may take to close after an A-ABORT: less than the
#: ACSE timeout, so the close must not wait for ARTIM.
ABORT_CLOSE_DEADLINE = 1.0

#: The Verification SOP Class, PS3.4 Annex A.
VERIFICATION = UID("1.2.840.10008.1.1")

#: The status of a successful C-STORE.
SUCCESS = 0x0000

#: The presentation context ids the raw peer proposes.
CT_CONTEXT = 1
ECHO_CONTEXT = 3

_HEADER = struct.Struct(">BBL")
_ITEM = struct.Struct(">BBH")
_ASSOCIATE_FIXED = struct.Struct(">HH16s16s32s")

# A peer that stops talking is told apart from one that closed by this
# marker, returned by RawPeer.next_pdu.
_SILENT = object()


class RawPeer:
    """
    A DICOM peer on a raw TCP socket that reads back whole PDUs.

    :ivar closed: whether the server has closed (or reset) the connection.
    """

    def __init__(self, port: int) -> None:
        """
        :param port: the server's port on 127.0.0.1.
        """
        self.socket = socket.create_connection(
            ("127.0.0.1", port), timeout=PEER_TIMEOUT
        )
        self.framer = Framer(1 << 24, 1 << 24)
        self.closed = False
        self.opened = time.monotonic()

    def send(self, data: bytes) -> bool:
        """
        Send bytes, unless the server has closed the connection.

        :param data: the bytes.
        :returns: whether they were all handed to the kernel.
        """
        try:
            self.socket.sendall(data)
        except OSError:
            return False
        return True

    def next_pdu(self, timeout: float) -> PDU | object | None:
        """
        Read the next whole PDU from the server.

        :param timeout: seconds to wait at most.
        :returns: the PDU; ``None`` if the server closed the connection
            first; :data:`_SILENT` if nothing complete arrived in time.
        """
        deadline = time.monotonic() + timeout
        while True:
            pdu = self.framer.next_pdu()
            if pdu is not None:
                return pdu
            if self.closed:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return _SILENT
            self.socket.settimeout(remaining)
            try:
                data = self.socket.recv(65536)
            except TimeoutError:
                return _SILENT
            except OSError:
                data = b""
            if not data:
                self.closed = True
            self.framer.feed(data)

    def until_closed(self, timeout: float) -> tuple[list[PDU], float | None]:
        """
        Collect what the server sends until it closes the connection.

        :param timeout: seconds to wait at most.
        :returns: the PDUs received, and the seconds from the connection's
            opening until the server closed it (``None`` if it did not).
        """
        deadline = time.monotonic() + timeout
        received: list[PDU] = []
        while True:
            pdu = self.next_pdu(deadline - time.monotonic())
            if pdu is None:
                return received, time.monotonic() - self.opened
            if pdu is _SILENT:
                return received, None
            received.append(pdu)  # type: ignore[arg-type]

    def close(self) -> None:
        """
        Close our side normally.
        """
        self.socket.close()

    def reset(self) -> None:
        """
        Close with a TCP reset: linger on, linger time zero.
        """
        self.socket.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
        self.socket.close()


def scripted_peer() -> ScriptedPeer:
    """
    Make the PDU builder of a storage SCU that fits the server's limits.

    :returns: a peer proposing CT and Verification in implicit VR little
        endian, fragmenting to the server's maximum PDU length.
    """
    peer = ScriptedPeer(calling_ae="HOSTILE", max_pdu=SERVER_MAX_PDU)
    peer.propose(CT_CONTEXT, CTImageStorage, ImplicitVRLittleEndian)
    peer.propose(ECHO_CONTEXT, VERIFICATION, ImplicitVRLittleEndian)
    return peer


def item(item_type: int, value: bytes, declared: int | None = None) -> bytes:
    """
    Encode an A-ASSOCIATE item or sub-item, possibly lying about its length.

    :param item_type: the item type byte.
    :param value: the item's value.
    :param declared: the length to put in the header; the real one if not
        given.
    :returns: the encoded item.
    """
    length = len(value) if declared is None else declared
    return _ITEM.pack(item_type, 0, length) + value


def associate_rq(items: bytes) -> bytes:
    """
    Encode an A-ASSOCIATE-RQ around hand-made variable items.

    :param items: the encoded items after the fixed fields.
    :returns: the PDU, its length field telling the truth.
    """
    body = (
        _ASSOCIATE_FIXED.pack(
            1, 0, b"STORESCP".ljust(16), b"HOSTILE".ljust(16), bytes(32)
        )
        + items
    )
    return _HEADER.pack(0x01, 0, len(body)) + body


#: An application context item, PS3.8 §9.3.2.1.
APPLICATION_CONTEXT_ITEM = item(0x10, b"1.2.840.10008.3.1.1.1")
#: A user information item with maximum length and implementation class.
USER_INFORMATION_ITEM = item(
    0x50, item(0x51, struct.pack(">L", 16384)) + item(0x52, b"1.2.3.4")
)
#: The transfer syntax sub-item for implicit VR little endian.
IMPLICIT_ITEM = item(0x40, ImplicitVRLittleEndian.encode())


def presentation_context_value(context_id: int, abstract_item: bytes) -> bytes:
    """
    Build the value of a presentation context item.

    :param context_id: the context id.
    :param abstract_item: the encoded abstract syntax sub-item.
    :returns: id, reserved bytes, the abstract syntax and implicit VR LE.
    """
    return bytes((context_id, 0, 0, 0)) + abstract_item + IMPLICIT_ITEM


def encode_data_set(ds: Dataset) -> bytes:
    """
    Encode a data set in implicit VR little endian, without file meta.

    :param ds: the data set.
    :returns: its bytes.
    """
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = True
    write_dataset(buffer, ds)
    return buffer.getvalue()


def with_instance_uid(data: bytes, placeholder: str, raw_uid: bytes) -> bytes:
    """
    Swap the top-level SOP Instance UID element of an encoded data set.

    :param data: a data set in implicit VR little endian whose (0008,0018)
        holds ``placeholder``.
    :param placeholder: the UID it was encoded with (even length).
    :param raw_uid: the new value, padded to even length by the caller.
    :returns: the data set with the element rewritten, its length too.
    """
    tag = struct.pack("<HH", 0x0008, 0x0018)
    old = tag + struct.pack("<L", len(placeholder)) + placeholder.encode()
    if data.count(old) != 1:
        raise AssertionError("placeholder SOP Instance UID not found exactly once")
    return data.replace(old, tag + struct.pack("<L", len(raw_uid)) + raw_uid)


def snapshot(root: Path) -> dict[str, bytes | None]:
    """
    Record every entry under a directory, with the content of files.

    :param root: the directory.
    :returns: relative paths mapped to file contents (``None`` for
        directories).
    """
    return {
        str(path.relative_to(root)): path.read_bytes() if path.is_file() else None
        for path in sorted(root.rglob("*"))
    }


class HostilePeerTests(SynchronousTestCase):
    """
    The storage SCP survives hostile peers, gives them nothing they should
    not get, and keeps serving well-behaved ones.

    :cvar area: the parent of the output directory; it also holds a
        sibling directory with a file, to catch writes outside ``-od``.
    """

    server: ServerProcess
    workdir: Path
    area: Path
    output: Path
    sibling: Path

    @classmethod
    def setUpClass(cls) -> None:
        """
        Lay out the directories and start the server.
        """
        cls.workdir = Path(tempfile.mkdtemp(prefix="dicomtw-hostile-"))
        cls.area = cls.workdir / "area"
        cls.output = cls.area / "out"
        cls.sibling = cls.area / "sibling"
        cls.sibling.mkdir(parents=True)
        (cls.sibling / "keep.txt").write_text("untouched\n")
        (cls.area / "x").write_text("a file a UID might aim at\n")
        server = ServerProcess(
            cls.output,
            [
                "-pdu",
                str(SERVER_MAX_PDU),
                "-ta",
                str(int(ACSE_TIMEOUT)),
                "-ts",
                str(int(SOCKET_TIMEOUT)),
            ],
            kind=SERVER_KIND,
            log_path=cls.workdir / "server.log",
        )
        try:
            cls.server = server.__enter__()
        except BaseException:
            shutil.rmtree(cls.workdir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        """
        Stop the server and remove the scratch directories.
        """
        cls.server.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def setUp(self) -> None:
        """
        Remember the output directory's content and the surroundings.
        """
        self.before = snapshot(self.output)
        self.surroundings = self.outside()
        self.peers: list[RawPeer] = []

    def tearDown(self) -> None:
        """
        Close every raw connection of the test.
        """
        for peer in self.peers:
            peer.close()

    def outside(self) -> dict[str, bytes | None]:
        """
        Record everything in the output directory's parent, outside it.

        :returns: a :func:`snapshot` of the parent without the output
            directory's content.
        """
        return {
            name: content
            for name, content in snapshot(self.area).items()
            if not name.startswith("out/")
        }

    # -- helpers ----------------------------------------------------------

    def connect(self) -> RawPeer:
        """
        Open a raw connection to the server, closed when the test ends.

        :returns: the peer.
        """
        peer = RawPeer(self.server.port)
        self.peers.append(peer)
        return peer

    def explain(self, what: str, received: object = None) -> str:
        """
        Build a failure message with what the peer got and the server log.

        :param what: what went wrong.
        :param received: what the peer received, if relevant.
        :returns: the message.
        """
        return (
            f"{what}\nreceived: {received!r}\n--- server log:\n"
            + self.server.log_text()[-6000:]
        )

    def assert_still_serving(self) -> None:
        """
        Close this test's raw connections, then insist that the server is
        running and answers a C-ECHO with status 0x0000.
        """
        for peer in self.peers:
            peer.close()
        self.assertIsNone(self.server.returncode, self.explain("server died"))
        ae = AE(ae_title="ECHOSCU")
        ae.acse_timeout = PEER_TIMEOUT
        ae.dimse_timeout = PEER_TIMEOUT
        ae.network_timeout = PEER_TIMEOUT
        ae.connection_timeout = PEER_TIMEOUT
        ae.add_requested_context(VERIFICATION)
        assoc = ae.associate("127.0.0.1", self.server.port, ae_title="STORESCP")
        if not assoc.is_established:
            self.fail(self.explain("no association for the C-ECHO afterwards"))
        try:
            status = assoc.send_c_echo()
        finally:
            assoc.release()
        self.assertEqual(
            status.get("Status"), SUCCESS, self.explain("C-ECHO failed afterwards")
        )

    def assert_output_unchanged(self, wait: float = 0.0) -> None:
        """
        Insist that nothing was added to or changed in the output directory
        since the test started, spool files included.

        :param wait: seconds to keep polling for the directory to return to
            its old state (clean-up after a reset may take a moment).
        """
        deadline = time.monotonic() + wait
        while True:
            now = snapshot(self.output)
            if now == self.before or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        self.assertEqual(
            sorted(now), sorted(self.before), self.explain("output directory changed")
        )
        self.assertEqual(now, self.before, self.explain("a stored file changed"))

    def assert_refused(
        self, peer: RawPeer, *, answers: tuple[type, ...], required: bool
    ) -> list[PDU]:
        """
        Insist that the server closes the connection within
        :data:`CLOSE_DEADLINE` (:data:`ABORT_CLOSE_DEADLINE` when it may
        only answer with an A-ABORT) and sends only the allowed PDUs.

        :param peer: the raw peer after it misbehaved.
        :param answers: the PDU types the server may send first.
        :param required: whether one of them must be sent (else silence
            followed by a close is fine).
        :returns: the PDUs received.
        """
        deadline = ABORT_CLOSE_DEADLINE if answers == (AAbort,) else CLOSE_DEADLINE
        received, closed_after = peer.until_closed(deadline)
        self.assertFalse(
            any(isinstance(pdu, AAssociateAC) for pdu in received),
            self.explain("an A-ASSOCIATE-AC was sent", received),
        )
        self.assertTrue(
            all(isinstance(pdu, answers) for pdu in received),
            self.explain(f"only {answers} expected", received),
        )
        if required:
            self.assertTrue(received, self.explain("nothing sent before closing"))
        self.assertIsNotNone(
            closed_after,
            self.explain(f"connection still open after {deadline} s", received),
        )
        return received

    def associate(self, peer: RawPeer, scripted: ScriptedPeer) -> AAssociateAC:
        """
        Send a valid A-ASSOCIATE-RQ and insist on an A-ASSOCIATE-AC.

        :param peer: the raw connection.
        :param scripted: the PDU builder.
        :returns: the AC.
        """
        self.assertTrue(peer.send(scripted.associate()))
        answer = peer.next_pdu(PEER_TIMEOUT)
        if not isinstance(answer, AAssociateAC):
            self.fail(self.explain("association not accepted", answer))
        return answer

    def read_response(self, peer: RawPeer) -> CommandSet:
        """
        Read one whole DIMSE response command set.

        :param peer: the raw connection.
        :returns: the decoded command.
        """
        fragments: list[bytes] = []
        while True:
            pdu = peer.next_pdu(PEER_TIMEOUT)
            if not isinstance(pdu, PDataTF):
                self.fail(self.explain("no DIMSE response", pdu))
            for pdv in pdu.pdvs:
                self.assertTrue(pdv.is_command, self.explain("data in a response", pdu))
                fragments.append(bytes(pdv.data))
                if pdv.is_last:
                    return decode_command(b"".join(fragments))

    def release(self, peer: RawPeer, scripted: ScriptedPeer) -> None:
        """
        Release the association and insist on an A-RELEASE-RP.

        :param peer: the raw connection.
        :param scripted: the PDU builder.
        """
        self.assertTrue(peer.send(scripted.release()))
        answer = peer.next_pdu(PEER_TIMEOUT)
        self.assertIsInstance(
            answer, AReleaseRP, self.explain("no A-RELEASE-RP", answer)
        )

    def store_uid(self, raw_uid: bytes, expected_name: str) -> None:
        """
        Store a CT whose command and data set both carry a hostile SOP
        Instance UID, and check where it went.

        :param raw_uid: the UID bytes, before padding.
        :param expected_name: the sanitised file name the server must use.
        """
        padded = raw_uid + b"\0" * (len(raw_uid) % 2)
        ds = make_ct("hostile-uid")
        placeholder = str(make_uid("hostile-uid", "placeholder"))
        placeholder += "0" * (len(placeholder) % 2)
        ds.SOPInstanceUID = placeholder
        data = with_instance_uid(encode_data_set(ds), placeholder, padded)
        peer = self.connect()
        scripted = scripted_peer()
        self.associate(peer, scripted)
        pdus = scripted.store(
            CT_CONTEXT, CTImageStorage, raw_uid.decode("latin-1"), data
        )
        self.assertTrue(peer.send(b"".join(pdus)))
        status = self.read_response(peer).ushort(Tag.STATUS)
        self.release(peer, scripted)

        self.assertEqual(status, SUCCESS, self.explain(f"status 0x{status:04x}"))
        self.assertNotIn(expected_name, self.before)
        entries = list(self.output.iterdir())
        self.assertIn(
            expected_name,
            [entry.name for entry in entries],
            self.explain(f"{expected_name} not stored; have {entries}"),
        )
        self.assertEqual(
            [entry for entry in self.output.rglob("*") if entry.parent != self.output],
            [],
        )
        self.assertTrue(all(entry.is_file() for entry in entries), entries)
        self.assertEqual(self.outside(), self.surroundings)
        self.assert_still_serving()

    # -- not DICOM at all -------------------------------------------------

    def test_http_request(self) -> None:
        """
        An HTTP request gets at most an A-ABORT and the connection closed,
        never an A-ASSOCIATE-AC.
        """
        peer = self.connect()
        peer.send(b"GET / HTTP/1.1\r\n\r\n")
        self.assert_refused(peer, answers=(AAbort,), required=False)
        self.assert_output_unchanged()
        self.assert_still_serving()

    def test_random_bytes(self) -> None:
        """
        Four kilobytes of random bytes get at most an A-ABORT and the
        connection closed, never an A-ASSOCIATE-AC.
        """
        peer = self.connect()
        peer.send(random.Random(0).randbytes(4096))
        self.assert_refused(peer, answers=(AAbort,), required=False)
        self.assert_output_unchanged()
        self.assert_still_serving()

    def test_random_associate_rq_body(self) -> None:
        """
        An A-ASSOCIATE-RQ header followed by 4090 random bytes gets at most
        an A-ABORT or A-ASSOCIATE-RJ and the connection closed, never an
        A-ASSOCIATE-AC.
        """
        peer = self.connect()
        peer.send(_HEADER.pack(0x01, 0, 4090) + random.Random(1).randbytes(4090))
        self.assert_refused(peer, answers=(AAbort, AAssociateRJ), required=False)
        self.assert_output_unchanged()
        self.assert_still_serving()

    def assert_huge_header_closed(self, pdu_type: int) -> None:
        """
        Send only a PDU header announcing 0xFFFFFFFF bytes and insist that
        the server answers (A-ABORT) or closes within 2 s, without waiting
        for the body, and then ignores everything else the peer sends.

        :param pdu_type: the PDU type byte.
        """
        peer = self.connect()
        peer.send(_HEADER.pack(pdu_type, 0, 0xFFFFFFFF))
        first = peer.next_pdu(2.0)
        self.assertTrue(
            first is None or isinstance(first, AAbort),
            self.explain("neither an A-ABORT nor a close within 2 s", first),
        )
        # Whatever follows is not read as a PDU, not even a valid request.
        peer.send(scripted_peer().associate())
        self.assert_refused(peer, answers=(AAbort,), required=False)
        self.assert_output_unchanged()
        self.assert_still_serving()

    def test_huge_associate_rq_header(self) -> None:
        """
        An A-ASSOCIATE-RQ header announcing 0xFFFFFFFF bytes gets the
        connection closed at once.
        """
        self.assert_huge_header_closed(0x01)

    def test_huge_pdata_header(self) -> None:
        """
        A P-DATA-TF header announcing 0xFFFFFFFF bytes gets the connection
        closed at once.
        """
        self.assert_huge_header_closed(0x04)

    # -- malformed A-ASSOCIATE-RQ -----------------------------------------

    def assert_malformed_rq_refused(self, items: bytes) -> None:
        """
        Send an A-ASSOCIATE-RQ with the given items and insist on an A-ABORT
        or A-ASSOCIATE-RJ, then a close; never an A-ASSOCIATE-AC.

        :param items: the variable items of the request.
        """
        peer = self.connect()
        peer.send(associate_rq(items))
        self.assert_refused(peer, answers=(AAbort, AAssociateRJ), required=True)
        self.assert_output_unchanged()
        self.assert_still_serving()

    def test_overlong_abstract_syntax(self) -> None:
        """
        An abstract syntax sub-item claiming 200 bytes, more than its
        presentation context item holds, is refused.
        """
        abstract = item(0x30, CTImageStorage.encode(), declared=200)
        context = item(0x20, presentation_context_value(1, abstract))
        self.assert_malformed_rq_refused(
            APPLICATION_CONTEXT_ITEM + context + USER_INFORMATION_ITEM
        )

    def test_presentation_context_overruns_pdu(self) -> None:
        """
        A presentation context item whose length runs past the end of the
        PDU is refused.
        """
        value = presentation_context_value(1, item(0x30, CTImageStorage.encode()))
        rest = len(value) + len(USER_INFORMATION_ITEM)
        context = item(0x20, value, declared=rest + 100)
        self.assert_malformed_rq_refused(
            APPLICATION_CONTEXT_ITEM + context + USER_INFORMATION_ITEM
        )

    def test_empty_presentation_context(self) -> None:
        """
        A zero-length presentation context item is refused, even when a
        valid one follows it.
        """
        valid = item(
            0x20, presentation_context_value(1, item(0x30, CTImageStorage.encode()))
        )
        self.assert_malformed_rq_refused(
            APPLICATION_CONTEXT_ITEM + item(0x20, b"") + valid + USER_INFORMATION_ITEM
        )

    # -- P-DATA out of place ----------------------------------------------

    def test_pdata_before_association(self) -> None:
        """
        A P-DATA-TF as the first PDU is answered with A-ABORT (source 0,
        reason 0), as DCMTK does, and the connection is closed.
        """
        scripted = scripted_peer()
        peer = self.connect()
        peer.send(scripted.echo(ECHO_CONTEXT))
        received = self.assert_refused(peer, answers=(AAbort,), required=True)
        self.assertEqual(
            [(pdu.source, pdu.reason) for pdu in received],  # type: ignore[union-attr]
            [(0, 0)],
        )
        self.assert_still_serving()

    def test_pdata_longer_than_maximum(self) -> None:
        """
        After association, a P-DATA-TF longer than the maximum the server
        advertised (4096) is answered with an A-ABORT.
        """
        peer = self.connect()
        scripted = scripted_peer()
        ac = self.associate(peer, scripted)
        self.assertEqual(ac.user_information.maximum_length, SERVER_MAX_PDU)
        value = bytes(6100)
        pdu = PDataTF((PDV(ECHO_CONTEXT, 0x01, value),)).encode()
        self.assertEqual(_HEADER.unpack_from(pdu)[2], 6106)
        peer.send(pdu)
        self.assert_refused(peer, answers=(AAbort,), required=True)
        self.assert_output_unchanged()
        self.assert_still_serving()

    # -- path tricks in SOP Instance UIDs ---------------------------------

    def test_uid_with_slash(self) -> None:
        """
        A SOP Instance UID with ``/`` is stored directly in the output
        directory with ``/`` turned into ``_``.
        """
        self.store_uid(b"1.2.3/4.5", "CT.1.2.3_4.5")

    def test_uid_dot_dot(self) -> None:
        """
        A SOP Instance UID ``..`` is stored as ``CT...`` in the output
        directory.
        """
        self.store_uid(b"..", "CT...")

    def test_uid_climbing_out(self) -> None:
        """
        A SOP Instance UID ``../../x`` writes nothing outside the output
        directory; the object is stored as ``CT..._.._x``.
        """
        self.store_uid(b"../../x", "CT..._.._x")

    def test_uid_with_nul(self) -> None:
        """
        A SOP Instance UID with a NUL byte inside is stored with the NUL
        turned into ``_``.
        """
        self.store_uid(b"1.2.3\x006.7", "CT.1.2.3_6.7")

    # -- peers that stall -------------------------------------------------

    def test_silent_peer(self) -> None:
        """
        A peer that connects and sends nothing is disconnected once the
        ACSE timeout (2 s) has passed, and not long after.
        """
        peer = self.connect()
        received, closed_after = peer.until_closed(8.0)
        self.assertIsNotNone(
            closed_after, self.explain("still open after 8 s", received)
        )
        assert closed_after is not None
        self.assertGreaterEqual(closed_after, ACSE_TIMEOUT - 0.5)
        self.assertLessEqual(closed_after, 6.0, self.explain("closed late", received))
        self.assertFalse(
            any(isinstance(pdu, AAssociateAC) for pdu in received), received
        )
        self.assert_still_serving()

    def test_trickling_pdata(self) -> None:
        """
        After a valid association a peer that sends a P-DATA-TF one byte per
        second is disconnected within the socket timeout (3 s) plus slack,
        although bytes keep arriving.
        """
        peer = self.connect()
        scripted = scripted_peer()
        self.associate(peer, scripted)
        accepted = time.monotonic()
        trickle = b"".join(
            scripted.store(CT_CONTEXT, CTImageStorage, "1.2.3", bytes(200))
        )
        sent = 0
        closed_after = None
        for byte in trickle[:12]:
            if not peer.send(bytes((byte,))):
                closed_after = time.monotonic() - accepted
                break
            sent += 1
            answer = peer.next_pdu(1.0)
            if answer is None:
                closed_after = time.monotonic() - accepted
                break
            self.assertTrue(answer is _SILENT or isinstance(answer, AAbort), answer)
        self.assertGreaterEqual(sent, 2, "the server closed before the trickle")
        self.assertIsNotNone(
            closed_after, self.explain(f"still open after {sent} bytes in {sent} s")
        )
        assert closed_after is not None
        self.assertLessEqual(closed_after, SOCKET_TIMEOUT + 2.5)
        self.assert_output_unchanged()
        self.assert_still_serving()

    # -- broken data sets -------------------------------------------------

    def test_reset_during_large_data_set(self) -> None:
        """
        A connection reset in the middle of a 1 MB data set leaves nothing
        in the output directory: no file and no spool file.
        """
        ds = make_ct("hostile-reset")
        ds.Rows = 512
        ds.Columns = 1024
        ds.PixelData = bytes(range(256)) * 4096
        data = encode_data_set(ds)
        self.assertGreater(len(data), 1 << 20)
        peer = self.connect()
        scripted = scripted_peer()
        self.associate(peer, scripted)
        pdus = scripted.store(CT_CONTEXT, CTImageStorage, str(ds.SOPInstanceUID), data)
        self.assertTrue(peer.send(b"".join(pdus[: len(pdus) // 2])))
        spooling = self.wait_for_new_entry()
        peer.reset()
        self.peers.remove(peer)
        self.assertTrue(
            spooling, self.explain("no spool file appeared while receiving")
        )
        self.assert_output_unchanged(wait=2.0)
        self.assert_still_serving()

    def wait_for_new_entry(self) -> bool:
        """
        Wait (at most 2 s) for something new in the output directory.

        :returns: whether something appeared.
        """
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if set(snapshot(self.output)) - set(self.before):
                return True
            time.sleep(0.02)
        return False

    def assert_truncated_refused(self, data: bytes, why: str) -> None:
        """
        Store a data set that ends inside an element, sent with the
        last-fragment bit, and insist on a failure status and no file.

        :param data: the truncated data set.
        :param why: where it is cut, for messages.
        """
        peer = self.connect()
        scripted = scripted_peer()
        self.associate(peer, scripted)
        instance = str(make_uid("hostile-truncated", why))
        pdus = scripted.store(CT_CONTEXT, CTImageStorage, instance, data)
        self.assertTrue(peer.send(b"".join(pdus)))
        status = self.read_response(peer).ushort(Tag.STATUS)
        self.assertNotEqual(status, SUCCESS, self.explain(f"{why}: stored"))
        self.release(peer, scripted)
        self.assert_output_unchanged()
        self.assert_still_serving()

    def test_truncated_in_value(self) -> None:
        """
        A data set cut 100 bytes short inside the pixel data value gets a
        failure status, and nothing is stored.
        """
        ds = make_ct("hostile-truncated")
        ds.SOPInstanceUID = make_uid("hostile-truncated", "value")
        data = encode_data_set(ds)
        self.assert_truncated_refused(data[:-100], "value")

    def test_truncated_in_header(self) -> None:
        """
        A data set cut inside the header of an element (in the length field
        of Patient's Name, at an even offset) gets a failure status, and
        nothing is stored.
        """
        ds = make_ct("hostile-truncated")
        ds.SOPInstanceUID = make_uid("hostile-truncated", "header")
        data = encode_data_set(ds)
        start = data.index(struct.pack("<HH", 0x0010, 0x0010))
        self.assertEqual(start % 2, 0)
        self.assert_truncated_refused(data[: start + 6], "header")
