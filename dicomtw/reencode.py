"""
Normal-mode re-encoding, as the reference writes a data set by default
(``+e``: sequences and items with explicit lengths; ``+g=``: group lengths
recalculated where present).

The data set has already been spooled as received.  Only the top-level
elements that need it are re-encoded, in memory: sequences (whatever their
length, since items inside may have undefined lengths) and group length
elements.  Everything else, pixel data included, is copied by range, so a
large object costs no more memory than its largest sequence.

Encapsulated pixel data keeps its undefined length and fragments, as in
the reference.  Deflated data sets are not re-encoded.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dicomtw.dictionary import PRIVATE_VRS, SEQUENCE_TAGS, SINGLE_VRS
from dicomtw.errors import DataSetError
from dicomtw.uids import EXPLICIT_BIG, EXPLICIT_LITTLE, IMPLICIT_LITTLE

_UNDEFINED = 0xFFFFFFFF
_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQUENCE_END = 0xFFFEE0DD
_PIXEL_DATA = 0x7FE00010
_LONG_VRS = frozenset(
    {
        b"OB",
        b"OD",
        b"OF",
        b"OL",
        b"OV",
        b"OW",
        b"SQ",
        b"UC",
        b"UN",
        b"UR",
        b"UT",
        b"SV",
        b"UV",
    }
)

#: The VRs ``-u`` writes as OB in explicit VR (behaviour reference §10.4).
NEW_VRS = frozenset(
    {b"UN", b"UT", b"UC", b"UR", b"OF", b"OD", b"OL", b"OV", b"SV", b"UV"}
)


@dataclass(frozen=True)
class Encoding:
    """
    The reference's encoding options for normal mode.

    :ivar group_lengths: ``recalc`` (``+g=``), ``create`` (``+g``) or
        ``remove`` (``-g``).
    :ivar undefined_lengths: sequences and items with undefined length
        (``-e``) rather than explicit (``+e``).
    :ivar new_vrs: keep the post-1993 VRs (``+u``); else write them as OB
        (``-u``).
    :ivar convert_un: give defined-length UN elements their dictionary VR
        (``+uc``), where the dictionary has exactly one, other than SQ.
    """

    group_lengths: str = "recalc"
    undefined_lengths: bool = False
    new_vrs: bool = True
    convert_un: bool = False

    @property
    def is_default(self) -> bool:
        """
        Whether these are the reference's defaults, which change nothing
        for most data sets.
        """
        return self == Encoding()


#: Transfer syntaxes this module re-encodes.
REENCODABLE = frozenset({IMPLICIT_LITTLE, EXPLICIT_LITTLE, EXPLICIT_BIG})


@dataclass(frozen=True)
class _Syntax:
    explicit: bool
    order: str


_SYNTAXES = {
    IMPLICIT_LITTLE: _Syntax(False, "<"),
    EXPLICIT_LITTLE: _Syntax(True, "<"),
    EXPLICIT_BIG: _Syntax(True, ">"),
}


def _is_sequence_tag(tag: int) -> bool:
    """
    Whether the data dictionary gives ``tag`` the VR SQ (for implicit VR).
    """
    return tag in SEQUENCE_TAGS


class _Reader:
    """
    Parses elements of one transfer syntax out of a byte string.
    """

    def __init__(self, syntax: _Syntax, is_sequence: Callable[[int], bool]) -> None:
        self.syntax = syntax
        self.is_sequence = is_sequence
        order = syntax.order
        self.tag = struct.Struct(order + "HH")
        self.u16 = struct.Struct(order + "H")
        self.u32 = struct.Struct(order + "L")

    def header(self, data: bytes, pos: int) -> tuple[int, bytes, int, int]:
        """
        :returns: ``(tag, vr, length, value_offset)`` of the element at
            ``pos``; ``vr`` is ``b""`` in implicit VR and for delimiters.
        """
        if pos + 8 > len(data):
            raise DataSetError(f"element header cut off at {pos}")
        group, element = self.tag.unpack_from(data, pos)
        tag = group << 16 | element
        if group == 0xFFFE or not self.syntax.explicit:
            return tag, b"", self.u32.unpack_from(data, pos + 4)[0], pos + 8
        vr = bytes(data[pos + 4 : pos + 6])
        if vr in _LONG_VRS:
            if pos + 12 > len(data):
                raise DataSetError(f"element header cut off at {pos}")
            return tag, vr, self.u32.unpack_from(data, pos + 8)[0], pos + 12
        return tag, vr, self.u16.unpack_from(data, pos + 6)[0], pos + 8

    def sequence_like(self, tag: int, vr: bytes, length: int) -> bool:
        if tag == _PIXEL_DATA or vr in (b"OB", b"OW"):
            return False
        if vr == b"SQ":
            return True
        if not self.syntax.explicit:
            return length == _UNDEFINED or self.is_sequence(tag)
        return False


def _fragments_end(reader: _Reader, data: bytes, pos: int) -> int:
    """
    :returns: the offset after the sequence delimiter of encapsulated pixel
        data whose first item starts at ``pos``.
    """
    while True:
        tag, _, length, value = reader.header(data, pos)
        if tag == _SEQUENCE_END:
            return value
        if tag != _ITEM or length == _UNDEFINED:
            raise DataSetError(f"bad pixel data fragment at {pos}")
        pos = value + length


def _dictionary_vr(tag: int, creators: dict[tuple[int, int], str]) -> bytes | None:
    group, element = tag >> 16, tag & 0xFFFF
    if group & 1 and element > 0xFF:
        creator = creators.get((group, element >> 8))
        if creator is None:
            return None
        return PRIVATE_VRS.get((group, creator, element & 0xFF))
    return SINGLE_VRS.get(tag)


def _creator(tag: int) -> tuple[int, int] | None:
    """
    The ``(group, block)`` a private creator element reserves, or ``None``.
    """
    group, element = tag >> 16, tag & 0xFFFF
    if group & 1 and 0x10 <= element <= 0xFF:
        return group, element
    return None


def _creator_text(raw: bytes) -> str:
    return raw.decode("latin-1").strip(" \0")


class _Writer:
    """
    Encodes elements with explicit lengths, recalculating group lengths.
    """

    def __init__(self, reader: _Reader, encoding: Encoding = Encoding()) -> None:
        self.reader = reader
        self.syntax = reader.syntax
        self.encoding = encoding

    def vr_out(
        self,
        vr: bytes,
        tag: int = 0,
        length: int = 0,
        creators: dict[tuple[int, int], str] | None = None,
    ) -> bytes:
        """
        The VR to write: ``+uc`` resolves UN from the dictionary (private
        tags through their creators), ``-u`` turns the post-1993 VRs into
        OB.
        """
        if not self.syntax.explicit:
            return vr
        if vr == b"UN" and self.encoding.convert_un and length != _UNDEFINED:
            known = _dictionary_vr(tag, creators or {})
            if known and known != b"SQ" and (known in _LONG_VRS or length <= 0xFFFF):
                vr = known
        if not self.encoding.new_vrs and vr in NEW_VRS:
            return b"OB"
        return vr

    def header(self, tag: int, vr: bytes, length: int) -> bytes:
        r = self.reader
        head = r.tag.pack(tag >> 16, tag & 0xFFFF)
        if not self.syntax.explicit:
            return head + r.u32.pack(length)
        if vr in _LONG_VRS:
            return head + vr + b"\0\0" + r.u32.pack(length)
        return head + vr + r.u16.pack(length)

    def element(self, tag: int, vr: bytes, value: bytes) -> bytes:
        return self.header(tag, vr, len(value)) + value

    def delimiter(self, element: int) -> bytes:
        r = self.reader
        return r.tag.pack(0xFFFE, element) + r.u32.pack(0)

    def data_set(self, data: bytes, pos: int, end: int | None) -> tuple[bytes, int]:
        """
        Re-encode the elements from ``pos`` up to ``end`` (or, with
        ``end`` None, up to an item delimiter).

        :returns: the encoded elements and where parsing stopped.
        """
        encoded: list[tuple[int, bytes]] = []
        creators: dict[tuple[int, int], str] = {}
        limit = len(data) if end is None else end
        while pos < limit:
            tag, vr, length, value = self.reader.header(data, pos)
            if tag == _ITEM_END and end is None:
                return _group_lengths(self, encoded), value
            block = _creator(tag)
            if block is not None and length != _UNDEFINED:
                creators[block] = _creator_text(data[value : value + length])
            raw, pos = self.one(data, pos, tag, vr, length, value, creators)
            encoded.append((tag, raw))
        if end is None:
            raise DataSetError("item without delimiter")
        return _group_lengths(self, encoded), pos

    def one(
        self,
        data: bytes,
        pos: int,
        tag: int,
        vr: bytes,
        length: int,
        value: int,
        creators: dict[tuple[int, int], str] | None = None,
    ) -> tuple[bytes, int]:
        """
        Re-encode the element whose header starts at ``pos``.

        :returns: its bytes and the offset after it.
        """
        reader = self.reader
        if reader.sequence_like(tag, vr, length):
            items, after = self.items(data, value, length)
            sq = vr or b"SQ"
            if self.encoding.undefined_lengths:
                head = self.header(tag, sq, _UNDEFINED)
                return head + items + self.delimiter(0xE0DD), after
            return self.element(tag, sq, items), after
        if length == _UNDEFINED:
            after = _fragments_end(reader, data, value)
            return bytes(data[pos:after]), after
        after = value + length
        if after > len(data):
            raise DataSetError(f"element at {pos} runs past the data set")
        out = self.vr_out(vr, tag, length, creators)
        if out != vr:
            return self.element(tag, out, bytes(data[value:after])), after
        return bytes(data[pos:after]), after

    def items(self, data: bytes, pos: int, length: int) -> tuple[bytes, int]:
        end = None if length == _UNDEFINED else pos + length
        parts: list[bytes] = []
        while end is None or pos < end:
            tag, _, item_length, value = self.reader.header(data, pos)
            if tag == _SEQUENCE_END and end is None:
                return b"".join(parts), value
            if tag != _ITEM:
                raise DataSetError(f"unexpected element in a sequence at {pos}")
            if item_length == _UNDEFINED:
                body, pos = self.data_set(data, value, None)
            else:
                body, pos = self.data_set(data, value, value + item_length)
            item_head = self.reader.tag.pack(0xFFFE, 0xE000)
            if self.encoding.undefined_lengths:
                parts.append(
                    item_head + self.reader.u32.pack(_UNDEFINED) + body
                    + self.delimiter(0xE00D)
                )  # fmt: skip
            else:
                parts.append(item_head + self.reader.u32.pack(len(body)) + body)
        if pos != end:
            raise DataSetError("sequence contents overrun its length")
        return b"".join(parts), pos


def _is_group_length(tag: int) -> bool:
    return tag & 0xFFFF == 0 and 0 < tag >> 16 < 0xFFFE


def _group_lengths(writer: _Writer, encoded: list[tuple[int, bytes]]) -> bytes:
    """
    Join one data set's encoded elements, applying the group length policy.
    """
    pieces = [(tag, [Piece(data=raw)]) for tag, raw in encoded]
    return b"".join(
        piece.data or b"" for _, parts in _apply_group_lengths(writer, pieces)
        for piece in parts
    )  # fmt: skip


def _apply_group_lengths(
    writer: _Writer, elements: list[tuple[int, list[Piece]]]
) -> list[tuple[int, list[Piece]]]:
    """
    ``recalc``: give each group length element present the length of the
    rest of its group; ``remove``: drop them; ``create``: one for every
    group, before its first element.
    """
    policy = writer.encoding.group_lengths
    sizes: dict[int, int] = {}
    for tag, parts in elements:
        if not _is_group_length(tag):
            sizes[tag >> 16] = sizes.get(tag >> 16, 0) + sum(p.size for p in parts)

    def group_length(group: int) -> list[Piece]:
        value = writer.reader.u32.pack(sizes.get(group, 0))
        return [Piece(data=writer.element(group << 16, b"UL", value))]

    result: list[tuple[int, list[Piece]]] = []
    previous_group = None
    for tag, parts in elements:
        group = tag >> 16
        if _is_group_length(tag):
            if policy == "recalc":
                result.append((tag, group_length(group)))
            continue
        if policy == "create" and group != previous_group and 0 < group < 0xFFFE:
            result.append((group << 16, group_length(group)))
        previous_group = group
        result.append((tag, parts))
    return result


@dataclass(frozen=True)
class Piece:
    """
    One part of the re-encoded data set: new bytes, or a range of the
    spooled one to copy.
    """

    data: bytes | None = None
    start: int = 0
    length: int = 0

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self.length


def plan(
    transfer_syntax: str,
    starts: Sequence[int],
    total: int,
    read: Callable[[int, int], bytes],
    is_sequence: Callable[[int], bool] = _is_sequence_tag,
    encoding: Encoding = Encoding(),
) -> list[Piece]:
    """
    Plan the re-encoding of a spooled data set.

    :param starts: the offsets of the top-level elements, as the scanner
        found them, in order.
    :param total: the data set's length.
    :param read: reads ``(offset, length)`` bytes of the spooled data set.
    :param encoding: the ``+e/-e``, ``+g=/+g/-g`` and ``+u/-u`` choices.
    :returns: the pieces of the new data set, in order.
    :raises DataSetError: for a structure the scanner let pass but that
        cannot be re-encoded.
    """
    reader = _Reader(_SYNTAXES[transfer_syntax], is_sequence)
    writer = _Writer(reader, encoding)
    bounds = list(zip(starts, [*starts[1:], total], strict=True))
    elements: list[tuple[int, list[Piece]]] = []
    creators: dict[tuple[int, int], str] = {}
    for start, end in bounds:
        head = read(start, min(12, end - start))
        tag, vr, length, value = reader.header(head, 0)
        block = _creator(tag)
        if block is not None and length != _UNDEFINED and length <= 64:
            creators[block] = _creator_text(read(start + value, length))
        out = writer.vr_out(vr, tag, length, creators)
        if reader.sequence_like(tag, vr, length) or _is_group_length(tag):
            raw = read(start, end - start)
            new, _ = writer.one(raw, 0, tag, vr, length, value)
            elements.append((tag, [Piece(data=new)]))
        elif length != _UNDEFINED and out != vr:
            header = writer.header(tag, out, length)
            elements.append(
                (tag, [Piece(data=header), Piece(start=start + value, length=length)])
            )
        else:
            elements.append((tag, [Piece(start=start, length=end - start)]))
    return [
        piece for _, parts in _apply_group_lengths(writer, elements) for piece in parts
    ]
