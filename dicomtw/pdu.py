"""
The seven upper-layer PDUs and their items, PS3.8 §9.3 and Annex D.

Every PDU and item is a frozen dataclass with an ``encode()`` method;
:func:`decode_pdu` turns a PDU body (the bytes after the 6-byte header)
into one of them.  Decoding never trusts a length field: every length is
checked against the bytes that are actually there before it is used, and
anything that does not fit raises :class:`~dicomtw.errors.ProtocolError`.

P-DATA-TF values are handed on as memory views of the PDU body, not as
copies: a data set streams through this module without being copied.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, TypeVar, Union

from dicomtw.errors import AbortReason, AbortSource, ProtocolError

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"

#: The longest UID PS3.5 §9.1 allows.
MAX_UID_LENGTH = 64


class PDUType:
    """
    PDU type codes, PS3.8 §9.3.1, Table 9-11 and following.
    """

    A_ASSOCIATE_RQ = 0x01
    A_ASSOCIATE_AC = 0x02
    A_ASSOCIATE_RJ = 0x03
    P_DATA_TF = 0x04
    A_RELEASE_RQ = 0x05
    A_RELEASE_RP = 0x06
    A_ABORT = 0x07


class ItemType:
    """
    Item and sub-item type codes, PS3.8 §9.3.2 and Annex D.3.3.
    """

    APPLICATION_CONTEXT = 0x10
    PRESENTATION_CONTEXT_RQ = 0x20
    PRESENTATION_CONTEXT_AC = 0x21
    ABSTRACT_SYNTAX = 0x30
    TRANSFER_SYNTAX = 0x40
    USER_INFORMATION = 0x50
    MAXIMUM_LENGTH = 0x51
    IMPLEMENTATION_CLASS_UID = 0x52
    ASYNCHRONOUS_OPERATIONS_WINDOW = 0x53
    ROLE_SELECTION = 0x54
    IMPLEMENTATION_VERSION_NAME = 0x55
    SOP_CLASS_EXTENDED_NEGOTIATION = 0x56
    SOP_CLASS_COMMON_EXTENDED_NEGOTIATION = 0x57
    USER_IDENTITY_RQ = 0x58
    USER_IDENTITY_AC = 0x59


class PresentationResult:
    """
    Result/reason of an A-ASSOCIATE-AC presentation context item, PS3.8
    §9.3.3.2, Table 9-18.
    """

    ACCEPTANCE = 0
    USER_REJECTION = 1
    NO_REASON = 2
    ABSTRACT_SYNTAX_NOT_SUPPORTED = 3
    TRANSFER_SYNTAXES_NOT_SUPPORTED = 4


class RejectResult:
    """
    A-ASSOCIATE-RJ result, source and reason values, PS3.8 §9.3.4,
    Table 9-21.
    """

    PERMANENT = 1
    TRANSIENT = 2

    SOURCE_SERVICE_USER = 1
    SOURCE_ACSE = 2
    SOURCE_PRESENTATION = 3

    # source 1, service user
    NO_REASON = 1
    APPLICATION_CONTEXT_NOT_SUPPORTED = 2
    CALLING_AE_NOT_RECOGNIZED = 3
    CALLED_AE_NOT_RECOGNIZED = 7
    # source 2, ACSE related
    PROTOCOL_VERSION_NOT_SUPPORTED = 2
    # source 3, presentation related
    TEMPORARY_CONGESTION = 1
    LOCAL_LIMIT_EXCEEDED = 2


_HEADER = struct.Struct(">BBL")
_ITEM_HEADER = struct.Struct(">BBH")
_PDV_HEADER = struct.Struct(">LBB")


def _malformed(detail: str) -> ProtocolError:
    return ProtocolError(
        detail, AbortSource.SERVICE_PROVIDER, AbortReason.INVALID_PDU_PARAMETER_VALUE
    )


def _item(item_type: int, value: bytes) -> bytes:
    if len(value) > 0xFFFF:
        raise ValueError("item value longer than 65535 bytes")
    return _ITEM_HEADER.pack(item_type, 0, len(value)) + value


def _uid_bytes(uid: str) -> bytes:
    return uid.encode("ascii")


def _decode_uid(data: memoryview | bytes, what: str) -> str:
    if len(data) > MAX_UID_LENGTH:
        raise _malformed(
            f"illegal {what} length {len(data)}; at most {MAX_UID_LENGTH} allowed"
        )
    raw = bytes(data)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise _malformed(f"{what} is not ASCII: {raw!r}") from None
    return text.rstrip("\0 ")


def _ae_bytes(title: str) -> bytes:
    raw = title.encode("latin-1")
    if len(raw) > 16:
        raise ValueError(f"AE title longer than 16 bytes: {title!r}")
    return raw.ljust(16, b" ")


def _decode_ae(data: memoryview | bytes) -> str:
    # Trailing spaces are padding; leading spaces are kept, as DCMTK does.
    return bytes(data).decode("latin-1").rstrip(" \0")


def _iter_items(data: memoryview, what: str) -> list[tuple[int, memoryview]]:
    """
    Split a run of items or sub-items (1-byte type, 1 reserved, 2-byte
    length) into ``(type, value)`` pairs.

    :raises ProtocolError: when an item runs past the end of ``data``.
    """
    items = []
    offset = 0
    end = len(data)
    while offset < end:
        if end - offset < 4:
            raise _malformed(f"truncated item header in {what}")
        item_type, _, length = _ITEM_HEADER.unpack_from(data, offset)
        offset += 4
        if offset + length > end:
            raise _malformed(
                f"item 0x{item_type:02x} in {what} announces {length} bytes,"
                f" {end - offset} left"
            )
        items.append((item_type, data[offset : offset + length]))
        offset += length
    return items


# --- Presentation context items, PS3.8 §9.3.2.2 and §9.3.3.2 -------------


@dataclass(frozen=True, slots=True)
class PresentationContextRQ:
    """
    A proposed presentation context, PS3.8 §9.3.2.2, Table 9-13.

    :ivar abstract_syntax: ``None`` when the peer sent no abstract syntax
        sub-item (DCMTK answers such a context with result 3).
    """

    context_id: int
    abstract_syntax: str | None
    transfer_syntaxes: tuple[str, ...]

    def encode(self) -> bytes:
        body = [bytes((self.context_id, 0, 0, 0))]
        if self.abstract_syntax is not None:
            body.append(
                _item(ItemType.ABSTRACT_SYNTAX, _uid_bytes(self.abstract_syntax))
            )
        for uid in self.transfer_syntaxes:
            body.append(_item(ItemType.TRANSFER_SYNTAX, _uid_bytes(uid)))
        return _item(ItemType.PRESENTATION_CONTEXT_RQ, b"".join(body))

    @classmethod
    def decode(cls, data: memoryview) -> PresentationContextRQ:
        if len(data) < 4:
            raise _malformed(
                f"presentation context item of {len(data)} bytes; at least 4 needed"
            )
        abstract = None
        transfers = []
        for sub_type, value in _iter_items(data[4:], "presentation context"):
            if sub_type == ItemType.ABSTRACT_SYNTAX:
                abstract = _decode_uid(value, "abstract syntax")
            elif sub_type == ItemType.TRANSFER_SYNTAX:
                transfers.append(_decode_uid(value, "transfer syntax"))
            else:
                raise _malformed(
                    f"unexpected sub-item 0x{sub_type:02x} in presentation context"
                )
        if not transfers:
            raise _malformed(
                f"presentation context {data[0]} proposes no transfer syntax"
            )
        return cls(data[0], abstract, tuple(transfers))


@dataclass(frozen=True, slots=True)
class PresentationContextAC:
    """
    The answer to one proposed presentation context, PS3.8 §9.3.3.2,
    Table 9-18.
    """

    context_id: int
    result: int
    transfer_syntax: str

    def encode(self) -> bytes:
        body = bytes((self.context_id, 0, self.result, 0)) + _item(
            ItemType.TRANSFER_SYNTAX, _uid_bytes(self.transfer_syntax)
        )
        return _item(ItemType.PRESENTATION_CONTEXT_AC, body)

    @classmethod
    def decode(cls, data: memoryview) -> PresentationContextAC:
        if len(data) < 4:
            raise _malformed("presentation context answer shorter than 4 bytes")
        syntax = ""
        for sub_type, value in _iter_items(data[4:], "presentation context"):
            if sub_type == ItemType.TRANSFER_SYNTAX:
                syntax = _decode_uid(value, "transfer syntax")
        return cls(data[0], data[2], syntax)


# --- User information sub-items, PS3.8 Annex D ------------------------------


@dataclass(frozen=True, slots=True)
class MaximumLength:
    """
    Maximum length received, PS3.8 §D.1, Table D.1-1; 0 means no limit.
    """

    value: int

    def encode(self) -> bytes:
        return _item(ItemType.MAXIMUM_LENGTH, struct.pack(">L", self.value))

    @classmethod
    def decode(cls, data: memoryview) -> MaximumLength:
        if len(data) != 4:
            raise _malformed(f"maximum length sub-item of {len(data)} bytes")
        return cls(struct.unpack(">L", data)[0])


@dataclass(frozen=True, slots=True)
class ImplementationClassUID:
    """
    Implementation class UID, PS3.7 §D.3.3.2.
    """

    uid: str

    def encode(self) -> bytes:
        return _item(ItemType.IMPLEMENTATION_CLASS_UID, _uid_bytes(self.uid))

    @classmethod
    def decode(cls, data: memoryview) -> ImplementationClassUID:
        return cls(_decode_uid(data, "implementation class UID"))


@dataclass(frozen=True, slots=True)
class ImplementationVersionName:
    """
    Implementation version name, PS3.7 §D.3.3.2.
    """

    name: str

    def encode(self) -> bytes:
        return _item(ItemType.IMPLEMENTATION_VERSION_NAME, self.name.encode("latin-1"))

    @classmethod
    def decode(cls, data: memoryview) -> ImplementationVersionName:
        if len(data) > 16:
            raise _malformed(f"implementation version name of {len(data)} bytes")
        return cls(bytes(data).decode("latin-1").rstrip(" \0"))


@dataclass(frozen=True, slots=True)
class AsynchronousOperationsWindow:
    """
    Asynchronous operations window, PS3.7 §D.3.3.3.
    """

    invoked: int
    performed: int

    def encode(self) -> bytes:
        return _item(
            ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW,
            struct.pack(">HH", self.invoked, self.performed),
        )

    @classmethod
    def decode(cls, data: memoryview) -> AsynchronousOperationsWindow:
        if len(data) != 4:
            raise _malformed(f"asynchronous operations window of {len(data)} bytes")
        return cls(*struct.unpack(">HH", data))


def _split_uid_prefixed(data: memoryview, what: str) -> tuple[str, memoryview]:
    if len(data) < 2:
        raise _malformed(f"truncated {what}")
    length = struct.unpack_from(">H", data)[0]
    if 2 + length > len(data):
        raise _malformed(f"UID length {length} runs past the end of the {what}")
    return _decode_uid(data[2 : 2 + length], what), data[2 + length :]


def _uid_prefixed(uid: str) -> bytes:
    raw = _uid_bytes(uid)
    return struct.pack(">H", len(raw)) + raw


@dataclass(frozen=True, slots=True)
class RoleSelection:
    """
    SCP/SCU role selection, PS3.7 §D.3.3.4.
    """

    sop_class: str
    scu_role: int
    scp_role: int

    def encode(self) -> bytes:
        return _item(
            ItemType.ROLE_SELECTION,
            _uid_prefixed(self.sop_class) + bytes((self.scu_role, self.scp_role)),
        )

    @classmethod
    def decode(cls, data: memoryview) -> RoleSelection:
        uid, rest = _split_uid_prefixed(data, "role selection")
        if len(rest) != 2:
            raise _malformed("role selection sub-item has no role fields")
        return cls(uid, rest[0], rest[1])


@dataclass(frozen=True, slots=True)
class SOPClassExtendedNegotiation:
    """
    SOP class extended negotiation, PS3.7 §D.3.3.5.
    """

    sop_class: str
    info: bytes

    def encode(self) -> bytes:
        return _item(
            ItemType.SOP_CLASS_EXTENDED_NEGOTIATION,
            _uid_prefixed(self.sop_class) + self.info,
        )

    @classmethod
    def decode(cls, data: memoryview) -> SOPClassExtendedNegotiation:
        uid, rest = _split_uid_prefixed(data, "extended negotiation")
        return cls(uid, bytes(rest))


@dataclass(frozen=True, slots=True)
class SOPClassCommonExtendedNegotiation:
    """
    SOP class common extended negotiation, PS3.7 §D.3.3.6.
    """

    sop_class: str
    service_class: str
    related_general_sop_classes: tuple[str, ...] = ()

    def encode(self) -> bytes:
        related = b"".join(_uid_prefixed(u) for u in self.related_general_sop_classes)
        body = (
            _uid_prefixed(self.sop_class)
            + _uid_prefixed(self.service_class)
            + struct.pack(">H", len(related))
            + related
        )
        return _item(ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION, body)

    @classmethod
    def decode(cls, data: memoryview) -> SOPClassCommonExtendedNegotiation:
        what = "common extended negotiation"
        sop_class, rest = _split_uid_prefixed(data, what)
        service_class, rest = _split_uid_prefixed(rest, what)
        if len(rest) < 2:
            raise _malformed(f"truncated {what}")
        length = struct.unpack_from(">H", rest)[0]
        if 2 + length != len(rest):
            raise _malformed(f"related SOP class list length {length} is wrong")
        rest = rest[2:]
        related = []
        while len(rest):
            uid, rest = _split_uid_prefixed(rest, what)
            related.append(uid)
        return cls(sop_class, service_class, tuple(related))


@dataclass(frozen=True, slots=True)
class UserIdentityRQ:
    """
    User identity negotiation request, PS3.7 §D.3.3.7.1.
    """

    identity_type: int
    positive_response_requested: bool
    primary_field: bytes
    secondary_field: bytes = b""

    def encode(self) -> bytes:
        body = (
            bytes((self.identity_type, int(self.positive_response_requested)))
            + struct.pack(">H", len(self.primary_field))
            + self.primary_field
            + struct.pack(">H", len(self.secondary_field))
            + self.secondary_field
        )
        return _item(ItemType.USER_IDENTITY_RQ, body)

    @classmethod
    def decode(cls, data: memoryview) -> UserIdentityRQ:
        if len(data) < 4:
            raise _malformed("truncated user identity sub-item")
        primary_length = struct.unpack_from(">H", data, 2)[0]
        end = 4 + primary_length
        if end + 2 > len(data):
            raise _malformed("user identity primary field runs past the item")
        secondary_length = struct.unpack_from(">H", data, end)[0]
        if end + 2 + secondary_length != len(data):
            raise _malformed("user identity secondary field length is wrong")
        return cls(
            data[0],
            bool(data[1]),
            bytes(data[4:end]),
            bytes(data[end + 2 : end + 2 + secondary_length]),
        )


@dataclass(frozen=True, slots=True)
class UserIdentityAC:
    """
    User identity negotiation response, PS3.7 §D.3.3.7.2.
    """

    server_response: bytes

    def encode(self) -> bytes:
        body = struct.pack(">H", len(self.server_response)) + self.server_response
        return _item(ItemType.USER_IDENTITY_AC, body)

    @classmethod
    def decode(cls, data: memoryview) -> UserIdentityAC:
        if len(data) < 2:
            raise _malformed("truncated user identity response")
        length = struct.unpack_from(">H", data)[0]
        if 2 + length != len(data):
            raise _malformed("user identity response length is wrong")
        return cls(bytes(data[2:]))


@dataclass(frozen=True, slots=True)
class UnknownItem:
    """
    An item or sub-item of a type this module does not know; kept so that
    it can be logged, and ignored as PS3.8 §9.3.1 asks.
    """

    item_type: int
    value: bytes

    def encode(self) -> bytes:
        return _item(self.item_type, self.value)


UserItem = Union[
    MaximumLength,
    ImplementationClassUID,
    ImplementationVersionName,
    AsynchronousOperationsWindow,
    RoleSelection,
    SOPClassExtendedNegotiation,
    SOPClassCommonExtendedNegotiation,
    UserIdentityRQ,
    UserIdentityAC,
    UnknownItem,
]

_USER_ITEM_DECODERS: dict[int, Callable[[memoryview], UserItem]] = {
    ItemType.MAXIMUM_LENGTH: MaximumLength.decode,
    ItemType.IMPLEMENTATION_CLASS_UID: ImplementationClassUID.decode,
    ItemType.IMPLEMENTATION_VERSION_NAME: ImplementationVersionName.decode,
    ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW: AsynchronousOperationsWindow.decode,
    ItemType.ROLE_SELECTION: RoleSelection.decode,
    ItemType.SOP_CLASS_EXTENDED_NEGOTIATION: SOPClassExtendedNegotiation.decode,
    ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION: (
        SOPClassCommonExtendedNegotiation.decode
    ),
    ItemType.USER_IDENTITY_RQ: UserIdentityRQ.decode,
    ItemType.USER_IDENTITY_AC: UserIdentityAC.decode,
}


@dataclass(frozen=True, slots=True)
class UserInformation:
    """
    The user information item, PS3.8 §9.3.2.3, and its sub-items in the
    order they were received or are to be sent.
    """

    items: tuple[UserItem, ...] = ()

    def _first(self, kind: type) -> object | None:
        for item in self.items:
            if isinstance(item, kind):
                return item
        return None

    @property
    def maximum_length(self) -> int | None:
        """
        The maximum length received, or ``None`` when absent.
        """
        item = self._first(MaximumLength)
        return item.value if isinstance(item, MaximumLength) else None

    @property
    def implementation_class_uid(self) -> str | None:
        """
        The implementation class UID, or ``None`` when absent.
        """
        item = self._first(ImplementationClassUID)
        return item.uid if isinstance(item, ImplementationClassUID) else None

    @property
    def implementation_version_name(self) -> str | None:
        """
        The implementation version name, or ``None`` when absent.
        """
        item = self._first(ImplementationVersionName)
        return item.name if isinstance(item, ImplementationVersionName) else None

    def of_type(self, kind: type) -> list[UserItem]:
        """
        :returns: every sub-item of the given class, in order.
        """
        return [item for item in self.items if isinstance(item, kind)]

    def encode(self) -> bytes:
        return _item(
            ItemType.USER_INFORMATION, b"".join(i.encode() for i in self.items)
        )

    @classmethod
    def decode(cls, data: memoryview) -> UserInformation:
        items: list[UserItem] = []
        for sub_type, value in _iter_items(data, "user information"):
            decoder = _USER_ITEM_DECODERS.get(sub_type)
            if decoder is None:
                items.append(UnknownItem(sub_type, bytes(value)))
            else:
                items.append(decoder(value))
        return cls(tuple(items))


# --- PDUs -------------------------------------------------------------------


def _pdu(pdu_type: int, body: bytes) -> bytes:
    return _HEADER.pack(pdu_type, 0, len(body)) + body


_ASSOCIATE_FIXED = struct.Struct(">HH16s16s32s")


@dataclass(frozen=True, slots=True)
class AAssociateRQ:
    """
    A-ASSOCIATE-RQ, PS3.8 §9.3.2, Table 9-11.
    """

    called_ae: str
    calling_ae: str
    presentation_contexts: tuple[PresentationContextRQ, ...]
    user_information: UserInformation = field(default_factory=UserInformation)
    application_context: str = APPLICATION_CONTEXT
    protocol_version: int = 1

    pdu_type = PDUType.A_ASSOCIATE_RQ

    def encode(self) -> bytes:
        return _encode_associate(self, self.presentation_contexts)

    @classmethod
    def decode(cls, body: memoryview) -> AAssociateRQ:
        version, called, calling, contexts, user, context_name = _decode_associate(
            body, ItemType.PRESENTATION_CONTEXT_RQ, PresentationContextRQ.decode
        )
        return cls(called, calling, contexts, user, context_name, version)


@dataclass(frozen=True, slots=True)
class AAssociateAC:
    """
    A-ASSOCIATE-AC, PS3.8 §9.3.3, Table 9-17.
    """

    called_ae: str
    calling_ae: str
    presentation_contexts: tuple[PresentationContextAC, ...]
    user_information: UserInformation = field(default_factory=UserInformation)
    application_context: str = APPLICATION_CONTEXT
    protocol_version: int = 1

    pdu_type = PDUType.A_ASSOCIATE_AC

    def encode(self) -> bytes:
        return _encode_associate(self, self.presentation_contexts)

    @classmethod
    def decode(cls, body: memoryview) -> AAssociateAC:
        version, called, calling, contexts, user, context_name = _decode_associate(
            body, ItemType.PRESENTATION_CONTEXT_AC, PresentationContextAC.decode
        )
        return cls(called, calling, contexts, user, context_name, version)


def _encode_associate(
    pdu: AAssociateRQ | AAssociateAC,
    contexts: tuple[PresentationContextRQ, ...] | tuple[PresentationContextAC, ...],
) -> bytes:
    parts = [
        _ASSOCIATE_FIXED.pack(
            pdu.protocol_version,
            0,
            _ae_bytes(pdu.called_ae),
            _ae_bytes(pdu.calling_ae),
            b"\0" * 32,
        ),
        _item(ItemType.APPLICATION_CONTEXT, _uid_bytes(pdu.application_context)),
    ]
    parts.extend(context.encode() for context in contexts)
    parts.append(pdu.user_information.encode())
    return _pdu(pdu.pdu_type, b"".join(parts))


_C = TypeVar("_C", PresentationContextRQ, PresentationContextAC)


def _decode_associate(
    body: memoryview, context_type: int, decode_context: Callable[[memoryview], _C]
) -> tuple[int, str, str, tuple[_C, ...], UserInformation, str]:
    if len(body) < _ASSOCIATE_FIXED.size:
        raise _malformed(f"A-ASSOCIATE PDU of {len(body)} bytes is truncated")
    version, _, called, calling, _ = _ASSOCIATE_FIXED.unpack_from(body)
    context_name = ""
    contexts: list[_C] = []
    user = UserInformation()
    for item_type, value in _iter_items(body[_ASSOCIATE_FIXED.size :], "A-ASSOCIATE"):
        if item_type == ItemType.APPLICATION_CONTEXT:
            context_name = _decode_uid(value, "application context name")
        elif item_type == context_type:
            contexts.append(decode_context(value))
        elif item_type == ItemType.USER_INFORMATION:
            user = UserInformation.decode(value)
        # Other item types are ignored, PS3.8 §9.3.1.
    return (
        version,
        _decode_ae(called),
        _decode_ae(calling),
        tuple(contexts),
        user,
        context_name,
    )


@dataclass(frozen=True, slots=True)
class AAssociateRJ:
    """
    A-ASSOCIATE-RJ, PS3.8 §9.3.4, Table 9-21.
    """

    result: int
    source: int
    reason: int

    pdu_type = PDUType.A_ASSOCIATE_RJ

    def encode(self) -> bytes:
        return _pdu(self.pdu_type, bytes((0, self.result, self.source, self.reason)))

    @classmethod
    def decode(cls, body: memoryview) -> AAssociateRJ:
        if len(body) != 4:
            raise _malformed(f"A-ASSOCIATE-RJ of {len(body)} bytes")
        return cls(body[1], body[2], body[3])


class PDV(NamedTuple):
    """
    One presentation data value item, PS3.8 §9.3.5.1 and Annex E.2.

    A named tuple rather than a dataclass: one is made for every fragment
    received, and tuples are the cheapest immutable records Python has.

    :ivar control: the message control header: bit 0 set for a command
        fragment, bit 1 set for the last fragment.
    """

    context_id: int
    control: int
    data: memoryview | bytes

    @property
    def is_command(self) -> bool:
        """
        Whether this fragment belongs to a command set.
        """
        return bool(self.control & 1)

    @property
    def is_last(self) -> bool:
        """
        Whether this is the last fragment of its command or data set.
        """
        return bool(self.control & 2)

    def encode_header(self) -> bytes:
        """
        :returns: the 6-byte PDV header for this value.
        """
        return _PDV_HEADER.pack(len(self.data) + 2, self.context_id, self.control)


@dataclass(frozen=True, slots=True)
class PDataTF:
    """
    P-DATA-TF, PS3.8 §9.3.5, Table 9-22.
    """

    pdvs: tuple[PDV, ...]

    pdu_type = PDUType.P_DATA_TF

    def encode(self) -> bytes:
        parts = []
        for pdv in self.pdvs:
            parts.append(pdv.encode_header())
            parts.append(bytes(pdv.data))
        return _pdu(self.pdu_type, b"".join(parts))

    @classmethod
    def decode(cls, body: memoryview) -> PDataTF:
        pdvs = []
        offset = 0
        end = len(body)
        unpack = _PDV_HEADER.unpack_from
        while offset < end:
            if end - offset < 6:
                raise _malformed("truncated PDV header")
            length, context_id, control = unpack(body, offset)
            if length < 2 or offset + 4 + length > end:
                raise _malformed(f"PDV length {length} does not fit the PDU")
            if control & 0xFC:
                raise _malformed(f"reserved bits set in PDV control 0x{control:02x}")
            pdvs.append(
                PDV(context_id, control, body[offset + 6 : offset + 4 + length])
            )
            offset += 4 + length
        if not pdvs:
            raise _malformed("P-DATA-TF without PDV items")
        return cls(tuple(pdvs))


@dataclass(frozen=True, slots=True)
class AReleaseRQ:
    """
    A-RELEASE-RQ, PS3.8 §9.3.6, Table 9-24.
    """

    pdu_type = PDUType.A_RELEASE_RQ

    def encode(self) -> bytes:
        return _pdu(self.pdu_type, b"\0\0\0\0")

    @classmethod
    def decode(cls, body: memoryview) -> AReleaseRQ:
        _expect_four(body, "A-RELEASE-RQ")
        return cls()


@dataclass(frozen=True, slots=True)
class AReleaseRP:
    """
    A-RELEASE-RP, PS3.8 §9.3.7, Table 9-25.
    """

    pdu_type = PDUType.A_RELEASE_RP

    def encode(self) -> bytes:
        return _pdu(self.pdu_type, b"\0\0\0\0")

    @classmethod
    def decode(cls, body: memoryview) -> AReleaseRP:
        _expect_four(body, "A-RELEASE-RP")
        return cls()


@dataclass(frozen=True, slots=True)
class AAbort:
    """
    A-ABORT, PS3.8 §9.3.8, Table 9-26.
    """

    source: int = AbortSource.SERVICE_USER
    reason: int = AbortReason.NOT_SPECIFIED

    pdu_type = PDUType.A_ABORT

    def encode(self) -> bytes:
        return _pdu(self.pdu_type, bytes((0, 0, self.source, self.reason)))

    @classmethod
    def decode(cls, body: memoryview) -> AAbort:
        _expect_four(body, "A-ABORT")
        return cls(body[2], body[3])


def _expect_four(body: memoryview, name: str) -> None:
    if len(body) != 4:
        raise _malformed(f"{name} of {len(body)} bytes; 4 expected")


PDU = Union[
    AAssociateRQ, AAssociateAC, AAssociateRJ, PDataTF, AReleaseRQ, AReleaseRP, AAbort
]

PDU_CLASSES: dict[int, type] = {
    PDUType.A_ASSOCIATE_RQ: AAssociateRQ,
    PDUType.A_ASSOCIATE_AC: AAssociateAC,
    PDUType.A_ASSOCIATE_RJ: AAssociateRJ,
    PDUType.P_DATA_TF: PDataTF,
    PDUType.A_RELEASE_RQ: AReleaseRQ,
    PDUType.A_RELEASE_RP: AReleaseRP,
    PDUType.A_ABORT: AAbort,
}

_PDU_DECODERS: dict[int, Callable[[memoryview], PDU]] = {
    PDUType.A_ASSOCIATE_RQ: AAssociateRQ.decode,
    PDUType.A_ASSOCIATE_AC: AAssociateAC.decode,
    PDUType.A_ASSOCIATE_RJ: AAssociateRJ.decode,
    PDUType.P_DATA_TF: PDataTF.decode,
    PDUType.A_RELEASE_RQ: AReleaseRQ.decode,
    PDUType.A_RELEASE_RP: AReleaseRP.decode,
    PDUType.A_ABORT: AAbort.decode,
}

HEADER_SIZE = _HEADER.size


def decode_header(header: bytes | memoryview) -> tuple[int, int]:
    """
    :returns: ``(pdu_type, length)`` from a 6-byte PDU header.
    """
    pdu_type, _, length = _HEADER.unpack_from(header)
    return pdu_type, length


def decode_pdu(pdu_type: int, body: memoryview) -> PDU:
    """
    Decode a PDU body.

    :param pdu_type: the type byte of the PDU header.
    :param body: the bytes after the 6-byte header.
    :raises ProtocolError: for an unknown type or a malformed body.
    """
    decoder = _PDU_DECODERS.get(pdu_type)
    if decoder is None:
        raise ProtocolError(
            f"unrecognized PDU type 0x{pdu_type:02x}",
            AbortSource.SERVICE_PROVIDER,
            AbortReason.UNRECOGNIZED_PDU,
        )
    return decoder(body)


def encode_pdata_header(length: int) -> bytes:
    """
    :returns: the 6-byte header of a P-DATA-TF PDU whose PDV items take
        ``length`` bytes, for callers that assemble PDVs themselves.
    """
    return _HEADER.pack(PDUType.P_DATA_TF, 0, length)
