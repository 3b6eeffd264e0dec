"""
The command line of DCMTK's ``storescp`` 3.6.7, reimplemented.

One table, :data:`OPTIONS`, lists every option with its short and long
spelling, its values, its mutually exclusive block and the checks it is
subject to.  It drives recognition, the ``--arguments`` expansion, the help
text and the evaluation.  :data:`EVALUATION_ORDER` lists the options in the
order the reference program evaluates them, which decides which error a
command line with several mistakes gets.

The grammar, as the reference has it (behaviour reference §1, §13.2):

- ``@file`` arguments are replaced by the words of the file first; a quote
  (``"`` or ``'``) runs to the next equal quote and always ends a word.
- An argument is an option if it has two or more characters, starts with
  ``-`` or ``+`` and its second character is not a digit.  An option takes
  its values verbatim from the following arguments.
- Within a block the rightmost option wins.  Evaluation walks a block's
  options in table order, each found only to the right of the one found
  before; each option found is checked, so with ``+B +u -u`` the ``+u`` is
  what the error names.  Outside blocks the last occurrence counts.
- A check between options of different blocks is made when the dependent
  option is evaluated, so its text names that option first.
- Integers are read as C's ``sscanf`` reads ``%li`` (signed) or ``%lu``
  (unsigned); trailing garbage is ignored.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from twisted.copyright import version as twisted_version
from twisted.python import usage

from dicomtw import __version__
from dicomtw.config import ON_DUPLICATE, ServerConfig

PROGRAM = "storescp"
_HELP_WIDTH = 79

# C's isspace() set, skipped by sscanf before a number.
_C_SPACE = " \t\n\v\f\r"
_LONG_MIN = -(2**63)
_LONG_MAX = 2**63 - 1
_ULONG_MAX = 2**64 - 1
_DECIMAL = "0123456789"
_OCTAL = "01234567"
_HEX = "0123456789abcdefABCDEF"


def _leading(text: str, allowed: str) -> str:
    """
    The longest prefix of ``text`` made of characters in ``allowed``.
    """
    end = 0
    while end < len(text) and text[end] in allowed:
        end += 1
    return text[:end]


def _sign(text: str) -> tuple[bool, str]:
    """
    Skip C white space and an optional sign.

    :returns: whether the sign was a minus, and the rest of ``text``.
    """
    rest = text.lstrip(_C_SPACE)
    if rest[:1] in ("+", "-"):
        return rest[0] == "-", rest[1:]
    return False, rest


def scan_signed(text: str) -> int | None:
    """
    Read an integer as glibc's ``sscanf(text, "%li")`` does: decimal, octal
    after a leading ``0``, hexadecimal after ``0x``; out-of-range values
    saturate at the limits of a 64-bit ``long``.

    :returns: the value, or ``None`` if ``sscanf`` would match nothing.
    """
    negative, rest = _sign(text)
    if rest[:2] in ("0x", "0X"):
        magnitude = int(_leading(rest[2:], _HEX) or "0", 16)
    elif rest[:1] == "0":
        magnitude = int(_leading(rest, _OCTAL), 8)
    else:
        digits = _leading(rest, _DECIMAL)
        if not digits:
            return None
        magnitude = int(digits)
    value = -magnitude if negative else magnitude
    return max(_LONG_MIN, min(_LONG_MAX, value))


def scan_unsigned(text: str) -> int | None:
    """
    Read an integer as glibc's ``sscanf(text, "%lu")`` does: decimal only; a
    minus sign negates modulo 2**64; too large values give ``ULONG_MAX``.

    :returns: the value, or ``None`` if ``sscanf`` would match nothing.
    """
    negative, rest = _sign(text)
    digits = _leading(rest, _DECIMAL)
    if not digits:
        return None
    magnitude = int(digits)
    if magnitude > _ULONG_MAX:
        return _ULONG_MAX
    return (-magnitude) % 2**64 if negative else magnitude


def split_command_file(text: str) -> list[str]:
    """
    The arguments an ``@file`` stands for (behaviour reference §1.2).

    Space, tab, newline and carriage return separate words.  A ``"`` or
    ``'`` opens a quoted part that runs to the next equal quote; the closing
    quote ends the word (even an empty one).  There are no escapes.
    """
    words: list[str] = []
    value = ""
    quote = ""
    for char in text:
        if char in "\"'":
            if char == quote:
                words.append(value)
                value, quote = "", ""
            elif quote:
                value += char
            else:
                quote = char
        elif char in " \t\n\r" and not quote:
            if value:
                words.append(value)
            value = ""
        else:
            value += char
    if value:
        words.append(value)
    return words


class CommandLineError(usage.UsageError):
    """
    A bad command line; ``str()`` is the reference program's message.

    :ivar silent: the reference would print nothing: the error came after
        ``-q`` (or ``-ll fatal``/``off``) took effect, or after ``--inetd``
        closed standard error.
    :ivar arguments: the expanded arguments to log first, when
        ``--arguments`` had taken effect before the error; else ``None``.
    """

    def __init__(
        self,
        message: str,
        silent: bool = False,
        arguments: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(message)
        self.silent = silent
        self.arguments = arguments


class _Exit(Exception):
    """
    Help or version text was asked for: print it and exit with status 0.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class _BadValue(Exception):
    """
    An option value was rejected; carries the message.
    """


def _value_message(option: str, raw: str, problem: str = "") -> str:
    """
    The reference's text for a rejected option value; an empty value is not
    shown.
    """
    if not raw:
        return f"Invalid value for option {option}"
    detail = f"{problem}: {raw}" if problem else raw
    return f"Invalid value for option {option} ({detail})"


@dataclass(frozen=True)
class Text:
    """
    A string value; anything is accepted, the empty string included.
    """

    def convert(self, option: str, raw: str) -> object:
        """
        :returns: ``raw`` unchanged.
        """
        return raw


@dataclass(frozen=True)
class Endpoint:
    """
    A Twisted server endpoint description (``--listen``); must not be empty.
    """

    def convert(self, option: str, raw: str) -> object:
        """
        :raises _BadValue: for the empty string.
        """
        if not raw:
            raise _BadValue(_value_message(option, raw))
        return raw


@dataclass(frozen=True)
class Integer:
    """
    An integer value read like C's ``sscanf``; unsigned values also refuse a
    minus sign after leading spaces, as DCMTK does.

    :ivar signed: read as ``%li`` rather than ``%lu``.
    :ivar low: the smallest value allowed, if any.
    :ivar high: the largest value allowed, if any.
    """

    signed: bool
    low: int | None = None
    high: int | None = None

    def convert(self, option: str, raw: str) -> object:
        """
        :raises _BadValue: if unreadable or out of range.
        """
        if self.signed:
            value = scan_signed(raw)
        else:
            value = scan_unsigned(raw)
            if raw.lstrip(" ")[:1] == "-":
                value = None
        if value is None:
            raise _BadValue(_value_message(option, raw))
        if self.low is not None and value < self.low:
            raise _BadValue(_value_message(option, raw, "underflow"))
        if self.high is not None and value > self.high:
            raise _BadValue(_value_message(option, raw, "overflow"))
        return value


@dataclass(frozen=True)
class Choice:
    """
    One of a fixed set of words.
    """

    choices: tuple[str, ...]

    def convert(self, option: str, raw: str) -> object:
        """
        :raises _BadValue: for any other word.
        """
        if raw not in self.choices:
            raise _BadValue(_value_message(option, raw))
        return raw


# log4cplus level names, matched case-insensitively; ALL is TRACE there.
_LOG_LEVEL_NAMES = {
    "OFF": "off",
    "FATAL": "fatal",
    "ERROR": "error",
    "WARN": "warn",
    "INFO": "info",
    "DEBUG": "debug",
    "TRACE": "trace",
    "ALL": "trace",
}


@dataclass(frozen=True)
class LogLevelName:
    """
    A log4cplus level name (``-ll``), as a :data:`dicomtw.config.LOG_LEVELS`
    entry.
    """

    def convert(self, option: str, raw: str) -> object:
        """
        :raises _BadValue: for an unknown level name.
        """
        level = _LOG_LEVEL_NAMES.get(raw.upper())
        if level is None:
            raise _BadValue("Invalid log level for --log-level option")
        return level


def _read_properties(path: str) -> dict[str, str]:
    """
    The ``key=value`` lines of a log4cplus property file.
    """
    properties = {}
    with open(path, encoding="utf-8", errors="replace") as stream:
        for line in stream:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                properties[key.strip()] = value.strip()
    return properties


@dataclass(frozen=True)
class LogConfigFile:
    """
    A log4cplus property file (``-lc``), checked as the reference checks it.
    """

    def convert(self, option: str, raw: str) -> object:
        """
        :raises _BadValue: if missing, unreadable or without a root logger.
        """
        prefix = "Specified --log-config file"
        if not os.path.isfile(raw):
            raise _BadValue(f"{prefix} does not exist")
        try:
            properties = _read_properties(raw)
        except OSError:
            raise _BadValue(f"{prefix} cannot be read")
        if not properties:
            raise _BadValue(f"{prefix} does not contain any settings")
        if not any(key.startswith("log4cplus.") for key in properties):
            raise _BadValue(f"{prefix} does not contain any valid settings")
        if "log4cplus.rootLogger" not in properties:
            raise _BadValue(f"{prefix} does not set up log4cplus.rootLogger")
        return raw


Value = Text | Endpoint | Integer | Choice | LogLevelName | LogConfigFile


def _either(names: Sequence[str]) -> str:
    """
    ``a``, ``a or b``, ``a, b or c``: how the reference lists options.
    """
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} or {names[-1]}"


@dataclass(frozen=True)
class Conflict:
    """
    The option is not allowed while any of ``names`` is in effect.

    :ivar subject: the option the message names first, if not this one.
    :ivar label: what the message names second, if not ``names``.
    """

    names: tuple[str, ...]
    subject: str = ""
    label: str = ""

    def message(self, option: str, active: Callable[[str], bool]) -> str | None:
        """
        :returns: the error text if violated, else ``None``.
        """
        if not any(active(name) for name in self.names):
            return None
        other = self.label or _either(self.names)
        return f"{self.subject or option} not allowed with {other}"


@dataclass(frozen=True)
class Requires:
    """
    The option is allowed only while one of ``names`` is in effect.

    :ivar subject: the option the message names, if not this one.
    """

    names: tuple[str, ...]
    subject: str = ""

    def message(self, option: str, active: Callable[[str], bool]) -> str | None:
        """
        :returns: the error text if violated, else ``None``.
        """
        if any(active(name) for name in self.names):
            return None
        return f"{self.subject or option} only allowed with {_either(self.names)}"


Rule = Conflict | Requires


@dataclass(frozen=True)
class OptionSpec:
    """
    One option of the command line.

    :ivar long: the long spelling, also the option's name everywhere.
    :ivar short: the short spelling, or ``""``.
    :ivar section: the help heading and subheading it is listed under.
    :ivar help: its description (lines separated by newlines).
    :ivar values: the kinds of the values it takes, in order.
    :ivar meta: the description of its values in the help text.
    :ivar block: the mutually exclusive block it belongs to, if any.
    :ivar default: it is what its block means when none of it is given.
    :ivar field: the :class:`ServerConfig` field it sets to ``const``.
    :ivar const: see ``field``.
    :ivar value_field: the field(s) its values go to; a single field takes
        one value, or a tuple of several.
    :ivar rules: conflicts and dependencies, checked in order before the
        values are read.
    :ivar repeat: every occurrence counts (values accumulate), not the last.
    :ivar transform: applied to the value before it is stored.
    """

    long: str
    short: str
    section: tuple[str, str]
    help: str
    values: tuple[Value, ...] = ()
    meta: str = ""
    block: str = ""
    default: bool = False
    field: str = ""
    const: object = True
    value_field: str | tuple[str, ...] = ""
    rules: tuple[Rule, ...] = ()
    repeat: bool = False
    transform: Callable[[object], object] | None = None


def _normalize_directory(value: object) -> object:
    """
    Drop trailing path separators, keeping a lone one; empty means ``.``.
    """
    path = str(value)
    while len(path) > 1 and path.endswith(os.sep):
        path = path[:-1]
    return path or "."


_TEXT = Text()
_TLS = Requires(("--enable-tls",))
_BIT_PRESERVING = Conflict(("--bit-preserving",))
_SORTS = ("--sort-conc-studies", "--sort-on-study-uid", "--sort-on-patientname")
# Preferences whose transfer syntax is compressed and cannot be re-encoded
# without a codec, in the order the reference checks them.
_COMPRESSED = (
    "--prefer-lossless",
    "--prefer-jpeg8",
    "--prefer-jpeg12",
    "--prefer-j2k-lossless",
    "--prefer-j2k-lossy",
    "--prefer-jls-lossless",
    "--prefer-jls-lossy",
    "--prefer-mpeg2",
    "--prefer-mpeg2-high",
    "--prefer-mpeg4",
    "--prefer-mpeg4-bd",
    "--prefer-mpeg4-2-2d",
    "--prefer-mpeg4-2-3d",
    "--prefer-mpeg4-2-st",
    "--prefer-hevc",
    "--prefer-hevc10",
    "--prefer-rle",
)
_WRITE_XFER_RULES = (
    Conflict(("--accept-all",)),
    _BIT_PRESERVING,
    *(Conflict((name,)) for name in _COMPRESSED),
)
_PROFILE_RULES = tuple(
    Conflict((name,))
    for name in (
        "--prefer-little",
        "--prefer-big",
        *_COMPRESSED,
        "--prefer-deflated",
        "--implicit",
        "--accept-all",
        "--promiscuous",
    )
)
_VERBOSITY = ("--verbose", "--debug", "--quiet")
_END_OF_STUDY_RULES = (
    Conflict(("--fork",)),
    Conflict(("--inetd",)),
    Requires(_SORTS),
)
# The pseudo option "verbose mode" is in effect when info messages are shown.
_VERBOSE_MODE = "verbose mode"

_GENERAL = ("general options:", "")
_PROCESS = ("process model:", "")
_NET_PROFILE = ("network options:", "negotiation profile (file and profile name):")
_NET_TS = ("network options:", "preferred transfer syntaxes (not with --config-file):")
_NET_ACCESS = ("network options:", "host access control (TCP wrappers):")
_NET_OTHER = ("network options:", "other network options:")
_TLS_STACK = ("TLS options:", "transport:")
_TLS_PASSWORD = ("TLS options:", "private key password (only with --enable-tls):")
_TLS_FORMAT = ("TLS options:", "key and certificate encoding:")
_TLS_TRUST = ("TLS options:", "trusted certificates and revocation:")
_TLS_PROFILE = ("TLS options:", "security profile:")
_TLS_CIPHERS = ("TLS options:", "cipher suites:")
_TLS_SEED = ("TLS options:", "random seed:")
_TLS_PEER = ("TLS options:", "client certificates:")
_OUT_GENERAL = ("output options:", "destination:")
_OUT_MODE = ("output options:", "bit preserving mode:")
_OUT_FORMAT = ("output options:", "file format:")
_OUT_XFER = (
    "output options:",
    "output transfer syntax (not with +B or compressed input):",
)
_OUT_VR = ("output options:", "newer value representations (not with +B):")
_OUT_GROUP = ("output options:", "group length elements (not with +B):")
_OUT_LENGTH = ("output options:", "sequence and item lengths (not with +B):")
_OUT_PADDING = ("output options:", "trailing padding (not with -F or +B):")
_OUT_UN = ("output options:", "defined-length UN elements:")
_OUT_DEFLATE = ("output options:", "deflate level (only with +td or +t=):")
_OUT_SORT = ("output options:", "study subdirectories (not with +B):")
_OUT_NAMES = ("output options:", "file names:")
_EVENTS = ("event options:", "")
_EXTRAS = ("dicomtw options:", "")


def _opt(
    short: str,
    long: str,
    section: tuple[str, str],
    help: str,
    **attributes: Any,
) -> OptionSpec:
    """
    A row of :data:`OPTIONS`; see :class:`OptionSpec` for ``attributes``.
    """
    return OptionSpec(long, short, section, help, **attributes)


def _pick(
    short: str, long: str, section: tuple[str, str], help: str, **attributes: Any
) -> OptionSpec:
    """
    A block member that stores its long name, without dashes, in ``field``.
    """
    return OptionSpec(long, short, section, help, const=long[2:], **attributes)


def _ts(short: str, long: str, help: str) -> OptionSpec:
    """
    A member of the transfer-syntax preference block.
    """
    default = long == "--prefer-uncompr"
    attributes = {"block": "ts", "default": default, "field": "ts_preference"}
    return _pick(short, long, _NET_TS, help, **attributes)


_F = Text()
_U0 = Integer(False, 0)
_TLS_FILE = {"meta": "FILE", "values": (_F,), "rules": (_TLS,)}

# fmt: off
#: Every option, in the order of the help text.
OPTIONS: tuple[OptionSpec, ...] = (
    _opt("-h", "--help", _GENERAL, "show this text and exit"),
    _opt("", "--version", _GENERAL, "show version information and exit"),
    _opt("", "--arguments", _GENERAL, "log the expanded command line",
         field="print_arguments"),
    _opt("-q", "--quiet", _GENERAL, "show fatal errors only",
         block="verbosity", field="log_level", const="fatal"),
    _opt("-v", "--verbose", _GENERAL, "show processing details",
         block="verbosity", field="log_level", const="info"),
    _opt("-d", "--debug", _GENERAL, "show debugging details",
         block="verbosity", field="log_level", const="debug"),
    _opt("-ll", "--log-level", _GENERAL,
         "log at level LEVEL: fatal, error, warn, info, debug or trace",
         meta="LEVEL", values=(LogLevelName(),), value_field="log_level",
         rules=(Conflict(_VERBOSITY),)),
    _opt("-lc", "--log-config", _GENERAL,
         "configure logging from log4cplus property file FILE",
         meta="FILE", values=(LogConfigFile(),), value_field="log_config",
         rules=(Conflict(("--log-level",)), Conflict(_VERBOSITY))),
    _opt("+v", "--verbose-pc", _GENERAL,
         "show presentation contexts at verbose level",
         field="verbose_pc", rules=(Requires((_VERBOSE_MODE,)),)),

    _opt("", "--single-process", _PROCESS,
         "serve all associations in this process (default)",
         block="process", default=True, field="fork", const=False),
    _opt("", "--fork", _PROCESS, "serve each association in a child process",
         block="process", field="fork",
         rules=(Conflict(("--inetd",), "--inetd", "--fork"),)),

    _opt("-xf", "--config-file", _NET_PROFILE,
         "negotiate as profile PROFILE of negotiation file FILE",
         meta="FILE PROFILE", values=(_F, _F), value_field="config_file",
         rules=_PROFILE_RULES),

    _ts("+x=", "--prefer-uncompr", "explicit VR, local byte order (default)"),
    _ts("+xe", "--prefer-little", "explicit VR little endian"),
    _ts("+xb", "--prefer-big", "explicit VR big endian"),
    _ts("+xs", "--prefer-lossless", "JPEG lossless, process 14 SV1"),
    _ts("+xy", "--prefer-jpeg8", "JPEG baseline (8 bit)"),
    _ts("+xx", "--prefer-jpeg12", "JPEG extended (12 bit)"),
    _ts("+xv", "--prefer-j2k-lossless", "JPEG 2000, lossless only"),
    _ts("+xw", "--prefer-j2k-lossy", "JPEG 2000"),
    _ts("+xt", "--prefer-jls-lossless", "JPEG-LS lossless"),
    _ts("+xu", "--prefer-jls-lossy", "JPEG-LS near-lossless"),
    _ts("+xm", "--prefer-mpeg2", "MPEG2 main profile, main level"),
    _ts("+xh", "--prefer-mpeg2-high", "MPEG2 main profile, high level"),
    _ts("+xn", "--prefer-mpeg4", "MPEG-4 AVC high profile, level 4.1"),
    _ts("+xl", "--prefer-mpeg4-bd", "MPEG-4 AVC BD-compatible, level 4.1"),
    _ts("+x2", "--prefer-mpeg4-2-2d", "MPEG-4 AVC high profile 4.2, 2D video"),
    _ts("+x3", "--prefer-mpeg4-2-3d", "MPEG-4 AVC high profile 4.2, 3D video"),
    _ts("+xo", "--prefer-mpeg4-2-st", "MPEG-4 AVC stereo high profile 4.2"),
    _ts("+x4", "--prefer-hevc", "HEVC main profile, level 5.1"),
    _ts("+x5", "--prefer-hevc10", "HEVC main 10 profile, level 5.1"),
    _ts("+xr", "--prefer-rle", "RLE lossless"),
    _ts("+xd", "--prefer-deflated", "deflated explicit VR little endian"),
    _ts("+xi", "--implicit", "implicit VR little endian only"),
    _ts("+xa", "--accept-all", "every transfer syntax storescp knows"),

    _opt("-ac", "--access-full", _NET_ACCESS,
         "accept connections from every host (default)",
         block="access", default=True, field="access_control", const=False),
    _opt("+ac", "--access-control", _NET_ACCESS,
         "apply /etc/hosts.allow and /etc/hosts.deny",
         block="access", field="access_control"),

    _opt("-id", "--inetd", _NET_OTHER,
         "serve one association on stdin/stdout (not with --fork)",
         field="inetd"),
    _opt("-ts", "--socket-timeout", _NET_OTHER,
         "socket inactivity timeout (default 60; 0: none, "
         "-1: the system's)",
         meta="SECONDS", values=(Integer(True, -1),),
         value_field="socket_timeout"),
    _opt("-ta", "--acse-timeout", _NET_OTHER,
         "wait this long for an association request (default 30)",
         meta="SECONDS", values=(Integer(True, 1),), value_field="acse_timeout"),
    _opt("-td", "--dimse-timeout", _NET_OTHER,
         "wait this long for each data-set fragment (default: no limit)",
         meta="SECONDS", values=(Integer(True, 1),),
         value_field="dimse_timeout"),
    _opt("-aet", "--aetitle", _NET_OTHER, "our AE title (default STORESCP)",
         meta="TITLE", values=(_F,), value_field="aetitle"),
    _opt("-pdu", "--max-pdu", _NET_OTHER,
         "largest PDU we receive, 4096..131072 (default 16384)",
         meta="BYTES", values=(Integer(False, 4096, 131072),),
         value_field="max_pdu"),
    _opt("-dhl", "--disable-host-lookup", _NET_OTHER,
         "do not look up peer host names", field="disable_host_lookup"),
    _opt("", "--refuse", _NET_OTHER, "refuse every association",
         field="refuse"),
    _opt("", "--reject", _NET_OTHER,
         "reject associations without implementation class UID",
         field="reject"),
    _opt("", "--ignore", _NET_OTHER, "receive objects but store nothing",
         field="ignore"),
    _opt("", "--sleep-after", _NET_OTHER,
         "pause this long after each store (default 0)",
         meta="SECONDS", values=(_U0,), value_field="sleep_after"),
    _opt("", "--sleep-during", _NET_OTHER,
         "pause this long while receiving each store (default 0)",
         meta="SECONDS", values=(_U0,), value_field="sleep_during"),
    _opt("", "--abort-after", _NET_OTHER,
         "abort after each C-STORE data set, before answering",
         field="abort_after"),
    _opt("", "--abort-during", _NET_OTHER,
         "abort while receiving each C-STORE data set", field="abort_during"),
    _opt("-pm", "--promiscuous", _NET_OTHER,
         "also accept unknown SOP classes (not with --config-file)",
         field="promiscuous"),
    _opt("-up", "--uid-padding", _NET_OTHER, "correct UIDs padded with spaces",
         field="uid_padding"),

    _opt("-tls", "--disable-tls", _TLS_STACK, "plain TCP (default)",
         block="tls", default=True, field="tls", const=False),
    _opt("+tls", "--enable-tls", _TLS_STACK,
         "TLS with private key KEY and certificate CERT",
         meta="KEY CERT", values=(_F, _F), block="tls", field="tls",
         value_field=("tls_private_key", "tls_certificate")),
    _opt("+ps", "--std-passwd", _TLS_PASSWORD,
         "ask for the key's password on the terminal (default)",
         block="password", default=True, field="tls_password", const=None,
         rules=(_TLS,)),
    _opt("+pw", "--use-passwd", _TLS_PASSWORD, "use password PASSWORD",
         meta="PASSWORD", values=(_F,), block="password",
         value_field="tls_password", rules=(_TLS,)),
    _opt("-pw", "--null-passwd", _TLS_PASSWORD, "use the empty password",
         block="password", field="tls_password", const="", rules=(_TLS,)),
    _pick("-pem", "--pem-keys", _TLS_FORMAT,
          "keys and certificates are PEM (default)",
          block="format", default=True, field="tls_key_format", rules=(_TLS,)),
    _pick("-der", "--der-keys", _TLS_FORMAT, "keys and certificates are DER",
          block="format", field="tls_key_format", rules=(_TLS,)),
    _opt("+cf", "--add-cert-file", _TLS_TRUST, "trust the certificates in FILE",
         repeat=True, value_field="tls_cert_files", **_TLS_FILE),
    _opt("+cd", "--add-cert-dir", _TLS_TRUST,
         "trust the certificates in hashed directory DIR",
         meta="DIR", values=(_F,), repeat=True, value_field="tls_cert_dirs",
         rules=(_TLS,)),
    _opt("+crl", "--add-crl-file", _TLS_TRUST,
         "check certificates against revocation list FILE "
         "(implies --enable-crl-vfy)",
         repeat=True, value_field="tls_crl_files", field="tls_crl_check",
         const="leaf", **_TLS_FILE),
    _opt("+crv", "--enable-crl-vfy", _TLS_TRUST,
         "check the client's own certificate against the CRLs",
         field="tls_crl_check", const="leaf", rules=(_TLS,)),
    _opt("+cra", "--enable-crl-all", _TLS_TRUST,
         "check the whole certificate chain against the CRLs",
         field="tls_crl_check", const="all",
         rules=(_TLS, Conflict(("--enable-crl-vfy",)))),
    _pick("+py", "--profile-bcp195-nd", _TLS_PROFILE,
          "BCP 195, non-downgrading (default)",
          block="profile", default=True, field="tls_profile", rules=(_TLS,)),
    _pick("+px", "--profile-bcp195", _TLS_PROFILE, "BCP 195",
          block="profile", field="tls_profile", rules=(_TLS,)),
    _pick("+pz", "--profile-bcp195-ex", _TLS_PROFILE, "BCP 195, extended",
          block="profile", field="tls_profile", rules=(_TLS,)),
    # The reference names the wrong option when +pa lacks +tls.
    _pick("+pa", "--profile-aes", _TLS_PROFILE, "the retired AES profile",
          block="profile", field="tls_profile",
          rules=(Requires(("--enable-tls",), "--profile-basic"),)),
    _pick("+pn", "--profile-null", _TLS_PROFILE,
          "the retired authenticated but unencrypted profile",
          block="profile", field="tls_profile", rules=(_TLS,)),
    _opt("+cc", "--list-ciphers", _TLS_CIPHERS,
         "list the supported cipher suites and exit"),
    _opt("+cs", "--cipher", _TLS_CIPHERS,
         "also offer cipher suite NAME (not with +pz)",
         meta="NAME", values=(_F,), repeat=True, value_field="tls_ciphers",
         rules=(_TLS, Conflict(("--profile-bcp195-ex",)))),
    _opt("+dp", "--dhparam", _TLS_CIPHERS,
         "read Diffie-Hellman parameters from FILE",
         value_field="tls_dhparam", **_TLS_FILE),
    _opt("+rs", "--seed", _TLS_SEED, "seed the random generator from FILE",
         value_field="tls_seed", **_TLS_FILE),
    _opt("+ws", "--write-seed", _TLS_SEED,
         "write the seed back to the --seed file",
         block="write-seed", rules=(_TLS, Requires(("--seed",)))),
    _opt("+wf", "--write-seed-file", _TLS_SEED,
         "write the seed to FILE (only with --seed)",
         meta="FILE", values=(_F,), block="write-seed",
         value_field="tls_write_seed", rules=(_TLS, Requires(("--seed",)))),
    _pick("-rc", "--require-peer-cert", _TLS_PEER,
          "clients must show a trusted certificate (default)",
          block="peer", default=True, field="tls_peer_cert", rules=(_TLS,)),
    _pick("-vc", "--verify-peer-cert", _TLS_PEER,
          "verify a client certificate if one is shown",
          block="peer", field="tls_peer_cert", rules=(_TLS,)),
    _pick("-ic", "--ignore-peer-cert", _TLS_PEER,
          "do not verify client certificates",
          block="peer", field="tls_peer_cert", rules=(_TLS,)),

    _opt("-od", "--output-directory", _OUT_GENERAL,
         "store objects in existing directory DIR (default: .)",
         meta="DIR", values=(_F,), value_field="output_directory",
         transform=_normalize_directory),
    _opt("-B", "--normal", _OUT_MODE,
         "decode and re-encode received data sets (default)",
         block="bit-preserving", default=True, field="bit_preserving",
         const=False),
    _opt("+B", "--bit-preserving", _OUT_MODE,
         "store data sets exactly as received",
         block="bit-preserving", field="bit_preserving"),
    _opt("+F", "--write-file", _OUT_FORMAT,
         "write DICOM files with meta information (default)",
         block="file-format", default=True, field="write_dataset",
         const=False),
    _opt("-F", "--write-dataset", _OUT_FORMAT,
         "write bare data sets, without meta information",
         block="file-format", field="write_dataset"),
    _pick("+t=", "--write-xfer-same", _OUT_XFER,
          "keep the transfer syntax received (default)",
          block="write-xfer", default=True, field="write_xfer"),
    _pick("+te", "--write-xfer-little", _OUT_XFER, "explicit VR little endian",
          block="write-xfer", field="write_xfer", rules=_WRITE_XFER_RULES),
    _pick("+tb", "--write-xfer-big", _OUT_XFER, "explicit VR big endian",
          block="write-xfer", field="write_xfer", rules=_WRITE_XFER_RULES),
    _pick("+ti", "--write-xfer-implicit", _OUT_XFER, "implicit VR little endian",
          block="write-xfer", field="write_xfer", rules=_WRITE_XFER_RULES),
    _pick("+td", "--write-xfer-deflated", _OUT_XFER,
          "deflated explicit VR little endian",
          block="write-xfer", field="write_xfer", rules=_WRITE_XFER_RULES),
    _opt("+u", "--enable-new-vr", _OUT_VR,
         "write UN, UT, UC, UR, OF, OD, OL, OV, SV, UV as such (default)",
         block="new-vr", default=True, field="new_vr",
         rules=(_BIT_PRESERVING,)),
    _opt("-u", "--disable-new-vr", _OUT_VR, "write them as OB",
         block="new-vr", field="new_vr", const=False,
         rules=(_BIT_PRESERVING,)),
    _pick("+g=", "--group-length-recalc", _OUT_GROUP,
          "recompute the group lengths present (default)",
          block="group-length", default=True, field="group_length",
          rules=(_BIT_PRESERVING,)),
    _pick("+g", "--group-length-create", _OUT_GROUP,
          "write a group length for every group",
          block="group-length", field="group_length",
          rules=(_BIT_PRESERVING,)),
    _pick("-g", "--group-length-remove", _OUT_GROUP, "write no group lengths",
          block="group-length", field="group_length",
          rules=(_BIT_PRESERVING,)),
    _pick("+e", "--length-explicit", _OUT_LENGTH,
          "explicit lengths (default)",
          block="length", default=True, field="length_encoding",
          rules=(_BIT_PRESERVING,)),
    _pick("-e", "--length-undefined", _OUT_LENGTH,
          "undefined lengths and delimitation items",
          block="length", field="length_encoding", rules=(_BIT_PRESERVING,)),
    _opt("-p", "--padding-off", _OUT_PADDING, "no padding (default)",
         block="padding", default=True, field="padding", const=None),
    _opt("+p", "--padding-create", _OUT_PADDING,
         "pad the file to a multiple of FILE bytes and items "
         "to a multiple of ITEM bytes",
         meta="FILE ITEM", values=(_U0, _U0), block="padding",
         value_field="padding",
         rules=(Conflict(("--write-dataset",)), _BIT_PRESERVING)),
    _opt("-uc", "--retain-un", _OUT_UN, "keep them UN (default)",
         block="un", default=True, field="convert_un", const=False),
    _opt("+uc", "--convert-un", _OUT_UN,
         "give them their dictionary VR where known",
         block="un", field="convert_un"),
    _opt("+cl", "--compression-level", _OUT_DEFLATE,
         "zlib level, 0 (none) to 9 (best); default 6",
         meta="LEVEL", values=(Integer(False, 0, 9),),
         value_field="compression_level",
         rules=(Requires(("--write-xfer-deflated", "--write-xfer-same")),)),
    _pick("-ss", "--sort-conc-studies", _OUT_SORT,
          "a directory per study, named PREFIX_date_time",
          meta="PREFIX", values=(_F,), block="sort", field="sort",
          value_field="sort_prefix", rules=(_BIT_PRESERVING,)),
    _pick("-su", "--sort-on-study-uid", _OUT_SORT,
          "a directory per study, named PREFIX_StudyInstanceUID",
          meta="PREFIX", values=(_F,), block="sort", field="sort",
          value_field="sort_prefix", rules=(_BIT_PRESERVING,)),
    _pick("-sp", "--sort-on-patientname", _OUT_SORT,
          "a directory per study, named PatientName_date_time",
          block="sort", field="sort", rules=(_BIT_PRESERVING,)),
    _opt("-uf", "--default-filenames", _OUT_NAMES,
         "name files after the SOP instance UID (default)",
         block="names", default=True, field="unique_filenames", const=False),
    _opt("+uf", "--unique-filenames", _OUT_NAMES, "generate unique file names",
         block="names", field="unique_filenames"),
    _opt("-tn", "--timenames", _OUT_NAMES,
         "name files after the time of reception",
         field="timenames", rules=(Conflict(("--unique-filenames",)),)),
    _opt("-fe", "--filename-extension", _OUT_NAMES,
         "append SUFFIX to every file name",
         meta="SUFFIX", values=(_F,), value_field="filename_extension"),

    _opt("-xcr", "--exec-on-reception", _EVENTS,
         "run COMMAND after each object received",
         meta="COMMAND", values=(_F,), value_field="exec_on_reception"),
    _opt("-xcs", "--exec-on-eostudy", _EVENTS,
         "run COMMAND when a study is complete",
         meta="COMMAND", values=(_F,), value_field="exec_on_eostudy",
         rules=_END_OF_STUDY_RULES),
    _opt("-rns", "--rename-on-eostudy", _EVENTS,
         "rename a study's files when it is complete",
         field="rename_on_eostudy", rules=_END_OF_STUDY_RULES),
    _opt("-tos", "--eostudy-timeout", _EVENTS,
         "a study is complete after this long without objects",
         meta="SECONDS", values=(Integer(True, 0),),
         value_field="eostudy_timeout",
         rules=(Requires((*_SORTS, "--exec-on-eostudy",
                          "--rename-on-eostudy")),)),
    _opt("-xs", "--exec-sync", _EVENTS, "wait for commands to finish",
         field="exec_sync"),

    _opt("", "--listen", _EXTRAS,
         "also listen on Twisted server endpoint ENDPOINT "
         "(repeatable; makes the port optional)",
         meta="ENDPOINT", values=(Endpoint(),), repeat=True,
         value_field="listen"),
    _opt("", "--max-associations", _EXTRAS,
         "serve at most N associations at once, 1..100000 (default 64)",
         meta="N", values=(Integer(False, 1, 100000),),
         value_field="max_associations"),
    _opt("", "--no-fsync", _EXTRAS,
         "do not flush each stored file to stable storage",
         field="fsync", const=False),
    _opt("", "--hosts-allow", _EXTRAS,
         "read +ac allow rules from FILE (default /etc/hosts.allow)",
         meta="FILE", values=(Text(),), value_field="hosts_allow"),
    _opt("", "--hosts-deny", _EXTRAS,
         "read +ac deny rules from FILE (default /etc/hosts.deny)",
         meta="FILE", values=(Text(),), value_field="hosts_deny"),
    _opt("", "--allow-calling-ae", _EXTRAS,
         "accept only these calling AE titles, TITLE or TITLE@ADDRESS "
         "(repeatable)",
         meta="TITLE", values=(Text(),), repeat=True,
         value_field="allowed_calling_aes"),
    _opt("", "--on-duplicate", _EXTRAS,
         "when a file exists: overwrite (default), keep, unique "
         "or reject",
         meta="ACTION", values=(Choice(ON_DUPLICATE),),
         value_field="on_duplicate"),
)
# fmt: on

_BY_NAME: dict[str, OptionSpec] = {}
for _spec in OPTIONS:
    _BY_NAME[_spec.long] = _spec
    if _spec.short:
        _BY_NAME[_spec.short] = _spec
_BY_LONG: dict[str, OptionSpec] = {spec.long: spec for spec in OPTIONS}
_BLOCK_DEFAULTS: dict[str, str] = {
    spec.block: spec.long for spec in OPTIONS if spec.block and spec.default
}

# Steps of the evaluation that are not options.
_AFTER_INETD = "(inetd)"
_PORT = "(port)"
_AFTER_LOGGING = "(logging)"

#: The order in which the reference evaluates options; consecutive members
#: of a block form one step, in the order the block is searched.
EVALUATION_ORDER: tuple[str, ...] = (
    "--inetd",
    _AFTER_INETD,
    "--single-process",
    "--fork",
    _PORT,
    "--debug",
    "--verbose",
    "--quiet",
    "--log-level",
    "--log-config",
    "--arguments",
    _AFTER_LOGGING,
    "--verbose-pc",
    "--prefer-uncompr",
    "--prefer-little",
    "--prefer-big",
    *_COMPRESSED,
    "--prefer-deflated",
    "--implicit",
    "--accept-all",
    "--socket-timeout",
    "--acse-timeout",
    "--dimse-timeout",
    "--aetitle",
    "--max-pdu",
    "--disable-host-lookup",
    "--refuse",
    "--reject",
    "--ignore",
    "--sleep-after",
    "--sleep-during",
    "--abort-after",
    "--abort-during",
    "--promiscuous",
    "--uid-padding",
    "--config-file",
    "--access-full",
    "--access-control",
    "--output-directory",
    "--normal",
    "--bit-preserving",
    "--write-file",
    "--write-dataset",
    "--write-xfer-same",
    "--write-xfer-little",
    "--write-xfer-big",
    "--write-xfer-implicit",
    "--write-xfer-deflated",
    "--enable-new-vr",
    "--disable-new-vr",
    "--group-length-recalc",
    "--group-length-create",
    "--group-length-remove",
    "--length-explicit",
    "--length-undefined",
    "--padding-off",
    "--padding-create",
    "--retain-un",
    "--convert-un",
    "--compression-level",
    *_SORTS,
    "--default-filenames",
    "--unique-filenames",
    "--timenames",
    "--filename-extension",
    "--exec-on-reception",
    "--exec-on-eostudy",
    "--rename-on-eostudy",
    "--eostudy-timeout",
    "--exec-sync",
    "--disable-tls",
    "--enable-tls",
    "--std-passwd",
    "--use-passwd",
    "--null-passwd",
    "--pem-keys",
    "--der-keys",
    "--dhparam",
    "--seed",
    "--write-seed",
    "--write-seed-file",
    "--require-peer-cert",
    "--ignore-peer-cert",
    "--verify-peer-cert",
    "--profile-bcp195",
    "--profile-bcp195-nd",
    "--profile-bcp195-ex",
    "--profile-aes",
    "--profile-null",
    "--add-cert-file",
    "--add-cert-dir",
    "--add-crl-file",
    "--enable-crl-vfy",
    "--enable-crl-all",
    "--cipher",
    "--listen",
    "--max-associations",
    "--no-fsync",
    "--hosts-allow",
    "--hosts-deny",
    "--allow-calling-ae",
    "--on-duplicate",
)


def _group_steps(order: Sequence[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """
    Group consecutive members of one block in ``order`` into one step.

    :returns: ``(block, names)`` pairs; ``block`` is ``""`` outside blocks.
    """
    steps: list[tuple[str, list[str]]] = []
    for name in order:
        spec = _BY_LONG.get(name)
        block = spec.block if spec is not None else ""
        if block and steps and steps[-1][0] == block:
            steps[-1][1].append(name)
        else:
            steps.append((block, [name]))
    return tuple((block, tuple(names)) for block, names in steps)


_STEPS = _group_steps(EVALUATION_ORDER)


def _looks_like_option(argument: str) -> bool:
    """
    DCMTK's test: two or more characters, a leading ``-`` or ``+``, and no
    digit second (so ``-1`` is a parameter).
    """
    return len(argument) >= 2 and argument[0] in "+-" and not "0" <= argument[1] <= "9"


def _read_command_file(argument: str) -> list[str]:
    """
    The words of the ``@file`` named by ``argument``.

    :raises CommandLineError: if the file cannot be opened.
    """
    name = argument[1:]
    try:
        with open(name, "rb") as stream:
            data = stream.read()
    except IsADirectoryError:
        return []
    except OSError:
        raise CommandLineError(f"Cannot open command file '{name}'")
    return split_command_file(os.fsdecode(data))


def expand_command_files(arguments: Sequence[str]) -> list[str]:
    """
    Replace every ``@file`` argument by the words of the file; the words are
    not expanded again.

    :raises CommandLineError: for the first file that cannot be opened.
    """
    expanded: list[str] = []
    for argument in arguments:
        if argument.startswith("@") and len(argument) > 1:
            expanded.extend(_read_command_file(argument))
        else:
            expanded.append(argument)
    return expanded


@dataclass
class _Occurrence:
    """
    One option on the command line.

    :ivar spec: which option.
    :ivar raw: its values as given.
    :ivar position: its index among the options of the command line.
    :ivar values: its values once converted.
    """

    spec: OptionSpec
    raw: tuple[str, ...]
    position: int
    values: tuple[object, ...] = ()


@dataclass
class _Scan:
    """
    The command line split into options and parameters.
    """

    occurrences: list[_Occurrence] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)
    expanded: list[str] = field(default_factory=list)


def _scan(words: Sequence[str]) -> _Scan:
    """
    Classify ``words`` and give every option its values.

    :raises CommandLineError: for an unknown option or a missing value.
    """
    scan = _Scan()
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not _looks_like_option(word):
            scan.parameters.append(word)
            scan.expanded.append(word)
            continue
        spec = _BY_NAME.get(word)
        if spec is None:
            raise CommandLineError(f"Unknown option {word}")
        count = len(spec.values)
        if index + count > len(words):
            raise CommandLineError(f"Missing value for option {spec.long}")
        raw = tuple(words[index : index + count])
        index += count
        scan.occurrences.append(_Occurrence(spec, raw, len(scan.occurrences)))
        scan.expanded.extend((spec.long, *raw))
    return scan


class _Evaluation:
    """
    Evaluates a scanned command line in the reference's order.
    """

    def __init__(self, scan: _Scan) -> None:
        self.scan = scan
        self.given: dict[str, list[_Occurrence]] = {}
        for occurrence in scan.occurrences:
            self.given.setdefault(occurrence.spec.long, []).append(occurrence)
        self.chosen: dict[str, list[_Occurrence]] = {}
        self.winners: dict[str, str | None] = {}
        self.port: int | None = None
        self.level = "warn"
        self.silent = False
        self.arguments: tuple[str, ...] | None = None
        self.warnings: list[str] = []

    def fail(self, message: str, silent: bool | None = None) -> CommandLineError:
        """
        The error to raise, as the reference would show it at this point.
        """
        return CommandLineError(
            message, self.silent if silent is None else silent, self.arguments
        )

    def active(self, name: str) -> bool:
        """
        Whether option ``name`` is in effect, as far as evaluated.
        """
        if name == _VERBOSE_MODE:
            return "--log-config" in self.chosen or self.level in (
                "info",
                "debug",
                "trace",
            )
        block = _BY_LONG[name].block
        if block:
            return self.winners[block] == name
        return name in self.chosen

    def run(self) -> None:
        """
        Evaluate every option.

        :raises CommandLineError: at the first violated rule or bad value.
        """
        specials = {
            _AFTER_INETD: self._after_inetd,
            _PORT: self._check_port,
            _AFTER_LOGGING: self._after_logging,
        }
        for block, members in _STEPS:
            if members[0] in specials:
                specials[members[0]]()
            elif block:
                self._evaluate_block(block, members)
            else:
                self._evaluate(members[0])

    def _check(self, occurrence: _Occurrence, rules: bool = True) -> None:
        """
        Apply the option's rules, then read its values.
        """
        spec = occurrence.spec
        for rule in spec.rules if rules else ():
            message = rule.message(spec.long, self.active)
            if message is not None:
                raise self.fail(message)
        try:
            occurrence.values = tuple(
                kind.convert(spec.long, raw)
                for kind, raw in zip(spec.values, occurrence.raw)
            )
        except _BadValue as bad:
            raise self.fail(str(bad))

    def _evaluate(self, name: str) -> None:
        """
        An option outside blocks: its last occurrence counts, or all of them
        if it repeats (the rules are then checked once).
        """
        occurrences = self.given.get(name, [])
        if not _BY_LONG[name].repeat:
            occurrences = occurrences[-1:]
        for index, occurrence in enumerate(occurrences):
            self._check(occurrence, rules=index == 0)
        if occurrences:
            self.chosen[name] = occurrences

    def _evaluate_block(self, block: str, members: Sequence[str]) -> None:
        """
        A block: each member is looked for to the right of the one found
        before it; the last one found wins.
        """
        position = -1
        winner = None
        for name in members:
            found = [o for o in self.given.get(name, []) if o.position > position]
            if not found:
                continue
            occurrence = found[-1]
            self._check(occurrence)
            self.chosen[name] = [occurrence]
            position = occurrence.position
            winner = name
        self.winners[block] = winner or _BLOCK_DEFAULTS.get(block)

    def _after_inetd(self) -> None:
        """
        In inetd mode standard error is gone: later errors are silent.
        """
        self.silent = "--inetd" in self.given

    def _check_port(self) -> None:
        """
        The port parameter: optional with ``--inetd`` or ``--listen``, else
        an unsigned integer 1..65535.
        """
        parameters = self.scan.parameters
        if "--inetd" in self.given:
            if parameters:
                self.warnings.append("Parameter port not required in inetd mode")
            return
        if not parameters:
            if "--listen" in self.given:
                return
            raise self.fail("Missing parameter port")
        raw = parameters[0]
        value = scan_unsigned(raw)
        if value is None:
            raise self.fail(f"Invalid parameter value {raw}")
        if value < 1:
            raise self.fail(f"Invalid parameter value {raw} (underflow)")
        if value > 65535:
            raise self.fail(f"Invalid parameter value {raw} (overflow)")
        self.port = value

    def _after_logging(self) -> None:
        """
        Fix the log level; from here on quiet levels silence errors, and
        ``--arguments`` has been logged.
        """
        if "--log-level" in self.chosen:
            self.level = str(self.chosen["--log-level"][0].values[0])
        elif self.winners["verbosity"] is not None:
            self.level = str(_BY_LONG[str(self.winners["verbosity"])].const)
        if "--log-config" not in self.chosen and self.level in ("fatal", "off"):
            self.silent = True
        if "--arguments" in self.given:
            self.arguments = tuple(self.scan.expanded)

    def config(self) -> ServerConfig:
        """
        The configuration the evaluated command line describes.
        """
        settings: dict[str, object] = {}
        for name in EVALUATION_ORDER:
            if name not in self.chosen or not self.active(name):
                continue
            spec = _BY_LONG[name]
            if spec.field:
                settings[spec.field] = spec.const
            if spec.value_field:
                settings.update(_stored_values(spec, self.chosen[name]))
        if "--write-seed" in self.chosen and self.active("--write-seed"):
            settings["tls_write_seed"] = settings.get("tls_seed")
        return ServerConfig(
            port=self.port,
            expanded_arguments=tuple(self.scan.expanded),
            warnings=tuple(self.warnings),
            **settings,  # type: ignore[arg-type]
        )


def _stored_values(
    spec: OptionSpec, occurrences: list[_Occurrence]
) -> dict[str, object]:
    """
    The configuration fields an option's values go to.
    """
    if spec.repeat:
        return {str(spec.value_field): tuple(o.values[0] for o in occurrences)}
    values = occurrences[-1].values
    if isinstance(spec.value_field, tuple):
        return dict(zip(spec.value_field, values))
    value: object = values[0] if len(values) == 1 else values
    if spec.transform is not None:
        value = spec.transform(value)
    return {spec.value_field: value}


def header_text() -> str:
    """
    The lines that open the help and version texts and every command-line
    error report (behaviour reference §1.6), ending in a newline.
    """
    return (
        f"$dicomtw: {PROGRAM} v{__version__} $\n\n"
        f"{PROGRAM}: DICOM storage (C-STORE) SCP on Twisted\n"
    )


def help_text() -> str:
    """
    The usage text of ``-h``/``--help``, generated from :data:`OPTIONS`.
    """
    short_width = max(len(spec.short) for spec in OPTIONS)
    long_width = max(len(spec.long) for spec in OPTIONS)
    port_help = "TCP port to listen on (not needed with --inetd or --listen)"
    lines = [
        header_text(),
        f"usage: {PROGRAM} [options] [port]",
        "",
        "parameters:",
    ]
    left = "  " + "port".ljust(short_width + long_width + 4)
    wrapped = textwrap.wrap(port_help, _HELP_WIDTH - len(left))
    lines.append(left + wrapped[0])
    lines.extend(" " * len(left) + line for line in wrapped[1:])
    lines.append("")
    heading = ("", "")
    for spec in OPTIONS:
        if spec.section[0] != heading[0]:
            lines.append(spec.section[0])
        if spec.section[1] and spec.section != heading:
            lines.append(f"  {spec.section[1]}")
        heading = spec.section
        left = " " * (4 if spec.section[1] else 2)
        left += f"{spec.short:<{short_width}}  {spec.long:<{long_width}}  "
        body = [spec.meta] if spec.meta else []
        body += textwrap.wrap(spec.help, _HELP_WIDTH - len(left))
        lines.append(left + body[0])
        lines.extend(" " * len(left) + line for line in body[1:])
    return "\n".join(lines) + "\n"


def _openssl_version() -> str:
    """
    The OpenSSL that TLS would use: pyOpenSSL's, else the standard library's.
    """
    try:
        from OpenSSL import SSL
    except ImportError:
        import ssl

        return ssl.OPENSSL_VERSION
    return SSL.SSLeay_version(SSL.OPENSSL_VERSION).decode("ascii", "replace")


def version_text() -> str:
    """
    The text of ``--version``: shaped like storescp's (behaviour reference
    §1.4), naming dicomtw and the libraries it runs on.
    """
    import pydicom

    return (
        f"{header_text()}\n"
        f"Host type: {platform.system()} {platform.machine()}\n"
        f"Python: {platform.python_implementation()} "
        f"{platform.python_version()}\n"
        "\n"
        "External libraries used:\n"
        f"- Twisted, Version {twisted_version}\n"
        f"- pydicom, Version {pydicom.__version__}\n"
        f"- {_openssl_version()}\n"
    )


def cipher_list_text() -> str:
    """
    The text of ``+cc``: the version header, then the cipher suites of the
    reference's table that the linked OpenSSL supports (behaviour
    reference §11.4).
    """
    from OpenSSL import SSL

    from dicomtw.ciphers import CIPHER_SUITES

    names = []
    for name, openssl_name in CIPHER_SUITES.items():
        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        try:
            context.set_cipher_list(f"{openssl_name}:@SECLEVEL=0".encode())
        except SSL.Error:
            continue
        names.append(f"  {name}\n")
    return f"{header_text()}\nSupported TLS ciphersuites are:\n" + "".join(names)


def parse_command_line(arguments: Sequence[str]) -> ServerConfig:
    """
    Turn ``storescp`` arguments (without the program name) into a
    configuration.

    :raises CommandLineError: for a bad command line, with the reference's
        message.
    :raises _Exit: when help or version text is to be shown instead.
    """
    words = expand_command_files(arguments)
    scan = _scan(words)
    given = {occurrence.spec.long for occurrence in scan.occurrences}
    if not words or "--help" in given:
        raise _Exit(help_text())
    if "--version" in given:
        raise _Exit(version_text())
    if "--list-ciphers" in given:
        raise _Exit(cipher_list_text())
    if len(scan.parameters) > 1:
        raise CommandLineError("Too many parameters")
    evaluation = _Evaluation(scan)
    evaluation.run()
    return evaluation.config()


class StoreSCPOptions(usage.Options):
    """
    storescp's command line for ``twistd storescp`` and ``dicomtw-storescp``.

    After :meth:`parseOptions`, :attr:`config` holds the result, and the
    options mapping holds the same settings by field name.

    :ivar config: the parsed configuration.
    """

    synopsis = f"{PROGRAM} [options] [port]"
    config: ServerConfig

    def parseOptions(self, options: Sequence[str] | None = None) -> None:
        """
        Parse ``options`` (default: ``sys.argv[1:]``) with storescp's
        grammar.

        :raises CommandLineError: a :class:`twisted.python.usage.UsageError`
            with the reference program's message.
        :raises SystemExit: with status 0 after printing help or version
            text to standard output.
        """
        arguments = sys.argv[1:] if options is None else list(options)
        try:
            self.config = parse_command_line(arguments)
        except _Exit as shown:
            sys.stdout.write(shown.text)
            sys.stdout.flush()
            raise SystemExit(0)
        self.update(dataclasses.asdict(self.config))
        # Twisted's hook is unannotated; it does nothing unless overridden.
        self.postOptions()  # type: ignore[no-untyped-call]

    def getUsage(self, width: int | None = None) -> str:
        """
        The help text; ``width`` is ignored.
        """
        return help_text()

    def __str__(self) -> str:
        """
        The help text, which already contains the synopsis.
        """
        return help_text()
