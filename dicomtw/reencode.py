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

from dicomtw.dictionary import SEQUENCE_TAGS
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


class _Writer:
    """
    Encodes elements with explicit lengths, recalculating group lengths.
    """

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.syntax = reader.syntax

    def element(self, tag: int, vr: bytes, value: bytes) -> bytes:
        r = self.reader
        head = r.tag.pack(tag >> 16, tag & 0xFFFF)
        if not self.syntax.explicit:
            return head + r.u32.pack(len(value)) + value
        if vr in _LONG_VRS:
            return head + vr + b"\0\0" + r.u32.pack(len(value)) + value
        return head + vr + r.u16.pack(len(value)) + value

    def data_set(self, data: bytes, pos: int, end: int | None) -> tuple[bytes, int]:
        """
        Re-encode the elements from ``pos`` up to ``end`` (or, with
        ``end`` None, up to an item delimiter).

        :returns: the encoded elements and where parsing stopped.
        """
        encoded: list[tuple[int, bytes]] = []
        limit = len(data) if end is None else end
        while pos < limit:
            tag, vr, length, value = self.reader.header(data, pos)
            if tag == _ITEM_END and end is None:
                return _with_group_lengths(self, encoded), value
            raw, pos = self.one(data, pos, tag, vr, length, value)
            encoded.append((tag, raw))
        if end is None:
            raise DataSetError("item without delimiter")
        return _with_group_lengths(self, encoded), pos

    def one(
        self, data: bytes, pos: int, tag: int, vr: bytes, length: int, value: int
    ) -> tuple[bytes, int]:
        """
        Re-encode the element whose header starts at ``pos``.

        :returns: its bytes and the offset after it.
        """
        reader = self.reader
        if reader.sequence_like(tag, vr, length):
            items, after = self.items(data, value, length)
            return self.element(tag, vr or b"SQ", items), after
        if length == _UNDEFINED:
            after = _fragments_end(reader, data, value)
            return bytes(data[pos:after]), after
        after = value + length
        if after > len(data):
            raise DataSetError(f"element at {pos} runs past the data set")
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
            parts.append(item_head + self.reader.u32.pack(len(body)) + body)
        if pos != end:
            raise DataSetError("sequence contents overrun its length")
        return b"".join(parts), pos


def _with_group_lengths(writer: _Writer, encoded: list[tuple[int, bytes]]) -> bytes:
    """
    Join encoded elements, giving each group length element present the
    length of the rest of its group.
    """
    sizes: dict[int, int] = {}
    for tag, raw in encoded:
        if tag & 0xFFFF:
            sizes[tag >> 16] = sizes.get(tag >> 16, 0) + len(raw)
    out = []
    for tag, raw in encoded:
        if tag & 0xFFFF == 0 and tag >> 16:
            raw = writer.element(
                tag, b"UL", writer.reader.u32.pack(sizes.get(tag >> 16, 0))
            )
        out.append(raw)
    return b"".join(out)


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
) -> list[Piece]:
    """
    Plan the re-encoding of a spooled data set.

    :param starts: the offsets of the top-level elements, as the scanner
        found them, in order.
    :param total: the data set's length.
    :param read: reads ``(offset, length)`` bytes of the spooled data set.
    :returns: the pieces of the new data set, in order.
    :raises DataSetError: for a structure the scanner let pass but that
        cannot be re-encoded.
    """
    reader = _Reader(_SYNTAXES[transfer_syntax], is_sequence)
    writer = _Writer(reader)
    bounds = list(zip(starts, [*starts[1:], total], strict=True))
    pieces: list[tuple[int, Piece]] = []
    for start, end in bounds:
        head = read(start, min(12, end - start))
        tag, vr, length, value = reader.header(head, 0)
        if reader.sequence_like(tag, vr, length) or (tag & 0xFFFF == 0 and tag >> 16):
            raw = read(start, end - start)
            new, _ = writer.one(raw, 0, tag, vr, length, value)
            pieces.append((tag, Piece(data=new)))
        else:
            pieces.append((tag, Piece(start=start, length=end - start)))
    sizes: dict[int, int] = {}
    for tag, piece in pieces:
        if tag & 0xFFFF:
            sizes[tag >> 16] = sizes.get(tag >> 16, 0) + piece.size
    result = []
    for tag, piece in pieces:
        if tag & 0xFFFF == 0 and tag >> 16:
            piece = Piece(
                data=writer.element(
                    tag, b"UL", reader.u32.pack(sizes.get(tag >> 16, 0))
                )
            )
        result.append(piece)
    return result
