"""
Tests for dicomtw.machine, the upper-layer state machine of PS3.8 §9.2.

The test keeps its own copy of Table 9-10 and of the actions' next states
(PS3.8 §9.2.2, Tables 9-6 to 9-9), typed out from the standard and never
imported from the module under test.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.errors import AbortReason, AbortSource, ProtocolError, UsageError
from dicomtw.machine import (
    BRANCHES,
    NEXT_STATE,
    TRANSITIONS,
    Action,
    CloseTransport,
    Effect,
    Event,
    Indication,
    Machine,
    OpenTransport,
    SendPDU,
    StartTimer,
    State,
    StopTimer,
    describe,
)
from dicomtw.pdu import (
    PDV,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AReleaseRP,
    AReleaseRQ,
    PDataTF,
)

# PS3.8 §9.2.3, Table 9-10.  Rows are events, columns Sta1 to Sta13; a dot
# is an empty cell.
_TABLE_9_10 = """
       1     2     3     4     5     6     7     8     9     10    11    12    13
Evt1   AE-1  .     .     .     .     .     .     .     .     .     .     .     .
Evt2   .     .     .     AE-2  .     .     .     .     .     .     .     .     .
Evt3   .     AA-1  AA-8  .     AE-3  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
Evt4   .     AA-1  AA-8  .     AE-4  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
Evt5   AE-5  .     .     .     .     .     .     .     .     .     .     .     .
Evt6   .     AE-6  AA-8  .     AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-7
Evt7   .     .     AE-7  .     .     .     .     .     .     .     .     .     .
Evt8   .     .     AE-8  .     .     .     .     .     .     .     .     .     .
Evt9   .     .     .     .     .     DT-1  .     AR-7  .     .     .     .     .
Evt10  .     AA-1  AA-8  .     AA-8  DT-2  AR-6  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
Evt11  .     .     .     .     .     AR-1  .     .     .     .     .     .     .
Evt12  .     AA-1  AA-8  .     AA-8  AR-2  AR-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
Evt13  .     AA-1  AA-8  .     AA-8  AA-8  AR-3  AA-8  AA-8  AR-10 AR-3  AA-8  AA-6
Evt14  .     .     .     .     .     .     .     AR-4  AR-9  .     .     AR-4  .
Evt15  .     .     AA-1  AA-2  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  .
Evt16  .     AA-2  AA-3  .     AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-2
Evt17  .     AA-5  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AR-5
Evt18  .     AA-2  .     .     .     .     .     .     .     .     .     .     AA-2
Evt19  .     AA-1  AA-8  .     AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-7
"""

# PS3.8 §9.2.2, Tables 9-6 to 9-9: next state of each action.  AE-6 gives
# Sta3 if the request is acceptable, else Sta13; AR-8 gives Sta9 for the
# association-requestor, else Sta10.
_NEXT: dict[str, str | tuple[str, str]] = {
    "AE-1": "Sta4",
    "AE-2": "Sta5",
    "AE-3": "Sta6",
    "AE-4": "Sta1",
    "AE-5": "Sta2",
    "AE-6": ("Sta3", "Sta13"),
    "AE-7": "Sta6",
    "AE-8": "Sta13",
    "DT-1": "Sta6",
    "DT-2": "Sta6",
    "AR-1": "Sta7",
    "AR-2": "Sta8",
    "AR-3": "Sta1",
    "AR-4": "Sta13",
    "AR-5": "Sta1",
    "AR-6": "Sta7",
    "AR-7": "Sta8",
    "AR-8": ("Sta9", "Sta10"),
    "AR-9": "Sta11",
    "AR-10": "Sta12",
    "AA-1": "Sta13",
    "AA-2": "Sta1",
    "AA-3": "Sta1",
    "AA-4": "Sta1",
    "AA-5": "Sta1",
    "AA-6": "Sta13",
    "AA-7": "Sta13",
    "AA-8": "Sta13",
}

_LOCAL = {"Evt1", "Evt2", "Evt5", "Evt7", "Evt8", "Evt9", "Evt11", "Evt14", "Evt15"}


def _parse_table() -> dict[tuple[str, str], str]:
    """
    Turn the typed-out Table 9-10 into ``{(state, event): action}`` labels.
    """
    lines = _TABLE_9_10.strip().splitlines()
    columns = ["Sta" + number for number in lines[0].split()]
    cells = {}
    for line in lines[1:]:
        event, *actions = line.split()
        assert len(actions) == 13, line
        for state, action in zip(columns, actions):
            if action != ".":
                cells[state, event] = action
    return cells


_CELLS = _parse_table()


def _state(label: str) -> State:
    """
    The State member for a label such as ``Sta6``.
    """
    return State["STA" + label[3:]]


def _event(label: str) -> Event:
    """
    The Event member for a label such as ``Evt10``.
    """
    return Event["EVT" + label[3:]]


def _action(label: str) -> Action:
    """
    The Action member for a label such as ``AR-10``.
    """
    return Action[label.replace("-", "_")]


RQ = AAssociateRQ(called_ae="ANY-SCP", calling_ae="ECHOSCU", presentation_contexts=())
RQ_OLD_VERSION = AAssociateRQ(
    called_ae="ANY-SCP",
    calling_ae="ECHOSCU",
    presentation_contexts=(),
    protocol_version=2,
)
AC = AAssociateAC(called_ae="ANY-SCP", calling_ae="ECHOSCU", presentation_contexts=())
RJ = AAssociateRJ(result=1, source=1, reason=1)
PDATA = PDataTF(pdvs=(PDV(context_id=1, control=3, data=b"\0\0\0\0"),))
USER_ABORT = AAbort(source=AbortSource.SERVICE_USER, reason=0)
PROVIDER_ABORT = AAbort(
    source=AbortSource.SERVICE_PROVIDER, reason=AbortReason.UNRECOGNIZED_PDU
)
UNEXPECTED = AAbort(
    source=AbortSource.SERVICE_PROVIDER, reason=AbortReason.UNEXPECTED_PDU
)

_FIRE: dict[str, Callable[[Machine], list[Effect]]] = {
    "Evt1": lambda m: m.associate_request(RQ),
    "Evt2": lambda m: m.connection_made(),
    "Evt3": lambda m: m.receive(AC),
    "Evt4": lambda m: m.receive(RJ),
    "Evt5": lambda m: m.connection_made(),
    "Evt6": lambda m: m.receive(RQ),
    "Evt7": lambda m: m.accept(AC),
    "Evt8": lambda m: m.reject(RJ),
    "Evt9": lambda m: m.send_data(PDATA),
    "Evt10": lambda m: m.receive(PDATA),
    "Evt11": lambda m: m.release_request(),
    "Evt12": lambda m: m.receive(AReleaseRQ()),
    "Evt13": lambda m: m.receive(AReleaseRP()),
    "Evt14": lambda m: m.release_response(),
    "Evt15": lambda m: m.abort(),
    "Evt16": lambda m: m.receive(USER_ABORT),
    "Evt17": lambda m: m.connection_lost(),
    "Evt18": lambda m: m.timer_expired(),
    "Evt19": lambda m: m.invalid_pdu(ProtocolError("garbage")),
}

# How to reach each state from Sta1, as (requestor, events to fire).
_ROUTES: dict[str, list[tuple[bool, list[str]]]] = {
    "Sta1": [(False, []), (True, [])],
    "Sta2": [(False, ["Evt5"])],
    "Sta3": [(False, ["Evt5", "Evt6"])],
    "Sta4": [(True, ["Evt1"])],
    "Sta5": [(True, ["Evt1", "Evt2"])],
    "Sta6": [
        (False, ["Evt5", "Evt6", "Evt7"]),
        (True, ["Evt1", "Evt2", "Evt3"]),
    ],
    "Sta7": [
        (False, ["Evt5", "Evt6", "Evt7", "Evt11"]),
        (True, ["Evt1", "Evt2", "Evt3", "Evt11"]),
    ],
    "Sta8": [
        (False, ["Evt5", "Evt6", "Evt7", "Evt12"]),
        (True, ["Evt1", "Evt2", "Evt3", "Evt12"]),
    ],
    "Sta9": [(True, ["Evt1", "Evt2", "Evt3", "Evt11", "Evt12"])],
    "Sta10": [(False, ["Evt5", "Evt6", "Evt7", "Evt11", "Evt12"])],
    "Sta11": [(True, ["Evt1", "Evt2", "Evt3", "Evt11", "Evt12", "Evt14"])],
    "Sta12": [(False, ["Evt5", "Evt6", "Evt7", "Evt11", "Evt12", "Evt13"])],
    "Sta13": [
        (False, ["Evt5", "Evt6", "Evt7", "Evt15"]),
        (True, ["Evt1", "Evt2", "Evt3", "Evt15"]),
    ],
}


def _fireable(event: str, requestor: bool) -> bool:
    """
    Whether a machine of this role has a way to raise the event: Evt1 and
    Evt2 belong to the requestor, Evt5 to the acceptor.
    """
    if event in ("Evt1", "Evt2"):
        return requestor
    if event == "Evt5":
        return not requestor
    return True


def _reach(state: str, requestor: bool, route: list[str]) -> Machine:
    """
    A machine of the given role driven along a route to a state.
    """
    machine = Machine(requestor=requestor)
    for event in route:
        _FIRE[event](machine)
    assert machine.state is _state(state), (state, machine.state)
    return machine


def _acceptor_in_sta6() -> Machine:
    """
    An acceptor with an established association.
    """
    machine = Machine()
    machine.connection_made()
    machine.receive(RQ)
    machine.accept(AC)
    return machine


def _requestor_in_sta6() -> Machine:
    """
    A requestor with an established association.
    """
    machine = Machine(requestor=True)
    machine.associate_request(RQ)
    machine.connection_made()
    machine.receive(AC)
    return machine


class TableTests(SynchronousTestCase):
    """
    The machine's tables against this test's copy of PS3.8 Table 9-10.
    """

    def test_table_copy_shape(self) -> None:
        """
        The typed-out table has 19 rows of 13 cells and 123 actions.
        """
        self.assertEqual(len(_CELLS), 123)
        self.assertEqual(
            {event for _, event in _CELLS}, {f"Evt{n}" for n in range(1, 20)}
        )

    def test_enumerations(self) -> None:
        """
        There are 13 states, 19 events and 28 actions, each labelled as in
        the standard and carrying its wording.
        """
        self.assertEqual([s.label for s in State], [f"Sta{n}" for n in range(1, 14)])
        self.assertEqual([e.label for e in Event], [f"Evt{n}" for n in range(1, 20)])
        self.assertEqual(len(Action), 28)
        self.assertEqual(set(a.label for a in Action), set(_NEXT))
        self.assertEqual(State.STA1.value, "Idle")
        self.assertEqual(Event.EVT10.value, "P-DATA-TF PDU")
        self.assertEqual(Action.AA_6.value, "Ignore PDU")

    def test_every_cell(self) -> None:
        """
        All 13 x 19 (state, event) pairs give the action of Table 9-10, and
        no action where the table is empty.
        """
        wrong = []
        for state in State:
            for event in Event:
                expected = _CELLS.get((state.label, event.label))
                got = TRANSITIONS.get((state, event))
                if (got.label if got else None) != expected:
                    wrong.append((state.label, event.label, expected, got))
        self.assertEqual(wrong, [])

    def test_next_states(self) -> None:
        """
        NEXT_STATE and BRANCHES give each action's next state from Tables
        9-6 to 9-9, once each.
        """
        self.assertEqual(set(NEXT_STATE) & set(BRANCHES), set())
        self.assertEqual(set(NEXT_STATE) | set(BRANCHES), set(Action))
        for label, expected in _NEXT.items():
            action = _action(label)
            if isinstance(expected, tuple):
                self.assertEqual(BRANCHES[action], tuple(map(_state, expected)))
            else:
                self.assertEqual(NEXT_STATE[action], _state(expected))

    def test_every_pair_runs(self) -> None:
        """
        Driving a real machine to each state and raising each event there
        leads to the table's next state; where the table is empty, a local
        call raises UsageError and anything else is ignored, both leaving
        the state alone.
        """
        wrong = []
        covered = set()
        for state, routes in _ROUTES.items():
            for requestor, route in routes:
                for event in _FIRE:
                    if not _fireable(event, requestor):
                        continue
                    covered.add((state, event))
                    problem = self._run_pair(state, event, requestor, route)
                    if problem:
                        wrong.append((state, event, requestor, problem))
        self.assertEqual(wrong, [])
        for state in _ROUTES:
            for event in _FIRE:
                if (state, event) not in covered:
                    # Only a role that never reaches the state could raise
                    # the event, so the table must leave it empty.
                    self.assertNotIn((state, event), _CELLS)

    def _run_pair(
        self, state: str, event: str, requestor: bool, route: list[str]
    ) -> str | None:
        """
        Raise one event in one state and describe any departure from the
        table, or return ``None``.
        """
        machine = _reach(state, requestor, route)
        action = _CELLS.get((state, event))
        if action is None:
            if event in _LOCAL:
                try:
                    _FIRE[event](machine)
                except UsageError:
                    pass
                else:
                    return "no UsageError"
            elif _FIRE[event](machine) != []:
                return "effects for an empty cell"
            if machine.state is not _state(state):
                return "state changed to " + machine.state.label
            return None
        _FIRE[event](machine)
        outcomes = _NEXT[action]
        if isinstance(outcomes, str):
            expected = outcomes
        elif action == "AR-8":
            expected = outcomes[0] if requestor else outcomes[1]
        else:
            expected = outcomes[0]  # AE-6, and RQ is acceptable
        if machine.state is not _state(expected):
            return "{} led to {}".format(action, machine.state.label)
        transition = (_state(state), _event(event), _action(action), _state(expected))
        if machine.last_transition != transition:
            return "last_transition {}".format(machine.last_transition)
        return None

    def test_describe(self) -> None:
        """
        describe() renders a transition with the standard's labels.
        """
        self.assertEqual(
            describe(State.STA6, Event.EVT10, Action.DT_2, State.STA6),
            "Sta6 + Evt10 (P-DATA-TF PDU) -> DT-2 -> Sta6",
        )

    def test_last_transition(self) -> None:
        """
        last_transition records the last action taken and is cleared by an
        ignored event.
        """
        machine = _acceptor_in_sta6()
        machine.receive(PDATA)
        self.assertEqual(
            machine.last_transition,
            (State.STA6, Event.EVT10, Action.DT_2, State.STA6),
        )
        self.assertEqual(machine.timer_expired(), [])
        self.assertIsNone(machine.last_transition)


class AcceptorTests(SynchronousTestCase):
    """
    The association-acceptor's paths through the machine.
    """

    def test_happy_path(self) -> None:
        """
        Connect, request, accept, exchange data both ways, and release at
        the peer's request, with ARTIM running only while it should.
        """
        machine = Machine()
        self.assertEqual(machine.connection_made(), [StartTimer()])
        self.assertEqual(machine.state, State.STA2)
        self.assertEqual(
            machine.receive(RQ),
            [StopTimer(), Indication("A-ASSOCIATE-INDICATION", RQ)],
        )
        self.assertEqual(machine.state, State.STA3)
        self.assertEqual(machine.accept(AC), [SendPDU(AC)])
        self.assertEqual(machine.state, State.STA6)
        self.assertEqual(machine.receive(PDATA), [Indication("P-DATA", PDATA)])
        self.assertEqual(machine.send_data(PDATA), [SendPDU(PDATA)])
        self.assertEqual(machine.state, State.STA6)
        self.assertEqual(
            machine.receive(AReleaseRQ()),
            [Indication("A-RELEASE-INDICATION", AReleaseRQ())],
        )
        self.assertEqual(machine.state, State.STA8)
        self.assertEqual(machine.send_data(PDATA), [SendPDU(PDATA)])
        self.assertEqual(machine.state, State.STA8)
        self.assertEqual(
            machine.release_response(), [SendPDU(AReleaseRP()), StartTimer()]
        )
        self.assertEqual(machine.state, State.STA13)
        self.assertEqual(machine.connection_lost(), [StopTimer()])
        self.assertEqual(machine.state, State.STA1)

    def test_reject(self) -> None:
        """
        The user's A-ASSOCIATE-RJ is sent, ARTIM starts, and its expiry
        closes the transport.
        """
        machine = Machine()
        machine.connection_made()
        machine.receive(RQ)
        self.assertEqual(machine.reject(RJ), [SendPDU(RJ), StartTimer()])
        self.assertEqual(machine.state, State.STA13)
        self.assertEqual(machine.timer_expired(), [CloseTransport()])
        self.assertEqual(machine.state, State.STA1)

    def test_unsupported_protocol_version(self) -> None:
        """
        A request without bit 0 in its protocol version is rejected by the
        provider (AE-6) with RJ 1, 2, 2 and never reaches the user.
        """
        machine = Machine()
        machine.connection_made()
        self.assertEqual(
            machine.receive(RQ_OLD_VERSION),
            [
                StopTimer(),
                SendPDU(AAssociateRJ(result=1, source=2, reason=2)),
                StartTimer(),
            ],
        )
        self.assertEqual(machine.state, State.STA13)
        self.assertEqual(
            machine.last_transition,
            (State.STA2, Event.EVT6, Action.AE_6, State.STA13),
        )

    def test_protocol_version_bit_zero(self) -> None:
        """
        Only bit 0 of the protocol version counts: version 3 is accepted.
        """
        machine = Machine()
        machine.connection_made()
        rq = AAssociateRQ(
            called_ae="A", calling_ae="B", presentation_contexts=(), protocol_version=3
        )
        self.assertEqual(
            machine.receive(rq), [StopTimer(), Indication("A-ASSOCIATE-INDICATION", rq)]
        )

    def test_artim_expiry_in_sta2(self) -> None:
        """
        No A-ASSOCIATE-RQ before ARTIM expires: the transport is closed.
        """
        machine = Machine()
        machine.connection_made()
        self.assertEqual(machine.timer_expired(), [CloseTransport()])
        self.assertEqual(machine.state, State.STA1)

    def test_artim_expiry_in_sta13(self) -> None:
        """
        After our abort the peer does not close: ARTIM expiry closes.
        """
        machine = _acceptor_in_sta6()
        machine.abort()
        self.assertEqual(machine.state, State.STA13)
        self.assertEqual(machine.timer_expired(), [CloseTransport()])
        self.assertEqual(machine.state, State.STA1)

    def test_close_in_sta2(self) -> None:
        """
        A connection closed before any PDU stops ARTIM (AA-5).
        """
        machine = Machine()
        machine.connection_made()
        self.assertEqual(machine.connection_lost(), [StopTimer()])
        self.assertEqual(machine.state, State.STA1)

    def test_peer_user_abort(self) -> None:
        """
        An A-ABORT from the peer's user is an A-ABORT indication, and the
        transport is closed.
        """
        machine = _acceptor_in_sta6()
        self.assertEqual(
            machine.receive(USER_ABORT),
            [Indication("A-ABORT", USER_ABORT), CloseTransport()],
        )
        self.assertEqual(machine.state, State.STA1)

    def test_peer_provider_abort(self) -> None:
        """
        An A-ABORT from the peer's service provider is an A-P-ABORT
        indication carrying the PDU received.
        """
        machine = _acceptor_in_sta6()
        self.assertEqual(
            machine.receive(PROVIDER_ABORT),
            [Indication("A-P-ABORT", PROVIDER_ABORT), CloseTransport()],
        )
        self.assertEqual(machine.state, State.STA1)

    def test_peer_abort_in_sta2(self) -> None:
        """
        An A-ABORT as the first PDU closes the transport and stops ARTIM,
        and tells nobody.
        """
        machine = Machine()
        machine.connection_made()
        self.assertEqual(machine.receive(USER_ABORT), [StopTimer(), CloseTransport()])
        self.assertEqual(machine.state, State.STA1)

    def test_invalid_pdu_in_sta2(self) -> None:
        """
        An invalid first PDU is answered by AA-1: A-ABORT with source 0
        (service-user) and reason 0, whatever the error says.
        """
        machine = Machine()
        machine.connection_made()
        error = ProtocolError(
            "bad", AbortSource.SERVICE_PROVIDER, AbortReason.INVALID_PDU_PARAMETER_VALUE
        )
        self.assertEqual(
            machine.invalid_pdu(error),
            [SendPDU(AAbort(source=0, reason=0)), StartTimer()],
        )
        self.assertEqual(machine.state, State.STA13)

    def test_unexpected_first_pdu(self) -> None:
        """
        A valid PDU other than A-ASSOCIATE-RQ first is also answered by
        A-ABORT 0, 0, as DCMTK does.
        """
        for pdu in (AC, RJ, PDATA, AReleaseRQ(), AReleaseRP()):
            machine = Machine()
            machine.connection_made()
            self.assertEqual(
                machine.receive(pdu),
                [SendPDU(AAbort(source=0, reason=0)), StartTimer()],
            )
            self.assertEqual(machine.state, State.STA13)

    def test_invalid_pdu_in_sta6(self) -> None:
        """
        An invalid PDU during data transfer is answered by AA-8 with the
        error's own source and reason, and an A-P-ABORT indication.
        """
        machine = _acceptor_in_sta6()
        error = ProtocolError(
            "bad", AbortSource.SERVICE_PROVIDER, AbortReason.INVALID_PDU_PARAMETER_VALUE
        )
        abort = AAbort(source=2, reason=6)
        self.assertEqual(
            machine.invalid_pdu(error),
            [SendPDU(abort), Indication("A-P-ABORT", abort), StartTimer()],
        )
        self.assertEqual(machine.state, State.STA13)

    def test_unrecognized_object_in_sta6(self) -> None:
        """
        Something that is not a PDU counts as an unrecognized PDU (Evt19),
        never as an exception.
        """
        machine = _acceptor_in_sta6()
        abort = AAbort(source=2, reason=1)
        self.assertEqual(
            machine.receive(b"junk"),
            [SendPDU(abort), Indication("A-P-ABORT", abort), StartTimer()],
        )
        self.assertEqual(machine.state, State.STA13)

    def test_unexpected_rq_in_sta6(self) -> None:
        """
        An A-ASSOCIATE-RQ on an established association gets A-ABORT with
        source 2 (service-provider) and reason 2 (unexpected PDU).
        """
        machine = _acceptor_in_sta6()
        self.assertEqual(
            machine.receive(RQ),
            [SendPDU(UNEXPECTED), Indication("A-P-ABORT", UNEXPECTED), StartTimer()],
        )
        self.assertEqual(machine.state, State.STA13)

    def test_sta13_ignores_then_aborts(self) -> None:
        """
        In Sta13 late PDUs are ignored (AA-6), an A-ASSOCIATE-RQ or invalid
        PDU gets an A-ABORT (AA-7), and the peer's close stops ARTIM.
        """
        machine = _acceptor_in_sta6()
        machine.abort()
        self.assertEqual(machine.receive(PDATA), [])
        self.assertEqual(machine.receive(RQ), [SendPDU(UNEXPECTED)])
        error = ProtocolError("bad", 2, AbortReason.UNRECOGNIZED_PDU)
        self.assertEqual(machine.invalid_pdu(error), [SendPDU(AAbort(2, 1))])
        self.assertEqual(machine.state, State.STA13)
        self.assertEqual(machine.connection_lost(), [StopTimer()])
        self.assertEqual(machine.state, State.STA1)

    def test_user_abort(self) -> None:
        """
        A local abort sends the user's A-ABORT and starts ARTIM.
        """
        machine = _acceptor_in_sta6()
        self.assertEqual(
            machine.abort(), [SendPDU(AAbort(source=0, reason=0)), StartTimer()]
        )
        self.assertEqual(machine.state, State.STA13)
        machine = _acceptor_in_sta6()
        self.assertEqual(
            machine.abort(source=2, reason=0),
            [SendPDU(AAbort(source=2, reason=0)), StartTimer()],
        )

    def test_connection_lost_in_sta6(self) -> None:
        """
        A transport closed under an association is an A-P-ABORT.
        """
        machine = _acceptor_in_sta6()
        self.assertEqual(machine.connection_lost(), [Indication("A-P-ABORT", None)])
        self.assertEqual(machine.state, State.STA1)

    def test_release_collision(self) -> None:
        """
        Both sides ask for a release; the acceptor waits for the peer's
        A-RELEASE-RP before it answers (Sta10, Sta12).
        """
        machine = _acceptor_in_sta6()
        self.assertEqual(machine.release_request(), [SendPDU(AReleaseRQ())])
        self.assertEqual(machine.state, State.STA7)
        self.assertEqual(
            machine.receive(AReleaseRQ()),
            [Indication("A-RELEASE-INDICATION", AReleaseRQ())],
        )
        self.assertEqual(machine.state, State.STA10)
        self.assertRaises(UsageError, machine.release_response)
        self.assertEqual(
            machine.receive(AReleaseRP()),
            [Indication("A-RELEASE-CONFIRM", AReleaseRP())],
        )
        self.assertEqual(machine.state, State.STA12)
        self.assertEqual(
            machine.release_response(), [SendPDU(AReleaseRP()), StartTimer()]
        )
        self.assertEqual(machine.state, State.STA13)
        self.assertEqual(machine.connection_lost(), [StopTimer()])
        self.assertEqual(machine.state, State.STA1)


class RequestorTests(SynchronousTestCase):
    """
    The association-requestor's paths through the machine.
    """

    def test_happy_path(self) -> None:
        """
        Request, connect, get accepted, exchange data, release.
        """
        machine = Machine(requestor=True)
        self.assertEqual(machine.associate_request(RQ), [OpenTransport()])
        self.assertEqual(machine.state, State.STA4)
        self.assertEqual(machine.connection_made(), [SendPDU(RQ)])
        self.assertEqual(machine.state, State.STA5)
        self.assertEqual(
            machine.receive(AC), [Indication("A-ASSOCIATE-CONFIRM-ACCEPT", AC)]
        )
        self.assertEqual(machine.state, State.STA6)
        self.assertEqual(machine.send_data(PDATA), [SendPDU(PDATA)])
        self.assertEqual(machine.receive(PDATA), [Indication("P-DATA", PDATA)])
        self.assertEqual(machine.release_request(), [SendPDU(AReleaseRQ())])
        self.assertEqual(machine.state, State.STA7)
        self.assertEqual(machine.receive(PDATA), [Indication("P-DATA", PDATA)])
        self.assertEqual(machine.state, State.STA7)
        self.assertEqual(
            machine.receive(AReleaseRP()),
            [Indication("A-RELEASE-CONFIRM", AReleaseRP()), CloseTransport()],
        )
        self.assertEqual(machine.state, State.STA1)

    def test_rejected(self) -> None:
        """
        An A-ASSOCIATE-RJ is a reject confirmation, and the transport is
        closed.
        """
        machine = Machine(requestor=True)
        machine.associate_request(RQ)
        machine.connection_made()
        self.assertEqual(
            machine.receive(RJ),
            [Indication("A-ASSOCIATE-CONFIRM-REJECT", RJ), CloseTransport()],
        )
        self.assertEqual(machine.state, State.STA1)

    def test_connect_failed(self) -> None:
        """
        A transport that never opens is an A-P-ABORT (AA-4).
        """
        machine = Machine(requestor=True)
        machine.associate_request(RQ)
        self.assertEqual(machine.connection_lost(), [Indication("A-P-ABORT", None)])
        self.assertEqual(machine.state, State.STA1)

    def test_abort_while_connecting(self) -> None:
        """
        Aborting before the transport opens just closes it (AA-2).
        """
        machine = Machine(requestor=True)
        machine.associate_request(RQ)
        self.assertEqual(machine.abort(), [CloseTransport()])
        self.assertEqual(machine.state, State.STA1)

    def test_release_collision(self) -> None:
        """
        Both sides ask for a release; the requestor answers first (Sta9)
        and then waits for the peer's A-RELEASE-RP (Sta11).
        """
        machine = _requestor_in_sta6()
        machine.release_request()
        self.assertEqual(
            machine.receive(AReleaseRQ()),
            [Indication("A-RELEASE-INDICATION", AReleaseRQ())],
        )
        self.assertEqual(machine.state, State.STA9)
        self.assertEqual(machine.release_response(), [SendPDU(AReleaseRP())])
        self.assertEqual(machine.state, State.STA11)
        self.assertEqual(
            machine.receive(AReleaseRP()),
            [Indication("A-RELEASE-CONFIRM", AReleaseRP()), CloseTransport()],
        )
        self.assertEqual(machine.state, State.STA1)


class UsageTests(SynchronousTestCase):
    """
    Local calls the table does not allow.
    """

    def assertRefused(self, machine: Machine, call: Callable[[], object]) -> None:
        """
        Assert that a call raises UsageError and leaves the state alone.

        :param machine: the machine the call goes to.
        :param call: the call.
        """
        before = machine.state
        self.assertRaises(UsageError, call)
        self.assertEqual(machine.state, before)

    def test_illegal_calls(self) -> None:
        """
        Calls out of place raise UsageError without changing the state.
        """
        idle = Machine()
        self.assertRefused(idle, lambda: idle.associate_request(RQ))
        self.assertRefused(idle, lambda: idle.accept(AC))
        self.assertRefused(idle, idle.abort)
        waiting = Machine()
        waiting.connection_made()
        self.assertRefused(waiting, lambda: waiting.send_data(PDATA))
        self.assertRefused(waiting, waiting.abort)
        self.assertRefused(waiting, waiting.connection_made)
        established = _acceptor_in_sta6()
        self.assertRefused(established, established.release_response)
        self.assertRefused(established, lambda: established.reject(RJ))
        established.abort()
        self.assertRefused(established, established.abort)
        self.assertRefused(established, lambda: established.send_data(PDATA))
        requestor = Machine(requestor=True)
        self.assertRefused(requestor, requestor.connection_made)
        requestor.associate_request(RQ)
        self.assertRefused(requestor, lambda: requestor.associate_request(RQ))

    def test_allowed(self) -> None:
        """
        allowed() tells whether an event has a cell in the current state.
        """
        machine = _acceptor_in_sta6()
        self.assertTrue(machine.allowed(Event.EVT9))
        self.assertFalse(machine.allowed(Event.EVT14))

    def test_impossible_peer_events_ignored(self) -> None:
        """
        Peer and transport events the table calls impossible are ignored.
        """
        machine = Machine()
        self.assertEqual(machine.receive(PDATA), [])
        self.assertEqual(machine.connection_lost(), [])
        self.assertEqual(machine.timer_expired(), [])
        self.assertEqual(machine.invalid_pdu(ProtocolError("x")), [])
        self.assertEqual(machine.state, State.STA1)


_OPERATIONS: dict[str, Callable[[Machine], list[Effect]]] = {
    **_FIRE,
    "old version RQ": lambda m: m.receive(RQ_OLD_VERSION),
    "provider abort": lambda m: m.receive(PROVIDER_ABORT),
    "junk": lambda m: m.receive(object()),
    "user abort 2, 0": lambda m: m.abort(source=2, reason=0),
}

# The event each operation raises.
_RAISES = {
    **{name: _event(name) for name in _FIRE},
    "old version RQ": Event.EVT6,
    "provider abort": Event.EVT16,
    "junk": Event.EVT19,
    "user abort 2, 0": Event.EVT15,
}

_EFFECT_TYPES = (
    SendPDU,
    Indication,
    StartTimer,
    StopTimer,
    OpenTransport,
    CloseTransport,
)


class RandomSequenceTests(SynchronousTestCase):
    """
    Property tests over random sequences of events.
    """

    @settings(max_examples=500, deadline=None)
    @given(
        start=st.sampled_from(
            [(state, *route) for state, routes in _ROUTES.items() for route in routes]
        ),
        data=st.data(),
    )
    def test_random_events(
        self, start: tuple[str, bool, list[str]], data: st.DataObject
    ) -> None:
        """
        From any reachable state, any sequence of events raises nothing but
        UsageError (with the state kept), returns only effects, always
        leaves a valid State, and keeps ARTIM running exactly in Sta2 and
        Sta13.
        """
        machine = _reach(*start)
        timer = machine.state in (State.STA2, State.STA13)
        for _ in range(data.draw(st.integers(0, 40), label="steps")):
            # Most steps pick an operation this test's copy of the table
            # has a cell for, often one that is not an abort, so that
            # sequences reach the release states.
            names = sorted(_OPERATIONS)
            bias = data.draw(st.integers(0, 3), label="bias")
            cells = [_CELLS.get((machine.state.label, _RAISES[n].label)) for n in names]
            if bias == 1:
                names = [n for n, a in zip(names, cells) if a] or names
            elif bias > 1:
                progress = [n for n, a in zip(names, cells) if a and a[:2] != "AA"]
                names = progress or names
            name = data.draw(st.sampled_from(names), label="operation")
            before = machine.state
            try:
                effects = _OPERATIONS[name](machine)
            except UsageError:
                self.assertEqual(machine.state, before)
                continue
            self.assertIsInstance(machine.state, State)
            if name == "Evt18":
                timer = False
            for effect in effects:
                self.assertIsInstance(effect, _EFFECT_TYPES)
                if isinstance(effect, StartTimer):
                    timer = True
                elif isinstance(effect, StopTimer):
                    self.assertTrue(timer, "StopTimer with no timer running")
                    timer = False
            self.assertEqual(timer, machine.state in (State.STA2, State.STA13))
            if machine.last_transition is None:
                self.assertEqual(effects, [])
                self.assertEqual(machine.state, before)
            else:
                self.assertEqual(machine.last_transition[0], before)
                self.assertEqual(machine.last_transition[3], machine.state)
