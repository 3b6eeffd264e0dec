"""
The DICOM upper-layer state machine, PS3.8 §9.2, Table 9-10.

Rules of this module:

- :data:`TRANSITIONS` is Table 9-10: one entry per non-empty cell, written
  in the table's order (event rows, then state columns).  Nothing else
  decides which action an event triggers.
- Each action's next state is written once, in :data:`NEXT_STATE`, or in
  :data:`BRANCHES` for the two actions with two outcomes (AE-6, AR-8).
- Actions are pure: they return effects (:class:`SendPDU`,
  :class:`Indication`, :class:`StartTimer`, ...) for the caller to carry
  out.  The machine never does I/O, never reads the clock and never logs;
  ARTIM expiry comes in as an event (Evt18) from whoever keeps the time.
- An event from the peer or the transport never raises.  If Table 9-10 has
  a cell for it, that cell is followed (for PDUs this is usually AA-1 or
  AA-8, an abort); if the table has none, the standard calls the event
  impossible in that state and the machine ignores it.
- A call from the local user (Evt1, 7, 8, 9, 11, 14, 15) with no cell in
  the current state raises :class:`~dicomtw.errors.UsageError` and leaves
  the machine as it was.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple, Union, cast

from dicomtw.errors import AbortReason, AbortSource, ProtocolError, UsageError
from dicomtw.pdu import (
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AReleaseRP,
    AReleaseRQ,
    PDataTF,
    RejectResult,
)

PDU = Union[
    AAssociateRQ, AAssociateAC, AAssociateRJ, PDataTF, AReleaseRQ, AReleaseRP, AAbort
]


class _Labelled(enum.Enum):
    """
    An enum whose members are named after the standard's abbreviations.
    """

    # Members are singletons compared by identity, so identity hashing is
    # correct; it is also a C slot, where Enum's own hashes the name in
    # Python on every table lookup (several per PDU received).
    __hash__ = object.__hash__

    @property
    def label(self) -> str:
        """
        The member's name as PS3.8 writes it, e.g. ``Sta6``, ``Evt10``,
        ``AR-5``.
        """
        name = self.name
        if name.startswith(("STA", "EVT")):
            return name[0] + name[1:3].lower() + name[3:]
        return name.replace("_", "-")


@enum.unique
class State(_Labelled):
    """
    The states of the upper layer, PS3.8 §9.2.1, Tables 9-1 to 9-5.
    """

    STA1 = "Idle"
    STA2 = "Transport connection open (Awaiting A-ASSOCIATE-RQ PDU)"
    STA3 = "Awaiting local A-ASSOCIATE response primitive (from local user)"
    STA4 = (
        "Awaiting transport connection opening to complete "
        "(from local transport service)"
    )
    STA5 = "Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU"
    STA6 = "Association established and ready for data transfer"
    STA7 = "Awaiting A-RELEASE-RP PDU"
    STA8 = "Awaiting local A-RELEASE response primitive (from local user)"
    STA9 = (
        "Release collision requestor side; "
        "awaiting A-RELEASE response (from local user)"
    )
    STA10 = "Release collision acceptor side; awaiting A-RELEASE-RP PDU"
    STA11 = "Release collision requestor side; awaiting A-RELEASE-RP PDU"
    STA12 = (
        "Release collision acceptor side; "
        "awaiting A-RELEASE response primitive (from local user)"
    )
    STA13 = (
        "Awaiting Transport Connection Close Indication "
        "(Association no longer exists)"
    )


@enum.unique
class Event(_Labelled):
    """
    The events of the upper layer, the rows of PS3.8 §9.2.3, Table 9-10.
    """

    EVT1 = "A-ASSOCIATE Request (local user)"
    EVT2 = "Transport Conn. Confirmn (local transport service)"
    EVT3 = "A-ASSOCIATE-AC PDU (received on transport connection)"
    EVT4 = "A-ASSOCIATE-RJ PDU (received on transport connection)"
    EVT5 = "Transport Connection Indication (local transport service)"
    EVT6 = "A-ASSOCIATE-RQ PDU (received on transport connection)"
    EVT7 = "A-ASSOCIATE-response primitive (accept)"
    EVT8 = "A-ASSOCIATE-response primitive (reject)"
    EVT9 = "P-DATA request primitive"
    EVT10 = "P-DATA-TF PDU"
    EVT11 = "A-RELEASE Request primitive"
    EVT12 = "A-RELEASE-RQ PDU (received on open transport connection)"
    EVT13 = "A-RELEASE-RP PDU (received on transport connection)"
    EVT14 = "A-RELEASE Response primitive"
    EVT15 = "A-ABORT Request primitive"
    EVT16 = "A-ABORT PDU (received on open transport connection)"
    EVT17 = "Transport connection closed indication (local transport service)"
    EVT18 = "ARTIM timer expired (Association reject/release timer)"
    EVT19 = "Unrecognized or invalid PDU received"


@enum.unique
class Action(_Labelled):
    """
    The actions of the upper layer, PS3.8 §9.2.2, Tables 9-6 to 9-9.

    The wording is the standard's, without the next state, which lives in
    :data:`NEXT_STATE` and :data:`BRANCHES`.
    """

    AE_1 = "Issue TRANSPORT CONNECT request primitive to local transport service"
    AE_2 = "Send A-ASSOCIATE-RQ-PDU"
    AE_3 = "Issue A-ASSOCIATE confirmation (accept) primitive"
    AE_4 = (
        "Issue A-ASSOCIATE confirmation (reject) primitive "
        "and close transport connection"
    )
    AE_5 = "Issue Transport connection response primitive; start ARTIM timer"
    AE_6 = (
        "Stop ARTIM timer and if A-ASSOCIATE-RQ acceptable by service-provider: "
        "issue A-ASSOCIATE indication primitive; otherwise: "
        "issue A-ASSOCIATE-RJ-PDU and start ARTIM timer"
    )
    AE_7 = "Send A-ASSOCIATE-AC PDU"
    AE_8 = "Send A-ASSOCIATE-RJ PDU and start ARTIM timer"
    DT_1 = "Send P-DATA-TF PDU"
    DT_2 = "Send P-DATA indication primitive"
    AR_1 = "Send A-RELEASE-RQ PDU"
    AR_2 = "Issue A-RELEASE indication primitive"
    AR_3 = "Issue A-RELEASE confirmation primitive, and close transport connection"
    AR_4 = "Issue A-RELEASE-RP PDU and start ARTIM timer"
    # AR-5 and AA-5 share their wording in the standard; an enum needs
    # distinct values, so each names the table it comes from.
    AR_5 = "Stop ARTIM timer (association release)"
    AR_6 = "Issue P-DATA indication"
    AR_7 = "Issue P-DATA-TF PDU"
    AR_8 = "Issue A-RELEASE indication (release collision)"
    AR_9 = "Send A-RELEASE-RP PDU"
    AR_10 = "Issue A-RELEASE confirmation primitive"
    AA_1 = (
        "Send A-ABORT PDU (service-user source) and start "
        "(or restart if already started) ARTIM timer"
    )
    AA_2 = "Stop ARTIM timer if running. Close transport connection"
    AA_3 = (
        "If (service-user initiated abort): issue A-ABORT indication and close "
        "transport connection; otherwise (service-provider initiated abort): "
        "issue A-P-ABORT indication and close transport connection"
    )
    AA_4 = "Issue A-P-ABORT indication primitive"
    AA_5 = "Stop ARTIM timer (association abort)"
    AA_6 = "Ignore PDU"
    AA_7 = "Send A-ABORT PDU"
    AA_8 = (
        "Send A-ABORT PDU (service-provider source), issue an A-P-ABORT "
        "indication, and start ARTIM timer"
    )


_S = State
_E = Event
_A = Action

#: PS3.8 §9.2.3, Table 9-10: the action for each (state, event) cell that
#: is not empty, row by row.
TRANSITIONS: Mapping[tuple[State, Event], Action] = MappingProxyType(
    {
        # Evt1: A-ASSOCIATE request (local user)
        (_S.STA1, _E.EVT1): _A.AE_1,
        # Evt2: transport connect confirmation
        (_S.STA4, _E.EVT2): _A.AE_2,
        # Evt3: A-ASSOCIATE-AC PDU received
        (_S.STA2, _E.EVT3): _A.AA_1,
        (_S.STA3, _E.EVT3): _A.AA_8,
        (_S.STA5, _E.EVT3): _A.AE_3,
        (_S.STA6, _E.EVT3): _A.AA_8,
        (_S.STA7, _E.EVT3): _A.AA_8,
        (_S.STA8, _E.EVT3): _A.AA_8,
        (_S.STA9, _E.EVT3): _A.AA_8,
        (_S.STA10, _E.EVT3): _A.AA_8,
        (_S.STA11, _E.EVT3): _A.AA_8,
        (_S.STA12, _E.EVT3): _A.AA_8,
        (_S.STA13, _E.EVT3): _A.AA_6,
        # Evt4: A-ASSOCIATE-RJ PDU received
        (_S.STA2, _E.EVT4): _A.AA_1,
        (_S.STA3, _E.EVT4): _A.AA_8,
        (_S.STA5, _E.EVT4): _A.AE_4,
        (_S.STA6, _E.EVT4): _A.AA_8,
        (_S.STA7, _E.EVT4): _A.AA_8,
        (_S.STA8, _E.EVT4): _A.AA_8,
        (_S.STA9, _E.EVT4): _A.AA_8,
        (_S.STA10, _E.EVT4): _A.AA_8,
        (_S.STA11, _E.EVT4): _A.AA_8,
        (_S.STA12, _E.EVT4): _A.AA_8,
        (_S.STA13, _E.EVT4): _A.AA_6,
        # Evt5: transport connection indication
        (_S.STA1, _E.EVT5): _A.AE_5,
        # Evt6: A-ASSOCIATE-RQ PDU received
        (_S.STA2, _E.EVT6): _A.AE_6,
        (_S.STA3, _E.EVT6): _A.AA_8,
        (_S.STA5, _E.EVT6): _A.AA_8,
        (_S.STA6, _E.EVT6): _A.AA_8,
        (_S.STA7, _E.EVT6): _A.AA_8,
        (_S.STA8, _E.EVT6): _A.AA_8,
        (_S.STA9, _E.EVT6): _A.AA_8,
        (_S.STA10, _E.EVT6): _A.AA_8,
        (_S.STA11, _E.EVT6): _A.AA_8,
        (_S.STA12, _E.EVT6): _A.AA_8,
        (_S.STA13, _E.EVT6): _A.AA_7,
        # Evt7: A-ASSOCIATE response primitive (accept)
        (_S.STA3, _E.EVT7): _A.AE_7,
        # Evt8: A-ASSOCIATE response primitive (reject)
        (_S.STA3, _E.EVT8): _A.AE_8,
        # Evt9: P-DATA request primitive
        (_S.STA6, _E.EVT9): _A.DT_1,
        (_S.STA8, _E.EVT9): _A.AR_7,
        # Evt10: P-DATA-TF PDU received
        (_S.STA2, _E.EVT10): _A.AA_1,
        (_S.STA3, _E.EVT10): _A.AA_8,
        (_S.STA5, _E.EVT10): _A.AA_8,
        (_S.STA6, _E.EVT10): _A.DT_2,
        (_S.STA7, _E.EVT10): _A.AR_6,
        (_S.STA8, _E.EVT10): _A.AA_8,
        (_S.STA9, _E.EVT10): _A.AA_8,
        (_S.STA10, _E.EVT10): _A.AA_8,
        (_S.STA11, _E.EVT10): _A.AA_8,
        (_S.STA12, _E.EVT10): _A.AA_8,
        (_S.STA13, _E.EVT10): _A.AA_6,
        # Evt11: A-RELEASE request primitive
        (_S.STA6, _E.EVT11): _A.AR_1,
        # Evt12: A-RELEASE-RQ PDU received
        (_S.STA2, _E.EVT12): _A.AA_1,
        (_S.STA3, _E.EVT12): _A.AA_8,
        (_S.STA5, _E.EVT12): _A.AA_8,
        (_S.STA6, _E.EVT12): _A.AR_2,
        (_S.STA7, _E.EVT12): _A.AR_8,
        (_S.STA8, _E.EVT12): _A.AA_8,
        (_S.STA9, _E.EVT12): _A.AA_8,
        (_S.STA10, _E.EVT12): _A.AA_8,
        (_S.STA11, _E.EVT12): _A.AA_8,
        (_S.STA12, _E.EVT12): _A.AA_8,
        (_S.STA13, _E.EVT12): _A.AA_6,
        # Evt13: A-RELEASE-RP PDU received
        (_S.STA2, _E.EVT13): _A.AA_1,
        (_S.STA3, _E.EVT13): _A.AA_8,
        (_S.STA5, _E.EVT13): _A.AA_8,
        (_S.STA6, _E.EVT13): _A.AA_8,
        (_S.STA7, _E.EVT13): _A.AR_3,
        (_S.STA8, _E.EVT13): _A.AA_8,
        (_S.STA9, _E.EVT13): _A.AA_8,
        (_S.STA10, _E.EVT13): _A.AR_10,
        (_S.STA11, _E.EVT13): _A.AR_3,
        (_S.STA12, _E.EVT13): _A.AA_8,
        (_S.STA13, _E.EVT13): _A.AA_6,
        # Evt14: A-RELEASE response primitive
        (_S.STA8, _E.EVT14): _A.AR_4,
        (_S.STA9, _E.EVT14): _A.AR_9,
        (_S.STA12, _E.EVT14): _A.AR_4,
        # Evt15: A-ABORT request primitive
        (_S.STA3, _E.EVT15): _A.AA_1,
        (_S.STA4, _E.EVT15): _A.AA_2,
        (_S.STA5, _E.EVT15): _A.AA_1,
        (_S.STA6, _E.EVT15): _A.AA_1,
        (_S.STA7, _E.EVT15): _A.AA_1,
        (_S.STA8, _E.EVT15): _A.AA_1,
        (_S.STA9, _E.EVT15): _A.AA_1,
        (_S.STA10, _E.EVT15): _A.AA_1,
        (_S.STA11, _E.EVT15): _A.AA_1,
        (_S.STA12, _E.EVT15): _A.AA_1,
        # Evt16: A-ABORT PDU received
        (_S.STA2, _E.EVT16): _A.AA_2,
        (_S.STA3, _E.EVT16): _A.AA_3,
        (_S.STA5, _E.EVT16): _A.AA_3,
        (_S.STA6, _E.EVT16): _A.AA_3,
        (_S.STA7, _E.EVT16): _A.AA_3,
        (_S.STA8, _E.EVT16): _A.AA_3,
        (_S.STA9, _E.EVT16): _A.AA_3,
        (_S.STA10, _E.EVT16): _A.AA_3,
        (_S.STA11, _E.EVT16): _A.AA_3,
        (_S.STA12, _E.EVT16): _A.AA_3,
        (_S.STA13, _E.EVT16): _A.AA_2,
        # Evt17: transport connection closed indication
        (_S.STA2, _E.EVT17): _A.AA_5,
        (_S.STA3, _E.EVT17): _A.AA_4,
        (_S.STA4, _E.EVT17): _A.AA_4,
        (_S.STA5, _E.EVT17): _A.AA_4,
        (_S.STA6, _E.EVT17): _A.AA_4,
        (_S.STA7, _E.EVT17): _A.AA_4,
        (_S.STA8, _E.EVT17): _A.AA_4,
        (_S.STA9, _E.EVT17): _A.AA_4,
        (_S.STA10, _E.EVT17): _A.AA_4,
        (_S.STA11, _E.EVT17): _A.AA_4,
        (_S.STA12, _E.EVT17): _A.AA_4,
        (_S.STA13, _E.EVT17): _A.AR_5,
        # Evt18: ARTIM timer expired
        (_S.STA2, _E.EVT18): _A.AA_2,
        (_S.STA13, _E.EVT18): _A.AA_2,
        # Evt19: unrecognized or invalid PDU received
        (_S.STA2, _E.EVT19): _A.AA_1,
        (_S.STA3, _E.EVT19): _A.AA_8,
        (_S.STA5, _E.EVT19): _A.AA_8,
        (_S.STA6, _E.EVT19): _A.AA_8,
        (_S.STA7, _E.EVT19): _A.AA_8,
        (_S.STA8, _E.EVT19): _A.AA_8,
        (_S.STA9, _E.EVT19): _A.AA_8,
        (_S.STA10, _E.EVT19): _A.AA_8,
        (_S.STA11, _E.EVT19): _A.AA_8,
        (_S.STA12, _E.EVT19): _A.AA_8,
        (_S.STA13, _E.EVT19): _A.AA_7,
    }
)

#: PS3.8 §9.2.2, Tables 9-6 to 9-9: the next state after each action that
#: has a single outcome.
NEXT_STATE: Mapping[Action, State] = MappingProxyType(
    {
        _A.AE_1: _S.STA4,
        _A.AE_2: _S.STA5,
        _A.AE_3: _S.STA6,
        _A.AE_4: _S.STA1,
        _A.AE_5: _S.STA2,
        _A.AE_7: _S.STA6,
        _A.AE_8: _S.STA13,
        _A.DT_1: _S.STA6,
        _A.DT_2: _S.STA6,
        _A.AR_1: _S.STA7,
        _A.AR_2: _S.STA8,
        _A.AR_3: _S.STA1,
        _A.AR_4: _S.STA13,
        _A.AR_5: _S.STA1,
        _A.AR_6: _S.STA7,
        _A.AR_7: _S.STA8,
        _A.AR_9: _S.STA11,
        _A.AR_10: _S.STA12,
        _A.AA_1: _S.STA13,
        _A.AA_2: _S.STA1,
        _A.AA_3: _S.STA1,
        _A.AA_4: _S.STA1,
        _A.AA_5: _S.STA1,
        _A.AA_6: _S.STA13,
        _A.AA_7: _S.STA13,
        _A.AA_8: _S.STA13,
    }
)

#: The two actions with two outcomes: (next state if the condition holds,
#: next state otherwise).  AE-6: the A-ASSOCIATE-RQ is acceptable to the
#: service provider.  AR-8: this side is the association-requestor.
BRANCHES: Mapping[Action, tuple[State, State]] = MappingProxyType(
    {
        _A.AE_6: (_S.STA3, _S.STA13),
        _A.AR_8: (_S.STA9, _S.STA10),
    }
)

#: Events raised by the local user: illegal ones raise UsageError.
LOCAL_EVENTS: frozenset[Event] = frozenset(
    {_E.EVT1, _E.EVT7, _E.EVT8, _E.EVT9, _E.EVT11, _E.EVT14, _E.EVT15}
)


class Primitive(enum.StrEnum):
    """
    What an :class:`Indication` tells the local user, PS3.8 §7.
    """

    A_ASSOCIATE_INDICATION = "A-ASSOCIATE-INDICATION"
    A_ASSOCIATE_CONFIRM_ACCEPT = "A-ASSOCIATE-CONFIRM-ACCEPT"
    A_ASSOCIATE_CONFIRM_REJECT = "A-ASSOCIATE-CONFIRM-REJECT"
    P_DATA = "P-DATA"
    A_RELEASE_INDICATION = "A-RELEASE-INDICATION"
    A_RELEASE_CONFIRM = "A-RELEASE-CONFIRM"
    A_ABORT = "A-ABORT"
    A_P_ABORT = "A-P-ABORT"


class SendPDU(NamedTuple):
    """
    Write a PDU to the transport.

    :ivar pdu: the PDU to encode and send.
    """

    pdu: PDU


class Indication(NamedTuple):
    """
    Deliver a primitive to the local user.

    :ivar primitive: one of the :class:`Primitive` names.
    :ivar pdu: the PDU behind it.  For ``A-ABORT`` and a peer's
        ``A-P-ABORT`` it is the A-ABORT received; for an ``A-P-ABORT`` this
        side raised it is the A-ABORT sent (AA-8), or ``None`` when the
        transport went away (AA-4).
    """

    primitive: str
    pdu: object | None


@dataclass(frozen=True)
class StartTimer:
    """
    Start the ARTIM timer, or restart it if it is running.
    """


@dataclass(frozen=True)
class StopTimer:
    """
    Stop the ARTIM timer.
    """


@dataclass(frozen=True)
class OpenTransport:
    """
    Open a transport connection to the peer (requestor, AE-1).
    """


@dataclass(frozen=True)
class CloseTransport:
    """
    Close the transport connection.
    """


Effect = Union[
    SendPDU, Indication, StartTimer, StopTimer, OpenTransport, CloseTransport
]

#: The state machine's answer to an event: the effects, in order.
Effects = list[Effect]

_PDU_EVENTS: Mapping[type, Event] = MappingProxyType(
    {
        AAssociateAC: _E.EVT3,
        AAssociateRJ: _E.EVT4,
        AAssociateRQ: _E.EVT6,
        PDataTF: _E.EVT10,
        AReleaseRQ: _E.EVT12,
        AReleaseRP: _E.EVT13,
        AAbort: _E.EVT16,
    }
)


def describe(state: State, event: Event, action: Action, next_state: State) -> str:
    """
    Render one transition for a debug log.

    :param state: the state the event arrived in.
    :param event: the event.
    :param action: the action Table 9-10 chose.
    :param next_state: the state the action left the machine in.
    :returns: e.g. ``"Sta6 + Evt10 (P-DATA-TF PDU) -> DT-2 -> Sta6"``.
    """
    return "{} + {} ({}) -> {} -> {}".format(
        state.label, event.label, event.value, action.label, next_state.label
    )


def acceptable(rq: AAssociateRQ) -> bool:
    """
    Whether the service provider can take an A-ASSOCIATE-RQ (AE-6).

    Only bit 0 of the protocol version is tested, PS3.8 §9.3.2, Table 9-11.

    :param rq: the request received.
    """
    return bool(rq.protocol_version & 1)


class Machine:
    """
    One association's upper-layer state machine, PS3.8 §9.2.

    Each method feeds one event and returns the effects to carry out, in
    order.

    :ivar state: the current state.
    :ivar requestor: whether this side requested the association.
    :ivar last_transition: ``(state, event, action, next_state)`` of the
        last event that triggered an action, or ``None`` if the last event
        was ignored; see :func:`describe`.
    """

    def __init__(self, *, requestor: bool = False) -> None:
        """
        :param requestor: ``True`` for the association-requestor (SCU
            side), ``False`` for the acceptor.
        """
        self.state = State.STA1
        self.requestor = requestor
        self.last_transition: tuple[State, Event, Action, State] | None = None
        self._timer_running = False
        self._request: AAssociateRQ | None = None

    def allowed(self, event: Event) -> bool:
        """
        Whether Table 9-10 has a cell for an event in the current state.

        :param event: the event to test.
        """
        return (self.state, event) in TRANSITIONS

    # Transport and peer events: these never raise.

    def connection_made(self) -> Effects:
        """
        The transport connection is open: Evt5 for an acceptor, Evt2 (the
        confirmation of AE-1's connect request) for a requestor.

        :raises UsageError: if the machine is not waiting for a connection.
        """
        if self.requestor:
            return self._local(_E.EVT2, None)
        return self._local(_E.EVT5, None)

    def receive(self, pdu: object) -> Effects:
        """
        A whole, valid PDU arrived (Evt3, 4, 6, 10, 12, 13 or 16).

        :param pdu: one of the :mod:`dicomtw.pdu` PDU classes; anything else
            counts as an unrecognized PDU (Evt19).
        """
        event = _PDU_EVENTS.get(type(pdu))
        if event is None:
            error = ProtocolError(
                "not a PDU: {!r}".format(type(pdu).__name__),
                AbortSource.SERVICE_PROVIDER,
                AbortReason.UNRECOGNIZED_PDU,
            )
            return self._peer(_E.EVT19, error)
        return self._peer(event, pdu)

    def invalid_pdu(self, error: ProtocolError) -> Effects:
        """
        An unrecognized or invalid PDU arrived (Evt19).

        :param error: what was wrong; its source and reason go into the
            A-ABORT sent by AA-8 and AA-7.
        """
        return self._peer(_E.EVT19, error)

    def connection_lost(self) -> Effects:
        """
        The transport connection closed, or could not be opened (Evt17).
        """
        return self._peer(_E.EVT17, None)

    def timer_expired(self) -> Effects:
        """
        The ARTIM timer expired (Evt18).
        """
        self._timer_running = False
        return self._peer(_E.EVT18, None)

    # Local user events: these raise UsageError where Table 9-10 is empty.

    def associate_request(self, rq: AAssociateRQ) -> Effects:
        """
        Ask for an association (Evt1); the request is sent once the
        transport is open.

        :param rq: the A-ASSOCIATE-RQ to send.
        :raises UsageError: if this machine is an acceptor or not idle.
        """
        if not self.requestor:
            raise UsageError("an acceptor cannot request an association")
        return self._local(_E.EVT1, rq)

    def accept(self, ac: AAssociateAC) -> Effects:
        """
        Accept the association indicated (Evt7).

        :param ac: the A-ASSOCIATE-AC to send.
        :raises UsageError: unless in Sta3.
        """
        return self._local(_E.EVT7, ac)

    def reject(self, rj: AAssociateRJ) -> Effects:
        """
        Reject the association indicated (Evt8).

        :param rj: the A-ASSOCIATE-RJ to send.
        :raises UsageError: unless in Sta3.
        """
        return self._local(_E.EVT8, rj)

    def send_data(self, pdata: PDataTF) -> Effects:
        """
        Send a P-DATA-TF (Evt9).

        :param pdata: the PDU to send.
        :raises UsageError: unless in Sta6 or Sta8.
        """
        return self._local(_E.EVT9, pdata)

    def release_request(self) -> Effects:
        """
        Ask to release the association (Evt11).

        :raises UsageError: unless in Sta6.
        """
        return self._local(_E.EVT11, None)

    def release_response(self) -> Effects:
        """
        Answer the peer's release request (Evt14).

        :raises UsageError: unless in Sta8, Sta9 or Sta12.
        """
        return self._local(_E.EVT14, None)

    def abort(
        self,
        source: int = AbortSource.SERVICE_USER,
        reason: int = AbortReason.NOT_SPECIFIED,
    ) -> Effects:
        """
        Abort the association (Evt15).

        :param source: the A-ABORT source, PS3.8 §9.3.8, Table 9-26.
        :param reason: the A-ABORT reason/diag.
        :raises UsageError: in Sta1, Sta2 and Sta13, where Table 9-10 has
            no cell for Evt15.
        """
        return self._local(_E.EVT15, AAbort(source=source, reason=reason))

    # Dispatch.

    def _local(self, event: Event, payload: object) -> Effects:
        """
        Run a locally triggered event, refusing it where the table is empty.
        """
        if (self.state, event) not in TRANSITIONS:
            raise UsageError(
                "{} is not allowed in {} ({})".format(
                    event.value, self.state.label, self.state.value
                )
            )
        return self._run(event, payload)

    def _peer(self, event: Event, payload: object) -> Effects:
        """
        Run an event from the peer or the transport; ignore it where the
        table is empty, since the standard says it cannot happen there.
        """
        if (self.state, event) not in TRANSITIONS:
            self.last_transition = None
            return []
        return self._run(event, payload)

    def _run(self, event: Event, payload: object) -> Effects:
        """
        Carry out the table's action and move to its next state.
        """
        state = self.state
        action = TRANSITIONS[state, event]
        branch = BRANCHES.get(action)
        if branch is None:
            next_state = NEXT_STATE[action]
        else:
            next_state = branch[0] if self._holds(action, payload) else branch[1]
        effects = _ACTIONS[action](self, event, payload)
        self.state = next_state
        self.last_transition = (state, event, action, next_state)
        for effect in effects:
            if isinstance(effect, StartTimer):
                self._timer_running = True
            elif isinstance(effect, StopTimer):
                self._timer_running = False
        return effects

    def _holds(self, action: Action, payload: object) -> bool:
        """
        The condition that picks between the two outcomes in
        :data:`BRANCHES`.
        """
        if action is _A.AE_6:
            assert isinstance(payload, AAssociateRQ)
            return acceptable(payload)
        return self.requestor

    # Actions, PS3.8 §9.2.2.  Each takes the event and its payload (a PDU,
    # a ProtocolError for Evt19, or None) and returns the effects.

    def _ae_1(self, event: Event, rq: object) -> Effects:
        assert isinstance(rq, AAssociateRQ)
        self._request = rq
        return [OpenTransport()]

    def _ae_2(self, event: Event, payload: object) -> Effects:
        assert self._request is not None
        return [SendPDU(self._request)]

    def _ae_3(self, event: Event, ac: object) -> Effects:
        return [Indication(Primitive.A_ASSOCIATE_CONFIRM_ACCEPT, ac)]

    def _ae_4(self, event: Event, rj: object) -> Effects:
        return [Indication(Primitive.A_ASSOCIATE_CONFIRM_REJECT, rj), CloseTransport()]

    def _ae_5(self, event: Event, payload: object) -> Effects:
        return [StartTimer()]

    def _ae_6(self, event: Event, rq: object) -> Effects:
        assert isinstance(rq, AAssociateRQ)
        if acceptable(rq):
            return [StopTimer(), Indication(Primitive.A_ASSOCIATE_INDICATION, rq)]
        rj = AAssociateRJ(
            result=RejectResult.PERMANENT,
            source=RejectResult.SOURCE_ACSE,
            reason=RejectResult.PROTOCOL_VERSION_NOT_SUPPORTED,
        )
        return [StopTimer(), SendPDU(rj), StartTimer()]

    def _send(self, event: Event, pdu: object) -> Effects:
        """
        AE-7, DT-1, AR-7: send the PDU the local user gave.
        """
        return [SendPDU(cast(PDU, pdu))]

    def _ae_8(self, event: Event, rj: object) -> Effects:
        assert isinstance(rj, AAssociateRJ)
        return [SendPDU(rj), StartTimer()]

    def _p_data(self, event: Event, pdata: object) -> Effects:
        """
        DT-2, AR-6: hand received data to the local user.
        """
        return [Indication(Primitive.P_DATA, pdata)]

    def _ar_1(self, event: Event, payload: object) -> Effects:
        return [SendPDU(AReleaseRQ())]

    def _release_indication(self, event: Event, rq: object) -> Effects:
        """
        AR-2, AR-8: tell the local user the peer asks for a release.
        """
        return [Indication(Primitive.A_RELEASE_INDICATION, rq)]

    def _ar_3(self, event: Event, rp: object) -> Effects:
        return [Indication(Primitive.A_RELEASE_CONFIRM, rp), CloseTransport()]

    def _ar_4(self, event: Event, payload: object) -> Effects:
        return [SendPDU(AReleaseRP()), StartTimer()]

    def _stop_timer(self, event: Event, payload: object) -> Effects:
        """
        AR-5, AA-5: the transport closed while ARTIM was running.
        """
        return [StopTimer()]

    def _ar_9(self, event: Event, payload: object) -> Effects:
        return [SendPDU(AReleaseRP())]

    def _ar_10(self, event: Event, rp: object) -> Effects:
        return [Indication(Primitive.A_RELEASE_CONFIRM, rp)]

    def _aa_1(self, event: Event, payload: object) -> Effects:
        # A local abort (Evt15) carries the user's own A-ABORT; for a peer
        # fault before the association exists the standard names the
        # service-user as source, with reason 0.
        if isinstance(payload, AAbort):
            pdu = payload
        else:
            pdu = AAbort(
                source=AbortSource.SERVICE_USER, reason=AbortReason.NOT_SPECIFIED
            )
        return [SendPDU(pdu), StartTimer()]

    def _aa_2(self, event: Event, payload: object) -> Effects:
        if self._timer_running:
            return [StopTimer(), CloseTransport()]
        return [CloseTransport()]

    def _aa_3(self, event: Event, abort: object) -> Effects:
        assert isinstance(abort, AAbort)
        if abort.source == AbortSource.SERVICE_USER:
            primitive = Primitive.A_ABORT
        else:
            primitive = Primitive.A_P_ABORT
        return [Indication(primitive, abort), CloseTransport()]

    def _aa_4(self, event: Event, payload: object) -> Effects:
        return [Indication(Primitive.A_P_ABORT, None)]

    def _aa_6(self, event: Event, payload: object) -> Effects:
        return []

    def _aa_7(self, event: Event, payload: object) -> Effects:
        return [SendPDU(_provider_abort(payload))]

    def _aa_8(self, event: Event, payload: object) -> Effects:
        abort = _provider_abort(payload)
        return [SendPDU(abort), Indication(Primitive.A_P_ABORT, abort), StartTimer()]


def _provider_abort(payload: object) -> AAbort:
    """
    The A-ABORT for AA-7 and AA-8: the error's own source and reason for an
    invalid PDU (Evt19), "unexpected PDU" for a valid one out of place.
    """
    if isinstance(payload, ProtocolError):
        return AAbort(source=payload.source, reason=payload.reason)
    return AAbort(
        source=AbortSource.SERVICE_PROVIDER, reason=AbortReason.UNEXPECTED_PDU
    )


_ACTIONS: Mapping[Action, Callable[[Machine, Event, object], Effects]] = (
    MappingProxyType(
        {
            _A.AE_1: Machine._ae_1,
            _A.AE_2: Machine._ae_2,
            _A.AE_3: Machine._ae_3,
            _A.AE_4: Machine._ae_4,
            _A.AE_5: Machine._ae_5,
            _A.AE_6: Machine._ae_6,
            _A.AE_7: Machine._send,
            _A.AE_8: Machine._ae_8,
            _A.DT_1: Machine._send,
            _A.DT_2: Machine._p_data,
            _A.AR_1: Machine._ar_1,
            _A.AR_2: Machine._release_indication,
            _A.AR_3: Machine._ar_3,
            _A.AR_4: Machine._ar_4,
            _A.AR_5: Machine._stop_timer,
            _A.AR_6: Machine._p_data,
            _A.AR_7: Machine._send,
            _A.AR_8: Machine._release_indication,
            _A.AR_9: Machine._ar_9,
            _A.AR_10: Machine._ar_10,
            _A.AA_1: Machine._aa_1,
            _A.AA_2: Machine._aa_2,
            _A.AA_3: Machine._aa_3,
            _A.AA_4: Machine._aa_4,
            _A.AA_5: Machine._stop_timer,
            _A.AA_6: Machine._aa_6,
            _A.AA_7: Machine._aa_7,
            _A.AA_8: Machine._aa_8,
        }
    )
)
