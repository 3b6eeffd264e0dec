"""
Tests for dicomtw.dimse: command sets in implicit VR little endian
(PS3.7 §6.3 and Annex E), message assembly from PDVs (PS3.8 Annex E) and
fragmentation of responses to the peer's maximum PDU length.
"""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.dimse import (
    MAX_COMMAND_LENGTH,
    CommandField,
    CommandReceived,
    DataReceived,
    MessageAssembler,
    Tag,
    decode_command,
    echo_response,
    encode_command,
    fragment,
    store_response,
    text,
)
from dicomtw.errors import AbortReason, AbortSource, ProtocolError, UsageError
from dicomtw.framing import Framer
from dicomtw.pdu import PDV, PDataTF, decode_header, decode_pdu

VERIFICATION = b"1.2.840.10008.1.1"  # 17 bytes, padded to 18
CT_IMAGE = b"1.2.840.10008.5.1.4.1.1.2"  # 25 bytes, padded to 26
INSTANCE = b"1.2.3.4.5.100"  # 13 bytes, padded to 14


def _element(element: int, value: bytes) -> bytes:
    """
    :returns: an implicit VR little endian element of group 0000: group,
        element, 32-bit value length, value (PS3.5 §7.1.3).
    """
    return struct.pack("<HHL", 0x0000, element, len(value)) + value


# C-ECHO-RQ exactly as DCMTK's echoscu 3.6.7 sends it (message ID 1); group
# length 56 = (8+18) + 3 * (8+2), element by element below.
ECHO_RQ = (
    struct.pack("<HHLL", 0x0000, 0x0000, 4, 56)  # (0000,0000) UL group length
    + struct.pack("<HHL", 0x0000, 0x0002, 18)  # (0000,0002) UI, 8+18 = 26
    + VERIFICATION
    + b"\x00"  # UI values are padded with NUL to even length
    + struct.pack("<HHLH", 0x0000, 0x0100, 2, 0x0030)  # Command Field, 10
    + struct.pack("<HHLH", 0x0000, 0x0110, 2, 1)  # Message ID, 10
    + struct.pack("<HHLH", 0x0000, 0x0800, 2, 0x0101)  # Data Set Type, 10
)

# C-ECHO-RSP as behaviour reference §6.2 describes it; group length
# 26 + 4 * 10 = 66.
ECHO_RSP = (
    struct.pack("<HHLL", 0x0000, 0x0000, 4, 66)
    + struct.pack("<HHL", 0x0000, 0x0002, 18)
    + VERIFICATION
    + b"\x00"
    + struct.pack("<HHLH", 0x0000, 0x0100, 2, 0x8030)  # Command Field
    + struct.pack("<HHLH", 0x0000, 0x0120, 2, 1)  # Message ID Responded To
    + struct.pack("<HHLH", 0x0000, 0x0800, 2, 0x0101)  # no data set
    + struct.pack("<HHLH", 0x0000, 0x0900, 2, 0x0000)  # Status
)

# C-STORE-RSP as behaviour reference §6.4 describes it; group length
# (8+26) + 4 * 10 + (8+14) = 96.
STORE_RSP = (
    struct.pack("<HHLL", 0x0000, 0x0000, 4, 96)
    + struct.pack("<HHL", 0x0000, 0x0002, 26)  # Affected SOP Class UID
    + CT_IMAGE
    + b"\x00"
    + struct.pack("<HHLH", 0x0000, 0x0100, 2, 0x8001)  # Command Field
    + struct.pack("<HHLH", 0x0000, 0x0120, 2, 7)  # Message ID Responded To
    + struct.pack("<HHLH", 0x0000, 0x0800, 2, 0x0101)  # no data set
    + struct.pack("<HHLH", 0x0000, 0x0900, 2, 0xA700)  # Status
    + struct.pack("<HHL", 0x0000, 0x1000, 14)  # Affected SOP Instance UID
    + INSTANCE
    + b"\x00"
)


def _store_rq(message_id: int = 5, instance: bytes = INSTANCE + b"\x00") -> bytes:
    """
    :returns: a C-STORE-RQ command set announcing a data set (PS3.7
        §9.3.1.1).
    """
    body = (
        _element(0x0002, CT_IMAGE + b"\x00")
        + _element(0x0100, struct.pack("<H", 0x0001))
        + _element(0x0110, struct.pack("<H", message_id))
        + _element(0x0700, struct.pack("<H", 0))
        + _element(0x0800, struct.pack("<H", 0x0000))
        + _element(0x1000, instance)
    )
    return _element(0x0000, struct.pack("<L", len(body))) + body


class CommandVectorTests(SynchronousTestCase):
    """
    Byte-exact command sets.
    """

    def test_vector_lengths(self) -> None:
        """
        The hand-made vectors' group lengths count the bytes that follow.
        """
        for vector in (ECHO_RQ, ECHO_RSP, STORE_RSP):
            self.assertEqual(struct.unpack_from("<L", vector, 8)[0], len(vector) - 12)

    def test_decode_echo_rq(self) -> None:
        """
        echoscu's C-ECHO-RQ decodes to its fields.
        """
        command = decode_command(ECHO_RQ)
        self.assertEqual(command.command_field, CommandField.C_ECHO_RQ)
        self.assertEqual(command.ushort(Tag.MESSAGE_ID), 1)
        self.assertEqual(command.uid(Tag.AFFECTED_SOP_CLASS_UID), VERIFICATION.decode())
        self.assertFalse(command.has_data_set)
        self.assertEqual(
            sorted(command.elements),
            [0x0000, 0x0002, 0x0100, 0x0110, 0x0800],
        )
        self.assertEqual(command.elements[0x0000], struct.pack("<L", 56))

    def test_encode_echo_rq(self) -> None:
        """
        Encoding echoscu's elements gives echoscu's bytes, group length
        included.
        """
        encoded = encode_command(
            {
                Tag.AFFECTED_SOP_CLASS_UID: VERIFICATION.decode(),
                Tag.COMMAND_FIELD: CommandField.C_ECHO_RQ,
                Tag.MESSAGE_ID: 1,
                Tag.COMMAND_DATA_SET_TYPE: 0x0101,
            }
        )
        self.assertEqual(encoded, ECHO_RQ)

    def test_echo_response(self) -> None:
        """
        echo_response gives the C-ECHO-RSP of behaviour reference §6.2.
        """
        self.assertEqual(echo_response(1, VERIFICATION.decode(), 0x0000), ECHO_RSP)

    def test_store_response(self) -> None:
        """
        store_response gives the C-STORE-RSP of behaviour reference §6.4:
        group length first, UIDs padded with NUL to even length.
        """
        self.assertEqual(
            store_response(7, CT_IMAGE.decode(), INSTANCE.decode(), 0xA700),
            STORE_RSP,
        )

    def test_even_uid_not_padded(self) -> None:
        """
        A UID of even length is sent without padding.
        """
        encoded = store_response(7, CT_IMAGE.decode(), "1.2.3.4", 0)
        self.assertTrue(encoded.endswith(_element(0x1000, b"1.2.3.4\x00")))
        encoded = store_response(7, CT_IMAGE.decode(), "1.2.3.45", 0)
        self.assertTrue(encoded.endswith(_element(0x1000, b"1.2.3.45")))

    def test_text_padded_with_space(self) -> None:
        """
        Non-UID text values are padded with a space.
        """
        encoded = encode_command({Tag.MOVE_ORIGINATOR_AE_TITLE: "SCU"})
        self.assertTrue(encoded.endswith(_element(0x1030, b"SCU ")))
        self.assertEqual(decode_command(encoded).text(0x1030), "SCU")

    def test_uids_stripped(self) -> None:
        """
        UIDs are read with padding and every space removed (behaviour
        reference §6.6).
        """
        for raw, expected in [
            (b"1.2.3.4 ", "1.2.3.4"),
            (b" 1.2.3.4", "1.2.3.4"),
            (b"1.2. 3.4\x00", "1.2.3.4"),
            (b"1.2.3.4\x00", "1.2.3.4"),
        ]:
            command = decode_command(_element(0x1000, raw))
            self.assertEqual(command.uid(Tag.AFFECTED_SOP_INSTANCE_UID), expected)
        self.assertEqual(text(b"1.2 3 ", strip_all_spaces=True), "1.23")
        self.assertEqual(text(b"AE TITLE \x00"), "AE TITLE")

    def test_store_rq(self) -> None:
        """
        A C-STORE-RQ announces a data set and carries its instance UID.
        """
        command = decode_command(_store_rq(instance=b"1.2.3.4.5.100 "))
        self.assertEqual(command.command_field, CommandField.C_STORE_RQ)
        self.assertTrue(command.has_data_set)
        self.assertEqual(command.uid(Tag.AFFECTED_SOP_INSTANCE_UID), "1.2.3.4.5.100")
        self.assertIn(Tag.PRIORITY, command)
        self.assertNotIn(Tag.STATUS, command)

    def test_missing_or_bad_elements(self) -> None:
        """
        Asking for an absent element, or an US value of the wrong length,
        raises ProtocolError answered by A-ABORT (0,0).
        """
        command = decode_command(
            _element(0x0100, b"\x01\x00\x00") + _element(0x0110, b"\x01\x00")
        )
        for call, element in [
            (command.ushort, Tag.COMMAND_FIELD),
            (command.ushort, Tag.COMMAND_DATA_SET_TYPE),
            (command.uid, Tag.AFFECTED_SOP_CLASS_UID),
        ]:
            error = self.assertRaises(ProtocolError, call, element)
            self.assertEqual(error.source, AbortSource.SERVICE_USER)
            self.assertEqual(error.reason, AbortReason.NOT_SPECIFIED)
        self.assertIsNone(command.text(Tag.ERROR_COMMENT))

    def test_decode_errors(self) -> None:
        """
        A cut element header, a value running past the end or an element
        outside group 0000 raises ProtocolError.
        """
        for data in [
            ECHO_RQ[:5],
            ECHO_RQ + b"\x00\x00",
            struct.pack("<HHL", 0, 0x0002, 100) + b"1.2",
            struct.pack("<HHL", 0x0008, 0x0016, 2) + b"12",
        ]:
            self.assertRaises(ProtocolError, decode_command, data)

    def test_dump(self) -> None:
        """
        The dump shows every element, US values in hex.
        """
        dump = decode_command(ECHO_RQ).dump()
        self.assertIn("(0000,0000) 56", dump)
        self.assertIn("(0000,0100) 0x0030", dump)
        self.assertIn("(0000,0002) '1.2.840.10008.1.1'", dump)


uids = st.text(alphabet="0123456789.", min_size=1, max_size=64)
_US_ELEMENTS = [
    Tag.COMMAND_FIELD,
    Tag.MESSAGE_ID,
    Tag.MESSAGE_ID_BEING_RESPONDED_TO,
    Tag.PRIORITY,
    Tag.COMMAND_DATA_SET_TYPE,
    Tag.STATUS,
    Tag.ERROR_ID,
    Tag.MOVE_ORIGINATOR_MESSAGE_ID,
]
_UID_ELEMENTS = [
    Tag.AFFECTED_SOP_CLASS_UID,
    Tag.REQUESTED_SOP_CLASS_UID,
    Tag.AFFECTED_SOP_INSTANCE_UID,
    Tag.REQUESTED_SOP_INSTANCE_UID,
]
_TEXT_ELEMENTS = [Tag.MOVE_DESTINATION, Tag.ERROR_COMMENT, Tag.MOVE_ORIGINATOR_AE_TITLE]
texts = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=64
)


@st.composite
def _command_elements(draw: st.DrawFn) -> dict[int, int | str]:
    """
    A command set's elements: US values, UIDs and text values.
    """
    elements: dict[int, int | str] = {}
    for element in draw(st.lists(st.sampled_from(_US_ELEMENTS), unique=True)):
        elements[element] = draw(st.integers(0, 0xFFFF))
    for element in draw(st.lists(st.sampled_from(_UID_ELEMENTS), unique=True)):
        elements[element] = draw(uids)
    for element in draw(st.lists(st.sampled_from(_TEXT_ELEMENTS), unique=True)):
        elements[element] = draw(texts)
    return elements


class CommandRoundTripTests(SynchronousTestCase):
    """
    Command sets survive encoding and decoding.
    """

    @given(_command_elements())
    def test_round_trip(self, elements: dict[int, int | str]) -> None:
        """
        Every element decodes to the value it was encoded from, and the
        group length counts the rest of the command set.
        """
        encoded = encode_command(dict[int, int | str | bytes](elements))
        command = decode_command(encoded)
        self.assertEqual(
            struct.unpack("<L", command.elements[Tag.COMMAND_GROUP_LENGTH])[0],
            len(encoded) - 12,
        )
        self.assertEqual(set(command.elements), set(elements) | {0x0000})
        for element, value in elements.items():
            raw = command.elements[element]
            self.assertEqual(len(raw) % 2, 0)
            if element in _US_ELEMENTS:
                self.assertEqual(command.ushort(element), value)
            elif element in _UID_ELEMENTS:
                self.assertEqual(command.uid(element), value)
            else:
                self.assertEqual(command.text(element), value)

    @given(
        st.dictionaries(
            st.integers(1, 0xFFFF), st.binary(max_size=30).map(bytes), max_size=10
        )
    )
    def test_raw_round_trip(self, elements: dict[int, bytes]) -> None:
        """
        Raw byte values come back unchanged, in ascending element order.
        """
        encoded = encode_command(dict(elements))
        command = decode_command(encoded)
        self.assertEqual(list(command.elements)[1:], sorted(elements))
        for element, value in elements.items():
            self.assertEqual(command.elements[element], value)

    @given(st.binary(max_size=200))
    def test_decode_fuzz(self, data: bytes) -> None:
        """
        Random bytes decode or raise ProtocolError, never anything else.
        """
        try:
            decode_command(data)
        except ProtocolError:
            pass


def _command_pdvs(command: bytes, sizes: list[int], context_id: int = 1) -> list[PDV]:
    """
    Cut a command set into PDVs of the given sizes; the rest goes into a
    last one.
    """
    pdvs = []
    offset = 0
    for size in sizes:
        pdvs.append(PDV(context_id, 0x01, command[offset : offset + size]))
        offset += size
    pdvs.append(PDV(context_id, 0x03, command[offset:]))
    return pdvs


class AssemblerTests(SynchronousTestCase):
    """
    MessageAssembler turns PDVs into commands and data set fragments, and
    enforces PS3.7 §9 and PS3.8 Annex E.
    """

    def assertDIMSEError(self, assembler: MessageAssembler, pdv: PDV) -> None:
        """
        Assert that feeding ``pdv`` raises ProtocolError answered by
        A-ABORT (0,0), as the reference does.
        """
        error = self.assertRaises(ProtocolError, assembler.feed, pdv)
        self.assertEqual(error.source, AbortSource.SERVICE_USER)
        self.assertEqual(error.reason, AbortReason.NOT_SPECIFIED)

    def test_command_in_fragments(self) -> None:
        """
        A command in several fragments completes with the last one.
        """
        assembler = MessageAssembler()
        pdvs = _command_pdvs(ECHO_RQ, [5, 1, 30], context_id=3)
        for pdv in pdvs[:-1]:
            self.assertIsNone(assembler.feed(pdv))
        event = assembler.feed(pdvs[-1])
        assert isinstance(event, CommandReceived)
        self.assertEqual(event.context_id, 3)
        self.assertEqual(event.command.elements, decode_command(ECHO_RQ).elements)
        self.assertFalse(assembler.expecting_data)

    def test_store_with_data(self) -> None:
        """
        Data fragments after a C-STORE-RQ are passed on as they come, the
        same objects, with the last one marked; then a new command may
        follow.
        """
        assembler = MessageAssembler()
        event = assembler.feed(PDV(5, 0x03, _store_rq()))
        assert isinstance(event, CommandReceived)
        self.assertTrue(assembler.expecting_data)
        pieces = [memoryview(b"first!"), memoryview(b"second"), memoryview(b"end!")]
        events = []
        for index, piece in enumerate(pieces):
            control = 0x02 if index == len(pieces) - 1 else 0x00
            events.append(assembler.feed(PDV(5, control, piece)))
        self.assertEqual(
            events,
            [
                DataReceived(5, pieces[0], False),
                DataReceived(5, pieces[1], False),
                DataReceived(5, pieces[2], True),
            ],
        )
        for event, piece in zip(events, pieces):
            assert isinstance(event, DataReceived)
            self.assertIs(event.data, piece)
        self.assertFalse(assembler.expecting_data)
        self.assertIsInstance(assembler.feed(PDV(1, 0x03, ECHO_RQ)), CommandReceived)

    def test_command_contexts_differ(self) -> None:
        """
        Fragments of one command on different contexts are refused.
        """
        assembler = MessageAssembler()
        assembler.feed(PDV(1, 0x01, ECHO_RQ[:10]))
        self.assertDIMSEError(assembler, PDV(3, 0x03, ECHO_RQ[10:]))

    def test_data_before_command(self) -> None:
        """
        A data fragment with no command announcing a data set is refused.
        """
        self.assertDIMSEError(MessageAssembler(), PDV(1, 0x00, b"data"))
        assembler = MessageAssembler()
        assembler.feed(PDV(1, 0x03, ECHO_RQ))
        self.assertDIMSEError(assembler, PDV(1, 0x02, b"data"))

    def test_data_during_command(self) -> None:
        """
        A data fragment between the fragments of a command is refused.
        """
        assembler = MessageAssembler()
        assembler.feed(PDV(1, 0x01, ECHO_RQ[:10]))
        self.assertDIMSEError(assembler, PDV(1, 0x00, b"data"))

    def test_data_context_differs(self) -> None:
        """
        A data fragment on another context than its command is refused.
        """
        assembler = MessageAssembler()
        assembler.feed(PDV(1, 0x03, _store_rq()))
        assembler.feed(PDV(1, 0x00, b"part"))
        self.assertDIMSEError(assembler, PDV(3, 0x02, b"rest"))

    def test_odd_data_fragment(self) -> None:
        """
        A data set fragment of odd length is refused, as by the reference
        ("Odd Fragment Length"), whether it is the last or not.
        """
        for control in (0x00, 0x02):
            assembler = MessageAssembler()
            assembler.feed(PDV(1, 0x03, _store_rq()))
            assembler.feed(PDV(1, 0x00, b"part"))
            self.assertDIMSEError(assembler, PDV(1, control, b"odd"))

    def test_command_while_data_expected(self) -> None:
        """
        A command fragment while a data set is still due is refused.
        """
        assembler = MessageAssembler()
        assembler.feed(PDV(1, 0x03, _store_rq()))
        self.assertDIMSEError(assembler, PDV(1, 0x03, ECHO_RQ))
        assembler = MessageAssembler()
        assembler.feed(PDV(1, 0x03, _store_rq()))
        assembler.feed(PDV(1, 0x00, b"part"))
        self.assertDIMSEError(assembler, PDV(1, 0x01, ECHO_RQ[:4]))

    def test_command_too_long(self) -> None:
        """
        A command set growing past 64 KiB is refused, in one fragment or
        in many.
        """
        self.assertDIMSEError(
            MessageAssembler(), PDV(1, 0x03, bytes(MAX_COMMAND_LENGTH + 1))
        )
        assembler = MessageAssembler()
        piece = bytes(16384)
        for _ in range(MAX_COMMAND_LENGTH // len(piece)):
            self.assertIsNone(assembler.feed(PDV(1, 0x01, piece)))
        self.assertDIMSEError(assembler, PDV(1, 0x01, b"\x00"))

    def test_malformed_command(self) -> None:
        """
        A command set that cannot be decoded, or lacks its Command Data Set
        Type, is refused.
        """
        self.assertDIMSEError(MessageAssembler(), PDV(1, 0x03, b"\x00\x00\x00"))
        no_type = _element(0x0100, struct.pack("<H", 0x0030))
        self.assertDIMSEError(MessageAssembler(), PDV(1, 0x03, no_type))


def _split_pdus(stream: bytes) -> list[bytes]:
    """
    :returns: the PDUs of ``stream``, each with its header, using the
        header's length field only.
    """
    pdus = []
    offset = 0
    while offset < len(stream):
        _, length = decode_header(stream[offset : offset + 6])
        pdus.append(stream[offset : offset + 6 + length])
        offset += 6 + length
    return pdus


class FragmentTests(SynchronousTestCase):
    """
    fragment() cuts messages into P-DATA-TF PDUs within the peer's limit.
    """

    def _check(self, data: bytes, max_pdu: int, command: bool) -> int:
        """
        Fragment ``data`` and check every PDU: within the limit, one PDV on
        the context, command bit as asked, last bit on the last PDU only,
        and the values joining back to ``data``.

        :returns: the number of PDUs.
        """
        encoded = list(fragment(9, data, max_pdu, command))
        joined = b""
        for index, pdu in enumerate(encoded):
            pdu_type, length = decode_header(pdu[:6])
            self.assertEqual(pdu_type, 0x04)
            self.assertLessEqual(length, max_pdu)
            self.assertEqual(len(pdu), 6 + length)
            decoded = decode_pdu(pdu_type, memoryview(pdu)[6:])
            assert isinstance(decoded, PDataTF)
            (pdv,) = decoded.pdvs
            self.assertEqual(pdv.context_id, 9)
            self.assertEqual(pdv.is_command, command)
            self.assertEqual(pdv.is_last, index == len(encoded) - 1)
            joined += bytes(pdv.data)
        self.assertEqual(joined, data)
        return len(encoded)

    def test_limits(self) -> None:
        """
        For limits 7, 100 and 16384, commands and data sets of many sizes
        are cut into PDUs no longer than the limit that reassemble to the
        original.
        """
        for max_pdu in (7, 100, 16384):
            room = max_pdu - 6
            for size in (1, room - 1, room, room + 1, 3 * room, 40000):
                if size < 1 or (max_pdu == 7 and size > 1000):
                    continue
                data = bytes(i % 251 for i in range(size))
                for command in (True, False):
                    count = self._check(data, max_pdu, command)
                    self.assertEqual(count, -(-size // room))

    def test_empty(self) -> None:
        """
        An empty value still gives one last PDV.
        """
        self.assertEqual(self._check(b"", 100, False), 1)

    def test_response_fits_one_pdu(self) -> None:
        """
        A C-STORE-RSP fits one PDU at the usual limits.
        """
        self.assertEqual(self._check(STORE_RSP, 16384, True), 1)

    def test_limit_too_small(self) -> None:
        """
        A limit leaving no room for a value byte is a local error, not an
        endless stream of empty PDVs.
        """
        self.assertRaises(UsageError, list, fragment(1, b"abc", 6, True))

    def test_through_framer_and_assembler(self) -> None:
        """
        A fragmented command set, framed and assembled again, is the same
        command.
        """
        stream = b"".join(fragment(1, STORE_RSP, 20, True))
        self.assertEqual(len(_split_pdus(stream)), -(-len(STORE_RSP) // 14))
        framer = Framer(20)
        framer.feed(stream)
        assembler = MessageAssembler()
        events = []
        while (pdu := framer.next_pdu()) is not None:
            assert isinstance(pdu, PDataTF)
            for pdv in pdu.pdvs:
                events.append(assembler.feed(pdv))
        *pending, last = events
        self.assertEqual(pending, [None] * len(pending))
        assert isinstance(last, CommandReceived)
        self.assertEqual(last.command.elements, decode_command(STORE_RSP).elements)
