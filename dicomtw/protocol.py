"""
The Twisted adapter: the only code that touches transports and timers.

:class:`DICOMServerProtocol` feeds received bytes through the framer into
the state machine, carries out the machine's effects, turns the machine's
indications into negotiation and DIMSE work, maps timer instructions to
``callLater`` on the reactor it is given, and stops reading from the peer
while the store sink is behind (back-pressure) or a response is pending.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from OpenSSL import SSL
from twisted.internet import protocol
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import (
    IDelayedCall,
    IHandshakeListener,
    IReactorTime,
    ISSLTransport,
)
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure
from zope.interface import implementer

from dicomtw.access import CallingAllowList, check_host
from dicomtw.commands import ReceptionCommand
from dicomtw.dimse import CommandReceived, MessageAssembler, fragment
from dicomtw.errors import AbortReason, AbortSource, ProtocolError
from dicomtw.framing import Framer
from dicomtw.logs import GATE, WIRE, enabled
from dicomtw.machine import (
    CloseTransport,
    Effect,
    Event,
    Indication,
    Machine,
    Primitive,
    SendPDU,
    StartTimer,
    State,
    StopTimer,
    describe,
)
from dicomtw.negotiation import (
    Outcome,
    Policy,
    congested,
    describe_ac,
    describe_rq,
    negotiate,
)
from dicomtw.pdu import PDV, AAbort, AAssociateRJ, AAssociateRQ, PDataTF, RejectResult
from dicomtw.scp import (
    AbortRequested,
    AssociationInfo,
    IStoreHandler,
    ServiceSCP,
    TestingOptions,
)
from dicomtw.tls import peer_subject

#: How much to read from the socket at once: a few PDUs of the largest
#: size, so a busy association costs few system calls (Twisted reads 64
#: KiB by default).
READ_SIZE = 256 * 1024

#: After asking the transport to close, wait this long for the peer to
#: read what we sent before dropping the connection.
CLOSE_GRACE = 5.0

_wire = Logger(namespace=WIRE, observer=GATE)


@dataclass(frozen=True)
class ServerSettings:
    """
    Everything an association needs to know, in one explicit object.

    :ivar acse_timeout: ARTIM, seconds (``-ta``).
    :ivar socket_timeout: the longest wait for the next whole PDU while
        the peer owes us one, seconds, or ``None`` (``-ts``).
    :ivar dimse_timeout: the longest wait for the next data-set fragment,
        seconds, or ``None`` (``-td``).
    """

    policy: Policy
    handler: IStoreHandler
    acse_timeout: float = 30.0
    socket_timeout: float | None = 60.0
    dimse_timeout: float | None = None
    max_associations: int = 64
    verbose_pc: bool = False
    access: HostRules | None = None
    calling_allow: CallingAllowList = field(default_factory=CallingAllowList)
    testing: TestingOptions = field(default_factory=TestingOptions)
    on_reception: ReceptionCommand | None = None


@dataclass(frozen=True)
class HostRules:
    """
    ``+ac``: where the hosts_access(5) files are, and whether to resolve
    peers' host names (not with ``-dhl``).
    """

    allow_path: str = "/etc/hosts.allow"
    deny_path: str = "/etc/hosts.deny"
    look_up: bool = True


class _Timer:
    """
    One restartable ``callLater``.
    """

    def __init__(self, reactor: IReactorTime, fire: Callable[[], None]) -> None:
        self._reactor = reactor
        self._fire = fire
        self._call: IDelayedCall | None = None

    def start(self, seconds: float | None) -> None:
        self.stop()
        if seconds:
            self._call = self._reactor.callLater(seconds, self._expired)

    def stop(self) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None

    @property
    def running(self) -> bool:
        return self._call is not None and self._call.active()

    def _expired(self) -> None:
        self._call = None
        self._fire()


@implementer(IHandshakeListener)
class DICOMServerProtocol(protocol.Protocol):
    """
    The acceptor side of one DICOM association.

    Over TLS, as in the reference, the handshake is bounded by the socket
    timeout (``-ts``) and ARTIM (``-ta``) starts only once it is complete.
    """

    log = Logger(observer=GATE)

    def __init__(self, factory: StorageServerFactory) -> None:
        self.factory = factory
        self.settings = factory.settings
        self.reactor = factory.reactor
        self.machine = Machine()
        self.framer = Framer(self.settings.policy.max_pdu)
        self.assembler = MessageAssembler()
        self.service: ServiceSCP | None = None
        self.outcome: Outcome | None = None
        self.assoc_id = ""
        self.peer = ""
        self.calling_ae = ""
        self.called_ae = ""
        self.peer_certificate: str | None = None
        self._pdvs: deque[PDV] = deque()
        self._waiting: Deferred[Any] | None = None
        self._paused = False
        self._closed = False
        self._over_limit = False
        self._artim = _Timer(self.reactor, self._artim_expired)
        self._idle = _Timer(self.reactor, self._idle_expired)
        self._dimse = _Timer(self.reactor, self._dimse_expired)
        self._hard_close: IDelayedCall | None = None
        self._handshaking = False
        self._artim_waiting = False
        # Building a log event per PDU is not free: ask the gate once.
        self._trace = enabled(WIRE, LogLevel.debug)
        self._debug = enabled(__name__, LogLevel.debug)

    @property
    def _link(self) -> Any:
        """
        The transport: a TCP transport, or a test double of one.  Typed
        loosely because ``Protocol.transport`` is declared as a bare
        ``ITransport``, which has no producer methods.
        """
        return self.transport

    # -- logging helpers -------------------------------------------------

    def _fields(self) -> dict[str, Any]:
        fields = dict(
            assoc=self.assoc_id,
            peer=self.peer,
            calling_ae=self.calling_ae,
            called_ae=self.called_ae,
        )
        if self.peer_certificate is not None:
            fields["peer_certificate"] = self.peer_certificate
        return fields

    # -- Twisted's side --------------------------------------------------

    def connectionMade(self) -> None:
        """
        Count the association, set up the transport and start ARTIM.
        """
        self.assoc_id = self.factory.next_id()
        address = self._link.getPeer()
        host = getattr(address, "host", None)
        port = getattr(address, "port", None)
        self.peer = f"{host}:{port}" if host is not None else str(address)
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            try:
                set_no_delay(True)
            except OSError:
                pass
        if hasattr(self.transport, "bufferSize"):
            self._link.bufferSize = READ_SIZE
        self.factory.active.add(self)
        self.factory.connections.add(self)
        self._over_limit = (
            len(self.factory.active) > self.settings.max_associations
            or self.factory.draining
        )
        self.log.debug("Association Received: {peer}", **self._fields())
        self._handshaking = ISSLTransport.providedBy(self.transport)
        self._run(self.machine.connection_made())
        self._idle.start(self.settings.socket_timeout)
        if self.settings.access is not None and host is not None:
            self._check_host(self.settings.access, str(host))

    def _check_host(self, rules: HostRules, address: str) -> None:
        """
        Apply the host access rules before reading any PDU; a denied peer
        is disconnected at once.
        """
        d = deferToThreadPool(
            self.reactor,
            self.reactor.getThreadPool(),
            check_host,
            rules.allow_path,
            rules.deny_path,
            address,
            rules.look_up,
        )

        def decided(result: tuple[bool, str | None]) -> None:
            granted, name = result
            if not granted:
                self.log.error(
                    "Receiving Association failed: TCP wrapper: denied connection"
                    " from {host} ({address})",
                    host=name or "unknown",
                    address=address,
                    **self._fields(),
                )
                self.factory.leave(self)
                self._drop()

        d.addCallback(decided)
        self._wait(d)

    def dataReceived(self, data: bytes) -> None:
        """
        Frame and process what arrived; never lets an exception out.
        """
        if self._closed:
            return
        if self._trace:
            _wire.debug("received {data!r}", data=data, assoc=self.assoc_id)
        self.framer.feed(data)
        if self._waiting is None:
            self._pump()
        elif not self._paused and self.framer.buffered > READ_SIZE:
            # We are not reading PDUs; stop the peer from filling memory.
            self._paused = True
            self._link.pauseProducing()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        """
        Drop a half-received object, stop every timer, leave the count.
        """
        self._closed = True
        for timer in (self._artim, self._idle, self._dimse):
            timer.stop()
        if self._hard_close is not None and self._hard_close.active():
            self._hard_close.cancel()
        self.factory.leave(self)
        self.factory.connections.discard(self)
        self.factory.connection_ended(self)
        self.factory.check_drained()
        if self.service is not None:
            self.service.abandon()
        tls_error = reason.check(SSL.Error) if reason is not None else None
        if tls_error is not None and self.machine.state is State.STA2:
            self.log.error(
                "Receiving Association failed: TLS error: {error}",
                error=reason.getErrorMessage(),
                **self._fields(),
            )
        elif self.machine.state not in (State.STA1, State.STA13):
            self.log.info("Association Aborted (connection closed)", **self._fields())
        try:
            self.machine.connection_lost()
        except Exception:
            self.log.failure("Bug while closing", **self._fields())

    # -- processing ------------------------------------------------------

    def _pump(self) -> None:
        try:
            self._process()
        except Exception:
            self.log.failure("Bug while processing received data", **self._fields())
            self._drop()

    def _process(self) -> None:
        while not self._closed and self._waiting is None:
            if self._pdvs:
                self._handle_pdv(self._pdvs.popleft())
                continue
            try:
                pdu = self.framer.next_pdu()
            except ProtocolError as error:
                self.log.warn(
                    "Protocol violation by peer: {detail}",
                    detail=error.detail,
                    **self._fields(),
                )
                self._run(self.machine.invalid_pdu(error))
                return
            if pdu is None:
                return
            if not self.framer.partial:
                self._idle.start(self.settings.socket_timeout)
            self._run(self.machine.receive(pdu))

    def _run(self, effects: list[Effect]) -> None:
        transition = self.machine.last_transition
        if self._debug and transition is not None:
            self.log.debug(
                "{transition}", transition=describe(*transition), **self._fields()
            )
        aborted = False
        for effect in effects:
            if isinstance(effect, SendPDU):
                self._send(effect.pdu.encode())
                aborted = aborted or isinstance(effect.pdu, AAbort)
            elif isinstance(effect, Indication):
                self._indication(effect)
            elif isinstance(effect, StartTimer):
                if self._handshaking:
                    self._artim_waiting = True
                else:
                    self._artim.start(self.settings.acse_timeout)
            elif isinstance(effect, StopTimer):
                self._artim_waiting = False
                self._artim.stop()
            elif isinstance(effect, CloseTransport):
                self._close()
        if self.machine.state is State.STA13:
            # The association is over: it no longer counts against the
            # limit while we wait for the peer to close.
            self.factory.leave(self)
            if aborted:
                # After an A-ABORT nothing more is owed either way; close
                # once it is written rather than hold the connection
                # until ARTIM expires.
                self._close()

    def _send(self, data: bytes) -> None:
        if self._closed:
            return
        if self._trace:
            _wire.debug("sending {data!r}", data=data, assoc=self.assoc_id)
        self._link.write(data)

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for timer in (self._artim, self._idle, self._dimse):
            timer.stop()
        self._link.loseConnection()
        self._hard_close = self.reactor.callLater(CLOSE_GRACE, self._drop)

    def _drop(self) -> None:
        self._closed = True
        abort = getattr(self.transport, "abortConnection", None)
        if abort is not None:
            abort()
        else:
            self._link.loseConnection()

    def _abort(self, source: int = AbortSource.SERVICE_USER, reason: int = 0) -> None:
        if self.service is not None:
            self.service.abandon()
        self._pdvs.clear()
        try:
            effects = self.machine.abort(source, reason)
        except Exception:
            self._close()
            return
        self._run(effects)

    def abort_now(self) -> None:
        """
        Abort the association at once (shutdown after the grace period).
        """
        self.log.warn("Association Aborted (shutting down)", **self._fields())
        if self.machine.allowed(Event.EVT15):
            # Sends the A-ABORT and closes once it is written.
            self._abort(AbortSource.SERVICE_PROVIDER, AbortReason.NOT_SPECIFIED)
        else:
            if self.service is not None:
                self.service.abandon()
            self._close()
        self.factory.leave(self)

    # -- indications -----------------------------------------------------

    def _indication(self, indication: Indication) -> None:
        primitive = indication.primitive
        if primitive == Primitive.A_ASSOCIATE_INDICATION:
            assert isinstance(indication.pdu, AAssociateRQ)
            self._associate(indication.pdu)
        elif primitive == Primitive.P_DATA:
            assert isinstance(indication.pdu, PDataTF)
            self._pdvs.extend(indication.pdu.pdvs)
        elif primitive == Primitive.A_RELEASE_INDICATION:
            self.log.info("Association Release", **self._fields())
            if self.service is not None:
                self.service.abandon()
            self._run(self.machine.release_response())
        elif primitive in (Primitive.A_ABORT, Primitive.A_P_ABORT):
            if self.service is not None:
                self.service.abandon()
            self._pdvs.clear()
            self.log.info("Association Aborted", **self._fields())

    def _associate(self, rq: AAssociateRQ) -> None:
        self.calling_ae = rq.calling_ae
        self.called_ae = rq.called_ae
        self.peer_certificate = peer_subject(self.transport)
        if self.peer_certificate is not None:
            self.log.info("Peer certificate: {peer_certificate}", **self._fields())
        dump_level = "info" if self.settings.verbose_pc else "debug"
        if self.factory.child_process:
            self.log.info(
                "Association Received in child process (pid: {pid})",
                pid=os.getpid(),
                **self._fields(),
            )
        else:
            self.log.info("Association Received", **self._fields())
        self.log.emit(
            _level(dump_level),
            "Parameters:\n{dump}",
            dump=describe_rq(rq),
            **self._fields(),
        )
        outcome = self._decide(rq)
        self.outcome = outcome
        if not outcome.accepted:
            self.log.info("{reason}", reason=outcome.reason, **self._fields())
            assert isinstance(outcome.response, AAssociateRJ)
            self._run(self.machine.reject(outcome.response))
            return
        for warning in outcome.warnings:
            self.log.warn("{warning}", warning=warning, **self._fields())
        self.service = ServiceSCP(
            self.settings.handler,
            AssociationInfo(
                self.assoc_id,
                self.peer,
                self.calling_ae,
                self.called_ae,
                self.peer_certificate,
            ),
            outcome.contexts,
            self._respond,
            self.reactor,
            self.settings.testing,
            self.settings.on_reception,
        )
        self._run(self.machine.accept(outcome.response))  # type: ignore[arg-type]
        assert outcome.peer_max_pdu is not None
        self.log.info(
            "Association Acknowledged (Max Send PDV: {max_pdv})",
            max_pdv=outcome.peer_max_pdu - 12,
            **self._fields(),
        )
        if not outcome.contexts:
            self.log.info("    (but no valid presentation contexts)", **self._fields())
        self.log.emit(
            _level(dump_level),
            "{dump}",
            dump=describe_ac(outcome.response, rq),  # type: ignore[arg-type]
            **self._fields(),
        )

    def _decide(self, rq: AAssociateRQ) -> Outcome:
        if self._over_limit:
            return congested(rq)
        address = self.peer.rpartition(":")[0].strip("[]")
        if not self.settings.calling_allow.admits(rq.calling_ae, address):
            return _blank(
                RejectResult.CALLING_AE_NOT_RECOGNIZED,
                "calling",
                "Association Rejected: calling AE title {title!r} from {address}"
                " is not on the allow-list".format(
                    title=rq.calling_ae, address=address
                ),
            )
        if not rq.calling_ae.strip():
            return _blank(RejectResult.CALLING_AE_NOT_RECOGNIZED, "calling")
        if not rq.called_ae.strip():
            return _blank(RejectResult.CALLED_AE_NOT_RECOGNIZED, "called")
        if not rq.presentation_contexts:
            return Outcome(
                AAssociateRJ(
                    RejectResult.PERMANENT,
                    RejectResult.SOURCE_SERVICE_USER,
                    RejectResult.NO_REASON,
                ),
                "Association Rejected: No presentation context proposed",
            )
        return negotiate(rq, self.settings.policy)

    # -- DIMSE -----------------------------------------------------------

    def _handle_pdv(self, pdv: PDV) -> None:
        assert self.service is not None
        try:
            event = self.assembler.feed(pdv)
            if event is None:
                return
            if isinstance(event, CommandReceived):
                if self._debug:
                    self.log.debug(
                        "Received command on context {context_id}:\n{dump}",
                        context_id=event.context_id,
                        dump=event.command.dump(),
                        **self._fields(),
                    )
                waiting = self.service.command(event)
            else:
                waiting = self.service.data(event)
        except ProtocolError as error:
            self.log.error(
                "DIMSE failure (aborting association): {detail}",
                detail=error.detail,
                **self._fields(),
            )
            self._abort(error.source, error.reason)
            return
        except AbortRequested:
            self.log.info(
                "ABORT initiated (due to command line options)", **self._fields()
            )
            self._abort()
            return
        if self.assembler.expecting_data:
            self._dimse.start(self.settings.dimse_timeout)
        else:
            self._dimse.stop()
        if waiting is not None:
            self._wait(waiting)

    def _wait(self, waiting: Deferred[Any]) -> None:
        """
        Stop processing PDUs until ``waiting`` fires: the sink is behind or
        a response is pending.  The peer owes us nothing meanwhile, so the
        socket timeout does not run.

        The transport is paused only once more than :data:`READ_SIZE`
        bytes wait in the framer: a peer waiting for its response sends
        nothing, and pausing and resuming costs two system calls per
        object.
        """
        self._waiting = waiting
        self._idle.stop()
        self._dimse.stop()
        if self.framer.buffered > READ_SIZE:
            self._paused = True
            self._link.pauseProducing()
        waiting.addErrback(self._wait_failed)
        waiting.addBoth(self._resume)

    def _wait_failed(self, failure: Failure) -> None:
        self.log.failure("Bug in the store pipeline", failure, **self._fields())
        self._abort()

    def _resume(self, _: object) -> None:
        self._waiting = None
        if self._closed:
            return
        if self._paused:
            self._paused = False
            self._link.resumeProducing()
        self._idle.start(self.settings.socket_timeout)
        if self.assembler.expecting_data:
            self._dimse.start(self.settings.dimse_timeout)
        self._pump()

    def _respond(self, context_id: int, command: bytes) -> None:
        if self._closed or self.outcome is None:
            return
        limit = self.outcome.peer_max_pdu or 16384
        for encoded in fragment(context_id, command, limit, command=True):
            # The machine checks the state; the bytes are already encoded,
            # so a stand-in with the same encode() is given, not a PDataTF.
            pdata = _Encoded(encoded)
            effects = self.machine.send_data(pdata)  # type: ignore[arg-type]
            self._run(effects)

    # -- timers ----------------------------------------------------------

    def _artim_expired(self) -> None:
        self.log.warn("ARTIM timer expired", **self._fields())
        self._run_safely(self.machine.timer_expired)

    def handshakeCompleted(self) -> None:
        """
        The TLS handshake is over: the wait for the A-ASSOCIATE-RQ begins.
        """
        self._handshaking = False
        self.log.debug("Transport connection: TLS over TCP/IP", **self._fields())
        if self._artim_waiting and not self._closed:
            self._artim_waiting = False
            self._artim.start(self.settings.acse_timeout)

    def _idle_expired(self) -> None:
        if self._handshaking:
            self.log.error(
                "Receiving Association failed: TLS handshake not complete "
                "after {seconds} s (socket timeout)",
                seconds=self.settings.socket_timeout,
                **self._fields(),
            )
            self._close()
            return
        self.log.warn(
            "No PDU from peer for {seconds} s (socket timeout): Association Aborted",
            seconds=self.settings.socket_timeout,
            **self._fields(),
        )
        self._timeout_abort()

    def _dimse_expired(self) -> None:
        self.log.error(
            "Store SCP Failed: DIMSE No data available (timeout after {seconds} s)",
            seconds=self.settings.dimse_timeout,
            **self._fields(),
        )
        self._timeout_abort()

    def _timeout_abort(self) -> None:
        if self.machine.state in (State.STA1, State.STA13):
            self._close()
            return
        self._abort(AbortSource.SERVICE_PROVIDER, AbortReason.NOT_SPECIFIED)
        self._close()

    def _run_safely(self, step: Callable[[], list[Effect]]) -> None:
        try:
            self._run(step())
        except Exception:
            self.log.failure("Bug in a timer", **self._fields())
            self._drop()


@dataclass(frozen=True)
class _Encoded:
    """
    A P-DATA-TF that is already encoded (responses are built as bytes).
    """

    data: bytes

    def encode(self) -> bytes:
        return self.data


def _blank(reason: int, which: str, text: str = "") -> Outcome:
    return Outcome(
        AAssociateRJ(RejectResult.PERMANENT, RejectResult.SOURCE_SERVICE_USER, reason),
        text or f"Association Rejected: the {which} AE title is blank",
    )


def _level(name: str) -> LogLevel:
    level: LogLevel = LogLevel.levelWithName(name)
    return level


class StorageServerFactory(protocol.Factory):
    """
    Builds a :class:`DICOMServerProtocol` for every connection and counts
    the live ones against :attr:`ServerSettings.max_associations`.
    """

    log = Logger(observer=GATE)

    #: Twisted's "Starting factory" messages say nothing useful here.
    noisy = False

    def __init__(self, settings: ServerSettings, reactor: Any) -> None:
        self.settings = settings
        self.reactor = reactor
        self.active: set[DICOMServerProtocol] = set()
        self.connections: set[DICOMServerProtocol] = set()
        #: Set in a ``--fork`` child, for the reference's log line.
        self.child_process = False
        self.draining = False
        self._drained: Deferred[None] | None = None
        self._drain_timer: IDelayedCall | None = None
        self._ids = itertools.count(1)

    def connection_ended(self, connection: DICOMServerProtocol) -> None:
        """
        Called when a connection is gone; a hook for process models.
        """

    def leave(self, connection: DICOMServerProtocol) -> None:
        """
        ``connection``'s association is over: it no longer counts.
        """
        self.active.discard(connection)

    def check_drained(self) -> None:
        """
        Finish draining once every connection is closed: a released
        association's A-RELEASE-RP must reach the peer before the reactor
        drops what is left.
        """
        if self._drained is not None and not self.connections:
            if self._drain_timer is not None and self._drain_timer.active():
                self._drain_timer.cancel()
            drained, self._drained = self._drained, None
            drained.callback(None)

    def drain(self, grace: float) -> Deferred[None]:
        """
        Shut down gently: new associations are refused (A-ASSOCIATE-RJ,
        transient), those in progress may finish for ``grace`` seconds,
        then they are aborted.  Objects not yet acknowledged are dropped
        with their spool files, so nothing half-written stays behind.

        :returns: a Deferred that fires when no association is left.
        """
        self.draining = True
        if not self.connections:
            return succeed(None)
        self.log.info(
            "Draining: waiting up to {grace} s for {count} association(s)",
            grace=grace,
            count=len(self.connections),
        )
        self._drained = Deferred()
        drained = self._drained
        self._drain_timer = self.reactor.callLater(grace, self._abort_all)
        return drained

    def _abort_all(self) -> None:
        self._drain_timer = None
        for connection in list(self.connections):
            connection.abort_now()
        self._drain_timer = self.reactor.callLater(CLOSE_GRACE, self._drop_all)

    def _drop_all(self) -> None:
        self._drain_timer = None
        for connection in list(self.connections):
            connection._drop()

    def next_id(self) -> str:
        """
        :returns: a short, unique association id for logs.
        """
        return str(next(self._ids))

    def buildProtocol(self, addr: Any) -> DICOMServerProtocol:
        """
        :returns: a protocol for one connection.
        """
        return DICOMServerProtocol(self)
