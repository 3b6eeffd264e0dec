"""
Tests for dicomtw.profiles and profile-driven negotiation (``-xf``),
including a comparison with DCMTK's storescp on the stock storescp.cfg.
"""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from dicomtw.framing import Framer
from dicomtw.negotiation import Policy, negotiate
from dicomtw.pdu import (
    AAssociateAC,
    AAssociateRQ,
    ImplementationClassUID,
    MaximumLength,
    PresentationContextRQ,
    RoleSelection,
    SOPClassExtendedNegotiation,
    UserInformation,
)
from dicomtw.profiles import ProfileError, load, select
from peers import ServerProcess, requires_dcmtk

STOCK = Path("/etc/dcmtk/storescp.cfg")
CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
PRIVATE = "1.2.3.999.1"
IVR = "1.2.840.10008.1.2"
EVRLE = "1.2.840.10008.1.2.1"
EVRBE = "1.2.840.10008.1.2.2"
DEFL = "1.2.840.10008.1.2.1.99"
JPEG_B = "1.2.840.10008.1.2.4.50"
JPEG_LL = "1.2.840.10008.1.2.4.70"
J2K = "1.2.840.10008.1.2.4.91"

EXAMPLE = """
# accept CT and MR, Verification; prefer explicit little endian
[[TransferSyntaxes]]
[Plain]
TransferSyntax1 = LittleEndianExplicit
TransferSyntax2 = LittleEndianImplicit
[JPEG First]
TransferSyntax1 = JPEGBaseline
TransferSyntax2 = 1.2.840.10008.1.2.1

[[PresentationContexts]]
[SmallSCP]
PresentationContext1 = VerificationSOPClass\\Plain
PresentationContext2 = CTImageStorage\\JPEG First
PresentationContext3 = 1.2.840.10008.5.1.4.1.1.4\\Plain
PresentationContext4 = 1.2.3.999.1\\Plain

[[SCPSCURoleSelection]]
[Roles]
Role1 = CTImageStorage\\BOTH
Role2 = MRImageStorage\\SCP
Role3 = 1.2.3.999.1\\SCU

[[ExtendedNegotiation]]
[Ext]
ExtendedNegotiation1 = CTImageStorage\\020003000000

[[Profiles]]
[Small]
PresentationContexts = SmallSCP
SCPSCURoleSelection  = Roles
ExtendedNegotiation  = Ext
"""


def request(*contexts: tuple[str, tuple[str, ...]], roles: tuple = ()) -> AAssociateRQ:
    """
    An A-ASSOCIATE-RQ proposing ``contexts`` (IDs 1, 3, 5, ...).
    """
    items = (MaximumLength(16384), ImplementationClassUID("1.2.3"), *roles)
    return AAssociateRQ(
        "STORESCP",
        "TESTSCU",
        tuple(
            PresentationContextRQ(2 * n + 1, abstract, syntaxes)
            for n, (abstract, syntaxes) in enumerate(contexts)
        ),
        UserInformation(items),
    )


def answers(ac: object) -> list[tuple[int, str]]:
    assert isinstance(ac, AAssociateAC)
    return [(pc.result, pc.transfer_syntax) for pc in ac.presentation_contexts]


class LoadTests(SynchronousTestCase):
    """
    Reading and validating files.
    """

    def test_stock_file(self) -> None:
        """
        The storescp.cfg shipped with DCMTK loads; both profiles have 128
        presentation contexts.
        """
        if not STOCK.exists():
            raise SkipTest("DCMTK's storescp.cfg is not installed")
        profiles = load(STOCK.read_text(encoding="latin-1"))
        self.assertEqual(sorted(profiles), ["ALLDICOM", "DEFAULT"])
        for profile in profiles.values():
            self.assertEqual(len(profile.contexts), 128)

    def test_profile_names_mangled(self) -> None:
        """
        Profile names ignore white space and case; labels in values too.
        """
        profiles = load(EXAMPLE)
        self.assertEqual(select(profiles, " s MALL").name, "SMALL")
        self.assertEqual(select(profiles, "small").contexts[CT], (JPEG_B, EVRLE))

    def test_errors(self) -> None:
        """
        The reference's messages for broken files.
        """
        cases = [
            (
                "[[PresentationContexts]]\n[[Profiles]]\n",
                "cannot find section [[TRANSFERSYNTAXES]] in config file",
            ),
            (
                EXAMPLE.replace("= JPEGBaseline", "= FooBar"),
                "not a valid transfer syntax UID: FooBar",
            ),
            (
                EXAMPLE.replace("CTImageStorage\\JPEG", "CTImageStorage \\JPEG"),
                "not a valid abstract syntax UID: CTImageStorage ",
            ),
            (
                EXAMPLE.replace("VerificationSOPClass\\Plain", "VerificationSOPClass"),
                "syntax error: missing '\\' in entry PRESENTATIONCONTEXT1"
                " in config file",
            ),
            (
                EXAMPLE.replace(
                    "Role1 = CTImageStorage\\BOTH", "Role1 = CTImageStorage\\ALL"
                ),
                "syntax error: unknown role key in entry ROLE1 in config file",
            ),
            (
                EXAMPLE.replace("020003000000", "02000X"),
                "parse error in extended negotiation data in entry"
                " EXTENDEDNEGOTIATION1 in config file",
            ),
            (
                EXAMPLE.replace("= SmallSCP", "= Missing"),
                "presentation context key undefined: Missing",
            ),
        ]
        for text, message in cases:
            error = self.assertRaises(ProfileError, load, text)
            self.assertEqual(str(error), "cannot read config file: " + message)

    def test_unknown_and_duplicate(self) -> None:
        """
        Unknown profile names and duplicate abstract syntaxes are refused.
        """
        profiles = load(EXAMPLE)
        self.assertEqual(
            str(self.assertRaises(ProfileError, select, profiles, "nosuch")),
            "unknown configuration profile name: NOSUCH",
        )
        duplicated = load(
            EXAMPLE.replace(
                "PresentationContext4 = 1.2.3.999.1\\Plain",
                "PresentationContext4 = 1.2.3.999.1\\Plain\n"
                "PresentationContext5 = CTImageStorage\\Plain",
            )
        )
        self.assertEqual(
            str(self.assertRaises(ProfileError, select, duplicated, "Small")),
            "profile 'SMALL' is not valid for SCP use, duplicate abstract"
            " syntaxes found",
        )

    def test_numbering_stops_at_gap(self) -> None:
        """
        Numbered keys are read up to the first gap.
        """
        text = EXAMPLE.replace(
            "TransferSyntax2 = LittleEndianImplicit",
            "TransferSyntax3 = LittleEndianImplicit",
        )
        self.assertEqual(
            select(load(text), "Small").contexts["1.2.840.10008.1.1"], (EVRLE,)
        )


class NegotiationTests(SynchronousTestCase):
    """
    The worked example of the behaviour reference, §5.4 and §5.6.
    """

    def setUp(self) -> None:
        self.policy = Policy(frozenset(), profile=select(load(EXAMPLE), "Small"))

    def test_file_order_wins(self) -> None:
        """
        The profile's order decides, not the peer's; unlisted classes get 3;
        a syntax outside the list gets 4.
        """
        rq = request(
            (CT, (EVRLE, J2K, JPEG_B)),
            (CT, (IVR,)),
            ("1.2.840.10008.5.1.4.1.1.7", (EVRLE,)),
        )
        self.assertEqual(
            answers(negotiate(rq, self.policy).response),
            [(0, JPEG_B), (4, IVR), (3, IVR)],
        )

    def test_roles(self) -> None:
        """
        An SCP-only class without a role item is refused with 2; role items
        are answered as configured and the proposal allows; extended
        negotiation is returned for an accepted CT context unasked.
        """
        outcome = negotiate(request((MR, (EVRLE,))), self.policy)
        self.assertEqual(answers(outcome.response), [(2, IVR)])
        roles = (
            RoleSelection(CT, 1, 1),
            RoleSelection(MR, 1, 1),
            RoleSelection(PRIVATE, 1, 1),
        )
        outcome = negotiate(
            request((CT, (EVRLE,)), (MR, (EVRLE,)), (PRIVATE, (EVRLE,)), roles=roles),
            self.policy,
        )
        self.assertEqual(answers(outcome.response), [(0, EVRLE)] * 3)
        items = outcome.response.user_information.items
        self.assertEqual(
            [i for i in items if isinstance(i, RoleSelection)],
            [
                RoleSelection(CT, 1, 1),
                RoleSelection(MR, 0, 1),
                RoleSelection(PRIVATE, 1, 0),
            ],
        )
        self.assertIn(
            SOPClassExtendedNegotiation(CT, bytes.fromhex("020003000000")), items
        )
        roles = (
            RoleSelection(CT, 0, 1),
            RoleSelection(MR, 1, 0),
            RoleSelection(PRIVATE, 0, 1),
        )
        outcome = negotiate(
            request((CT, (EVRLE,)), (MR, (EVRLE,)), (PRIVATE, (EVRLE,)), roles=roles),
            self.policy,
        )
        self.assertEqual(answers(outcome.response), [(0, EVRLE)] * 3)
        self.assertEqual(
            [
                i
                for i in outcome.response.user_information.items
                if isinstance(i, RoleSelection)
            ],
            [
                RoleSelection(CT, 0, 1),
                RoleSelection(MR, 0, 0),
                RoleSelection(PRIVATE, 0, 0),
            ],
        )


def _answers_from(port: int, rq: AAssociateRQ) -> list[tuple[int, str]]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(rq.encode())
        framer = Framer(1 << 20)
        while (pdu := framer.next_pdu()) is None:
            data = connection.recv(65536)
            assert data, "connection closed without an answer"
            framer.feed(data)
    return answers(pdu)


@requires_dcmtk
class StockProfileComparisonTests(SynchronousTestCase):
    """
    With the stock storescp.cfg, dicomtw accepts exactly what DCMTK's
    storescp accepts for the same A-ASSOCIATE-RQ.
    """

    def test_same_answers(self) -> None:
        """
        Each profile of the stock file answers a varied request as the
        reference does.
        """
        if not STOCK.exists():
            raise SkipTest("DCMTK's storescp.cfg is not installed")
        sr = "1.2.840.10008.5.1.4.1.1.88.11"
        rq = request(
            ("1.2.840.10008.1.1", (JPEG_B, IVR)),
            (CT, (EVRLE, J2K, IVR)),
            (CT, (EVRBE,)),
            (MR, (JPEG_LL, EVRLE)),
            (sr, (DEFL, EVRLE)),
            (sr, (JPEG_B,)),
            ("1.2.840.10008.5.1.4.38.1", (IVR,)),
            ("1.2.840.10008.5.1.4.1.2.2.1", (IVR,)),
            ("1.2.840.10008.5.1.4.1.1.104.1", (EVRLE, IVR)),
            ("1.2.840.10008.5.1.4.1.1.481.5", (IVR, EVRBE)),
            (PRIVATE, (IVR,)),
        )
        directory = Path(tempfile.mkdtemp(prefix="dicomtw-profile-"))
        for profile in ("Default", "AllDICOM"):
            results = {}
            for kind in ("dcmtk", "dicomtw"):
                with ServerProcess(
                    directory / kind / profile, ["-xf", str(STOCK), profile], kind=kind
                ) as server:
                    results[kind] = _answers_from(server.port, rq)
            self.assertEqual(results["dicomtw"], results["dcmtk"], profile)
