"""
Association negotiation profiles (``-xf FILE PROFILE``) in DCMTK's
configuration file format (behaviour reference §5).

The file has supersections ``[[Name]]``, sections ``[Name]`` and entries
``Key = Value``.  Section names and keys keep only ``A-Z 0-9 - _``
(upper-cased); numbered keys are read from 1 up to the first gap.  The whole
file is validated, every profile, and any problem is a
:class:`ProfileError` carrying the reference's message.  Pure: the caller
reads the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeVar

from dicomtw.dcmtknames import SOP_CLASS_NAMES, TRANSFER_SYNTAX_NAMES
from dicomtw.uids import EXPLICIT_LOCAL, EXPLICIT_OPPOSITE

#: The reference's limits.
MAX_CONTEXTS = 128
MAX_EXTENDED = 1024

SCU, SCP, BOTH = "SCU", "SCP", "BOTH"


class ProfileError(Exception):
    """
    The file or profile cannot be used; ``str()`` is the reference's text
    after ``F: ``.
    """


@dataclass(frozen=True)
class Profile:
    """
    What one profile accepts.

    :ivar contexts: abstract syntax -> transfer syntaxes, in file order.
    :ivar roles: abstract syntax -> ``SCU``, ``SCP`` or ``BOTH``.
    :ivar extended: abstract syntax -> extended negotiation bytes.
    """

    name: str
    contexts: dict[str, tuple[str, ...]]
    roles: dict[str, str] = field(default_factory=dict)
    extended: dict[str, bytes] = field(default_factory=dict)
    duplicate: bool = False


def mangle(text: str) -> str:
    """
    A section name or key as the reference compares it: upper case, only
    ``A-Z 0-9 - _`` kept.
    """
    return re.sub(r"[^A-Z0-9_-]", "", text.upper())


def _label(text: str) -> str:
    """
    A label in a value: white space removed and upper-cased, other
    characters kept (§5.2).
    """
    return "".join(text.split()).upper()


def read_tree(text: str) -> dict[str, dict[str, dict[str, str]]]:
    """
    Parse the file into supersection -> section -> key -> value.
    """
    tree: dict[str, dict[str, dict[str, str]]] = {}
    superior: dict[str, dict[str, str]] | None = None
    section: dict[str, str] | None = None
    key = None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if line[:1].isspace() and key is not None and section is not None:
            if line.strip():
                section[key] += "\n" + line.strip()
            continue
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("[["):
            superior = tree.setdefault(mangle(stripped.strip("[]")), {})
            section, key = None, None
        elif stripped.startswith("["):
            if superior is None:
                continue
            section = superior.setdefault(mangle(stripped.strip("[]")), {})
            key = None
        elif "=" in stripped and section is not None:
            name, _, value = line.partition("=")
            key = mangle(name)
            section[key] = value.lstrip()
    return tree


def _numbered(section: dict[str, str], prefix: str) -> list[tuple[str, str]]:
    entries = []
    number = 1
    while f"{prefix}{number}" in section:
        entries.append((f"{prefix}{number}", section[f"{prefix}{number}"]))
        number += 1
    return entries


def _uid(value: str, names: dict[str, str], what: str) -> str:
    text = value
    if text and not text[0].isdigit():
        name = text.lstrip("=")
        if name == "LocalEndianExplicit":
            text = EXPLICIT_LOCAL
        elif name == "OppositeEndianExplicit":
            text = EXPLICIT_OPPOSITE
        else:
            text = names.get(name, text)
    if not text or not re.fullmatch(r"[0-9.]+", text):
        raise ProfileError(f"cannot read config file: not a valid {what} UID: {value}")
    return text


def _split(key: str, value: str) -> tuple[str, str]:
    if "\\" not in value:
        raise ProfileError(
            f"cannot read config file: syntax error: missing '\\' in entry {key}"
            " in config file"
        )
    head, _, tail = value.partition("\\")
    return head, tail


def _superior(
    tree: dict[str, dict[str, dict[str, str]]], name: str
) -> dict[str, dict[str, str]]:
    if name not in tree:
        raise ProfileError(
            f"cannot read config file: cannot find section [[{name}]] in config file"
        )
    return tree[name]


def load(text: str) -> dict[str, Profile]:
    """
    Validate a whole configuration file and build every profile.

    :returns: profiles by mangled name.
    :raises ProfileError: for the reference's fatal errors.
    """
    tree = read_tree(text)
    transfer_lists = {
        label: tuple(
            _uid(value, TRANSFER_SYNTAX_NAMES, "transfer syntax")
            for _, value in _numbered(section, "TRANSFERSYNTAX")
        )
        for label, section in _superior(tree, "TRANSFERSYNTAXES").items()
    }
    context_lists = {}
    for label, section in _superior(tree, "PRESENTATIONCONTEXTS").items():
        entries = _numbered(section, "PRESENTATIONCONTEXT")
        if len(entries) > MAX_CONTEXTS:
            raise ProfileError(
                "cannot read config file: presentation context list too long"
                f" (> {MAX_CONTEXTS} entries): {label}"
            )
        contexts = []
        for key, value in entries:
            abstract, syntaxes = _split(key, value)
            uid = _uid(abstract, SOP_CLASS_NAMES, "abstract syntax")
            if _label(syntaxes) not in transfer_lists:
                raise ProfileError(
                    "cannot read config file: transfer syntax key undefined:"
                    f" {syntaxes}"
                )
            contexts.append((uid, transfer_lists[_label(syntaxes)]))
        context_lists[label] = contexts
    role_lists = {
        label: [_role(key, value) for key, value in _numbered(section, "ROLE")]
        for label, section in tree.get("SCPSCUROLESELECTION", {}).items()
    }
    extended_lists = {
        label: [
            _extended(key, value)
            for key, value in _numbered(section, "EXTENDEDNEGOTIATION")
        ]
        for label, section in tree.get("EXTENDEDNEGOTIATION", {}).items()
    }
    profiles = {}
    for name, section in _superior(tree, "PROFILES").items():
        profiles[name] = _profile(
            name, section, context_lists, role_lists, extended_lists
        )
    return profiles


def _role(key: str, value: str) -> tuple[str, str]:
    abstract, role = _split(key, value)
    uid = _uid(abstract, SOP_CLASS_NAMES, "abstract syntax")
    if role.upper() not in (SCU, SCP, BOTH):
        raise ProfileError(
            f"cannot read config file: syntax error: unknown role key in entry {key}"
            " in config file"
        )
    return uid, role.upper()


def _extended(key: str, value: str) -> tuple[str, bytes]:
    abstract, data = _split(key, value)
    uid = _uid(abstract, SOP_CLASS_NAMES, "abstract syntax")
    digits = data.strip()
    if len(digits) % 2 or not re.fullmatch(r"[0-9A-Fa-f]*", digits):
        raise ProfileError(
            "cannot read config file: parse error in extended negotiation data in"
            f" entry {key} in config file"
        )
    raw = bytes.fromhex(digits)
    if len(raw) > MAX_EXTENDED:
        raise ProfileError(
            "cannot read config file: extended negotiation data too long, cannot"
            f" handle > {MAX_EXTENDED} bytes in entry {key} in config file"
        )
    return uid, raw


def _profile(
    name: str,
    section: dict[str, str],
    context_lists: dict[str, list[tuple[str, tuple[str, ...]]]],
    role_lists: dict[str, list[tuple[str, str]]],
    extended_lists: dict[str, list[tuple[str, bytes]]],
) -> Profile:
    if "PRESENTATIONCONTEXTS" not in section:
        raise ProfileError(
            "cannot read config file: no PRESENTATIONCONTEXTS  entry in section"
            f" {name} in config file"
        )
    label = section["PRESENTATIONCONTEXTS"]
    if _label(label) not in context_lists:
        raise ProfileError(
            f"cannot read config file: presentation context key undefined: {label}"
        )
    contexts = context_lists[_label(label)]
    listed = {uid for uid, _ in contexts}
    roles = dict(_referenced(section, "SCPSCUROLESELECTION", role_lists, label, listed))
    extended = dict(
        _referenced(section, "EXTENDEDNEGOTIATION", extended_lists, label, listed)
    )
    mapping: dict[str, tuple[str, ...]] = {}
    duplicate = False
    for uid, syntaxes in contexts:
        duplicate = duplicate or uid in mapping
        mapping.setdefault(uid, syntaxes)
    return Profile(name, mapping, roles, extended, duplicate)


_T = TypeVar("_T")


def _referenced(
    section: dict[str, str],
    key: str,
    lists: dict[str, list[tuple[str, _T]]],
    context_label: str,
    listed: set[str],
) -> list[tuple[str, _T]]:
    """
    The role or extended negotiation list a profile names, checked against
    its presentation context list.
    """
    if key not in section:
        return []
    label = section[key]
    if _label(label) not in lists:
        raise ProfileError(
            f"cannot read config file: {key.lower()} key undefined: {label}"
        )
    entries = lists[_label(label)]
    for uid, _ in entries:
        if uid not in listed:
            raise ProfileError(
                "cannot read config file: abstract syntax defined in role selection"
                f" list '{_label(label)}' but not in presentation context list"
                f" '{_label(context_label)}': {uid}"
            )
    return entries


def select(profiles: dict[str, Profile], requested: str) -> Profile:
    """
    Pick the profile named on the command line (white space removed,
    upper-cased) and check it can serve an SCP.

    :raises ProfileError: for an unknown or unusable profile.
    """
    name = "".join(requested.split()).upper()
    profile = profiles.get(mangle(name))
    if profile is None:
        raise ProfileError(f"unknown configuration profile name: {name}")
    if profile.duplicate:
        raise ProfileError(
            f"profile '{name}' is not valid for SCP use, duplicate abstract syntaxes"
            " found"
        )
    return profile
