"""
Host access control in the hosts_access(5) format (``+ac``), without
libwrap, and allow-lists of calling AE titles.

A connection is granted when a rule of the allow file matches the daemon
``storescp`` and the client; otherwise denied when a rule of the deny file
matches; otherwise granted.  The files are read at every check, as libwrap
does, so edits apply to the next connection.  Shell commands (a third
field) and options are not run: only the matching is implemented.

Client patterns: ``ALL``, ``LOCAL`` (a host name without a dot),
``KNOWN``/``UNKNOWN`` (whether the host name is known), a host name, a
domain suffix (``.example.org``), an address, an address prefix
(``192.168.``), ``net/mask``, ``net/prefix-length`` and bracketed IPv6
forms (``[::1]``, ``[fe80::]/64``), and shell wildcards (``*``, ``?``);
lists may use ``EXCEPT``.  Pure: the caller reads the files and looks up
the host name, except :func:`check_host`, which does both and blocks.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

DAEMON = "storescp"


@dataclass(frozen=True)
class Client:
    """
    The peer being checked.

    :ivar host: its host name, or ``None`` when unknown or not looked up.
    :ivar address: its address, as text.
    """

    host: str | None
    address: str


@dataclass(frozen=True)
class Rule:
    """
    One ``daemon_list : client_list`` line.
    """

    daemons: tuple[str, ...]
    clients: tuple[str, ...]


def parse(text: str) -> list[Rule]:
    """
    Read the rules of a hosts_access(5) file: ``#`` comments, lines joined
    by a trailing backslash, list items separated by blanks or commas.
    """
    rules = []
    for line in _logical_lines(text):
        fields = _fields(line)
        if len(fields) < 2:
            continue
        rules.append(Rule(_items(fields[0]), _items(fields[1])))
    return rules


def _fields(line: str) -> list[str]:
    """
    Split a rule at its colons, except those inside ``[...]`` (IPv6).
    """
    fields = [""]
    depth = 0
    for character in line:
        if character == "[":
            depth += 1
        elif character == "]":
            depth = max(depth - 1, 0)
        if character == ":" and not depth:
            fields.append("")
        else:
            fields[-1] += character
    return fields


def _logical_lines(text: str) -> list[str]:
    lines = []
    pending = ""
    for raw in text.splitlines():
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        line = (pending + raw).strip()
        pending = ""
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _items(field: str) -> tuple[str, ...]:
    return tuple(field.replace(",", " ").split())


def _list_matches(items: Sequence[str], match: object) -> bool:
    """
    Whether a list matches, with ``EXCEPT``: ``a b EXCEPT c`` matches what
    ``a b`` matches unless ``c`` does (and ``EXCEPT`` nests to the right).
    """
    assert callable(match)
    if "EXCEPT" in items:
        cut = items.index("EXCEPT")
        return _list_matches(items[:cut], match) and not _list_matches(
            items[cut + 1 :], match
        )
    return any(match(item) for item in items)


def _daemon_matches(pattern: str, daemon: str) -> bool:
    name = pattern.split("@", 1)[0]
    return name.upper() == "ALL" or name == daemon


def client_matches(pattern: str, client: Client) -> bool:
    """
    Whether one client pattern matches ``client``.
    """
    upper = pattern.upper()
    host = client.host.lower() if client.host else None
    if upper == "ALL":
        return True
    if upper == "LOCAL":
        return host is not None and "." not in host
    if upper == "KNOWN":
        return host is not None
    if upper == "UNKNOWN":
        return host is None
    if "/" in pattern:
        return _network_matches(pattern, client.address)
    if pattern.startswith("[") and pattern.endswith("]"):
        return _same_address(pattern[1:-1], client.address)
    if any(c in pattern for c in "*?"):
        lowered = pattern.lower()
        return fnmatch.fnmatchcase(client.address, lowered) or (
            host is not None and fnmatch.fnmatchcase(host, lowered)
        )
    if pattern.startswith("."):
        return host is not None and host.endswith(pattern.lower())
    if pattern.endswith("."):
        return client.address.startswith(pattern)
    if _same_address(pattern, client.address):
        return True
    return host is not None and host == pattern.lower()


def _same_address(pattern: str, address: str) -> bool:
    try:
        return ipaddress.ip_address(pattern) == ipaddress.ip_address(address)
    except ValueError:
        return False


def _network_matches(pattern: str, address: str) -> bool:
    network_text, _, mask = pattern.partition("/")
    network_text = network_text.strip("[]")
    try:
        peer = ipaddress.ip_address(address)
        # ipaddress takes both "10.0.0.0/8" and "10.0.0.0/255.0.0.0".
        network = ipaddress.ip_network(f"{network_text}/{mask}", strict=False)
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return peer.version == network.version and peer in network


def _rules_match(rules: Sequence[Rule], client: Client, daemon: str) -> bool:
    for rule in rules:
        if _list_matches(
            rule.daemons, lambda item: _daemon_matches(item, daemon)
        ) and _list_matches(rule.clients, lambda item: client_matches(item, client)):
            return True
    return False


def allowed(
    allow_text: str, deny_text: str, client: Client, daemon: str = DAEMON
) -> bool:
    """
    The hosts_access(5) decision for ``client``.

    :param allow_text: the content of the allow file ("" when absent).
    :param deny_text: the content of the deny file ("" when absent).
    """
    if _rules_match(parse(allow_text), client, daemon):
        return True
    return not _rules_match(parse(deny_text), client, daemon)


@dataclass(frozen=True)
class CallingAllowList:
    """
    Beyond the reference: the calling AE titles accepted, each optionally
    tied to an address (``TITLE`` or ``TITLE@ADDRESS``).  Empty means all.
    """

    entries: tuple[tuple[str, str | None], ...] = ()

    @classmethod
    def from_options(cls, values: Sequence[str]) -> CallingAllowList:
        """
        :param values: ``--allow-calling-ae`` values.
        """
        entries = []
        for value in values:
            title, at, address = value.rpartition("@")
            if not at:
                title, address = value, ""
            entries.append((title.rstrip(), address or None))
        return cls(tuple(entries))

    def admits(self, calling_ae: str, address: str) -> bool:
        """
        Whether an association from ``calling_ae`` at ``address`` may go on.
        """
        if not self.entries:
            return True
        return any(
            title == calling_ae.rstrip()
            and (required is None or _same_address(required, address))
            for title, required in self.entries
        )


def _read(path: str) -> str:
    try:
        with open(path, encoding="latin-1") as stream:
            return stream.read()
    except OSError:
        return ""


def check_host(
    allow_path: str, deny_path: str, address: str, look_up: bool
) -> tuple[bool, str | None]:
    """
    Decide on a connecting peer: read both files (a missing one is empty)
    and, unless ``look_up`` is false (``-dhl``), resolve the address.
    Blocking: run it off the reactor thread.

    :returns: whether it is allowed, and its host name if known.
    """
    host = None
    if look_up:
        try:
            host = socket.gethostbyaddr(address)[0]
        except OSError:
            host = None
    client = Client(host, address)
    return allowed(_read(allow_path), _read(deny_path), client), host
