"""
Tests for dicomtw.pdu, the PDU and item codec of PS3.8 §9.3 and PS3.7
Annex D.

The byte vectors are laid out field by field from the standard's tables
with ``struct.pack``; they never come from the encoder under test.
pynetdicom's independent codec serves as a second opinion on realistic
requests and answers.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pynetdicom.pdu as pnd_pdu
import pynetdicom.pdu_primitives as pnd_prim
from hypothesis import given
from hypothesis import strategies as st
from pynetdicom.presentation import PresentationContext
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.errors import AbortReason, AbortSource, ProtocolError
from dicomtw.pdu import (
    PDU,
    PDV,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AReleaseRP,
    AReleaseRQ,
    AsynchronousOperationsWindow,
    ImplementationClassUID,
    ImplementationVersionName,
    MaximumLength,
    PDataTF,
    PresentationContextAC,
    PresentationContextRQ,
    RoleSelection,
    SOPClassCommonExtendedNegotiation,
    SOPClassExtendedNegotiation,
    UnknownItem,
    UserIdentityAC,
    UserIdentityRQ,
    UserInformation,
    decode_header,
    decode_pdu,
)

APP_CONTEXT = b"1.2.840.10008.3.1.1.1"  # 21 bytes
VERIFICATION = b"1.2.840.10008.1.1"  # 17 bytes
CT_IMAGE = b"1.2.840.10008.5.1.4.1.1.2"  # 25 bytes
IVR = b"1.2.840.10008.1.2"  # 17 bytes
EVRLE = b"1.2.840.10008.1.2.1"  # 19 bytes
DCMTK_UID = b"1.2.276.0.7230010.3.0.3.6.7"  # 27 bytes
DCMTK_VERSION = b"OFFIS_DCMTK_367"  # 15 bytes
PATIENT_FIND = b"1.2.840.10008.5.1.4.1.2.1.1"  # 27 bytes
KEY_OBJECT = b"1.2.840.10008.5.1.4.1.1.88.40"  # 29 bytes
STORAGE_SERVICE = b"1.2.840.10008.4.2"  # 17 bytes
ENHANCED_SR = b"1.2.840.10008.5.1.4.1.1.88.22"  # 29 bytes


def _header(pdu_type: int, length: int) -> bytes:
    """
    :returns: a PDU header: PDU-type, reserved, PDU-length (PS3.8 §9.3.1).
    """
    return struct.pack(">BBL", pdu_type, 0x00, length)


def _decode(encoded: bytes) -> PDU:
    """
    :returns: the PDU in ``encoded``, a whole PDU with its header, after
        checking that the header's length matches the bytes present.
    """
    pdu_type, length = decode_header(encoded[:6])
    if length != len(encoded) - 6:
        raise AssertionError(f"PDU length {length}, {len(encoded) - 6} bytes follow")
    return decode_pdu(pdu_type, memoryview(encoded)[6:])


# PS3.8 §9.3.2, Table 9-11 (A-ASSOCIATE-RQ) with one item of each of
# Tables 9-12, 9-13 (sub-items 9-14, 9-15) and 9-16 (sub-items D.1-1, D.3-1,
# D.3-3).  Lengths worked out by hand: fixed part 68, application context
# 4+21=25, presentation context 4+4+(4+17)+(4+17)=50, user information
# 4+8+(4+27)+(4+15)=62; PDU length 205.
ASSOCIATE_RQ_VECTOR = (
    struct.pack(">BBL", 0x01, 0x00, 205)  # PDU-type, reserved, PDU-length
    + struct.pack(">HH", 0x0001, 0x0000)  # protocol-version, reserved
    + b"ANY-SCP         "  # called-AE-title, space padded to 16
    + b"ECHOSCU         "  # calling-AE-title, space padded to 16
    + bytes(32)  # reserved
    # Table 9-12: item-type 10H, reserved, item-length, name
    + struct.pack(">BBH", 0x10, 0x00, 21)
    + APP_CONTEXT
    # Table 9-13: item-type 20H, reserved, item-length, context-ID, reserved x3
    + struct.pack(">BBHBBBB", 0x20, 0x00, 46, 1, 0, 0, 0)
    # Table 9-14: abstract syntax sub-item 30H
    + struct.pack(">BBH", 0x30, 0x00, 17)
    + VERIFICATION
    # Table 9-15: transfer syntax sub-item 40H
    + struct.pack(">BBH", 0x40, 0x00, 17)
    + IVR
    # Table 9-16: item-type 50H, reserved, item-length
    + struct.pack(">BBH", 0x50, 0x00, 58)
    # Table D.1-1: maximum length received
    + struct.pack(">BBHL", 0x51, 0x00, 4, 16384)
    # Table D.3-1: implementation class UID
    + struct.pack(">BBH", 0x52, 0x00, 27)
    + DCMTK_UID
    # Table D.3-3: implementation version name
    + struct.pack(">BBH", 0x55, 0x00, 15)
    + DCMTK_VERSION
)

DCMTK_USER_INFORMATION = UserInformation(
    (
        MaximumLength(16384),
        ImplementationClassUID(DCMTK_UID.decode()),
        ImplementationVersionName(DCMTK_VERSION.decode()),
    )
)

ASSOCIATE_RQ_OBJECT = AAssociateRQ(
    called_ae="ANY-SCP",
    calling_ae="ECHOSCU",
    presentation_contexts=(
        PresentationContextRQ(1, VERIFICATION.decode(), (IVR.decode(),)),
    ),
    user_information=DCMTK_USER_INFORMATION,
)

# PS3.8 §9.3.3, Table 9-17 (A-ASSOCIATE-AC) with two items of Table 9-18:
# an acceptance (4+4+(4+19)=31 bytes) and an abstract-syntax-not-supported
# answer (4+4+(4+17)=29 bytes).  PDU length 68+25+31+29+62 = 215.
ASSOCIATE_AC_VECTOR = (
    struct.pack(">BBL", 0x02, 0x00, 215)  # PDU-type, reserved, PDU-length
    + struct.pack(">HH", 0x0001, 0x0000)  # protocol-version, reserved
    + b"ANY-SCP         "  # reserved: the RQ's called-AE-title
    + b"ECHOSCU         "  # reserved: the RQ's calling-AE-title
    + bytes(32)  # reserved
    + struct.pack(">BBH", 0x10, 0x00, 21)  # application context item
    + APP_CONTEXT
    # Table 9-18: item-type 21H, reserved, item-length, context-ID,
    # reserved, result/reason, reserved
    + struct.pack(">BBHBBBB", 0x21, 0x00, 27, 1, 0, 0, 0)
    + struct.pack(">BBH", 0x40, 0x00, 19)  # transfer syntax sub-item
    + EVRLE
    + struct.pack(">BBHBBBB", 0x21, 0x00, 25, 3, 0, 3, 0)
    + struct.pack(">BBH", 0x40, 0x00, 17)
    + IVR
    + struct.pack(">BBH", 0x50, 0x00, 58)  # user information item
    + struct.pack(">BBHL", 0x51, 0x00, 4, 16384)
    + struct.pack(">BBH", 0x52, 0x00, 27)
    + DCMTK_UID
    + struct.pack(">BBH", 0x55, 0x00, 15)
    + DCMTK_VERSION
)

ASSOCIATE_AC_OBJECT = AAssociateAC(
    called_ae="ANY-SCP",
    calling_ae="ECHOSCU",
    presentation_contexts=(
        PresentationContextAC(1, 0, EVRLE.decode()),
        PresentationContextAC(3, 3, IVR.decode()),
    ),
    user_information=DCMTK_USER_INFORMATION,
)

# PS3.8 §9.3.5, Table 9-22, PDV items of Table 9-23 with the message control
# header of Annex E.2: a last command fragment (control 03H) of 4 bytes and
# a non-last data fragment (control 00H) of 8 bytes.
PDATA_VECTOR = (
    struct.pack(">BBL", 0x04, 0x00, 24)  # PDU-type, reserved, PDU-length
    # item-length (context ID + control + value), context-ID, control
    + struct.pack(">LBB", 6, 1, 0x03)
    + b"CMD!"
    + struct.pack(">LBB", 10, 1, 0x00)
    + b"DATA1234"
)


class VectorTests(SynchronousTestCase):
    """
    Byte-exact encoding and decoding of every PDU against hand-made vectors.
    """

    def _check(self, obj: PDU, vector: bytes) -> None:
        """
        Check that ``obj`` encodes to ``vector`` and ``vector`` decodes to it.

        :param obj: the PDU object.
        :param vector: its bytes, header included.
        """
        self.assertEqual(obj.encode(), vector)
        self.assertEqual(_decode(vector), obj)

    def test_vector_lengths(self) -> None:
        """
        The hand-made vectors are as long as their PDU-length fields say.
        """
        self.assertEqual(len(ASSOCIATE_RQ_VECTOR), 6 + 205)
        self.assertEqual(len(ASSOCIATE_AC_VECTOR), 6 + 215)
        self.assertEqual(len(PDATA_VECTOR), 6 + 24)

    def test_associate_rq(self) -> None:
        """
        An A-ASSOCIATE-RQ is laid out as PS3.8 Table 9-11 says.
        """
        self._check(ASSOCIATE_RQ_OBJECT, ASSOCIATE_RQ_VECTOR)

    def test_associate_ac(self) -> None:
        """
        An A-ASSOCIATE-AC is laid out as PS3.8 Tables 9-17 and 9-18 say.
        """
        self._check(ASSOCIATE_AC_OBJECT, ASSOCIATE_AC_VECTOR)

    def test_associate_rj(self) -> None:
        """
        An A-ASSOCIATE-RJ is laid out as PS3.8 Table 9-21 says.
        """
        vector = struct.pack(
            ">BBL", 0x03, 0x00, 4
        ) + struct.pack(  # PDU-type, reserved, length
            ">BBBB", 0x00, 1, 1, 2
        )  # reserved, result, source, reason
        self._check(AAssociateRJ(1, 1, 2), vector)

    def test_pdata(self) -> None:
        """
        A P-DATA-TF is laid out as PS3.8 Table 9-22 and Annex E say.
        """
        pdata = PDataTF((PDV(1, 0x03, b"CMD!"), PDV(1, 0x00, b"DATA1234")))
        self._check(pdata, PDATA_VECTOR)

    def test_pdv_flags(self) -> None:
        """
        Bit 0 of the message control header marks a command fragment and
        bit 1 the last fragment, PS3.8 Annex E.2.
        """
        decoded = _decode(PDATA_VECTOR)
        assert isinstance(decoded, PDataTF)
        command, data = decoded.pdvs
        self.assertEqual((command.is_command, command.is_last), (True, True))
        self.assertEqual((data.is_command, data.is_last), (False, False))
        self.assertEqual(PDV(7, 0x02, b"").is_last, True)

    def test_pdv_header(self) -> None:
        """
        A PDV header holds the item length (value plus two), context ID and
        control byte.
        """
        self.assertEqual(
            PDV(5, 0x02, b"abc").encode_header(),
            struct.pack(">LBB", 5, 5, 0x02),
        )

    def test_release_rq(self) -> None:
        """
        An A-RELEASE-RQ is laid out as PS3.8 Table 9-24 says.
        """
        self._check(AReleaseRQ(), struct.pack(">BBLL", 0x05, 0x00, 4, 0))

    def test_release_rp(self) -> None:
        """
        An A-RELEASE-RP is laid out as PS3.8 Table 9-25 says.
        """
        self._check(AReleaseRP(), struct.pack(">BBLL", 0x06, 0x00, 4, 0))

    def test_abort(self) -> None:
        """
        An A-ABORT is laid out as PS3.8 Table 9-26 says: two reserved bytes,
        source, reason/diag.
        """
        vector = struct.pack(">BBL", 0x07, 0x00, 4) + struct.pack(
            ">BBBB", 0x00, 0x00, 2, 6
        )
        self._check(AAbort(2, 6), vector)

    def test_abort_default(self) -> None:
        """
        An A-ABORT with no arguments is a service-user abort, reason 0.
        """
        self.assertEqual(AAbort().encode(), struct.pack(">BBLL", 0x07, 0, 4, 0))

    def test_decode_header(self) -> None:
        """
        decode_header reads the type and the 32-bit big-endian length.
        """
        self.assertEqual(decode_header(_header(0x04, 0x01020304)), (4, 0x01020304))


# PS3.7 Annex D and PS3.8 Annex D sub-items, each as (object, vector).
SUB_ITEM_VECTORS: list[tuple[Any, bytes]] = [
    # Table D.1-1: item-type 51H, reserved, item-length 4, maximum-length
    (MaximumLength(16384), struct.pack(">BBHL", 0x51, 0x00, 4, 16384)),
    # Table D.3-1: item-type 52H, reserved, item-length, UID
    (
        ImplementationClassUID(DCMTK_UID.decode()),
        struct.pack(">BBH", 0x52, 0x00, 27) + DCMTK_UID,
    ),
    # Table D.3-7: item-type 53H, reserved, item-length 4, invoked, performed
    (
        AsynchronousOperationsWindow(5, 3),
        struct.pack(">BBHHH", 0x53, 0x00, 4, 5, 3),
    ),
    # Table D.3-9: item-type 54H, reserved, item-length, UID-length, UID,
    # SCU-role, SCP-role
    (
        RoleSelection(CT_IMAGE.decode(), 1, 0),
        struct.pack(">BBHH", 0x54, 0x00, 2 + 25 + 2, 25) + CT_IMAGE + b"\x01\x00",
    ),
    # Table D.3-3: item-type 55H, reserved, item-length, version name
    (
        ImplementationVersionName(DCMTK_VERSION.decode()),
        struct.pack(">BBH", 0x55, 0x00, 15) + DCMTK_VERSION,
    ),
    # Table D.3-11: item-type 56H, reserved, item-length, SOP-class-uid-length,
    # SOP class UID, service-class-application-information
    (
        SOPClassExtendedNegotiation(PATIENT_FIND.decode(), b"\x01\x00\x01"),
        struct.pack(">BBHH", 0x56, 0x00, 2 + 27 + 3, 27)
        + PATIENT_FIND
        + b"\x01\x00\x01",
    ),
    # Table D.3-12: item-type 57H, sub-item-version, item-length,
    # SOP-class-uid-length, SOP class UID, service-class-uid-length, service
    # class UID, related-general-sop-class-identification-length, then
    # (Table D.3-13) for each related class its UID length and UID
    (
        SOPClassCommonExtendedNegotiation(
            KEY_OBJECT.decode(), STORAGE_SERVICE.decode(), (ENHANCED_SR.decode(),)
        ),
        struct.pack(">BBH", 0x57, 0x00, 2 + 29 + 2 + 17 + 2 + 2 + 29)
        + struct.pack(">H", 29)
        + KEY_OBJECT
        + struct.pack(">H", 17)
        + STORAGE_SERVICE
        + struct.pack(">H", 2 + 29)
        + struct.pack(">H", 29)
        + ENHANCED_SR,
    ),
    # Table D.3-14: item-type 58H, reserved, item-length, user-identity-type,
    # positive-response-requested, primary-field-length, primary-field,
    # secondary-field-length, secondary-field
    (
        UserIdentityRQ(2, True, b"alice", b"secret"),
        struct.pack(">BBHBBH", 0x58, 0x00, 1 + 1 + 2 + 5 + 2 + 6, 2, 1, 5)
        + b"alice"
        + struct.pack(">H", 6)
        + b"secret",
    ),
    # Table D.3-15: item-type 59H, reserved, item-length,
    # server-response-length, server-response
    (
        UserIdentityAC(b"token"),
        struct.pack(">BBHH", 0x59, 0x00, 2 + 5, 5) + b"token",
    ),
]


class SubItemVectorTests(SynchronousTestCase):
    """
    Byte-exact encoding and decoding of the user information sub-items of
    PS3.8 Annex D and PS3.7 Annex D.
    """

    def test_encode(self) -> None:
        """
        Every sub-item encodes to its hand-made vector.
        """
        for obj, vector in SUB_ITEM_VECTORS:
            self.assertEqual(obj.encode(), vector, obj)

    def test_decode_each(self) -> None:
        """
        Every sub-item's value (after its 4-byte header) decodes to it.
        """
        for obj, vector in SUB_ITEM_VECTORS:
            self.assertEqual(type(obj).decode(memoryview(vector)[4:]), obj)

    def test_user_information(self) -> None:
        """
        A user information item (PS3.8 Table 9-16) holding every sub-item
        decodes to them in order and encodes back to the same bytes.
        """
        body = b"".join(vector for _, vector in SUB_ITEM_VECTORS)
        vector = struct.pack(">BBH", 0x50, 0x00, len(body)) + body
        expected = UserInformation(tuple(obj for obj, _ in SUB_ITEM_VECTORS))
        self.assertEqual(UserInformation.decode(memoryview(vector)[4:]), expected)
        self.assertEqual(expected.encode(), vector)

    def test_unknown_sub_item_kept(self) -> None:
        """
        A sub-item of an unknown type is kept as an UnknownItem and
        re-encoded unchanged.
        """
        vector = struct.pack(">BBH", 0x5F, 0x00, 3) + b"xyz"
        decoded = UserInformation.decode(memoryview(vector))
        self.assertEqual(decoded.items, (UnknownItem(0x5F, b"xyz"),))
        self.assertEqual(decoded.items[0].encode(), vector)

    def test_user_information_properties(self) -> None:
        """
        The convenience properties find the first sub-item of their kind,
        and give None when it is absent.
        """
        self.assertEqual(DCMTK_USER_INFORMATION.maximum_length, 16384)
        self.assertEqual(
            DCMTK_USER_INFORMATION.implementation_class_uid, DCMTK_UID.decode()
        )
        self.assertEqual(
            DCMTK_USER_INFORMATION.implementation_version_name,
            DCMTK_VERSION.decode(),
        )
        empty = UserInformation()
        self.assertIsNone(empty.maximum_length)
        self.assertIsNone(empty.implementation_class_uid)
        self.assertIsNone(empty.implementation_version_name)
        roles = UserInformation((RoleSelection("1.2", 1, 1), MaximumLength(0)))
        self.assertEqual(roles.of_type(RoleSelection), [RoleSelection("1.2", 1, 1)])

    def test_ae_title_spaces(self) -> None:
        """
        Trailing spaces of AE titles are padding and dropped; leading spaces
        are kept (behaviour reference §4.1).
        """
        vector = bytearray(ASSOCIATE_RQ_VECTOR)
        vector[10:26] = b"  LEADING       "
        decoded = _decode(bytes(vector))
        assert isinstance(decoded, AAssociateRQ)
        self.assertEqual(decoded.called_ae, "  LEADING")


def _pynetdicom_user_items(ac: bool) -> list[Any]:
    """
    :param ac: whether the items are for an A-ASSOCIATE-AC.
    :returns: pynetdicom primitives for every user information sub-item.
    """
    maximum = pnd_prim.MaximumLengthNotification()
    maximum.maximum_length_received = 16384
    uid = pnd_prim.ImplementationClassUIDNotification()
    uid.implementation_class_uid = "1.2.826.0.1.3680043.9.3811.3.0.4"
    version = pnd_prim.ImplementationVersionNameNotification()
    version.implementation_version_name = "PYNETDICOM_304"
    window = pnd_prim.AsynchronousOperationsWindowNegotiation()
    window.maximum_number_operations_invoked = 5
    window.maximum_number_operations_performed = 3
    role = pnd_prim.SCP_SCU_RoleSelectionNegotiation()
    role.sop_class_uid = CT_IMAGE.decode()
    role.scu_role = True
    role.scp_role = False
    extended = pnd_prim.SOPClassExtendedNegotiation()
    extended.sop_class_uid = PATIENT_FIND.decode()
    extended.service_class_application_information = b"\x01\x01"
    common = pnd_prim.SOPClassCommonExtendedNegotiation()
    common.sop_class_uid = KEY_OBJECT.decode()
    common.service_class_uid = STORAGE_SERVICE.decode()
    common.related_general_sop_class_identification = [ENHANCED_SR.decode()]
    identity = pnd_prim.UserIdentityNegotiation()
    if ac:
        identity.server_response = b"token"
        return [maximum, uid, version, window, role, extended, identity]
    identity.user_identity_type = 2
    identity.positive_response_requested = True
    identity.primary_field = b"alice"
    identity.secondary_field = b"secret"
    return [maximum, uid, version, window, role, extended, common, identity]


OUR_USER_ITEMS = (
    MaximumLength(16384),
    ImplementationClassUID("1.2.826.0.1.3680043.9.3811.3.0.4"),
    ImplementationVersionName("PYNETDICOM_304"),
    AsynchronousOperationsWindow(5, 3),
    RoleSelection(CT_IMAGE.decode(), 1, 0),
    SOPClassExtendedNegotiation(PATIENT_FIND.decode(), b"\x01\x01"),
)

_TRANSFER_SYNTAXES = (IVR.decode(), EVRLE.decode(), "1.2.840.10008.1.2.4.50")


def _big_rq() -> AAssociateRQ:
    """
    :returns: a realistic A-ASSOCIATE-RQ with 120 presentation contexts and
        every request sub-item.
    """
    contexts = tuple(
        PresentationContextRQ(
            2 * i + 1, f"1.2.840.10008.5.1.4.1.1.{i + 1}", _TRANSFER_SYNTAXES
        )
        for i in range(120)
    )
    user = UserInformation(
        OUR_USER_ITEMS
        + (
            SOPClassCommonExtendedNegotiation(
                KEY_OBJECT.decode(), STORAGE_SERVICE.decode(), (ENHANCED_SR.decode(),)
            ),
            UserIdentityRQ(2, True, b"alice", b"secret"),
        )
    )
    return AAssociateRQ("ANY-SCP", "STORESCU", contexts, user)


def _big_ac() -> AAssociateAC:
    """
    :returns: a realistic A-ASSOCIATE-AC answering 120 contexts, with every
        answer sub-item.
    """
    contexts = tuple(
        PresentationContextAC(2 * i + 1, 0 if i % 3 == 0 else 4, EVRLE.decode())
        for i in range(120)
    )
    user = UserInformation(OUR_USER_ITEMS + (UserIdentityAC(b"token"),))
    return AAssociateAC("ANY-SCP", "STORESCU", contexts, user)


class PynetdicomTests(SynchronousTestCase):
    """
    Cross-checks against pynetdicom's independent PDU codec.
    """

    def test_rq_read_by_pynetdicom(self) -> None:
        """
        pynetdicom reads our 120-context A-ASSOCIATE-RQ field for field and
        re-encodes it to the same bytes.
        """
        ours = _big_rq()
        encoded = ours.encode()
        theirs = pnd_pdu.A_ASSOCIATE_RQ()
        theirs.decode(encoded)

        self.assertEqual(theirs.encode(), encoded)
        self.assertEqual(theirs.called_ae_title, "ANY-SCP")
        self.assertEqual(theirs.calling_ae_title, "STORESCU")
        self.assertEqual(theirs.application_context_name, APP_CONTEXT.decode())
        contexts = theirs.presentation_context
        self.assertEqual(len(contexts), 120)
        for mine, other in zip(ours.presentation_contexts, contexts):
            self.assertEqual(other.context_id, mine.context_id)
            self.assertEqual(other.abstract_syntax, mine.abstract_syntax)
            self.assertEqual(tuple(other.transfer_syntax), mine.transfer_syntaxes)
        assert theirs.user_information is not None
        items = theirs.user_information.user_data
        self.assertEqual(
            [item.item_type for item in items],
            [0x51, 0x52, 0x55, 0x53, 0x54, 0x56, 0x57, 0x58],
        )
        self.assertEqual(theirs.user_information.maximum_length, 16384)

    def test_rq_from_pynetdicom(self) -> None:
        """
        We read pynetdicom's 120-context A-ASSOCIATE-RQ with every
        sub-item and re-encode it to the same bytes.
        """
        primitive = pnd_prim.A_ASSOCIATE()
        primitive.application_context_name = APP_CONTEXT.decode()
        primitive.calling_ae_title = "STORESCU"
        primitive.called_ae_title = "ANY-SCP"
        contexts = []
        for i in range(120):
            context = PresentationContext()
            context.context_id = 2 * i + 1
            context.abstract_syntax = f"1.2.840.10008.5.1.4.1.1.{i + 1}"
            context.transfer_syntax = list(_TRANSFER_SYNTAXES)
            contexts.append(context)
        primitive.presentation_context_definition_list = contexts
        primitive.user_information = _pynetdicom_user_items(ac=False)
        theirs = pnd_pdu.A_ASSOCIATE_RQ()
        theirs.from_primitive(primitive)
        encoded = theirs.encode()

        decoded = _decode(encoded)
        self.assertEqual(decoded, _big_rq())
        self.assertEqual(decoded.encode(), encoded)

    def test_ac_read_by_pynetdicom(self) -> None:
        """
        pynetdicom reads our 120-context A-ASSOCIATE-AC and re-encodes it to
        the same bytes.
        """
        ours = _big_ac()
        encoded = ours.encode()
        theirs = pnd_pdu.A_ASSOCIATE_AC()
        theirs.decode(encoded)

        self.assertEqual(theirs.encode(), encoded)
        contexts = theirs.presentation_context
        self.assertEqual(len(contexts), 120)
        for mine, other in zip(ours.presentation_contexts, contexts):
            self.assertEqual(other.context_id, mine.context_id)
            self.assertEqual(other.result, mine.result)
            self.assertEqual(other.transfer_syntax, mine.transfer_syntax)
        assert theirs.user_information is not None
        items = theirs.user_information.user_data
        self.assertEqual(
            [item.item_type for item in items],
            [0x51, 0x52, 0x55, 0x53, 0x54, 0x56, 0x59],
        )

    def test_ac_from_pynetdicom(self) -> None:
        """
        We read pynetdicom's 120-context A-ASSOCIATE-AC and re-encode it to
        the same bytes.
        """
        primitive = pnd_prim.A_ASSOCIATE()
        primitive.application_context_name = APP_CONTEXT.decode()
        primitive.calling_ae_title = "STORESCU"
        primitive.called_ae_title = "ANY-SCP"
        primitive.result = 0
        results = []
        for i in range(120):
            context = PresentationContext()
            context.context_id = 2 * i + 1
            context.result = 0 if i % 3 == 0 else 4
            context.transfer_syntax = [EVRLE.decode()]
            results.append(context)
        primitive.presentation_context_definition_results_list = results
        primitive.user_information = _pynetdicom_user_items(ac=True)
        theirs = pnd_pdu.A_ASSOCIATE_AC()
        theirs.from_primitive(primitive)
        encoded = theirs.encode()

        decoded = _decode(encoded)
        self.assertEqual(decoded, _big_ac())
        self.assertEqual(decoded.encode(), encoded)

    def test_small_pdus(self) -> None:
        """
        pynetdicom reads our RJ, P-DATA-TF, release and abort PDUs with the
        same field values and re-encodes them to the same bytes.
        """
        rj = pnd_pdu.A_ASSOCIATE_RJ()
        rj.decode(AAssociateRJ(2, 3, 2).encode())
        self.assertEqual((rj.result, rj.source, rj.reason_diagnostic), (2, 3, 2))
        self.assertEqual(rj.encode(), AAssociateRJ(2, 3, 2).encode())

        pdata = pnd_pdu.P_DATA_TF()
        pdata.decode(PDATA_VECTOR)
        values = [
            (item.presentation_context_id, item.presentation_data_value)
            for item in pdata.presentation_data_value_items
        ]
        self.assertEqual(values, [(1, b"\x03CMD!"), (1, b"\x00DATA1234")])
        self.assertEqual(pdata.encode(), PDATA_VECTOR)

        abort = pnd_pdu.A_ABORT_RQ()
        abort.decode(AAbort(2, 6).encode())
        self.assertEqual((abort.source, abort.reason_diagnostic), (2, 6))
        small: list[tuple[PDU, Any]] = [
            (AReleaseRQ(), pnd_pdu.A_RELEASE_RQ),
            (AReleaseRP(), pnd_pdu.A_RELEASE_RP),
            (AAbort(2, 6), pnd_pdu.A_ABORT_RQ),
        ]
        for ours, kind in small:
            theirs = kind()
            theirs.decode(ours.encode())
            self.assertEqual(theirs.encode(), ours.encode())


# --- Hypothesis strategies --------------------------------------------------

uids = st.text(alphabet="0123456789.", min_size=1, max_size=64)
ae_titles = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    min_size=1,
    max_size=16,
).filter(lambda title: not title.endswith(" "))
version_names = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
    min_size=1,
    max_size=16,
)
bytes_8 = st.integers(0, 0xFF)
bytes_16 = st.integers(0, 0xFFFF)
short_binary = st.binary(max_size=40)

_KNOWN_SUB_ITEMS = frozenset(range(0x51, 0x5A))

user_items: st.SearchStrategy[Any] = st.one_of(
    st.builds(MaximumLength, st.integers(0, 0xFFFFFFFF)),
    st.builds(ImplementationClassUID, uids),
    st.builds(ImplementationVersionName, version_names),
    st.builds(AsynchronousOperationsWindow, bytes_16, bytes_16),
    st.builds(RoleSelection, uids, bytes_8, bytes_8),
    st.builds(SOPClassExtendedNegotiation, uids, short_binary),
    st.builds(
        SOPClassCommonExtendedNegotiation,
        uids,
        uids,
        st.lists(uids, max_size=4).map(tuple),
    ),
    st.builds(UserIdentityRQ, bytes_8, st.booleans(), short_binary, short_binary),
    st.builds(UserIdentityAC, short_binary),
    st.builds(
        UnknownItem,
        bytes_8.filter(lambda kind: kind not in _KNOWN_SUB_ITEMS),
        short_binary,
    ),
)
user_information = st.builds(
    UserInformation, st.lists(user_items, max_size=8).map(tuple)
)
contexts_rq = st.builds(
    PresentationContextRQ,
    bytes_8,
    st.one_of(st.none(), uids),
    st.lists(uids, min_size=1, max_size=5).map(tuple),
)
contexts_ac = st.builds(PresentationContextAC, bytes_8, bytes_8, uids)
pdvs = st.builds(PDV, bytes_8, st.integers(0, 3), st.binary(max_size=64))

pdus: st.SearchStrategy[Any] = st.one_of(
    st.builds(
        AAssociateRQ,
        ae_titles,
        ae_titles,
        st.lists(contexts_rq, max_size=6).map(tuple),
        user_information,
        uids,
        bytes_16,
    ),
    st.builds(
        AAssociateAC,
        ae_titles,
        ae_titles,
        st.lists(contexts_ac, max_size=6).map(tuple),
        user_information,
        uids,
        bytes_16,
    ),
    st.builds(AAssociateRJ, bytes_8, bytes_8, bytes_8),
    st.builds(PDataTF, st.lists(pdvs, min_size=1, max_size=5).map(tuple)),
    st.just(AReleaseRQ()),
    st.just(AReleaseRP()),
    st.builds(AAbort, bytes_8, bytes_8),
)


class RoundTripTests(SynchronousTestCase):
    """
    decode(encode(x)) == x for generated PDUs and sub-items.
    """

    @given(pdus)
    def test_pdu_round_trip(self, pdu: Any) -> None:
        """
        Every PDU type survives encoding and decoding unchanged.
        """
        self.assertEqual(_decode(pdu.encode()), pdu)

    @given(user_items)
    def test_sub_item_round_trip(self, item: Any) -> None:
        """
        Every user information sub-item survives encoding and decoding,
        alone and inside a user information item.
        """
        encoded = item.encode()
        sub_type, _, length = struct.unpack_from(">BBH", encoded)
        self.assertEqual(length, len(encoded) - 4)
        if not isinstance(item, UnknownItem):
            self.assertEqual(type(item).decode(memoryview(encoded)[4:]), item)
        self.assertEqual(UserInformation.decode(memoryview(encoded)).items, (item,))

    @given(contexts_rq)
    def test_context_rq_round_trip(self, context: PresentationContextRQ) -> None:
        """
        A proposed presentation context survives encoding and decoding.
        """
        encoded = context.encode()
        self.assertEqual(encoded[0], 0x20)
        self.assertEqual(PresentationContextRQ.decode(memoryview(encoded)[4:]), context)

    @given(contexts_ac)
    def test_context_ac_round_trip(self, context: PresentationContextAC) -> None:
        """
        A presentation context answer survives encoding and decoding.
        """
        encoded = context.encode()
        self.assertEqual(encoded[0], 0x21)
        self.assertEqual(PresentationContextAC.decode(memoryview(encoded)[4:]), context)


# --- Fuzzing ----------------------------------------------------------------


def _decodes_or_protocol_error(call: Callable[[], object]) -> None:
    """
    Run a decoder; a ProtocolError is an acceptable outcome, and anything
    else propagates and fails the test.

    :param call: the decoding call.
    """
    try:
        call()
    except ProtocolError:
        pass


_SUB_ITEM_DECODERS = [
    PresentationContextRQ,
    PresentationContextAC,
    UserInformation,
    MaximumLength,
    ImplementationClassUID,
    ImplementationVersionName,
    AsynchronousOperationsWindow,
    RoleSelection,
    SOPClassExtendedNegotiation,
    SOPClassCommonExtendedNegotiation,
    UserIdentityRQ,
    UserIdentityAC,
]

_SEEDS = [
    ASSOCIATE_RQ_VECTOR,
    ASSOCIATE_AC_VECTOR,
    PDATA_VECTOR,
    _big_rq().encode(),
    _big_ac().encode(),
    AAssociateRJ(1, 1, 1).encode(),
    AAbort(0, 0).encode(),
]


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    """
    A valid PDU with some bytes overwritten, some cut off or some inserted.
    """
    data = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["overwrite", "truncate", "insert"]))
        if action == "overwrite":
            data[position] = draw(bytes_8)
        elif action == "truncate":
            del data[max(position, 6) :]
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        if len(data) < 7:
            break
    return bytes(data)


class FuzzTests(SynchronousTestCase):
    """
    Random input makes every decoder either succeed or raise ProtocolError,
    never anything else.
    """

    @given(st.integers(0, 0xFF), st.binary(max_size=600))
    def test_random_bodies(self, pdu_type: int, body: bytes) -> None:
        """
        A random body under any PDU type decodes or raises ProtocolError.
        """
        _decodes_or_protocol_error(lambda: decode_pdu(pdu_type, memoryview(body)))

    @given(st.sampled_from(range(1, 8)), st.binary(max_size=600))
    def test_random_bodies_known_types(self, pdu_type: int, body: bytes) -> None:
        """
        A random body under each of the seven PDU types decodes or raises
        ProtocolError.
        """
        _decodes_or_protocol_error(lambda: decode_pdu(pdu_type, memoryview(body)))

    @given(_mutated())
    def test_mutated_pdus(self, data: bytes) -> None:
        """
        A valid PDU with damaged bytes decodes or raises ProtocolError.
        """
        pdu_type = data[0]
        body = memoryview(data)[6:]
        _decodes_or_protocol_error(lambda: decode_pdu(pdu_type, body))

    @given(st.sampled_from(_SUB_ITEM_DECODERS), st.binary(max_size=200))
    def test_random_sub_items(self, kind: Any, value: bytes) -> None:
        """
        Every item and sub-item decoder takes random bytes without raising
        anything but ProtocolError.
        """
        _decodes_or_protocol_error(lambda: kind.decode(memoryview(value)))


def _rq_with_items(items: bytes) -> memoryview:
    """
    :returns: an A-ASSOCIATE-RQ body: the fixed fields of PS3.8 Table 9-11
        followed by ``items``.
    """
    return memoryview(
        struct.pack(">HH", 1, 0)
        + b"ANY-SCP".ljust(16)
        + b"ECHOSCU".ljust(16)
        + bytes(32)
        + items
    )


_APP_ITEM = struct.pack(">BBH", 0x10, 0, 21) + APP_CONTEXT
_TS_ITEM = struct.pack(">BBH", 0x40, 0, 17) + IVR


def _pc_item(value: bytes) -> bytes:
    """
    :returns: a presentation context item (type 20H) around ``value``.
    """
    return struct.pack(">BBH", 0x20, 0, len(value)) + value


class MalformedTests(SynchronousTestCase):
    """
    Truncated and over-long PDUs and items raise ProtocolError.
    """

    def assertMalformed(self, pdu_type: int, body: bytes | memoryview) -> None:
        """
        Assert that decoding raises ProtocolError with the service-provider
        source.

        :param pdu_type: the PDU type byte.
        :param body: the PDU body.
        """
        error = self.assertRaises(ProtocolError, decode_pdu, pdu_type, memoryview(body))
        self.assertEqual(error.source, AbortSource.SERVICE_PROVIDER)

    def test_unknown_pdu_type(self) -> None:
        """
        An unknown PDU type is an unrecognized PDU (PS3.8 Table 9-26).
        """
        error = self.assertRaises(ProtocolError, decode_pdu, 0x08, memoryview(b""))
        self.assertEqual(error.source, AbortSource.SERVICE_PROVIDER)
        self.assertEqual(error.reason, AbortReason.UNRECOGNIZED_PDU)

    def test_truncated_fixed_fields(self) -> None:
        """
        An A-ASSOCIATE-RQ or -AC shorter than its 68 fixed bytes is refused.
        """
        self.assertMalformed(0x01, ASSOCIATE_RQ_VECTOR[6:73])
        self.assertMalformed(0x02, ASSOCIATE_AC_VECTOR[6:50])

    def test_truncated_anywhere(self) -> None:
        """
        An A-ASSOCIATE-RQ or -AC cut anywhere inside its items is refused.
        """
        # Item boundaries give shorter but well-formed PDUs: the fixed
        # part, then each item's end as worked out above the vectors.
        cases = [
            (ASSOCIATE_RQ_VECTOR, {68, 68 + 25, 68 + 25 + 50}),
            (ASSOCIATE_AC_VECTOR, {68, 68 + 25, 68 + 25 + 31, 68 + 25 + 31 + 29}),
        ]
        for vector, boundaries in cases:
            for end in range(len(vector) - 6):
                if end not in boundaries:
                    self.assertMalformed(vector[0], vector[6 : 6 + end])

    def test_item_overruns_pdu(self) -> None:
        """
        An item whose length runs past the end of the PDU is refused.
        """
        overlong = struct.pack(">BBH", 0x10, 0, 100) + APP_CONTEXT
        self.assertMalformed(0x01, _rq_with_items(overlong))

    def test_truncated_item_header(self) -> None:
        """
        Fewer than four bytes left after the last item is refused.
        """
        self.assertMalformed(0x01, _rq_with_items(_APP_ITEM + b"\x20\x00"))

    def test_sub_item_overruns_context(self) -> None:
        """
        An abstract syntax sub-item announcing 200 bytes, more than its
        presentation context item holds, is refused.
        """
        value = (
            bytes((1, 0, 0, 0))
            + struct.pack(">BBH", 0x30, 0, 200)
            + VERIFICATION
            + _TS_ITEM
        )
        self.assertMalformed(0x01, _rq_with_items(_APP_ITEM + _pc_item(value)))

    def test_uid_of_200_bytes(self) -> None:
        """
        A UID sub-item really holding 200 bytes, more than the 64 a UID may
        have, is refused.
        """
        value = (
            bytes((1, 0, 0, 0))
            + struct.pack(">BBH", 0x30, 0, 200)
            + b"1." * 100
            + _TS_ITEM
        )
        self.assertMalformed(0x01, _rq_with_items(_APP_ITEM + _pc_item(value)))
        long_ts = (
            bytes((1, 0, 0, 0))
            + struct.pack(">BBH", 0x30, 0, 17)
            + VERIFICATION
            + struct.pack(">BBH", 0x40, 0, 65)
            + b"1" * 65
        )
        self.assertMalformed(0x01, _rq_with_items(_APP_ITEM + _pc_item(long_ts)))

    def test_zero_length_context(self) -> None:
        """
        A presentation context item of length zero is refused.
        """
        self.assertMalformed(0x01, _rq_with_items(_APP_ITEM + _pc_item(b"")))

    def test_context_without_transfer_syntax(self) -> None:
        """
        A presentation context item with no transfer syntax sub-item is
        refused.
        """
        value = bytes((1, 0, 0, 0)) + struct.pack(">BBH", 0x30, 0, 17) + VERIFICATION
        self.assertMalformed(0x01, _rq_with_items(_APP_ITEM + _pc_item(value)))

    def test_context_without_abstract_syntax(self) -> None:
        """
        A presentation context item without abstract syntax is read, with
        the abstract syntax None (the reference answers it with result 3).
        """
        body = _rq_with_items(_APP_ITEM + _pc_item(bytes((1, 0, 0, 0)) + _TS_ITEM))
        decoded = decode_pdu(0x01, body)
        assert isinstance(decoded, AAssociateRQ)
        self.assertEqual(
            decoded.presentation_contexts,
            (PresentationContextRQ(1, None, (IVR.decode(),)),),
        )

    def test_unexpected_sub_item_in_context(self) -> None:
        """
        A sub-item other than 30H or 40H inside a proposed presentation
        context is refused.
        """
        value = bytes((1, 0, 0, 0)) + _TS_ITEM + struct.pack(">BBH", 0x51, 0, 0)
        self.assertMalformed(0x01, _rq_with_items(_APP_ITEM + _pc_item(value)))

    def test_non_ascii_uid(self) -> None:
        """
        A UID with bytes outside ASCII is refused.
        """
        item = struct.pack(">BBH", 0x10, 0, 3) + b"1.\xff"
        self.assertMalformed(0x01, _rq_with_items(item))

    def test_empty_application_context(self) -> None:
        """
        An empty application context item reads as an empty name, which
        negotiation rejects (behaviour reference §4.1).
        """
        decoded = decode_pdu(0x01, _rq_with_items(struct.pack(">BBH", 0x10, 0, 0)))
        assert isinstance(decoded, AAssociateRQ)
        self.assertEqual(decoded.application_context, "")

    def test_unknown_item_ignored(self) -> None:
        """
        An item of unknown type after the user information is skipped
        (PS3.8 §9.3.1).
        """
        body = ASSOCIATE_RQ_VECTOR[6:] + struct.pack(">BBH", 0x70, 0, 2) + b"zz"
        self.assertEqual(decode_pdu(0x01, memoryview(body)), ASSOCIATE_RQ_OBJECT)

    def test_user_information_overruns(self) -> None:
        """
        A sub-item whose length runs past its user information item is
        refused, even when the PDU has bytes to spare.
        """
        sub = struct.pack(">BBHL", 0x51, 0, 8, 16384)
        user = struct.pack(">BBH", 0x50, 0, len(sub)) + sub
        self.assertMalformed(0x01, _rq_with_items(_APP_ITEM + user + bytes(8)))

    def test_bad_sub_item_lengths(self) -> None:
        """
        Sub-items with lengths their tables do not allow are refused.
        """
        cases: list[tuple[Any, bytes]] = [
            (MaximumLength, b"\x00\x00\x40"),
            (AsynchronousOperationsWindow, b"\x00\x01\x00"),
            (ImplementationVersionName, b"A" * 17),
            (ImplementationClassUID, b"1" * 65),
            (RoleSelection, struct.pack(">H", 3) + b"1.2"),
            (RoleSelection, struct.pack(">H", 9) + b"1.2\x01\x01"),
            (SOPClassExtendedNegotiation, b"\x00"),
            (SOPClassCommonExtendedNegotiation, struct.pack(">H", 3) + b"1.2"),
            (UserIdentityRQ, b"\x01\x00\x00\x05abc"),
            (UserIdentityRQ, b"\x01\x00\x00\x01a\x00\x05b"),
            (UserIdentityAC, b"\x00\x05ab"),
        ]
        for kind, value in cases:
            self.assertRaises(ProtocolError, kind.decode, memoryview(value))

    def test_common_extended_related_length(self) -> None:
        """
        A related-general-sop-class list whose length disagrees with the
        sub-item is refused.
        """
        value = (
            struct.pack(">H", 3)
            + b"1.2"
            + struct.pack(">H", 3)
            + b"1.3"
            + struct.pack(">H", 9)
            + struct.pack(">H", 3)
            + b"1.4"
        )
        self.assertRaises(
            ProtocolError,
            SOPClassCommonExtendedNegotiation.decode,
            memoryview(value),
        )

    def test_fixed_size_pdus(self) -> None:
        """
        A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and A-ABORT bodies other than four
        bytes are refused.
        """
        for pdu_type in (0x03, 0x05, 0x06, 0x07):
            for size in (0, 3, 5):
                self.assertMalformed(pdu_type, bytes(size))

    def test_pdv_problems(self) -> None:
        """
        P-DATA-TF bodies with no PDV, a PDV shorter than two bytes, a PDV
        overrunning the PDU, a cut PDV header or reserved control bits are
        refused.
        """
        cases = [
            b"",
            struct.pack(">LBB", 1, 1, 0),
            struct.pack(">LBB", 20, 1, 0) + b"short",
            struct.pack(">LBB", 3, 1, 2) + b"x" + b"\x00\x00\x00",
            struct.pack(">LBB", 3, 1, 0x04) + b"x",
        ]
        for body in cases:
            self.assertMalformed(0x04, body)

    def test_empty_pdv_value(self) -> None:
        """
        A PDV item of length 2 carries an empty value.
        """
        decoded = decode_pdu(0x04, memoryview(struct.pack(">LBB", 2, 5, 3)))
        assert isinstance(decoded, PDataTF)
        self.assertEqual(decoded.pdvs, (PDV(5, 3, b""),))
