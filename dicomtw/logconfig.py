"""
``-lc FILE``: logging set up from a log4cplus property file, the format of
DCMTK's ``logger.cfg`` and ``filelog.cfg``.

Understood: ``log4cplus.rootLogger = LEVEL, appender, ...``; appenders
``ConsoleAppender`` (``logToStderr``), ``FileAppender`` (``File``,
``Append``), ``RollingFileAppender`` (``MaxFileSize``, ``MaxBackupIndex``),
``SysLogAppender`` (``ident``, ``facility``) and, beyond log4cplus,
``dicomtw::JSONAppender`` (``File``: one JSON object per line, for log
shippers); each with ``Threshold`` and a ``PatternLayout``
(``ConversionPattern``), ``SimpleLayout`` or ``TTCCLayout``.  Per-logger
levels (``log4cplus.logger.NAME``) apply to dicomtw's namespaces; DCMTK's
own logger names (``dcmtk.*``) have no counterpart and are ignored.
``${appname}`` is ``storescp``, as for the reference.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    formatEvent,
)
from twisted.python.logfile import LogFile
from zope.interface import implementer

APPNAME = "storescp"

_LEVELS = {
    "TRACE": LogLevel.debug,
    "DEBUG": LogLevel.debug,
    "INFO": LogLevel.info,
    "WARN": LogLevel.warn,
    "ERROR": LogLevel.error,
    "FATAL": LogLevel.critical,
    "OFF": None,
    "ALL": LogLevel.debug,
}
_NAMES = {
    LogLevel.debug: "DEBUG",
    LogLevel.info: "INFO",
    LogLevel.warn: "WARN",
    LogLevel.error: "ERROR",
    LogLevel.critical: "FATAL",
}
_PREFIX = "log4cplus."

#: log4cplus level names -> the level names of dicomtw.logs.
_GATE_NAMES = {
    "TRACE": "trace",
    "ALL": "trace",
    "DEBUG": "debug",
    "INFO": "info",
    "WARN": "warn",
    "ERROR": "error",
    "FATAL": "fatal",
    "OFF": "off",
}


class LogConfigError(Exception):
    """
    The file cannot be used; ``str()`` says why.
    """


def read_properties(text: str) -> dict[str, str]:
    """
    ``key = value`` lines; ``#`` comments; ``${appname}`` substituted.
    """
    properties = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        key, _, value = stripped.partition("=")
        properties[key.strip()] = value.strip().replace("${appname}", APPNAME)
    return properties


def _level(text: str) -> LogLevel | None:
    name = text.strip().upper()
    if name not in _LEVELS:
        raise LogConfigError(f"unknown log level {text!r}")
    level: LogLevel | None = _LEVELS[name]
    return level


# --- layouts ---------------------------------------------------------------


def _strftime(pattern: str, when: float, utc: bool) -> str:
    moment = time.gmtime(when) if utc else time.localtime(when)
    millis = f"{int(when * 1000) % 1000:03d}"
    return time.strftime(pattern.replace("%q", millis).replace("%Q", millis), moment)


_TOKEN = re.compile(r"%(-?)(\d*)(?:\.(\d+))?([a-zA-Z%])(?:\{([^}]*)\})?")


def pattern_layout(pattern: str) -> Callable[[dict[str, Any]], str]:
    """
    A log4cplus ``PatternLayout``: ``%d{fmt}``/``%D{fmt}`` (UTC/local time,
    ``%q`` milliseconds), ``%p`` level, ``%m`` message, ``%n`` newline,
    ``%c{n}`` logger name (last n parts), ``%t`` thread, ``%i`` process id,
    ``%%``; with widths (``%5p``, ``%-8c``).
    """

    def render(event: dict[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            left, width, _, kind, option = match.groups()
            when = event.get("log_time", time.time())
            if kind == "%":
                return "%"
            if kind == "n":
                return "\n"
            if kind in "dD":
                text = _strftime(option or "%Y-%m-%d %H:%M:%S", when, kind == "d")
            elif kind == "p":
                text = _NAMES.get(event.get("log_level", LogLevel.info), "INFO")
            elif kind == "m":
                text = _message(event)
            elif kind == "c":
                name = event.get("log_namespace", "")
                if option and option.isdigit():
                    name = ".".join(name.split(".")[-int(option) :])
                text = name
            elif kind == "t":
                text = threading.current_thread().name
            elif kind == "i":
                text = str(os.getpid())
            else:
                text = match.group(0)
            if width:
                text = text.ljust(int(width)) if left else text.rjust(int(width))
            return text

        return _TOKEN.sub(one, pattern)

    return render


def _message(event: dict[str, Any]) -> str:
    text = formatEvent(event)
    failure = event.get("log_failure")
    if failure is not None:
        text = f"{text}\n{failure.getTraceback()}".rstrip("\n")
    return text


def _layout(
    properties: Mapping[str, str], base: str
) -> Callable[[dict[str, Any]], str]:
    kind = properties.get(f"{base}.layout", "log4cplus::SimpleLayout")
    if kind.endswith("PatternLayout"):
        return pattern_layout(
            properties.get(f"{base}.layout.ConversionPattern", "%m%n")
        )
    if kind.endswith("TTCCLayout"):
        return pattern_layout("%D{%Y-%m-%d %H:%M:%S.%q} [%t] %p %c - %m%n")
    return pattern_layout("%p - %m%n")


# --- appenders ------------------------------------------------------------


@implementer(ILogObserver)
class _StreamAppender:
    """
    Writes rendered events to a stream, line by line.
    """

    def __init__(
        self,
        stream: IO[str] | Callable[[], IO[str]],
        layout: Callable[[dict[str, Any]], str],
    ) -> None:
        self._stream = stream
        self._layout = layout
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        stream = self._stream() if callable(self._stream) else self._stream
        text = self._layout(event)
        with self._lock:
            try:
                stream.write(text)
                stream.flush()
            except (OSError, ValueError):
                pass


@implementer(ILogObserver)
class _JSONAppender:
    """
    One JSON object per line: time, level, namespace, message and the
    event's structured fields.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        record = {
            "time": event.get("log_time"),
            "level": _NAMES.get(event.get("log_level", LogLevel.info), "INFO"),
            "namespace": event.get("log_namespace"),
            "message": _message(event),
        }
        for key, value in event.items():
            if not key.startswith("log_") and isinstance(
                value, (str, int, float, bool)
            ):
                record[key] = value
        with self._lock:
            try:
                self._stream.write(json.dumps(record, default=str) + "\n")
                self._stream.flush()
            except (OSError, ValueError):
                pass


@implementer(ILogObserver)
class _SysLogAppender:
    """
    Sends events to syslog with the matching priority.
    """

    def __init__(
        self, ident: str, facility: str, layout: Callable[[dict[str, Any]], str]
    ) -> None:
        import syslog

        self._syslog = syslog
        code = getattr(syslog, f"LOG_{facility.upper()}", syslog.LOG_USER)
        syslog.openlog(ident, syslog.LOG_PID, code)
        self._layout = layout
        self._priorities = {
            LogLevel.debug: syslog.LOG_DEBUG,
            LogLevel.info: syslog.LOG_INFO,
            LogLevel.warn: syslog.LOG_WARNING,
            LogLevel.error: syslog.LOG_ERR,
            LogLevel.critical: syslog.LOG_CRIT,
        }

    def __call__(self, event: dict[str, Any]) -> None:
        priority = self._priorities.get(event.get("log_level", LogLevel.info), 6)
        for line in self._layout(event).rstrip("\n").split("\n"):
            self._syslog.syslog(priority, line)


def _size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*(KB|MB|GB)?\s*", text.upper())
    if match is None:
        raise LogConfigError(f"bad MaxFileSize {text!r}")
    factor = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}.get(match.group(2) or "", 1)
    return int(match.group(1)) * factor


def _open_file(properties: Mapping[str, str], base: str) -> IO[str]:
    path = properties.get(f"{base}.File")
    if not path:
        raise LogConfigError(f"{base}.File is not set")
    append = properties.get(f"{base}.Append", "true").lower() != "false"
    try:
        return open(path, "a" if append else "w", encoding="utf-8")
    except OSError as error:
        raise LogConfigError(f"cannot open log file {path}: {error.strerror}") from None


def _appender(properties: Mapping[str, str], name: str) -> ILogObserver | None:
    """
    Build one appender; ``None`` when its threshold is ``OFF``.
    """
    base = f"{_PREFIX}appender.{name}"
    kind = properties.get(base)
    if kind is None:
        raise LogConfigError(f"appender {name!r} is not defined")
    layout = _layout(properties, base)
    if kind.endswith("ConsoleAppender"):
        to_stderr = properties.get(f"{base}.logToStderr", "false").lower() == "true"
        observer: ILogObserver = _StreamAppender(
            (lambda: sys.stderr) if to_stderr else (lambda: sys.stdout), layout
        )
    elif kind.endswith("RollingFileAppender"):
        path = properties.get(f"{base}.File")
        if not path:
            raise LogConfigError(f"{base}.File is not set")
        rolling = LogFile(
            os.path.basename(path),
            os.path.dirname(path) or ".",
            rotateLength=_size(properties.get(f"{base}.MaxFileSize", "10MB")),
            maxRotatedFiles=int(properties.get(f"{base}.MaxBackupIndex", "1")),
        )
        observer = _StreamAppender(rolling, layout)  # type: ignore[arg-type]
    elif kind.endswith("FileAppender"):
        observer = _StreamAppender(_open_file(properties, base), layout)
    elif kind.endswith("SysLogAppender"):
        observer = _SysLogAppender(
            properties.get(f"{base}.ident", APPNAME),
            properties.get(f"{base}.facility", "user"),
            layout,
        )
    elif kind.endswith("JSONAppender"):
        observer = _JSONAppender(_open_file(properties, base))
    else:
        raise LogConfigError(f"appender type {kind!r} is not supported")
    threshold = properties.get(f"{base}.Threshold")
    if threshold:
        level = _level(threshold)
        if level is None:
            return None
        observer = FilteringLogObserver(
            observer, [LogLevelFilterPredicate(defaultLogLevel=level)]
        )
    return observer


@dataclass(frozen=True)
class LogSetup:
    """
    What a configuration file asks for.

    :ivar level: the root logger's level name for :func:`dicomtw.logs.set_level`.
    :ivar namespaces: dicomtw namespaces with their own level.
    """

    level: str
    observers: tuple[ILogObserver, ...]
    namespaces: tuple[tuple[str, LogLevel], ...] = ()


def configure(text: str) -> LogSetup:
    """
    Build observers from a property file.

    :raises LogConfigError: for a file that cannot be used.
    """
    properties = read_properties(text)
    root = properties.get(f"{_PREFIX}rootLogger")
    if root is None:
        raise LogConfigError("does not set up log4cplus.rootLogger")
    parts = [part.strip() for part in root.split(",")]
    if parts[0] and parts[0].upper() not in _GATE_NAMES:
        raise LogConfigError(f"unknown log level {parts[0]!r}")
    built = (_appender(properties, name) for name in parts[1:] if name)
    observers = tuple(observer for observer in built if observer is not None)
    namespaces = []
    for key, value in properties.items():
        if key.startswith(f"{_PREFIX}logger.dicomtw"):
            namespace_level = _level(value)
            if namespace_level is not None:
                namespaces.append((key[len(f"{_PREFIX}logger.") :], namespace_level))
    name = _GATE_NAMES[parts[0].strip().upper() or "DEBUG"]
    return LogSetup(name, observers, tuple(namespaces))


_applied: LogSetup | None = None


def apply_file(path: str) -> LogSetup:
    """
    Set up logging from the file at ``path`` for the rest of this process:
    the dicomtw level gate and the observers, added to Twisted's global
    log publisher.  A second call does nothing (the drop-in command and the
    service maker both ask).

    :raises LogConfigError: for a file that cannot be read or used.
    """
    global _applied
    if _applied is not None:
        return _applied
    from twisted.logger import globalLogPublisher

    from dicomtw import logs

    try:
        with open(path, encoding="latin-1") as stream:
            setup = configure(stream.read())
    except OSError as error:
        raise LogConfigError(f"cannot read {path}: {error.strerror}") from None
    logs.set_level(setup.level)
    for namespace, level in setup.namespaces:
        logs.PREDICATE.setLogLevelForNamespace(namespace, level)
    for observer in setup.observers:
        globalLogPublisher.addObserver(observer)
    _applied = setup
    return setup
