"""
Process models beside the default single process: ``--inetd`` (one
association on a socket inherited as standard input) and ``--fork`` (the
parent accepts; a child process serves each connection in inetd mode).

The child of ``--fork`` is a fork of the parent that serves the accepted
socket with a reactor of its own, as inetd mode serves standard input, so
a crash or a leak stays inside one association.  The parent counts its children
against ``--max-associations``, answers peers beyond it itself with
A-ASSOCIATE-RJ (transient, local limit exceeded), reaps the children, and
removes the spool files of a child that did not end cleanly.
"""

from __future__ import annotations

import errno
import os
import socket
from typing import Any, Callable

from twisted.internet import protocol
from twisted.internet.epollreactor import EPollReactor
from twisted.internet.process import (
    registerReapProcessHandler,
    unregisterReapProcessHandler,
)
from twisted.logger import Logger
from twisted.python.failure import Failure

from dicomtw import logs
from dicomtw.protocol import ServerSettings, StorageServerFactory
from dicomtw.storage import remove_spool_files

#: The reference's listen backlog.
BACKLOG = 50

_log = Logger(namespace=__name__, observer=logs.GATE)


def take_standard_input(keep_stderr: bool) -> int:
    """
    Take over the connection on standard input: duplicate it, then open
    standard input and output (and standard error, unless kept) on the
    null device, so that nothing can write into the DICOM connection.

    :returns: the duplicated descriptor of the connection.
    """
    connection = os.dup(0)
    null = os.open(os.devnull, os.O_RDWR)
    for descriptor in (0, 1) if keep_stderr else (0, 1, 2):
        os.dup2(null, descriptor)
    os.close(null)
    return connection


class OneAssociationFactory(StorageServerFactory):
    """
    Serves one connection, then calls ``done``.
    """

    def __init__(
        self, settings: ServerSettings, reactor: Any, done: Callable[[], None]
    ) -> None:
        super().__init__(settings, reactor)
        self._done = done

    def connection_ended(self, connection: object) -> None:
        """
        The one connection is over (said once, whatever the layers above
        the transport report).
        """
        done, self._done = self._done, lambda: None
        done()


def adopt(reactor: Any, descriptor: int, factory: protocol.Factory) -> bool:
    """
    Hand a connected socket to ``factory``.  The descriptor is closed;
    the reactor keeps a duplicate.

    :returns: False when ``descriptor`` is not a connected stream socket.
    """
    try:
        probe = socket.socket(fileno=os.dup(descriptor))
    except OSError:
        os.close(descriptor)
        return False
    try:
        family = probe.family
        probe.getpeername()
        probe.setblocking(False)
    except OSError:
        return False
    finally:
        probe.close()
    try:
        reactor.adoptStreamConnection(descriptor, family, factory)
    except OSError:
        return False
    finally:
        os.close(descriptor)
    return True


def serve_inetd(
    settings: ServerSettings,
    reactor: Any,
    keep_stderr: bool,
    wrap: Callable[[Any], Any] = lambda factory: factory,
) -> None:
    """
    Serve one association on the socket that is standard input, then stop
    the reactor.  A standard input that is no socket ends the run quietly,
    as in the reference.
    """
    descriptor = take_standard_input(keep_stderr)
    factory = wrap(OneAssociationFactory(settings, reactor, reactor.stop))
    if not adopt(reactor, descriptor, factory):
        _log.error("standard input is not a connected socket")
        reactor.callWhenRunning(reactor.stop)


class _Child:
    """
    One forked child, registered with Twisted's reaping of processes.
    """

    def __init__(self, pid: int, ended: Callable[[_Child, int], None]) -> None:
        self.pid = pid
        self._ended = ended

    def reapProcess(self) -> None:
        """
        Collect the child's status if it has ended (Twisted calls this on
        SIGCHLD).
        """
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = self.pid, 0
        if pid:
            self.processEnded(status)

    def processEnded(self, status: int) -> None:
        """
        The child is gone; ``status`` is its wait status.
        """
        unregisterReapProcessHandler(self.pid, self)
        self._ended(self, status)


class ForkingListener:
    """
    The parent of ``--fork``: a listening socket whose connections are
    each served by a new child process.
    """

    log = Logger(observer=logs.GATE)

    def __init__(
        self,
        reactor: Any,
        port: int,
        make_settings: Callable[[Any], ServerSettings],
        output_directory: str,
        wrap: Callable[[Any], Any] = lambda factory: factory,
    ) -> None:
        self.reactor = reactor
        self.wrap = wrap
        self.make_settings = make_settings
        settings = make_settings(reactor)
        self.settings = settings
        self.output_directory = output_directory
        self.children: set[_Child] = set()
        self._refuser = StorageServerFactory(
            ServerSettings(
                policy=settings.policy,
                handler=settings.handler,
                acse_timeout=settings.acse_timeout,
                socket_timeout=settings.socket_timeout,
                max_associations=0,
            ),
            reactor,
        )
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("", port))
        self.socket.listen(BACKLOG)
        self.socket.setblocking(False)

    def start(self) -> None:
        """
        Start accepting.
        """
        self.reactor.addReader(self)

    def stop(self) -> None:
        """
        Stop accepting; running children finish their associations.
        """
        self.reactor.removeReader(self)
        self.socket.close()

    def fileno(self) -> int:
        """
        The listening socket, for the reactor.
        """
        return self.socket.fileno()

    def logPrefix(self) -> str:
        """
        For Twisted's logs.
        """
        return "dicomtw-fork"

    def connectionLost(self, reason: Failure) -> None:
        """
        The reactor dropped the listening socket.
        """

    def doRead(self) -> None:
        """
        Accept every waiting connection.
        """
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                    self.log.error("accept failed: {error}", error=error)
                return
            try:
                self._serve(connection)
            finally:
                connection.close()

    def _serve(self, connection: socket.socket) -> None:
        connection.setblocking(False)
        if len(self.children) >= self.settings.max_associations:
            adopt(self.reactor, os.dup(connection.fileno()), self.wrap(self._refuser))
            return
        pid = os.fork()
        if pid == 0:
            self._child(connection)
        child = _Child(pid, self._ended)
        self.children.add(child)
        registerReapProcessHandler(pid, child)

    def _child(self, connection: socket.socket) -> None:
        """
        In the child: serve the one connection with a reactor of its own
        (the parent's stays the parent's), then exit.  The parent has
        imported and configured everything already, so this costs a
        fork, not a new interpreter.
        """
        status = 1
        try:
            self.socket.close()
            reactor = EPollReactor()
            factory = OneAssociationFactory(
                self.make_settings(reactor), reactor, reactor.stop
            )
            factory.child_process = True
            if adopt(reactor, os.dup(connection.fileno()), self.wrap(factory)):
                connection.close()
                reactor.run()
            status = 0
        except BaseException:
            self.log.failure("Child process failed")
        finally:
            os._exit(status)

    def _ended(self, child: _Child, status: int) -> None:
        self.children.discard(child)
        if status != 0:
            removed = remove_spool_files(self.output_directory, child.pid)
            self.log.warn(
                "Child process {pid} ended abnormally (wait status {status});"
                " removed {count} spool file(s)",
                pid=child.pid,
                status=status,
                count=removed,
            )
