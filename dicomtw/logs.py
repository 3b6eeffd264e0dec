"""
Logging set-up: storescp's ``-q -v -d -ll`` levels on ``twisted.logger``,
and a stderr observer that prints DCMTK's ``X: message`` lines.

Every dicomtw logger sends its events through :data:`GATE`, a filtering
observer in front of the global log publisher, so the level chosen on the
command line applies whatever observer ``twistd`` or an embedding
application has installed.  Library code never changes the gate; the front
ends (``dicomtw.tap``, ``dicomtw.cli``) do, with :func:`set_level`.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    formatEvent,
    globalLogPublisher,
)
from zope.interface import implementer

#: DCMTK's level names and the ``twisted.logger`` level each maps to.
LEVELS: dict[str, LogLevel] = {
    # twisted.logger has nothing above critical; "off" keeps only bugs.
    "off": LogLevel.critical,
    "fatal": LogLevel.critical,
    "error": LogLevel.error,
    "warn": LogLevel.warn,
    "info": LogLevel.info,
    "debug": LogLevel.debug,
    "trace": LogLevel.debug,
}

#: The namespace of byte-level logging, shown only at ``-ll trace``.
WIRE = "dicomtw.wire"

PREDICATE = LogLevelFilterPredicate(defaultLogLevel=LogLevel.info)
PREDICATE.setLogLevelForNamespace(WIRE, LogLevel.info)


@implementer(ILogObserver)
class _Forward:
    """
    Hands events on to whatever the global publisher has now.
    """

    def __call__(self, event: dict[str, Any]) -> None:
        globalLogPublisher(event)


GATE = FilteringLogObserver(_Forward(), [PREDICATE])


def set_level(name: str) -> None:
    """
    Apply one of storescp's level names to every dicomtw logger.

    :param name: ``fatal``, ``error``, ``warn``, ``info``, ``debug`` or
        ``trace``.
    """
    level = LEVELS[name]
    PREDICATE.setLogLevelForNamespace("dicomtw", level)
    PREDICATE.setLogLevelForNamespace(
        WIRE, LogLevel.debug if name == "trace" else max(level, LogLevel.info)
    )


def enabled(namespace: str, level: LogLevel) -> bool:
    """
    Whether an event of ``level`` in ``namespace`` would pass the gate;
    hot paths ask before building an event.
    """
    threshold: LogLevel = PREDICATE.logLevelForNamespace(namespace)
    return bool(level >= threshold)


_LETTERS = {
    LogLevel.debug: "D",
    LogLevel.info: "I",
    LogLevel.warn: "W",
    LogLevel.error: "E",
    LogLevel.critical: "F",
}


@implementer(ILogObserver)
class DCMTKStyleObserver:
    """
    Writes events as storescp does: every line prefixed with the level
    letter, a colon and a space; no time stamps.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream

    def __call__(self, event: dict[str, Any]) -> None:
        stream = self.stream or sys.stderr
        level = event.get("log_level", LogLevel.info)
        letter = "T" if event.get("log_namespace") == WIRE else _LETTERS[level]
        text = formatEvent(event)
        failure = event.get("log_failure")
        if failure is not None:
            text = f"{text}\n{failure.getTraceback()}".rstrip("\n")
        lines = text.split("\n") or [""]
        try:
            stream.write("".join(f"{letter}: {line}\n" for line in lines))
            stream.flush()
        except (OSError, ValueError):
            pass


def stderr_observer(level_name: str) -> ILogObserver:
    """
    The drop-in command's observer: DCMTK-style lines on stderr.  Events
    from dicomtw already passed the gate; Twisted's own chatter ("Starting
    factory ...") is shown only from ``-d`` on, and its warnings always.
    """
    level = LEVELS[level_name]
    others = LogLevelFilterPredicate(
        defaultLogLevel=level if level == LogLevel.debug else max(level, LogLevel.warn)
    )
    others.setLogLevelForNamespace("dicomtw", LogLevel.debug)
    return FilteringLogObserver(DCMTKStyleObserver(), [others])
