"""
Tests for dicomtw.framing: cutting a byte stream into PDUs, PS3.8 §9.3.1,
with every length checked before the body is buffered.
"""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.errors import AbortReason, AbortSource, ProtocolError
from dicomtw.framing import MAX_ASSOCIATE_LENGTH, Framer
from dicomtw.pdu import (
    PDU,
    PDV,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AReleaseRP,
    AReleaseRQ,
    ImplementationClassUID,
    MaximumLength,
    PDataTF,
    PresentationContextAC,
    PresentationContextRQ,
    UserInformation,
)

IVR = "1.2.840.10008.1.2"

STREAM_PDUS: list[PDU] = [
    AAssociateRQ(
        "ANY-SCP",
        "STORESCU",
        (
            PresentationContextRQ(1, "1.2.840.10008.1.1", (IVR,)),
            PresentationContextRQ(3, "1.2.840.10008.5.1.4.1.1.2", (IVR,)),
        ),
        UserInformation((MaximumLength(16384), ImplementationClassUID("1.2.3"))),
    ),
    AAssociateAC(
        "ANY-SCP",
        "STORESCU",
        (PresentationContextAC(1, 0, IVR),),
        UserInformation((MaximumLength(16384),)),
    ),
    PDataTF((PDV(1, 0x03, b"command set"),)),
    PDataTF((PDV(3, 0x00, b"x" * 1000), PDV(3, 0x02, b"y" * 777))),
    AReleaseRQ(),
    AReleaseRP(),
    AAssociateRJ(1, 1, 1),
    AAbort(2, 6),
]
STREAM = b"".join(pdu.encode() for pdu in STREAM_PDUS)


def _drain(framer: Framer) -> list[PDU]:
    """
    :returns: every whole PDU the framer can give now.
    """
    out: list[PDU] = []
    while True:
        pdu = framer.next_pdu()
        if pdu is None:
            return out
        out.append(pdu)


def _feed_pieces(pieces: list[bytes], max_pdata_length: int = 16384) -> list[PDU]:
    """
    Feed ``pieces`` one after the other, draining after each.

    :returns: all PDUs framed.
    """
    framer = Framer(max_pdata_length)
    out: list[PDU] = []
    for piece in pieces:
        framer.feed(piece)
        out.extend(_drain(framer))
    if framer.buffered or framer.partial:
        raise AssertionError(f"{framer.buffered} bytes left over")
    return out


def _header(pdu_type: int, length: int) -> bytes:
    """
    :returns: a 6-byte PDU header: type, reserved, 32-bit length.
    """
    return struct.pack(">BBL", pdu_type, 0, length)


class SplittingTests(SynchronousTestCase):
    """
    However the stream is cut, the same PDUs come out.
    """

    def test_whole(self) -> None:
        """
        The stream fed in one piece gives every PDU in order.
        """
        self.assertEqual(_feed_pieces([STREAM]), STREAM_PDUS)

    def test_byte_by_byte(self) -> None:
        """
        The stream fed one byte at a time gives the same PDUs.
        """
        pieces = [STREAM[i : i + 1] for i in range(len(STREAM))]
        self.assertEqual(_feed_pieces(pieces), STREAM_PDUS)

    @given(st.lists(st.integers(0, len(STREAM)), max_size=40))
    def test_random_splits(self, cuts: list[int]) -> None:
        """
        The stream cut at random places gives the same PDUs.
        """
        points = sorted(set(cuts) | {0, len(STREAM)})
        pieces = [STREAM[a:b] for a, b in zip(points, points[1:])]
        self.assertEqual(_feed_pieces(pieces), STREAM_PDUS)

    def test_nothing_yet(self) -> None:
        """
        With no bytes, or a part of a header, next_pdu asks for more.
        """
        framer = Framer(16384)
        self.assertIsNone(framer.next_pdu())
        self.assertFalse(framer.partial)
        framer.feed(b"")
        self.assertIsNone(framer.next_pdu())
        framer.feed(STREAM[:3])
        self.assertIsNone(framer.next_pdu())
        self.assertTrue(framer.partial)
        self.assertEqual(framer.buffered, 3)

    def test_pdu_then_part(self) -> None:
        """
        A whole PDU followed by part of the next gives the first and keeps
        the rest buffered.
        """
        release = AReleaseRQ().encode()
        framer = Framer(16384)
        framer.feed(release + release[:4])
        self.assertEqual(framer.next_pdu(), AReleaseRQ())
        self.assertIsNone(framer.next_pdu())
        self.assertEqual(framer.buffered, 4)
        framer.feed(release[4:])
        self.assertEqual(framer.next_pdu(), AReleaseRQ())
        self.assertEqual(framer.buffered, 0)

    def test_pdata_at_limit(self) -> None:
        """
        A P-DATA-TF exactly as long as the limit is accepted.
        """
        pdata = PDataTF((PDV(1, 0, b"z" * (4096 - 6)),))
        encoded = pdata.encode()
        self.assertEqual(struct.unpack(">L", encoded[2:6])[0], 4096)
        self.assertEqual(_feed_pieces([encoded], max_pdata_length=4096), [pdata])


class LimitTests(SynchronousTestCase):
    """
    Lengths are checked at the header, before the body is buffered.
    """

    def assertRefusedAtHeader(self, framer: Framer, header: bytes) -> ProtocolError:
        """
        Feed a 6-byte header and assert that it alone raises ProtocolError,
        holding no more than the header.

        :returns: the error.
        """
        self.assertEqual(len(header), 6)
        framer.feed(header)
        error: ProtocolError = self.assertRaises(ProtocolError, framer.next_pdu)
        self.assertLessEqual(framer.buffered, 6)
        return error

    def test_huge_length(self) -> None:
        """
        A PDU declaring 0xFFFFFFFF bytes is refused after its 6-byte header,
        for every PDU type.
        """
        for pdu_type in range(1, 8):
            error = self.assertRefusedAtHeader(
                Framer(16384), _header(pdu_type, 0xFFFFFFFF)
            )
            self.assertEqual(error.source, AbortSource.SERVICE_PROVIDER)
            self.assertEqual(error.reason, AbortReason.INVALID_PDU_PARAMETER_VALUE)

    def test_pdata_above_limit(self) -> None:
        """
        A P-DATA-TF one byte longer than max_pdata_length is refused at the
        header.
        """
        self.assertRefusedAtHeader(Framer(4096), _header(0x04, 4097))

    def test_pdata_limit_changed(self) -> None:
        """
        The adapter may change max_pdata_length; the new limit applies to
        the next header.
        """
        framer = Framer(131072)
        framer.max_pdata_length = 1000
        self.assertRefusedAtHeader(framer, _header(0x04, 1001))

    def test_associate_above_cap(self) -> None:
        """
        An A-ASSOCIATE-RQ longer than 1 MiB is refused at the header, while
        one of exactly 1 MiB is waited for.
        """
        self.assertRefusedAtHeader(
            Framer(16384), _header(0x01, MAX_ASSOCIATE_LENGTH + 1)
        )
        framer = Framer(16384)
        framer.feed(_header(0x01, MAX_ASSOCIATE_LENGTH))
        self.assertIsNone(framer.next_pdu())

    def test_unknown_type_first_byte(self) -> None:
        """
        An unknown PDU type is refused on its first byte, as an
        unrecognized PDU.
        """
        for pdu_type in (0x00, 0x08, 0x10, 0xFF):
            framer = Framer(16384)
            framer.feed(bytes((pdu_type,)))
            error = self.assertRaises(ProtocolError, framer.next_pdu)
            self.assertEqual(error.source, AbortSource.SERVICE_PROVIDER)
            self.assertEqual(error.reason, AbortReason.UNRECOGNIZED_PDU)

    def test_release_length_long(self) -> None:
        """
        A-RELEASE-RQ, -RP, A-ABORT and A-ASSOCIATE-RJ longer than four bytes
        are refused at the header.
        """
        for pdu_type in (0x03, 0x05, 0x06, 0x07):
            self.assertRefusedAtHeader(Framer(16384), _header(pdu_type, 5))

    def test_release_length_short(self) -> None:
        """
        An A-RELEASE-RQ shorter than four bytes is refused once its body is
        there.
        """
        for length in (0, 2, 3):
            framer = Framer(16384)
            framer.feed(_header(0x05, length) + bytes(length))
            self.assertRaises(ProtocolError, framer.next_pdu)

    def test_dead_after_error(self) -> None:
        """
        After an error the framer keeps raising the same error, whatever
        is fed afterwards.
        """
        framer = Framer(16384)
        framer.feed(_header(0x04, 0xFFFFFFFF))
        first = self.assertRaises(ProtocolError, framer.next_pdu)
        framer.feed(AReleaseRQ().encode())
        second = self.assertRaises(ProtocolError, framer.next_pdu)
        self.assertIs(second, first)
        self.assertRaises(ProtocolError, framer.next_pdu)

    def test_dead_framer_buffers_nothing(self) -> None:
        """
        Bytes fed to a dead framer are dropped, so a peer that keeps
        sending after the error cannot grow the buffer.
        """
        framer = Framer(16384)
        framer.feed(b"\x09")
        self.assertRaises(ProtocolError, framer.next_pdu)
        for _ in range(100):
            framer.feed(bytes(65536))
        self.assertEqual(framer.buffered, 0)
        self.assertFalse(framer.partial)
        self.assertRaises(ProtocolError, framer.next_pdu)

    def test_dead_after_malformed_body(self) -> None:
        """
        A body that fails to decode also leaves the framer raising.
        """
        framer = Framer(16384)
        framer.feed(_header(0x04, 0) + AReleaseRQ().encode())
        self.assertRaises(ProtocolError, framer.next_pdu)
        self.assertRaises(ProtocolError, framer.next_pdu)


class ZeroCopyTests(SynchronousTestCase):
    """
    P-DATA values are memory views of the received bytes.
    """

    def test_shares_chunk(self) -> None:
        """
        A P-DATA-TF inside one chunk yields PDV values that are views of
        that chunk, not copies.
        """
        pdata = PDataTF((PDV(1, 0x00, b"a" * 100), PDV(1, 0x02, b"b" * 50)))
        chunk = pdata.encode()
        framer = Framer(16384)
        framer.feed(chunk)
        decoded = framer.next_pdu()
        assert isinstance(decoded, PDataTF)
        for pdv in decoded.pdvs:
            assert isinstance(pdv.data, memoryview)
            self.assertIs(pdv.data.obj, chunk)
        self.assertEqual(decoded, pdata)

    def test_shares_chunk_of_several(self) -> None:
        """
        A P-DATA-TF that follows another PDU inside one chunk is also a
        view of that chunk.
        """
        pdata = PDataTF((PDV(3, 0x01, b"cmd"),))
        chunk = AReleaseRP().encode() + pdata.encode() + AReleaseRQ().encode()
        framer = Framer(16384)
        framer.feed(chunk)
        self.assertEqual(_drain(framer), [AReleaseRP(), pdata, AReleaseRQ()])
        framer.feed(chunk)
        framer.next_pdu()
        decoded = framer.next_pdu()
        assert isinstance(decoded, PDataTF)
        data = decoded.pdvs[0].data
        assert isinstance(data, memoryview)
        self.assertIs(data.obj, chunk)
        self.assertEqual(bytes(data), b"cmd")

    def test_straddling_chunks(self) -> None:
        """
        A P-DATA-TF cut across chunks is joined and still correct.
        """
        pdata = PDataTF((PDV(1, 0x00, bytes(range(200))),))
        encoded = pdata.encode()
        framer = Framer(16384)
        framer.feed(encoded[:50])
        self.assertIsNone(framer.next_pdu())
        framer.feed(encoded[50:])
        self.assertEqual(framer.next_pdu(), pdata)
