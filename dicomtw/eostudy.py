"""
End of study (``-rns``, ``-xcs``, ``-tos``; behaviour reference §9).

With a sort option the process has a current study (see
:class:`dicomtw.sorting.StudyTracker`).  It ends when an object of another
study is stored, or, with ``-tos``, after that many seconds without a new
association or command.  Then, in this order: with ``-rns`` the files
recorded for it are renamed to ``<P><nnnnnn>`` in its directory, and with
``-xcs`` a shell command runs with ``#p`` the study's directory.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

from dicomtw.commands import expand, spawn_shell
from dicomtw.logs import GATE

#: A ``-tn`` file name: the time stamp, an optional serial, a dot.
_TIME_NAME = re.compile(r"\d{17}(?:_\d{4})?\.")


@dataclass
class EndedStudy:
    """
    A study that has ended.

    :ivar directory: its directory, under the output directory.
    :ivar files: the paths recorded for it, in order of reception.
    """

    directory: str
    files: list[str] = field(default_factory=list)


def renamed(name: str, number: int) -> str:
    """
    The ``-rns`` name of the ``number``-th file of a study: the first two
    characters of its name (after the time stamp of a ``-tn`` name) and a
    6-digit counter; an extension is dropped with the rest.
    """
    match = _TIME_NAME.match(name)
    base = name[match.end() :] if match else name
    return f"{base[:2]}{number:06d}"


def rename_files(study: EndedStudy) -> list[str]:
    """
    Rename a study's files (blocking).  As in the reference, an existing
    file of the new name is replaced.

    :returns: a warning for each file that could not be renamed.
    """
    warnings = []
    for number, path in enumerate(study.files, 1):
        new = os.path.join(study.directory, renamed(os.path.basename(path), number))
        try:
            os.rename(path, new)
        except OSError:
            warnings.append(f"cannot rename file '{path}' to '{new}'")
    return warnings


class EndOfStudy:
    """
    Runs the end-of-study actions and the ``-tos`` timer.

    :ivar rename: ``-rns``.
    :ivar command: the ``-xcs`` template, or ``None``.
    :ivar timeout: ``-tos`` seconds, or ``None``.
    :ivar wait: ``-xs``: the association waits for the command.
    """

    log = Logger(observer=GATE)

    def __init__(
        self,
        reactor: Any,
        run_blocking: Callable[..., Deferred[Any]],
        close: Callable[[], EndedStudy | None],
        rename: bool = False,
        command: str | None = None,
        timeout: float | None = None,
        wait: bool = False,
    ) -> None:
        """
        :param run_blocking: runs blocking file work off the reactor.
        :param close: ends the current study, if any (the timeout).
        """
        self.reactor = reactor
        self.run_blocking = run_blocking
        self.close = close
        self.rename = rename
        self.command = command
        self.timeout = timeout
        self.wait = wait
        self._timer: Any = None
        self._last: tuple[str, str, str] = ("", "", "")

    def activity(self, calling_ae: str, called_ae: str, address: str) -> None:
        """
        A new association or command: restart the ``-tos`` timer, and
        remember whose it was (for ``#a``, ``#c``, ``#r`` at a timeout).
        """
        self._last = (calling_ae, called_ae, address)
        if self.timeout is None:
            return
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = self.reactor.callLater(self.timeout, self._timed_out)

    def stop(self) -> None:
        """
        Cancel the timer (the server is stopping; the reference never
        closes the last study then either).
        """
        if self._timer is not None and self._timer.active():
            self._timer.cancel()

    def _timed_out(self) -> None:
        self._timer = None
        study = self.close()
        if study is not None:
            self.ended(study, *self._last)

    def ended(
        self, study: EndedStudy, calling_ae: str, called_ae: str, address: str
    ) -> Deferred[None]:
        """
        Run the actions for a study that has ended.

        :returns: fires once the files are renamed and, with ``-xs``, the
            command has ended.
        """
        done: Deferred[Any] = (
            self.run_blocking(rename_files, study) if self.rename else succeed([])
        )

        def renamed_then_command(warnings: list[str]) -> Deferred[None] | None:
            for warning in warnings:
                self.log.warn("{warning}", warning=warning)
            if self.command is None:
                return None
            line = expand(
                self.command, study.directory, None, calling_ae, called_ae, address
            )
            running = spawn_shell(line, dict(os.environ), self.reactor)
            return running if self.wait else None

        def failed(failure: Any) -> None:
            self.log.failure("End of study failed for {directory}", failure,
                             directory=study.directory)  # fmt: skip

        done.addCallback(renamed_then_command)
        done.addErrback(failed)
        return done
