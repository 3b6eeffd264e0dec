"""
Tests for dicomtw.protocol: the Twisted adapter, driven through a string
transport and a fake clock.
"""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.dimse import Tag, decode_command
from dicomtw.framing import Framer
from dicomtw.negotiation import Policy
from dicomtw.pdu import (
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AReleaseRP,
    PDataTF,
    PresentationResult,
)
from dicomtw.protocol import READ_SIZE, ServerSettings, StorageServerFactory
from dicomtw.scp import StoreResult
from dicomtw.status import Status
from dicomtw.testing import MemoryStore, ScriptedPeer

CT = "1.2.840.10008.5.1.4.1.1.2"
VERIFICATION = "1.2.840.10008.1.1"
IVR = "1.2.840.10008.1.2"
EVRLE = "1.2.840.10008.1.2.1"


def data_set(
    sop_class: str = CT, sop_instance: str = "1.2.3.4", size: int = 0
) -> bytes:
    """
    An explicit VR little endian data set with the given UIDs and ``size``
    bytes of pixel data.
    """
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance
    ds.PatientName = "Doe^John"
    if size:
        ds.PixelData = bytes(size)
        ds["PixelData"].VR = "OB"
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = False
    write_dataset(buffer, ds)
    return buffer.getvalue()


def responses(data: bytes) -> list[object]:
    """
    :returns: the PDUs in ``data``.
    """
    framer = Framer(1 << 20)
    framer.feed(data)
    pdus = []
    while (pdu := framer.next_pdu()) is not None:
        pdus.append(pdu)
    return pdus


def status_of(pdu: object) -> int:
    """
    :returns: the Status of a one-PDV response command.
    """
    assert isinstance(pdu, PDataTF)
    return decode_command(bytes(pdu.pdvs[0].data)).ushort(Tag.STATUS)


class Harness:
    """
    A protocol connected to a string transport, with a memory store.
    """

    def __init__(self, **settings: object) -> None:
        self.clock = MemoryReactorClock()
        self.store = MemoryStore()
        policy = Policy(frozenset({CT, VERIFICATION}), max_pdu=16384)
        options = dict(policy=policy, handler=self.store)
        options.update(settings)
        self.factory = StorageServerFactory(ServerSettings(**options), self.clock)
        self.peer = ScriptedPeer()
        self.peer.propose(1, VERIFICATION, IVR)
        self.peer.propose(3, CT, EVRLE, IVR)

    def connect(self) -> tuple[object, StringTransport]:
        protocol = self.factory.buildProtocol(None)
        transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 4242))
        protocol.makeConnection(transport)
        return protocol, transport

    def associate(self) -> tuple[object, StringTransport]:
        protocol, transport = self.connect()
        protocol.dataReceived(self.peer.associate())
        [ac] = responses(transport.value())
        assert isinstance(ac, AAssociateAC), ac
        transport.clear()
        return protocol, transport


class AssociationTests(SynchronousTestCase):
    """
    Negotiation, echo, store and release over a string transport.
    """

    def test_echo_and_release(self) -> None:
        """
        A C-ECHO-RQ is answered with success, and an A-RELEASE-RQ with an
        A-RELEASE-RP.
        """
        harness = Harness()
        protocol, transport = harness.associate()
        protocol.dataReceived(harness.peer.echo(1))
        [rsp] = responses(transport.value())
        self.assertEqual(status_of(rsp), Status.SUCCESS)
        transport.clear()
        protocol.dataReceived(harness.peer.release())
        self.assertIsInstance(responses(transport.value())[0], AReleaseRP)

    def test_accepted_contexts(self) -> None:
        """
        The AC accepts Verification with IVR and CT with explicit little
        endian, and refuses an unknown SOP class with result 3.
        """
        harness = Harness()
        harness.peer.propose(5, "1.2.3.999", EVRLE)
        protocol, transport = harness.connect()
        protocol.dataReceived(harness.peer.associate())
        [ac] = responses(transport.value())
        results = {
            pc.context_id: (pc.result, pc.transfer_syntax)
            for pc in ac.presentation_contexts
        }
        self.assertEqual(
            results,
            {
                1: (PresentationResult.ACCEPTANCE, IVR),
                3: (PresentationResult.ACCEPTANCE, EVRLE),
                5: (PresentationResult.ABSTRACT_SYNTAX_NOT_SUPPORTED, IVR),
            },
        )

    def test_store_streams_to_sink(self) -> None:
        """
        The data set reaches the sink fragment by fragment, and the
        response carries the sink's status and the command's UIDs.
        """
        harness = Harness()
        protocol, transport = harness.associate()
        body = data_set(size=100_000)
        for pdu in harness.peer.store(3, CT, "1.2.3.4", body):
            protocol.dataReceived(pdu)
        self.assertEqual(harness.store.objects["1.2.3.4"], body)
        self.assertGreater(len(harness.store.sinks[0].chunks), 5)
        [rsp] = responses(transport.value())
        command = decode_command(bytes(rsp.pdvs[0].data))
        self.assertEqual(command.ushort(Tag.STATUS), Status.SUCCESS)
        self.assertEqual(command.uid(Tag.AFFECTED_SOP_INSTANCE_UID), "1.2.3.4")

    def test_store_failure_status(self) -> None:
        """
        A sink that reports a failure status gets that status sent back,
        and the association goes on.
        """
        harness = Harness()
        harness.store.status = Status.OUT_OF_RESOURCES
        protocol, transport = harness.associate()
        for pdu in harness.peer.store(3, CT, "1.2.3.4", data_set()):
            protocol.dataReceived(pdu)
        [rsp] = responses(transport.value())
        self.assertEqual(status_of(rsp), Status.OUT_OF_RESOURCES)
        transport.clear()
        protocol.dataReceived(harness.peer.echo(1))
        self.assertEqual(status_of(responses(transport.value())[0]), Status.SUCCESS)

    def test_response_waits_for_sink(self) -> None:
        """
        No response is sent and no further PDU is processed until the
        sink's finish Deferred fires; the transport is paused only once
        more than READ_SIZE bytes wait unprocessed.
        """
        harness = Harness()
        harness.store.finishing = Deferred()
        protocol, transport = harness.associate()
        for pdu in harness.peer.store(3, CT, "1.2.3.4", data_set()):
            protocol.dataReceived(pdu)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(transport.producerState, "producing")
        protocol.dataReceived(harness.peer.echo(1))
        self.assertEqual(transport.value(), b"")
        self.assertEqual(transport.producerState, "producing")
        flood = b"".join(harness.peer.store(3, CT, "1.2.3.5", data_set(size=READ_SIZE)))
        protocol.dataReceived(flood)
        self.assertEqual(transport.producerState, "paused")
        finishing, harness.store.finishing = harness.store.finishing, None
        finishing.callback(StoreResult(Status.SUCCESS))
        self.assertEqual(transport.producerState, "producing")
        self.assertEqual(len(responses(transport.value())), 3)

    def test_back_pressure(self) -> None:
        """
        A sink that returns a Deferred from write stops the processing of
        PDUs until it fires, and the transport is paused once more than
        READ_SIZE bytes wait.
        """
        harness = Harness()
        protocol, transport = harness.associate()
        pdus = harness.peer.store(3, CT, "1.2.3.4", data_set(size=2 * READ_SIZE))
        protocol.dataReceived(pdus[0])
        protocol.dataReceived(pdus[1])
        sink = harness.store.sinks[0]
        sink.paused = Deferred()
        protocol.dataReceived(pdus[2])
        received = len(sink.chunks)
        for pdu in pdus[3:]:
            protocol.dataReceived(pdu)
        self.assertEqual(len(sink.chunks), received)
        self.assertEqual(transport.producerState, "paused")
        paused, sink.paused = sink.paused, None
        paused.callback(None)
        self.assertEqual(transport.producerState, "producing")
        self.assertIn("1.2.3.4", harness.store.objects)

    def test_association_limit(self) -> None:
        """
        A peer beyond the association limit gets A-ASSOCIATE-RJ transient,
        service provider (presentation), local limit exceeded.
        """
        harness = Harness(max_associations=1)
        harness.associate()
        protocol, transport = harness.connect()
        protocol.dataReceived(harness.peer.associate())
        [rj] = responses(transport.value())
        self.assertEqual(rj, AAssociateRJ(2, 3, 2))

    def test_nagle_off(self) -> None:
        """
        Nagle's algorithm is turned off on every accepted connection.
        """

        class TCPTransport(StringTransport):
            no_delay = False

            def setTcpNoDelay(self, enabled: bool) -> None:
                self.no_delay = enabled

        harness = Harness()
        protocol = harness.factory.buildProtocol(None)
        transport = TCPTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 1))
        protocol.makeConnection(transport)
        self.assertTrue(transport.no_delay)

    def test_association_received_logged(self) -> None:
        """
        Association events carry the association id, peer and AE titles.
        """
        harness = Harness()
        with capturedLogs() as events:
            harness.associate()
        [received] = [
            e for e in events if e.get("log_format") == "Association Received"
        ]
        self.assertEqual(received["calling_ae"], "TESTSCU")
        self.assertEqual(received["called_ae"], "STORESCP")
        self.assertEqual(received["peer"], "127.0.0.1:4242")


class HostileTests(SynchronousTestCase):
    """
    Peers that break the protocol get an A-ABORT and a closed connection,
    never an exception.
    """

    def test_garbage(self) -> None:
        """
        Bytes that are no PDU give an A-ABORT and a close once it is
        written, without waiting for ARTIM.
        """
        harness = Harness()
        protocol, transport = harness.connect()
        protocol.dataReceived(b"GET / HTTP/1.1\r\n\r\n")
        [abort] = responses(transport.value())
        self.assertIsInstance(abort, AAbort)
        self.assertTrue(transport.disconnecting)

    def test_aborted_connections_do_not_count(self) -> None:
        """
        A connection that was aborted no longer counts against the
        association limit, even before the peer closes it.
        """
        harness = Harness(max_associations=1)
        protocol, transport = harness.connect()
        protocol.dataReceived(b"garbage")
        protocol, transport = harness.connect()
        protocol.dataReceived(harness.peer.associate())
        self.assertIsInstance(responses(transport.value())[0], AAssociateAC)

    def test_huge_length(self) -> None:
        """
        An A-ASSOCIATE-RQ header announcing 0xFFFFFFFF bytes is refused at
        once, without waiting for the body.
        """
        harness = Harness()
        protocol, transport = harness.connect()
        protocol.dataReceived(b"\x01\x00\xff\xff\xff\xff")
        self.assertIsInstance(responses(transport.value())[0], AAbort)

    def test_pdata_before_association(self) -> None:
        """
        A P-DATA-TF as first PDU is answered with A-ABORT (0, 0), as DCMTK
        does.
        """
        harness = Harness()
        protocol, transport = harness.connect()
        protocol.dataReceived(harness.peer.echo(1))
        self.assertEqual(responses(transport.value()), [AAbort(0, 0)])

    def test_pdata_too_long(self) -> None:
        """
        A P-DATA-TF longer than our maximum aborts the association.
        """
        harness = Harness()
        protocol, transport = harness.associate()
        protocol.dataReceived(b"\x04\x00" + (16385).to_bytes(4, "big"))
        [abort] = responses(transport.value())
        self.assertIsInstance(abort, AAbort)
        self.assertEqual(abort.source, 2)

    def test_unaccepted_context(self) -> None:
        """
        A command on a presentation context that was not accepted aborts.
        """
        harness = Harness()
        protocol, transport = harness.associate()
        protocol.dataReceived(harness.peer.echo(7))
        self.assertEqual(responses(transport.value()), [AAbort(0, 0)])

    def test_reset_mid_data_set(self) -> None:
        """
        A connection lost in the middle of a data set abandons the sink.
        """
        harness = Harness()
        protocol, transport = harness.associate()
        pdus = harness.peer.store(3, CT, "1.2.3.4", data_set(size=50_000))
        for pdu in pdus[:3]:
            protocol.dataReceived(pdu)
        protocol.connectionLost()
        self.assertTrue(harness.store.sinks[0].abandoned)
        self.assertNotIn("1.2.3.4", harness.store.objects)


class TimeoutTests(SynchronousTestCase):
    """
    Every wait is bounded; the clock is fake.
    """

    def test_silent_peer_closed_after_acse_timeout(self) -> None:
        """
        A peer that connects and sends nothing is closed after -ta.
        """
        harness = Harness(acse_timeout=30.0)
        protocol, transport = harness.connect()
        harness.clock.advance(29)
        self.assertFalse(transport.disconnecting)
        harness.clock.advance(1)
        self.assertTrue(transport.disconnecting)

    def test_slow_request_closed_after_acse_timeout(self) -> None:
        """
        An A-ASSOCIATE-RQ trickling in one byte a second cannot keep the
        connection past -ta.
        """
        harness = Harness(acse_timeout=30.0)
        protocol, transport = harness.connect()
        request = harness.peer.associate()
        for second in range(31):
            if transport.disconnecting:
                break
            protocol.dataReceived(request[second : second + 1])
            harness.clock.advance(1)
        self.assertTrue(transport.disconnecting)

    def test_slow_pdu_closed_after_socket_timeout(self) -> None:
        """
        Once associated, a PDU trickling in one byte a second cannot keep
        the connection past -ts: the timer restarts only on whole PDUs.
        """
        harness = Harness(socket_timeout=60.0)
        protocol, transport = harness.associate()
        pdu = harness.peer.store(3, CT, "1.2.3.4", data_set(size=50_000))[1]
        for second in range(61):
            if transport.disconnecting:
                break
            protocol.dataReceived(pdu[second : second + 1])
            harness.clock.advance(1)
        self.assertTrue(transport.disconnecting)

    def test_idle_association_closed_after_socket_timeout(self) -> None:
        """
        An association with no traffic is aborted after -ts.
        """
        harness = Harness(socket_timeout=60.0)
        protocol, transport = harness.associate()
        harness.clock.advance(59)
        self.assertFalse(transport.disconnecting)
        harness.clock.advance(1)
        self.assertTrue(transport.disconnecting)
        self.assertIsInstance(responses(transport.value())[0], AAbort)

    def test_dimse_timeout(self) -> None:
        """
        A data set that stops arriving is abandoned after -td, and the
        association aborted.
        """
        harness = Harness(dimse_timeout=5.0, socket_timeout=None)
        protocol, transport = harness.associate()
        pdus = harness.peer.store(3, CT, "1.2.3.4", data_set(size=50_000))
        for pdu in pdus[:2]:
            protocol.dataReceived(pdu)
        harness.clock.advance(5)
        self.assertTrue(transport.disconnecting)
        self.assertTrue(harness.store.sinks[0].abandoned)

    def test_no_socket_timeout_while_sink_is_busy(self) -> None:
        """
        While we make the peer wait, the socket timeout does not run.
        """
        harness = Harness(socket_timeout=60.0)
        harness.store.finishing = Deferred()
        protocol, transport = harness.associate()
        for pdu in harness.peer.store(3, CT, "1.2.3.4", data_set()):
            protocol.dataReceived(pdu)
        harness.clock.advance(600)
        self.assertFalse(transport.disconnecting)


class DrainTests(SynchronousTestCase):
    """
    Shutting down lets associations in progress finish, within a grace
    period.
    """

    def test_drain_waits_for_association(self) -> None:
        """
        Draining waits while an association runs, refuses new ones, and
        completes when the running one is released.
        """
        harness = Harness()
        protocol, transport = harness.associate()
        drained = harness.factory.drain(30)
        self.assertNoResult(drained)
        late, late_transport = harness.connect()
        late.dataReceived(harness.peer.associate())
        self.assertEqual(responses(late_transport.value()), [AAssociateRJ(2, 3, 2)])
        for pdu in harness.peer.store(3, CT, "1.2.3.4", data_set()):
            protocol.dataReceived(pdu)
        self.assertNoResult(drained)
        protocol.dataReceived(harness.peer.release())
        self.assertIsInstance(responses(transport.value())[-1], AReleaseRP)
        late.connectionLost()
        # Draining ends once the peer has had the A-RELEASE-RP and closed.
        self.assertNoResult(drained)
        protocol.connectionLost()
        self.successResultOf(drained)
        self.assertIn("1.2.3.4", harness.store.objects)

    def test_drain_aborts_after_grace(self) -> None:
        """
        An association still running after the grace period is aborted
        and its half-received object dropped.
        """
        harness = Harness(socket_timeout=None)
        protocol, transport = harness.associate()
        pdus = harness.peer.store(3, CT, "1.2.3.4", data_set(size=50_000))
        for pdu in pdus[:2]:
            protocol.dataReceived(pdu)
        drained = harness.factory.drain(30)
        harness.clock.advance(29)
        self.assertNoResult(drained)
        harness.clock.advance(1)
        self.assertTrue(harness.store.sinks[0].abandoned)
        self.assertIsInstance(responses(transport.value())[-1], AAbort)
        self.assertTrue(transport.disconnecting)
        protocol.connectionLost()
        self.successResultOf(drained)

    def test_drain_with_nothing_running(self) -> None:
        """
        With no association, draining completes at once.
        """
        self.successResultOf(Harness().factory.drain(30))
