"""
Commands run on events: ``-xcr``/``--exec-on-reception``.

A command is a ``/bin/sh`` template. Placeholders are replaced in the
reference's order (``#p``, ``#f``, ``#a``, ``#c``, ``#r``), each pass over
the whole string. Values the peer chooses are made inert: the AE titles
and the address go inside double quotes with ``\\``, ``"``, ``$`` and the
backquote escaped, and the directory and file name only hold text that
has passed the UID and name filters of :mod:`dicomtw.naming`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from twisted.internet import protocol
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from dicomtw.logs import GATE

#: The environment variable that carries the subject of the peer's TLS
#: certificate to a command (absent without one).
PEER_CERTIFICATE_VARIABLE = "DICOMTW_PEER_CERTIFICATE"


def quoted(value: str) -> str:
    """
    ``value`` in double quotes, safe from the shell's expansions.
    """
    for special in ("\\", '"', "$", "`"):
        value = value.replace(special, "\\" + special)
    return f'"{value}"'


def expand(
    template: str,
    directory: str | None,
    file_name: str | None,
    calling_ae: str,
    called_ae: str,
    address: str,
) -> str:
    """
    The command line for one event.

    :param directory: ``#p``; ``None`` leaves ``#p`` as it is.
    :param file_name: ``#f``; ``None`` leaves ``#f`` as it is.
    """
    command = template
    if directory is not None:
        command = command.replace("#p", directory)
    if file_name is not None:
        command = command.replace("#f", file_name)
    command = command.replace("#a", quoted(calling_ae))
    command = command.replace("#c", quoted(called_ae))
    return command.replace("#r", quoted(address))


class _Waiter(protocol.ProcessProtocol):
    def __init__(self) -> None:
        self.ended: Deferred[None] = Deferred()

    def processEnded(self, reason: Failure) -> None:
        self.ended.callback(None)


@dataclass
class ReceptionCommand:
    """
    ``-xcr``: a command run after every C-STORE that was answered.

    :ivar template: the command template.
    :ivar wait: ``-xs``: the association waits for the command to end.
    :ivar ignore: ``--ignore``: ``#p`` and ``#f`` are not substituted.
    """

    template: str
    reactor: Any
    wait: bool = False
    ignore: bool = False
    log = Logger(observer=GATE)

    def __post_init__(self) -> None:
        # As in the reference, #p and #f name the last object recorded by
        # this process, stale after a failure and empty before the first.
        self._last: str | None = None

    def run(
        self,
        path: str | None,
        calling_ae: str,
        called_ae: str,
        address: str,
        peer_certificate: str | None = None,
    ) -> Deferred[None] | None:
        """
        Run the command for one answered C-STORE.

        :param path: the stored file, or ``None`` when nothing was stored.
        :returns: with ``-xs``, a Deferred that fires when it has ended.
        """
        if path is not None:
            self._last = path
        directory = file_name = ""
        if self._last is not None:
            directory, file_name = os.path.split(self._last)
        if self.ignore:
            directory = file_name = None  # type: ignore[assignment]
        command = expand(
            self.template, directory, file_name, calling_ae, called_ae, address
        )
        environment = dict(os.environ)
        if peer_certificate is not None:
            environment[PEER_CERTIFICATE_VARIABLE] = peer_certificate
        ended = spawn_shell(command, environment, self.reactor)
        return ended if self.wait else None


_log = Logger(observer=GATE)


def spawn_shell(
    command: str, environment: dict[str, str], reactor: Any
) -> Deferred[None] | None:
    """
    Run ``/bin/sh -c command`` in the background, with the server's
    standard streams.

    :returns: a Deferred that fires when it has ended, or ``None`` if it
        could not be started (which is logged).
    """
    waiter = _Waiter()
    if reactor is None:
        from twisted.internet import reactor
    try:
        reactor.spawnProcess(
            waiter,
            "/bin/sh",
            ["/bin/sh", "-c", command],
            env=environment,
            childFDs={0: 0, 1: 1, 2: 2},
        )
    except OSError as error:
        _log.error(
            "cannot execute command '{command}': {error}",
            command=command,
            error=error,
        )
        return None
    return waiter.ended
