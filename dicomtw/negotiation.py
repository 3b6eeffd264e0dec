"""
Association negotiation: an A-ASSOCIATE-RQ in, an A-ASSOCIATE-AC or -RJ
out, decided by a :class:`Policy` (behaviour reference §4).

Pure: no I/O, no logging.  What the adapter should log comes back in the
:class:`Outcome` as plain text and flags.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from dicomtw.pdu import (
    APPLICATION_CONTEXT,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    ImplementationClassUID,
    ImplementationVersionName,
    MaximumLength,
    PresentationContextAC,
    PresentationContextRQ,
    PresentationResult,
    RejectResult,
    RoleSelection,
    SOPClassExtendedNegotiation,
    UserInformation,
    UserItem,
)
from dicomtw.profiles import Profile
from dicomtw.uids import (
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    IMPLICIT_LITTLE,
    PREFERENCE_LISTS,
)

#: The largest PDU DCMTK sends, and what an unlimited peer gets.
MAX_SEND_LENGTH = 131072
#: A P-DATA-TF with one PDV of one byte needs 7 bytes.
MIN_SEND_LENGTH = 7


def _never(uid: str) -> bool:
    return False


@dataclass(frozen=True)
class Policy:
    """
    What this SCP accepts.

    :ivar abstract_syntaxes: the acceptable SOP classes.
    :ivar transfer_syntaxes: one preference list applied to every abstract
        syntax, most preferred first.
    :ivar promiscuous: also accept abstract syntaxes that ``is_known_uid``
        does not know (``-pm``).
    :ivar max_pdu: the maximum length we receive, advertised in the AC.
    :ivar refuse: reject every association (``--refuse``).
    :ivar require_implementation_uid: reject requests without an
        implementation class UID (``--reject``).
    """

    abstract_syntaxes: frozenset[str]
    transfer_syntaxes: tuple[str, ...] = PREFERENCE_LISTS["prefer-uncompr"]
    promiscuous: bool = False
    is_known_uid: Callable[[str], bool] = _never
    max_pdu: int = 16384
    refuse: bool = False
    require_implementation_uid: bool = False
    implementation_class_uid: str = IMPLEMENTATION_CLASS_UID
    implementation_version_name: str = IMPLEMENTATION_VERSION_NAME
    profile: Profile | None = None

    def acceptable(self, abstract_syntax: str | None) -> bool:
        """
        :returns: whether a context for this abstract syntax may be
            accepted at all.
        """
        if not abstract_syntax:
            return False
        if self.profile is not None:
            return abstract_syntax in self.profile.contexts
        if abstract_syntax in self.abstract_syntaxes:
            return True
        return self.promiscuous and not self.is_known_uid(abstract_syntax)


@dataclass(frozen=True)
class AcceptedContext:
    """
    One accepted presentation context.
    """

    context_id: int
    abstract_syntax: str
    transfer_syntax: str


@dataclass(frozen=True)
class Outcome:
    """
    The result of negotiating one A-ASSOCIATE-RQ.

    :ivar response: the PDU to send back.
    :ivar reason: why the association was rejected, for the log, or ``""``.
    :ivar contexts: the accepted presentation contexts by ID.
    :ivar peer_max_pdu: the largest P-DATA-TF we may send, or ``None``.
    :ivar warnings: things worth a warning in the log.
    """

    response: AAssociateAC | AAssociateRJ
    reason: str = ""
    contexts: dict[int, AcceptedContext] = field(default_factory=dict)
    peer_max_pdu: int | None = None
    warnings: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """
        Whether the association is accepted.
        """
        return isinstance(self.response, AAssociateAC)


def _reject(
    reason: int, text: str, source: int = RejectResult.SOURCE_SERVICE_USER
) -> Outcome:
    return Outcome(AAssociateRJ(RejectResult.PERMANENT, source, reason), text)


def choose_transfer_syntax(
    preference: tuple[str, ...], proposed: tuple[str, ...]
) -> str | None:
    """
    Walk the SCP's preference list and take the first transfer syntax the
    peer proposed anywhere; the peer's order does not matter (behaviour
    reference §4.2).
    """
    offered = set(proposed)
    for syntax in preference:
        if syntax in offered:
            return syntax
    return None


def negotiate_contexts(
    rq: AAssociateRQ, policy: Policy
) -> tuple[list[PresentationContextAC], dict[int, AcceptedContext]]:
    """
    Answer every proposed presentation context, once per distinct ID and
    in the request's order.  IDs that are even, zero or proposed twice are
    refused (result 2): PS3.8 §9.3.2.2 requires odd, unique IDs.
    """
    counts = Counter(pc.context_id for pc in rq.presentation_contexts)
    proposed_roles = {
        item.sop_class: item
        for item in rq.user_information.of_type(RoleSelection)
        if isinstance(item, RoleSelection)
    }
    answers = []
    accepted = {}
    seen = set()
    for pc in rq.presentation_contexts:
        if pc.context_id in seen:
            continue
        seen.add(pc.context_id)
        result, syntax = _answer(pc.context_id, counts, pc, policy)
        if (
            result == PresentationResult.ACCEPTANCE
            and policy.profile is not None
            and pc.abstract_syntax is not None
            and policy.profile.roles.get(pc.abstract_syntax) == "SCP"
            and pc.abstract_syntax not in proposed_roles
        ):
            # The reference: only the SCP role configured, but the peer
            # proposed the default (SCU) role (behaviour reference §5.4).
            result, syntax = PresentationResult.NO_REASON, IMPLICIT_LITTLE
        answers.append(PresentationContextAC(pc.context_id, result, syntax))
        if result == PresentationResult.ACCEPTANCE and pc.abstract_syntax:
            accepted[pc.context_id] = AcceptedContext(
                pc.context_id, pc.abstract_syntax, syntax
            )
    return answers, accepted


def _answer(
    context_id: int, counts: Counter[int], pc: PresentationContextRQ, policy: Policy
) -> tuple[int, str]:
    if context_id % 2 == 0 or counts[context_id] > 1:
        return PresentationResult.NO_REASON, IMPLICIT_LITTLE
    if not policy.acceptable(pc.abstract_syntax):
        return PresentationResult.ABSTRACT_SYNTAX_NOT_SUPPORTED, IMPLICIT_LITTLE
    preference = policy.transfer_syntaxes
    if policy.profile is not None and pc.abstract_syntax is not None:
        preference = policy.profile.contexts[pc.abstract_syntax]
    syntax = choose_transfer_syntax(preference, pc.transfer_syntaxes)
    if syntax is None:
        return PresentationResult.TRANSFER_SYNTAXES_NOT_SUPPORTED, IMPLICIT_LITTLE
    return PresentationResult.ACCEPTANCE, syntax


def even_length(value: int) -> int:
    """
    :returns: ``value`` rounded down to an even number, as DCMTK does for
        PDU lengths.
    """
    return value - (value & 1)


def peer_send_limit(rq: AAssociateRQ) -> tuple[int, tuple[str, ...]]:
    """
    The largest P-DATA-TF we may send to this peer (behaviour reference
    §4.7): 0 or absent means unlimited and is capped at 131072 like larger
    values; an odd value is decremented.

    :returns: the limit and any warnings.
    """
    value = rq.user_information.maximum_length
    if not value or value > MAX_SEND_LENGTH:
        return MAX_SEND_LENGTH, ()
    if value & 1:
        return even_length(value), (
            f"peer maximum PDU length {value} is odd (using {even_length(value)})",
        )
    return value, ()


def negotiate(rq: AAssociateRQ, policy: Policy) -> Outcome:
    """
    Decide an A-ASSOCIATE-RQ in the reference's order (behaviour reference
    §4.1): ``--refuse``, presentation contexts, application context name,
    ``--reject``; the protocol version was checked by the state machine.
    """
    if policy.refuse:
        return _reject(
            RejectResult.NO_REASON, "Refusing Association (forced via command line)"
        )
    answers, accepted = negotiate_contexts(rq, policy)
    if rq.application_context != APPLICATION_CONTEXT:
        return _reject(
            RejectResult.APPLICATION_CONTEXT_NOT_SUPPORTED,
            "Association Rejected: Bad Application Context Name: "
            + rq.application_context,
        )
    if policy.require_implementation_uid and not (
        rq.user_information.implementation_class_uid
    ):
        return _reject(
            RejectResult.NO_REASON,
            "Association Rejected: No Implementation Class UID provided",
        )
    send_limit, warnings = peer_send_limit(rq)
    if send_limit < MIN_SEND_LENGTH:
        return _reject(
            RejectResult.NO_REASON,
            f"Association Rejected: peer maximum PDU length {send_limit} is unusable",
        )
    extra, notes = _profile_items(rq, policy, accepted)
    user = UserInformation(
        (
            MaximumLength(policy.max_pdu),
            ImplementationClassUID(policy.implementation_class_uid),
            ImplementationVersionName(policy.implementation_version_name),
            *extra,
        )
    )
    warnings = warnings + notes
    ac = AAssociateAC(
        rq.called_ae,
        rq.calling_ae,
        tuple(answers),
        user,
        APPLICATION_CONTEXT,
        1,
    )
    return Outcome(ac, "", accepted, send_limit, warnings)


def _profile_items(
    rq: AAssociateRQ, policy: Policy, accepted: dict[int, AcceptedContext]
) -> tuple[list[UserItem], tuple[str, ...]]:
    """
    The role selection and extended negotiation sub-items a profile adds to
    the A-ASSOCIATE-AC (behaviour reference §5.4), and log notes.
    """
    profile = policy.profile
    if profile is None:
        return [], ()
    items: list[UserItem] = []
    notes: list[str] = []
    accepted_classes = {context.abstract_syntax for context in accepted.values()}
    for proposal in rq.user_information.of_type(RoleSelection):
        assert isinstance(proposal, RoleSelection)
        role = profile.roles.get(proposal.sop_class)
        if role is None:
            continue
        scu_only = (proposal.scu_role, proposal.scp_role) == (1, 0)
        scp_only = (proposal.scu_role, proposal.scp_role) == (0, 1)
        scu = int(role in ("SCU", "BOTH") and not scp_only)
        scp = int(role in ("SCP", "BOTH") and not scu_only)
        if not (scu or scp):
            notes.append(
                "setting accepted SCP/SCU role to NONE, i.e. both role fields"
                " are 0 in SCP/SCU role selection sub-item"
            )
        items.append(RoleSelection(proposal.sop_class, scu, scp))
    for sop_class, info in profile.extended.items():
        if sop_class in accepted_classes:
            items.append(SOPClassExtendedNegotiation(sop_class, info))
    for pc in rq.presentation_contexts:
        if (
            pc.abstract_syntax in profile.roles
            and profile.roles[pc.abstract_syntax] == "SCP"
            and pc.context_id not in accepted
            and not any(
                isinstance(r, RoleSelection) and r.sop_class == pc.abstract_syntax
                for r in rq.user_information.items
            )
        ):
            notes.append(
                "ASSOC: SCP/SCU role selection failed, Default role (i.e. SCU)"
                " proposed but only SCP role configured for acceptance"
            )
    return items, tuple(notes)


def congested(rq: AAssociateRQ) -> Outcome:
    """
    The answer when the local association limit is reached:
    A-ASSOCIATE-RJ transient, service provider (presentation), local
    limit exceeded (PS3.8 §9.3.4, Table 9-21).
    """
    return Outcome(
        AAssociateRJ(
            RejectResult.TRANSIENT,
            RejectResult.SOURCE_PRESENTATION,
            RejectResult.LOCAL_LIMIT_EXCEEDED,
        ),
        "Association Rejected: local limit of concurrent associations reached",
    )


def describe_rq(rq: AAssociateRQ) -> str:
    """
    A multi-line account of an A-ASSOCIATE-RQ for the debug log (or info
    with ``+v``), in the spirit of DCMTK's dump.
    """
    user = rq.user_information
    lines = [
        "====================== BEGIN A-ASSOCIATE-RQ =====================",
        f"Their Implementation Class UID:    {user.implementation_class_uid or ''}",
        f"Their Implementation Version Name: {user.implementation_version_name or ''}",
        f"Application Context Name:    {rq.application_context}",
        f"Calling Application Name:    {rq.calling_ae}",
        f"Called Application Name:     {rq.called_ae}",
        f"Requested Max PDU Length:    {user.maximum_length or 0}",
        "Presentation Contexts:",
    ]
    for pc in rq.presentation_contexts:
        lines.append(f"  Context ID:        {pc.context_id} (Proposed)")
        lines.append(f"    Abstract Syntax: ={pc.abstract_syntax or ''}")
        lines.append("    Proposed Transfer Syntax(es):")
        lines.extend(f"      ={ts}" for ts in pc.transfer_syntaxes)
    lines.append("======================= END A-ASSOCIATE-RQ ======================")
    return "\n".join(lines)


_RESULT_TEXT = {
    PresentationResult.ACCEPTANCE: "Accepted",
    PresentationResult.USER_REJECTION: "User Rejection",
    PresentationResult.NO_REASON: "Provider Rejection",
    PresentationResult.ABSTRACT_SYNTAX_NOT_SUPPORTED: ("Abstract Syntax Not Supported"),
    PresentationResult.TRANSFER_SYNTAXES_NOT_SUPPORTED: (
        "Transfer Syntaxes Not Supported"
    ),
}


def describe_ac(ac: AAssociateAC, rq: AAssociateRQ) -> str:
    """
    A multi-line account of an A-ASSOCIATE-AC for the debug log.
    """
    abstract = {pc.context_id: pc.abstract_syntax for pc in rq.presentation_contexts}
    user = ac.user_information
    lines = [
        "====================== BEGIN A-ASSOCIATE-AC =====================",
        f"Our Implementation Class UID:      {user.implementation_class_uid}",
        f"Our Implementation Version Name:   {user.implementation_version_name}",
        f"Application Context Name:    {ac.application_context}",
        f"Responding Application Name: {ac.called_ae}",
        f"Our Max PDU Receive Size:    {ac.user_information.maximum_length}",
        "Presentation Contexts:",
    ]
    for pc in ac.presentation_contexts:
        result = _RESULT_TEXT.get(pc.result, pc.result)
        lines.append(f"  Context ID:        {pc.context_id} ({result})")
        lines.append(f"    Abstract Syntax: ={abstract.get(pc.context_id) or ''}")
        if pc.result == PresentationResult.ACCEPTANCE:
            lines.append(f"    Accepted Transfer Syntax: ={pc.transfer_syntax}")
    lines.append("======================= END A-ASSOCIATE-AC ======================")
    return "\n".join(lines)
