"""
Tests for dicomtw.negotiation: A-ASSOCIATE-RQ in, A-ASSOCIATE-AC or -RJ
out, as the behaviour reference §4.1 to §4.9 describes the reference
program.

The preference table of §4.3 is typed out here from the reference and
checked against dicomtw.uids, never imported as the expected value.
"""

from __future__ import annotations

import struct
import sys

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.negotiation import (
    AcceptedContext,
    Outcome,
    Policy,
    choose_transfer_syntax,
    congested,
    describe_ac,
    describe_rq,
    negotiate,
    peer_send_limit,
)
from dicomtw.pdu import (
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    ImplementationClassUID,
    ImplementationVersionName,
    MaximumLength,
    PresentationContextAC,
    PresentationContextRQ,
    UserInformation,
)
from dicomtw.sopclasses import STORAGE_SOP_CLASSES, is_known_uid
from dicomtw.uids import (
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    PREFERENCE_LISTS,
)

VERIFICATION = "1.2.840.10008.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
HANGING_PROTOCOL = "1.2.840.10008.5.1.4.38.1"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
PRIVATE = "1.2.3.999.1"
APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"

# Short names of the behaviour reference's transfer syntax table.
IVR = "1.2.840.10008.1.2"
EVRLE = "1.2.840.10008.1.2.1"
EVRBE = "1.2.840.10008.1.2.2"
DEFL = "1.2.840.10008.1.2.1.99"
JPEG_B = "1.2.840.10008.1.2.4.50"
JPEG_E = "1.2.840.10008.1.2.4.51"
JPEG_LL = "1.2.840.10008.1.2.4.70"
JLS_LL = "1.2.840.10008.1.2.4.80"
JLS = "1.2.840.10008.1.2.4.81"
J2K_LL = "1.2.840.10008.1.2.4.90"
J2K = "1.2.840.10008.1.2.4.91"
MPEG2_ML = "1.2.840.10008.1.2.4.100"
MPEG2_HL = "1.2.840.10008.1.2.4.101"
MPEG4 = "1.2.840.10008.1.2.4.102"
MPEG4_BD = "1.2.840.10008.1.2.4.103"
MPEG4_2D = "1.2.840.10008.1.2.4.104"
MPEG4_3D = "1.2.840.10008.1.2.4.105"
MPEG4_ST = "1.2.840.10008.1.2.4.106"
HEVC = "1.2.840.10008.1.2.4.107"
HEVC10 = "1.2.840.10008.1.2.4.108"
RLE = "1.2.840.10008.1.2.5"

if sys.byteorder == "little":
    EVR_LOCAL, EVR_OPPOSITE = EVRLE, EVRBE
else:  # pragma: no cover - no big-endian test machine
    EVR_LOCAL, EVR_OPPOSITE = EVRBE, EVRLE

ALL_TS = (
    IVR, EVRLE, EVRBE, DEFL, JPEG_B, JPEG_E, JPEG_LL, JLS_LL, JLS, J2K_LL, J2K,
    MPEG2_ML, MPEG2_HL, MPEG4, MPEG4_BD, MPEG4_2D, MPEG4_3D, MPEG4_ST, HEVC,
    HEVC10, RLE,
)  # fmt: skip
TAIL = (EVRLE, EVRBE, IVR)

# Behaviour reference §4.3: option (long name) -> SCP preference list.
PREFERENCE_TABLE: dict[str, tuple[str, ...]] = {
    "prefer-uncompr": (EVR_LOCAL, EVR_OPPOSITE, IVR),
    "prefer-little": (EVRLE, EVRBE, IVR),
    "prefer-big": (EVRBE, EVRLE, IVR),
    "prefer-lossless": (JPEG_LL,) + TAIL,
    "prefer-jpeg8": (JPEG_B,) + TAIL,
    "prefer-jpeg12": (JPEG_E,) + TAIL,
    "prefer-j2k-lossless": (J2K_LL,) + TAIL,
    "prefer-j2k-lossy": (J2K,) + TAIL,
    "prefer-jls-lossless": (JLS_LL,) + TAIL,
    "prefer-jls-lossy": (JLS,) + TAIL,
    "prefer-mpeg2": (MPEG2_ML,) + TAIL,
    "prefer-mpeg2-high": (MPEG2_HL,) + TAIL,
    "prefer-mpeg4": (MPEG4,) + TAIL,
    "prefer-mpeg4-bd": (MPEG4_BD,) + TAIL,
    "prefer-mpeg4-2-2d": (MPEG4_2D,) + TAIL,
    "prefer-mpeg4-2-3d": (MPEG4_3D,) + TAIL,
    "prefer-mpeg4-2-st": (MPEG4_ST,) + TAIL,
    "prefer-hevc": (HEVC,) + TAIL,
    "prefer-hevc10": (HEVC10,) + TAIL,
    "prefer-rle": (RLE,) + TAIL,
    "prefer-deflated": (DEFL,) + TAIL,
    "implicit": (IVR,),
    "accept-all": (
        J2K, J2K_LL, JPEG_E, JPEG_B, JPEG_LL, JLS, JLS_LL, RLE, MPEG2_ML,
        MPEG2_HL, MPEG4, MPEG4_BD, MPEG4_2D, MPEG4_3D, MPEG4_ST, HEVC, HEVC10,
        DEFL, EVR_LOCAL, EVR_OPPOSITE, IVR,
    ),  # fmt: skip
}


def _policy(**kwargs: object) -> Policy:
    """
    :returns: the default storescp policy (§4.4), changed by ``kwargs``.
    """
    settings: dict[str, object] = {
        "abstract_syntaxes": STORAGE_SOP_CLASSES | {VERIFICATION},
        "is_known_uid": is_known_uid,
    }
    settings.update(kwargs)
    return Policy(**settings)  # type: ignore[arg-type]


def _rq(
    *contexts: tuple[int, str | None, tuple[str, ...]],
    user: tuple[object, ...] | None = None,
    application_context: str = APPLICATION_CONTEXT,
    called: str = "ANY-SCP",
    calling: str = "STORESCU",
) -> AAssociateRQ:
    """
    :param contexts: ``(id, abstract syntax, transfer syntaxes)`` triples.
    :param user: the user information sub-items; by default a maximum
        length of 16384 and an implementation class UID.
    :returns: an A-ASSOCIATE-RQ.
    """
    if user is None:
        user = (MaximumLength(16384), ImplementationClassUID("1.2.3.4"))
    return AAssociateRQ(
        called,
        calling,
        tuple(PresentationContextRQ(*context) for context in contexts),
        UserInformation(user),  # type: ignore[arg-type]
        application_context,
    )


def _answer(
    abstract: str | None, syntaxes: tuple[str, ...], policy: Policy | None = None
) -> tuple[int, str]:
    """
    Negotiate a single presentation context with ID 1.

    :returns: its ``(result, transfer syntax)``.
    """
    outcome = negotiate(_rq((1, abstract, syntaxes)), policy or _policy())
    assert isinstance(outcome.response, AAssociateAC)
    (context,) = outcome.response.presentation_contexts
    return context.result, context.transfer_syntax


class ContextTests(SynchronousTestCase):
    """
    The presentation context algorithm of behaviour reference §4.2.
    """

    def test_example_table(self) -> None:
        """
        Every row of the example table of §4.2 gives the documented answer.
        """
        compressed = tuple(ts for ts in ALL_TS if ts not in (IVR, EVRLE, EVRBE, DEFL))
        rows: list[tuple[str, tuple[str, ...], tuple[int, str]]] = [
            (CT, (IVR, EVRLE, EVRBE), (0, EVRLE)),
            (CT, (EVRBE, IVR), (0, EVRBE)),
            (CT, compressed + (DEFL, IVR), (0, IVR)),
            (CT, (JPEG_B,), (4, IVR)),
            (CT, (DEFL,), (4, IVR)),
            (CT, ("1.2.3.4.5.6",), (4, IVR)),
            (VERIFICATION, (JPEG_B, IVR), (0, IVR)),
            (PRIVATE, (IVR,), (3, IVR)),
            (HANGING_PROTOCOL, (IVR,), (3, IVR)),
            (STUDY_ROOT_FIND, (IVR,), (3, IVR)),
        ]
        for abstract, syntaxes, expected in rows:
            self.assertEqual(_answer(abstract, syntaxes), expected, abstract)

    def test_preference_lists_match_reference(self) -> None:
        """
        dicomtw.uids has exactly the preference lists of §4.3.
        """
        self.assertEqual(dict(PREFERENCE_LISTS), PREFERENCE_TABLE)

    def test_default_list(self) -> None:
        """
        Without a ``+x`` option the list is EVR-local, EVR-opposite, IVR.
        """
        self.assertEqual(Policy(frozenset()).transfer_syntaxes, (EVRLE, EVRBE, IVR))

    def test_every_preference_row(self) -> None:
        """
        For every option of §4.3, the SCP's list decides: offered any tail
        of the list, in reversed order and mixed with syntaxes not on the
        list, the SCP takes the first of that tail; offered none of the
        list, it refuses with result 4.
        """
        for option, preference in PREFERENCE_TABLE.items():
            policy = _policy(transfer_syntaxes=PREFERENCE_LISTS[option])
            others = tuple(ts for ts in ALL_TS if ts not in preference)
            for start in range(len(preference)):
                offered = tuple(reversed(preference[start:])) + others
                self.assertEqual(
                    _answer(CT, offered, policy), (0, preference[start]), option
                )
                self.assertEqual(
                    _answer(CT, others + preference[start:], policy),
                    (0, preference[start]),
                    option,
                )
            if others:
                self.assertEqual(_answer(CT, others, policy), (4, IVR), option)

    @given(st.permutations(ALL_TS))
    def test_accept_all_order_irrelevant(self, offered: list[str]) -> None:
        """
        With ``+xa``, a context offering all 21 syntaxes in any order is
        accepted with JPEG 2000 (§4.3).
        """
        policy = _policy(transfer_syntaxes=PREFERENCE_LISTS["accept-all"])
        self.assertEqual(_answer(CT, tuple(offered), policy), (0, J2K))

    def test_choose_transfer_syntax(self) -> None:
        """
        choose_transfer_syntax walks the SCP list, ignoring the peer's
        order, and gives None when nothing matches.
        """
        self.assertEqual(choose_transfer_syntax(TAIL, (IVR, EVRBE)), EVRBE)
        self.assertIsNone(choose_transfer_syntax(TAIL, (JPEG_B,)))

    def test_verification_with_storage_list(self) -> None:
        """
        Verification is negotiated with the storage list: ``+xy`` accepts
        it with JPEG baseline, and ``+xa`` with JPEG 2000 (§4.4).
        """
        jpeg8 = _policy(transfer_syntaxes=PREFERENCE_LISTS["prefer-jpeg8"])
        self.assertEqual(_answer(VERIFICATION, (IVR, JPEG_B), jpeg8), (0, JPEG_B))
        accept_all = _policy(transfer_syntaxes=PREFERENCE_LISTS["accept-all"])
        self.assertEqual(_answer(VERIFICATION, (IVR, J2K), accept_all), (0, J2K))

    def test_rejected_carry_ivr(self) -> None:
        """
        Refused contexts of every kind carry the transfer syntax IVR (§4.2).
        """
        outcome = negotiate(
            _rq(
                (1, PRIVATE, (EVRLE,)),
                (3, CT, (JPEG_B,)),
                (5, None, (EVRLE,)),
                (6, CT, (EVRLE,)),
            ),
            _policy(),
        )
        assert isinstance(outcome.response, AAssociateAC)
        for context in outcome.response.presentation_contexts:
            self.assertNotEqual(context.result, 0)
            self.assertEqual(context.transfer_syntax, IVR)

    def test_no_abstract_syntax(self) -> None:
        """
        A context without an abstract syntax sub-item is refused with
        result 3 (§4.1, malformed requests).
        """
        self.assertEqual(_answer(None, (IVR,)), (3, IVR))

    def test_storage_classes(self) -> None:
        """
        Storage SOP classes and Verification are accepted; non-patient
        storage classes are not (§4.4).
        """
        for uid in (CT, MR, "1.2.840.10008.5.1.4.1.1.481.1", VERIFICATION):
            self.assertEqual(_answer(uid, (IVR,)), (0, IVR), uid)
        for uid in ("1.2.840.10008.5.1.4.39.1", "1.2.840.10008.5.1.4.43.1"):
            self.assertEqual(_answer(uid, (IVR,)), (3, IVR), uid)

    def test_promiscuous(self) -> None:
        """
        ``-pm`` accepts unknown abstract syntaxes with the same list, but
        still refuses known non-storage ones (§4.5).
        """
        policy = _policy(promiscuous=True)
        self.assertEqual(_answer(PRIVATE, (IVR, EVRLE), policy), (0, EVRLE))
        self.assertEqual(_answer(PRIVATE, (JPEG_B,), policy), (4, IVR))
        self.assertEqual(_answer(HANGING_PROTOCOL, (IVR,), policy), (3, IVR))
        self.assertEqual(_answer(STUDY_ROOT_FIND, (IVR,), policy), (3, IVR))
        self.assertEqual(_answer(CT, (IVR,), policy), (0, IVR))
        self.assertEqual(_answer(PRIVATE, (IVR,)), (3, IVR))

    def test_one_answer_per_context(self) -> None:
        """
        Each proposed context gets one answer, in the request's order, and
        the accepted ones are listed by ID.
        """
        outcome = negotiate(
            _rq(
                (7, MR, (IVR,)),
                (1, CT, (EVRBE,)),
                (3, PRIVATE, (IVR,)),
                (5, VERIFICATION, (IVR,)),
            ),
            _policy(),
        )
        assert isinstance(outcome.response, AAssociateAC)
        self.assertEqual(
            outcome.response.presentation_contexts,
            (
                PresentationContextAC(7, 0, IVR),
                PresentationContextAC(1, 0, EVRBE),
                PresentationContextAC(3, 3, IVR),
                PresentationContextAC(5, 0, IVR),
            ),
        )
        self.assertEqual(
            outcome.contexts,
            {
                7: AcceptedContext(7, MR, IVR),
                1: AcceptedContext(1, CT, EVRBE),
                5: AcceptedContext(5, VERIFICATION, IVR),
            },
        )

    def test_bad_context_ids(self) -> None:
        """
        Even, zero and duplicate context IDs are refused per context
        (result 2, no reason), with one answer per distinct ID, while the
        other contexts are negotiated normally.
        """
        outcome = negotiate(
            _rq(
                (1, CT, (IVR,)),
                (2, CT, (IVR,)),
                (0, CT, (IVR,)),
                (3, CT, (IVR,)),
                (5, MR, (IVR,)),
                (3, MR, (EVRLE,)),
                (3, VERIFICATION, (IVR,)),
            ),
            _policy(),
        )
        assert isinstance(outcome.response, AAssociateAC)
        self.assertEqual(
            outcome.response.presentation_contexts,
            (
                PresentationContextAC(1, 0, IVR),
                PresentationContextAC(2, 2, IVR),
                PresentationContextAC(0, 2, IVR),
                PresentationContextAC(3, 2, IVR),
                PresentationContextAC(5, 0, IVR),
            ),
        )
        self.assertEqual(sorted(outcome.contexts), [1, 5])

    def test_all_refused_still_accepted(self) -> None:
        """
        An association whose contexts are all refused is still answered
        with an A-ASSOCIATE-AC (§4.1 step 8).
        """
        outcome = negotiate(_rq((1, PRIVATE, (IVR,))), _policy())
        self.assertTrue(outcome.accepted)
        self.assertEqual(outcome.contexts, {})


class RejectionTests(SynchronousTestCase):
    """
    A-ASSOCIATE-RJ answers, behaviour reference §4.1 and §4.11.
    """

    def assertRejected(
        self, outcome: object, result: int, source: int, reason: int
    ) -> None:
        """
        Assert that an outcome is an A-ASSOCIATE-RJ with the given fields.
        """
        assert isinstance(outcome, Outcome)
        self.assertFalse(outcome.accepted)
        self.assertEqual(outcome.response, AAssociateRJ(result, source, reason))
        self.assertEqual(outcome.contexts, {})

    def test_refuse(self) -> None:
        """
        ``--refuse`` gives RJ (1,1,1), whatever the request.
        """
        outcome = negotiate(
            _rq((1, CT, (IVR,)), application_context="1.2.3"), _policy(refuse=True)
        )
        self.assertRejected(outcome, 1, 1, 1)
        self.assertEqual(
            outcome.reason, "Refusing Association (forced via command line)"
        )

    def test_bad_application_context(self) -> None:
        """
        An application context name other than the DICOM one gives
        RJ (1,1,2), and so does an empty one.
        """
        for name in ("1.2.840.10008.3.1.1.2", ""):
            outcome = negotiate(
                _rq((1, CT, (IVR,)), application_context=name), _policy()
            )
            self.assertRejected(outcome, 1, 1, 2)
            self.assertEqual(
                outcome.reason,
                "Association Rejected: Bad Application Context Name: " + name,
            )

    def test_application_context_before_reject(self) -> None:
        """
        The application context is checked before ``--reject`` (§4.1 steps
        6 and 7).
        """
        outcome = negotiate(
            _rq((1, CT, (IVR,)), user=(), application_context="1.2"),
            _policy(require_implementation_uid=True),
        )
        self.assertRejected(outcome, 1, 1, 2)

    def test_reject_without_implementation_uid(self) -> None:
        """
        ``--reject`` with no implementation class UID, or an empty one,
        gives RJ (1,1,1).
        """
        policy = _policy(require_implementation_uid=True)
        for user in ((MaximumLength(16384),), (ImplementationClassUID(""),), ()):
            outcome = negotiate(_rq((1, CT, (IVR,)), user=user), policy)
            self.assertRejected(outcome, 1, 1, 1)
            self.assertEqual(
                outcome.reason,
                "Association Rejected: No Implementation Class UID provided",
            )

    def test_reject_with_implementation_uid(self) -> None:
        """
        ``--reject`` accepts a request carrying an implementation class UID.
        """
        outcome = negotiate(
            _rq((1, CT, (IVR,))), _policy(require_implementation_uid=True)
        )
        self.assertTrue(outcome.accepted)

    def test_no_implementation_uid_without_reject(self) -> None:
        """
        Without ``--reject`` a missing implementation class UID is fine.
        """
        outcome = negotiate(_rq((1, CT, (IVR,)), user=()), _policy())
        self.assertTrue(outcome.accepted)

    def test_congested(self) -> None:
        """
        congested() gives RJ (2,3,2): transient, presentation related, local
        limit exceeded.
        """
        self.assertRejected(congested(_rq((1, CT, (IVR,)))), 2, 3, 2)


class MaximumLengthTests(SynchronousTestCase):
    """
    The peer's maximum PDU length, behaviour reference §4.7.
    """

    def _limit(self, *user: object) -> tuple[int | None, tuple[str, ...]]:
        """
        :returns: the negotiated send limit and warnings for a request with
            these user information sub-items.
        """
        outcome = negotiate(_rq((1, CT, (IVR,)), user=user), _policy())
        self.assertTrue(outcome.accepted)
        return outcome.peer_max_pdu, outcome.warnings

    def test_absent(self) -> None:
        """
        No maximum length sub-item means unlimited, treated as 131072.
        """
        self.assertEqual(self._limit(), (131072, ()))

    def test_zero(self) -> None:
        """
        A maximum length of 0 means unlimited, treated as 131072.
        """
        self.assertEqual(self._limit(MaximumLength(0)), (131072, ()))

    def test_capped(self) -> None:
        """
        Values above 131072 are capped to 131072.
        """
        for value in (131074, 1 << 20, 0xFFFFFFFF):
            self.assertEqual(self._limit(MaximumLength(value)), (131072, ()))

    def test_odd(self) -> None:
        """
        An odd value is decremented, with a warning.
        """
        limit, warnings = self._limit(MaximumLength(16385))
        self.assertEqual(limit, 16384)
        self.assertEqual(len(warnings), 1)
        self.assertIn("16385", warnings[0])

    def test_small_accepted(self) -> None:
        """
        Values below 4096, such as 1000, are accepted as they are.
        """
        self.assertEqual(self._limit(MaximumLength(1000)), (1000, ()))
        self.assertEqual(self._limit(MaximumLength(131072)), (131072, ()))

    def test_peer_send_limit(self) -> None:
        """
        peer_send_limit applies the same rules to a request directly.
        """
        rq = _rq((1, CT, (IVR,)), user=(MaximumLength(4097),))
        limit, warnings = peer_send_limit(rq)
        self.assertEqual(limit, 4096)
        self.assertEqual(len(warnings), 1)


class AssociateACTests(SynchronousTestCase):
    """
    The content of the A-ASSOCIATE-AC, behaviour reference §4.8 and §4.9.
    """

    def test_content(self) -> None:
        """
        The AC echoes both AE titles, carries the DICOM application context,
        protocol version 1 and a user information item with exactly our
        maximum length, implementation class UID and version name.
        """
        policy = _policy(max_pdu=32768)
        rq = _rq((1, CT, (IVR,)), called="SOMETHINGELSE", calling="MY SCU")
        outcome = negotiate(rq, policy)
        ac = outcome.response
        assert isinstance(ac, AAssociateAC)
        self.assertEqual(ac.called_ae, "SOMETHINGELSE")
        self.assertEqual(ac.calling_ae, "MY SCU")
        self.assertEqual(ac.application_context, APPLICATION_CONTEXT)
        self.assertEqual(ac.protocol_version, 1)
        self.assertEqual(
            ac.user_information.items,
            (
                MaximumLength(32768),
                ImplementationClassUID(IMPLEMENTATION_CLASS_UID),
                ImplementationVersionName(IMPLEMENTATION_VERSION_NAME),
            ),
        )

    def test_implementation_identity_from_policy(self) -> None:
        """
        The implementation class UID and version name come from the policy.
        """
        policy = _policy(
            implementation_class_uid="1.2.276.0.7230010.3.0.3.6.7",
            implementation_version_name="OFFIS_DCMTK_367",
        )
        ac = negotiate(_rq((1, CT, (IVR,))), policy).response
        assert isinstance(ac, AAssociateAC)
        self.assertEqual(
            ac.user_information.implementation_class_uid,
            "1.2.276.0.7230010.3.0.3.6.7",
        )
        self.assertEqual(
            ac.user_information.implementation_version_name, "OFFIS_DCMTK_367"
        )

    def test_item_order_on_wire(self) -> None:
        """
        Encoded, the AC holds the application context item, one
        presentation context item per proposed context and the user
        information item with sub-items 51H, 52H, 55H, in this order.
        """
        rq = _rq((1, CT, (IVR,)), (3, PRIVATE, (IVR,)), (5, MR, (EVRLE, IVR)))
        ac = negotiate(rq, _policy()).response
        encoded = ac.encode()
        self.assertEqual(encoded[:2], b"\x02\x00")
        self.assertEqual(struct.unpack(">H", encoded[6:8])[0], 1)

        def item_types(data: bytes) -> list[tuple[int, bytes]]:
            """
            :returns: ``(type, value)`` of each item in ``data``.
            """
            items = []
            offset = 0
            while offset < len(data):
                kind, _, length = struct.unpack_from(">BBH", data, offset)
                items.append((kind, data[offset + 4 : offset + 4 + length]))
                offset += 4 + length
            return items

        items = item_types(encoded[6 + 68 :])
        self.assertEqual([kind for kind, _ in items], [0x10, 0x21, 0x21, 0x21, 0x50])
        self.assertEqual(items[0][1], APPLICATION_CONTEXT.encode())
        self.assertEqual([value[0] for _, value in items[1:4]], [1, 3, 5])
        sub_items = item_types(items[4][1])
        self.assertEqual([kind for kind, _ in sub_items], [0x51, 0x52, 0x55])
        self.assertEqual(sub_items[0][1], struct.pack(">L", 16384))

    def test_describe(self) -> None:
        """
        The RQ and AC dumps name the AE titles, contexts and results.
        """
        rq = _rq((1, CT, (IVR,)), (3, PRIVATE, (IVR,)))
        ac = negotiate(rq, _policy()).response
        assert isinstance(ac, AAssociateAC)
        rq_text = describe_rq(rq)
        self.assertIn("STORESCU", rq_text)
        self.assertIn(CT, rq_text)
        ac_text = describe_ac(ac, rq)
        self.assertIn("Accepted", ac_text)
        self.assertIn("Abstract Syntax Not Supported", ac_text)
        self.assertIn("Responding Application Name: ANY-SCP", ac_text)
