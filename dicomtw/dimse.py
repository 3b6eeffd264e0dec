"""
DIMSE messages over P-DATA: command sets in, data-set fragments on, and
responses out (PS3.7 §6.3 and §9, PS3.8 Annex E).

Command sets are always implicit VR little endian (PS3.7 §6.3.1) and
small, so this module encodes and decodes them itself: a command is a
handful of group 0000 elements whose types are fixed by PS3.7 §E.1.

Pure: bytes and events in, bytes and events out.
"""

from __future__ import annotations

import struct
from typing import Iterator, NamedTuple, Union

from dicomtw.errors import AbortReason, AbortSource, ProtocolError, UsageError
from dicomtw.pdu import PDV, encode_pdata_header

#: A command set larger than this is refused; real ones are a few
#: hundred bytes.
MAX_COMMAND_LENGTH = 64 * 1024

_ELEMENT = struct.Struct("<HHL")
_US = struct.Struct("<H")
_UL = struct.Struct("<L")


class Tag:
    """
    Command element tags, PS3.7 §E.1, Table E.1-1 (element numbers of
    group 0000).
    """

    COMMAND_GROUP_LENGTH = 0x0000
    AFFECTED_SOP_CLASS_UID = 0x0002
    REQUESTED_SOP_CLASS_UID = 0x0003
    COMMAND_FIELD = 0x0100
    MESSAGE_ID = 0x0110
    MESSAGE_ID_BEING_RESPONDED_TO = 0x0120
    MOVE_DESTINATION = 0x0600
    PRIORITY = 0x0700
    COMMAND_DATA_SET_TYPE = 0x0800
    STATUS = 0x0900
    OFFENDING_ELEMENT = 0x0901
    ERROR_COMMENT = 0x0902
    ERROR_ID = 0x0903
    AFFECTED_SOP_INSTANCE_UID = 0x1000
    REQUESTED_SOP_INSTANCE_UID = 0x1001
    MOVE_ORIGINATOR_AE_TITLE = 0x1030
    MOVE_ORIGINATOR_MESSAGE_ID = 0x1031


class CommandField:
    """
    Command Field values, PS3.7 §E.1.
    """

    C_STORE_RQ = 0x0001
    C_STORE_RSP = 0x8001
    C_GET_RQ = 0x0010
    C_FIND_RQ = 0x0020
    C_MOVE_RQ = 0x0021
    C_ECHO_RQ = 0x0030
    C_ECHO_RSP = 0x8030
    C_CANCEL_RQ = 0x0FFF


#: Command Data Set Type meaning "no data set", PS3.7 §E.1.
NO_DATA_SET = 0x0101

_USHORT_TAGS = frozenset(
    {
        Tag.COMMAND_FIELD,
        Tag.MESSAGE_ID,
        Tag.MESSAGE_ID_BEING_RESPONDED_TO,
        Tag.PRIORITY,
        Tag.COMMAND_DATA_SET_TYPE,
        Tag.STATUS,
        Tag.ERROR_ID,
        Tag.MOVE_ORIGINATOR_MESSAGE_ID,
    }
)
_UID_TAGS = frozenset(
    {
        Tag.AFFECTED_SOP_CLASS_UID,
        Tag.REQUESTED_SOP_CLASS_UID,
        Tag.AFFECTED_SOP_INSTANCE_UID,
        Tag.REQUESTED_SOP_INSTANCE_UID,
    }
)


def _dimse_error(detail: str) -> ProtocolError:
    # DIMSE errors are answered by the DIMSE user with an A-ABORT of
    # source 0 (service user), as DCMTK does.
    return ProtocolError(detail, AbortSource.SERVICE_USER, AbortReason.NOT_SPECIFIED)


class CommandSet:
    """
    A decoded command set: group 0000 element numbers mapped to raw values.
    """

    __slots__ = ("elements",)

    def __init__(self, elements: dict[int, bytes]) -> None:
        self.elements = elements

    def __contains__(self, element: int) -> bool:
        return element in self.elements

    def ushort(self, element: int) -> int:
        """
        :returns: an US value.
        :raises ProtocolError: when absent or not two bytes long.
        """
        raw = self.elements.get(element)
        if raw is None or len(raw) != 2:
            raise _dimse_error(f"command element (0000,{element:04x}) missing or bad")
        return int(_US.unpack(raw)[0])

    def uid(self, element: int) -> str:
        """
        :returns: a UI value with padding and all white space removed, as
            DCMTK reads UIDs (behaviour reference §6.6).
        :raises ProtocolError: when absent.
        """
        raw = self.elements.get(element)
        if raw is None:
            raise _dimse_error(f"command element (0000,{element:04x}) missing")
        return text(raw, strip_all_spaces=True)

    def text(self, element: int) -> str | None:
        """
        :returns: a text value without padding, or ``None`` when absent.
        """
        raw = self.elements.get(element)
        return None if raw is None else text(raw)

    @property
    def command_field(self) -> int:
        """
        The Command Field (0000,0100).
        """
        return self.ushort(Tag.COMMAND_FIELD)

    @property
    def has_data_set(self) -> bool:
        """
        Whether a data set follows, from Command Data Set Type (0000,0800).
        """
        return self.ushort(Tag.COMMAND_DATA_SET_TYPE) != NO_DATA_SET

    def dump(self) -> str:
        """
        A multi-line account for the debug log.
        """
        lines = []
        for element, raw in sorted(self.elements.items()):
            if element in _USHORT_TAGS and len(raw) == 2:
                shown = f"0x{_US.unpack(raw)[0]:04x}"
            elif element == Tag.COMMAND_GROUP_LENGTH and len(raw) == 4:
                shown = str(_UL.unpack(raw)[0])
            else:
                shown = repr(text(raw))
            lines.append(f"(0000,{element:04x}) {shown}")
        return "\n".join(lines)


def text(raw: bytes, strip_all_spaces: bool = False) -> str:
    """
    Decode a command text value: trailing NUL and space padding removed,
    and for UIDs every white space character removed.
    """
    value = raw.decode("latin-1").rstrip("\0 ")
    if strip_all_spaces:
        value = "".join(value.split())
    return value


def decode_command(data: bytes | memoryview) -> CommandSet:
    """
    Decode an implicit VR little endian command set.

    :raises ProtocolError: when an element runs past the end or is not in
        group 0000.
    """
    elements: dict[int, bytes] = {}
    offset = 0
    end = len(data)
    while offset < end:
        if end - offset < 8:
            raise _dimse_error("truncated command element header")
        group, element, length = _ELEMENT.unpack_from(data, offset)
        offset += 8
        if group != 0:
            raise _dimse_error(f"element ({group:04x},{element:04x}) in a command set")
        if length > end - offset:
            raise _dimse_error(
                f"command element (0000,{element:04x}) of {length} bytes runs past"
                " the command set"
            )
        elements[element] = bytes(data[offset : offset + length])
        offset += length
    return CommandSet(elements)


def _encode_value(element: int, value: int | str | bytes) -> bytes:
    if isinstance(value, int):
        if element == Tag.COMMAND_GROUP_LENGTH:
            raw = _UL.pack(value)
        else:
            raw = _US.pack(value)
    elif isinstance(value, str):
        pad = "\0" if element in _UID_TAGS else " "
        raw = value.encode("latin-1")
        if len(raw) & 1:
            raw += pad.encode("ascii")
    else:
        raw = value
    return _ELEMENT.pack(0, element, len(raw)) + raw


def encode_command(elements: dict[int, int | str | bytes]) -> bytes:
    """
    Encode a command set, adding the Command Group Length (0000,0000).
    """
    body = b"".join(
        _encode_value(element, value)
        for element, value in sorted(elements.items())
        if element != Tag.COMMAND_GROUP_LENGTH
    )
    return _encode_value(Tag.COMMAND_GROUP_LENGTH, len(body)) + body


def echo_response(message_id: int, sop_class: str, status: int) -> bytes:
    """
    A C-ECHO-RSP command set, PS3.7 §9.3.5.2.
    """
    return encode_command(
        {
            Tag.AFFECTED_SOP_CLASS_UID: sop_class,
            Tag.COMMAND_FIELD: CommandField.C_ECHO_RSP,
            Tag.MESSAGE_ID_BEING_RESPONDED_TO: message_id,
            Tag.COMMAND_DATA_SET_TYPE: NO_DATA_SET,
            Tag.STATUS: status,
        }
    )


def store_response(
    message_id: int, sop_class: str, sop_instance: str, status: int
) -> bytes:
    """
    A C-STORE-RSP command set, PS3.7 §9.3.1.2, as the reference sends it
    (behaviour reference §6.4).
    """
    return encode_command(
        {
            Tag.AFFECTED_SOP_CLASS_UID: sop_class,
            Tag.COMMAND_FIELD: CommandField.C_STORE_RSP,
            Tag.MESSAGE_ID_BEING_RESPONDED_TO: message_id,
            Tag.COMMAND_DATA_SET_TYPE: NO_DATA_SET,
            Tag.STATUS: status,
            Tag.AFFECTED_SOP_INSTANCE_UID: sop_instance,
        }
    )


def fragment(
    context_id: int, data: bytes, max_pdu: int, command: bool
) -> Iterator[bytes]:
    """
    Cut a command or data set into encoded P-DATA-TF PDUs, one PDV each,
    none longer than the peer's maximum PDU length.

    :param max_pdu: the peer's maximum length (the PDU length field).
    :raises UsageError: when ``max_pdu`` leaves no room for a value byte.
    """
    room = max_pdu - 6
    if room < 1:
        raise UsageError(f"maximum PDU length {max_pdu} leaves no room for data")
    kind = 1 if command else 0
    offset = 0
    total = len(data)
    while True:
        piece = data[offset : offset + room]
        offset += len(piece)
        last = offset >= total
        control = kind | (2 if last else 0)
        pdv = PDV(context_id, control, piece)
        yield encode_pdata_header(len(piece) + 6) + pdv.encode_header() + piece
        if last:
            return


class CommandReceived(NamedTuple):
    """
    A whole command set has arrived.
    """

    context_id: int
    command: CommandSet


class DataReceived(NamedTuple):
    """
    A fragment of the data set that belongs to the last command.
    """

    context_id: int
    data: memoryview | bytes
    last: bool


DIMSEEvent = Union[CommandReceived, DataReceived]


class MessageAssembler:
    """
    Turns PDVs into DIMSE events: command fragments are collected into a
    command set; data-set fragments are passed on as they come.

    Enforces PS3.7 §9 and PS3.8 Annex E: fragments of one command share a
    presentation context; a data set follows only a command that announces
    one, on the same context; no command starts while a data set is due.
    """

    def __init__(self) -> None:
        self._command: list[bytes] = []
        self._command_length = 0
        self._command_context: int | None = None
        self._data_context: int | None = None

    @property
    def expecting_data(self) -> bool:
        """
        Whether the data set of the last command is still arriving.
        """
        return self._data_context is not None

    def feed(self, pdv: PDV) -> DIMSEEvent | None:
        """
        :returns: the event this PDV completes, if any.
        :raises ProtocolError: for a fragment that breaks the rules.
        """
        if pdv.control & 1:
            return self._command_fragment(pdv)
        return self._data_fragment(pdv)

    def _command_fragment(self, pdv: PDV) -> CommandReceived | None:
        if self._data_context is not None:
            raise _dimse_error("command fragment while a data set was expected")
        if self._command_context is None:
            self._command_context = pdv.context_id
        elif pdv.context_id != self._command_context:
            raise _dimse_error("command fragments on different presentation contexts")
        self._command_length += len(pdv.data)
        if self._command_length > MAX_COMMAND_LENGTH:
            raise _dimse_error(f"command set longer than {MAX_COMMAND_LENGTH} bytes")
        self._command.append(bytes(pdv.data))
        if not pdv.control & 2:
            return None
        command = decode_command(b"".join(self._command))
        context = self._command_context
        self._command = []
        self._command_length = 0
        self._command_context = None
        if command.has_data_set:
            self._data_context = context
        return CommandReceived(context, command)

    def _data_fragment(self, pdv: PDV) -> DataReceived:
        if self._data_context is None:
            raise _dimse_error("data set fragment without a command announcing it")
        if pdv.context_id != self._data_context:
            raise _dimse_error("Presentation Contexts of Command and Data Differ")
        if len(pdv.data) % 2:
            # Data set fragments have even lengths (PS3.5 §7.1, PS3.8
            # Annex E); the reference aborts on an odd one, and so do we.
            raise _dimse_error(f"Odd Fragment Length: {len(pdv.data)}")
        last = bool(pdv.control & 2)
        if last:
            self._data_context = None
        return DataReceived(pdv.context_id, pdv.data, last)
