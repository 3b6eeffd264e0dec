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
the reference.

The same walk converts between the uncompressed transfer syntaxes
(``+te``, ``+tb``, ``+ti``, behaviour reference §10.3): every element gets
a header in the new syntax, VRs come from the data dictionary when the
data set arrived in implicit VR, and binary values are byte-swapped by
their VR when the byte order changes.  Large values are then copied by
range with the swap applied on the way (:attr:`Piece.swap`).  Deflating
and inflating is the caller's business: this module sees the inflated
bytes.
"""

from __future__ import annotations

import array
import struct
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from dataclasses import dataclass

import re

from dicomtw.dictionary import (
    PRIVATE_VRS,
    SEQUENCE_TAGS,
    SINGLE_VRS,
    STRING_VRS,
    LONG_VRS as _LONG_VRS,
    implicit_string_vr,
    public_vrs,
)
from dicomtw.errors import DataSetError
from dicomtw.uids import (
    DEFLATED_LITTLE,
    EXPLICIT_BIG,
    EXPLICIT_LITTLE,
    IMPLICIT_LITTLE,
)

_T = TypeVar("_T", bound=tuple[Any, ...])

_UNDEFINED = 0xFFFFFFFF
_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQUENCE_END = 0xFFFEE0DD
_PIXEL_DATA = 0x7FE00010
_PADDING = 0xFFFCFFFC
#: The VRs the reference knows; others it reads with a 2-byte length and
#: holds as UN.
KNOWN_VRS = frozenset(
    b"AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST"
    b" SV TM UC UI UL UN UR US UT UV".split()
)

#: The VRs ``-u`` writes as OB in explicit VR (behaviour reference §10.4).
NEW_VRS = frozenset(
    {b"UN", b"UT", b"UC", b"UR", b"OF", b"OD", b"OL", b"OV", b"SV", b"UV"}
)

#: The size of the units a value of each binary VR is byte-swapped in.
SWAP_UNITS = {
    b"US": 2,
    b"SS": 2,
    b"OW": 2,
    b"AT": 2,
    b"UL": 4,
    b"SL": 4,
    b"FL": 4,
    b"OF": 4,
    b"OL": 4,
    b"FD": 8,
    b"OD": 8,
    b"OV": 8,
    b"SV": 8,
    b"UV": 8,
}

_ARRAY_CODES = {2: "H", 4: "I", 8: "Q"}

#: Values up to this size are converted in memory; longer ones are copied
#: by range.
_IN_MEMORY = 64 * 1024

_PIXEL_REPRESENTATION = 0x00280103
_WAVEFORM_BITS_ALLOCATED = 0x54001004


_SCOPE_TAGS = frozenset({_PIXEL_REPRESENTATION, _WAVEFORM_BITS_ALLOCATED})


#: The characters C's isspace() takes for white space; the reference drops
#: them all from UI values.
_WHITE_SPACE = re.compile(rb"[ \t\n\v\f\r]")


def string_vr(tag: int, vr: bytes) -> bytes | None:
    """
    The string VR of an element as the reference reads it (``vr``, or for
    implicit VR, ``b""``, the dictionary's for public tags), or ``None``.
    """
    if vr:
        return vr if vr in STRING_VRS else None
    return implicit_string_vr(tag)


def string_unnormalised(value: bytes | memoryview, ui: bool) -> bool:
    """
    Whether the reference would write this string value differently: an
    odd length, more than one trailing padding character, or (UI) white
    space anywhere.
    """
    if len(value) % 2:
        return True
    if ui:
        return bytes(value[-2:]) == b"\0\0" or _WHITE_SPACE.search(value) is not None
    return bytes(value[-2:]) == b"  "


def normalise_string(value: bytes, ui: bool) -> bytes:
    """
    A string value as the reference writes it in normal mode: an odd
    length is first made even with a null byte (as the reference reads
    it); then trailing padding (spaces; for UI, null bytes after all white
    space is removed) is dropped and one padding character added back if
    the length is odd.
    """
    if len(value) % 2:
        value += b"\0"
    if ui:
        kept = _WHITE_SPACE.sub(b"", value).rstrip(b"\0")
        pad = b"\0"
    else:
        kept = value.rstrip(b" ")
        pad = b" "
    return kept + pad if len(kept) % 2 else kept


def swap(value: bytes, unit: int) -> bytes:
    """
    Reverse the byte order of each ``unit``-byte word of ``value``; a
    trailing part shorter than a word is left as it is.
    """
    if unit not in _ARRAY_CODES or len(value) < unit:
        return value
    whole = len(value) - len(value) % unit
    words = array.array(_ARRAY_CODES[unit])
    words.frombytes(value[:whole])
    words.byteswap()
    return words.tobytes() + value[whole:]


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
    :ivar padding: ``(file, item)`` of ``+p``: pad the file to a multiple
        of ``file`` bytes and each item to a multiple of ``item`` bytes
        (0: not), or ``None`` (``-p``).  Received Data Set Trailing Padding
        is dropped either way...
    :ivar keep_padding: ...unless this is set (``+p`` with an odd
        multiple, as the reference has it): received padding stays and
        none is added.
    """

    group_lengths: str = "recalc"
    undefined_lengths: bool = False
    new_vrs: bool = True
    convert_un: bool = False
    padding: tuple[int, int] | None = None
    keep_padding: bool = False

    @property
    def is_default(self) -> bool:
        """
        Whether these are the reference's defaults, which change nothing
        for most data sets.
        """
        return self == Encoding()


#: Transfer syntaxes this module converts from and to (deflated ones once
#: inflated).  Data sets in other (compressed) syntaxes are laid out as
#: explicit VR little endian and can be re-encoded within their syntax.
REENCODABLE = frozenset(
    {IMPLICIT_LITTLE, EXPLICIT_LITTLE, EXPLICIT_BIG, DEFLATED_LITTLE}
)


#: Transfer syntaxes :class:`StreamConverter` converts from and to.
STREAMABLE = frozenset({IMPLICIT_LITTLE, EXPLICIT_LITTLE, EXPLICIT_BIG})


@dataclass(frozen=True)
class _Syntax:
    explicit: bool
    order: str


_SYNTAXES = {
    IMPLICIT_LITTLE: _Syntax(False, "<"),
    EXPLICIT_LITTLE: _Syntax(True, "<"),
    EXPLICIT_BIG: _Syntax(True, ">"),
    DEFLATED_LITTLE: _Syntax(True, "<"),
}


def _is_sequence_tag(tag: int) -> bool:
    """
    Whether the data dictionary gives ``tag`` the VR SQ (for implicit VR).
    """
    return tag in SEQUENCE_TAGS


class _Layout:
    """
    Packs and unpacks the fixed-size fields of one byte order.
    """

    def __init__(self, order: str) -> None:
        self.tag = struct.Struct(order + "HH")
        self.u16 = struct.Struct(order + "H")
        self.u32 = struct.Struct(order + "L")


class _Reader(_Layout):
    """
    Parses elements of one transfer syntax out of a byte string.
    """

    def __init__(self, syntax: _Syntax, is_sequence: Callable[[int], bool]) -> None:
        super().__init__(syntax.order)
        self.syntax = syntax
        self.is_sequence = is_sequence

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
        if vr in _LONG_VRS or (vr not in KNOWN_VRS and vr.isalpha() and vr.isupper()):
            if pos + 12 > len(data):
                raise DataSetError(f"element header cut off at {pos}")
            return tag, vr, self.u32.unpack_from(data, pos + 8)[0], pos + 12
        return tag, vr, self.u16.unpack_from(data, pos + 6)[0], pos + 8

    def sequence_like(self, tag: int, vr: bytes, length: int) -> bool:
        if tag == _PIXEL_DATA or vr in (b"OB", b"OW"):
            return False
        if vr == b"SQ" or (vr == b"UN" and length == _UNDEFINED):
            return True
        if not self.syntax.explicit:
            return length == _UNDEFINED or self.is_sequence(tag)
        return False


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


class _Scope:
    """
    What one data set (the top level or an item) has said so far that the
    encoding of later elements depends on.

    :ivar creators: private creators by ``(group, block)``.
    :ivar pixel_representation: the value of (0028,0103), once seen.
    :ivar waveform_bits: the value of (5400,1004), once seen.
    """

    __slots__ = ("creators", "pixel_representation", "waveform_bits")

    def __init__(self) -> None:
        self.creators: dict[tuple[int, int], str] = {}
        self.pixel_representation: int | None = None
        self.waveform_bits: int | None = None

    def note(self, tag: int, value: bytes, reader: _Reader) -> None:
        """
        Record ``value`` (as it appears in the source) if ``tag`` matters.
        """
        block = _creator(tag)
        if block is not None:
            self.creators[block] = _creator_text(value)
        elif tag in _SCOPE_TAGS and len(value) >= 2:
            number = reader.u16.unpack_from(value)[0]
            if tag == _PIXEL_REPRESENTATION:
                self.pixel_representation = number
            else:
                self.waveform_bits = number


#: The ``US or SS`` tags that hold pixel values: SS when Pixel
#: Representation (0028,0103) is 1 in the same data set.  The other ``US or
#: SS`` tags (palette descriptors, retired ones) are read as US.
PIXEL_VALUE_TAGS = frozenset(
    {
        0x00280106,  # Smallest Image Pixel Value
        0x00280107,  # Largest Image Pixel Value
        0x00280108,  # Smallest Pixel Value in Series
        0x00280109,  # Largest Pixel Value in Series
        0x00280120,  # Pixel Padding Value
        0x00280121,  # Pixel Padding Range Limit
        0x00283002,  # LUT Descriptor
        0x00409211,  # Real World Value Last Value Mapped
        0x00409216,  # Real World Value First Value Mapped
        0x00603004,  # Histogram First Bin Value
        0x00603006,  # Histogram Last Bin Value
    }
)

#: The ``OB or OW`` waveform tags: OW once Waveform Bits Allocated
#: (5400,1004) other than 8 has been seen in the same data set, else OB.
WAVEFORM_TAGS = frozenset({0x54000110, 0x54000112, 0x5400100A, 0x54001010})


#: Answers of :meth:`_Writer._resolve`, shared by all data sets (worker
#: threads included: a lost update only costs a recomputation), and
#: cleared when full, since tags and VRs come from the peers.
_RESOLVED: dict[tuple[Any, ...], tuple[bytes, int, bytes | None, bytes]] = {}
_RESOLVED_LIMIT = 20000
_PROFILES: dict[tuple[Any, ...], int] = {}

#: Tags whose VR in implicit VR depends on earlier elements of their data
#: set (see :func:`implicit_vr`).
_SCOPED_TAGS = PIXEL_VALUE_TAGS | WAVEFORM_TAGS


def implicit_vr(tag: int, scope: _Scope) -> bytes:
    """
    The VR of an element received in implicit VR, as the reference gives
    it when writing explicit VR: from the data dictionary (private tags
    through their creator), UN for unknown tags.  Where the dictionary
    allows several VRs: ``US or SS`` pixel values are SS after Pixel
    Representation 1, other ``US or SS`` tags US; LUT data (``US or OW``)
    is OW; of the ``OB or OW`` tags, Pixel Data and Overlay Data are OW,
    waveform values follow Waveform Bits Allocated, the others are OB.
    """
    group, element = tag >> 16, tag & 0xFFFF
    if element == 0:
        return b"UL"
    if group & 1:
        if 0x10 <= element <= 0xFF:
            return b"LO"
        return _dictionary_vr(tag, scope.creators) or b"UN"
    vrs = public_vrs(tag)
    if not vrs:
        return b"UN"
    if len(vrs) == 1:
        return vrs[0]
    if b"OW" in vrs and b"OB" not in vrs:
        return b"OW"
    if b"SS" in vrs:
        signed = scope.pixel_representation == 1 and tag in PIXEL_VALUE_TAGS
        return b"SS" if signed else b"US"
    if tag == _PIXEL_DATA or tag & 0xFF00FFFF == 0x60003000:
        return b"OW"
    if tag in WAVEFORM_TAGS:
        bits = scope.waveform_bits
        return b"OW" if bits is not None and bits != 8 else b"OB"
    return b"OB"


class _Writer:
    """
    Encodes elements in the target transfer syntax with explicit (or,
    with ``-e``, undefined) lengths, recalculating group lengths.
    """

    def __init__(
        self,
        reader: _Reader,
        encoding: Encoding = Encoding(),
        target: _Syntax | None = None,
    ) -> None:
        self.reader = reader
        self.syntax = target or reader.syntax
        self.out = _Layout(self.syntax.order)
        self.encoding = encoding
        #: Whether headers (and maybe values) change syntax.
        self.converting = self.syntax != reader.syntax
        #: Whether binary values change byte order.
        self.swapping = self.syntax.order != reader.syntax.order
        self._implicit: _Writer | None = None
        #: What the answers of :meth:`_resolve` depend on besides the tag,
        #: as a small number.
        self._profile = _PROFILES.setdefault(
            (reader.syntax, self.syntax, encoding.new_vrs, encoding.convert_un),
            len(_PROFILES),
        )

    def known_vr(self, tag: int, vr: bytes, length: int, scope: _Scope | None) -> bytes:
        """
        The element's VR as the reference holds it once read: the received
        one, or the dictionary's for implicit VR; ``+uc`` resolves UN.
        """
        if not vr:
            vr = implicit_vr(tag, scope or _Scope())
        elif vr not in KNOWN_VRS:
            vr = b"UN"
        elif vr == b"UN" and self.encoding.convert_un and length != _UNDEFINED:
            known = _dictionary_vr(tag, scope.creators if scope else {})
            if known and known != b"SQ" and (known in _LONG_VRS or length <= 0xFFFF):
                vr = known
        return vr

    def vr_out(
        self,
        vr: bytes,
        tag: int = 0,
        length: int = 0,
        scope: _Scope | None = None,
    ) -> bytes:
        """
        The VR to write: ``+uc`` resolves UN from the dictionary (private
        tags through their creators), ``-u`` turns the post-1993 VRs into
        OB.
        """
        if not self.syntax.explicit:
            return vr
        if vr or self.converting:
            vr = self.known_vr(tag, vr, length, scope)
        if not self.encoding.new_vrs and vr in NEW_VRS:
            return b"OB"
        return vr

    def header(self, tag: int, vr: bytes, length: int) -> bytes:
        out = self.out
        head = out.tag.pack(tag >> 16, tag & 0xFFFF)
        if not self.syntax.explicit:
            return head + out.u32.pack(length)
        if vr in _LONG_VRS:
            return head + vr + b"\0\0" + out.u32.pack(length)
        if length > 0xFFFF:
            # Too long for a 2-byte length field: written as UN.
            unknown = b"UN" if self.encoding.new_vrs else b"OB"
            return head + unknown + b"\0\0" + out.u32.pack(length)
        return head + vr + out.u16.pack(length)

    def padding(self, position: int, multiple: int) -> bytes:
        """
        ``+p``: the Data Set Trailing Padding element (FFFC,FFFC) that
        takes ``position`` to the next multiple of ``multiple`` (a whole
        multiple more if its header would not fit), or nothing.
        """
        if multiple <= 0 or position % multiple == 0:
            return b""
        header = len(self.header(_PADDING, b"OB", 0))
        size = multiple - position % multiple
        while size < header:
            size += multiple
        return self.element(_PADDING, b"OB", bytes(size - header))

    def element(self, tag: int, vr: bytes, value: bytes) -> bytes:
        return self.header(tag, vr, len(value)) + value

    def delimiter(self, element: int) -> bytes:
        out = self.out
        return out.tag.pack(0xFFFE, element) + out.u32.pack(0)

    def data_set(self, data: bytes, pos: int, end: int | None) -> tuple[bytes, int]:
        """
        Re-encode the elements from ``pos`` up to ``end`` (or, with
        ``end`` None, up to an item delimiter).

        :returns: the encoded elements and where parsing stopped.
        """
        encoded: list[tuple[int, bytes]] = []
        scope = _Scope()
        limit = len(data) if end is None else end
        while pos < limit:
            tag, vr, length, value = self.reader.header(data, pos)
            if tag == _ITEM_END and end is None:
                return _group_lengths(self, _in_order(encoded)), value
            if length != _UNDEFINED:
                scope.note(tag, data[value : value + length], self.reader)
            raw, pos = self.one(data, pos, tag, vr, length, value, scope)
            if tag != _PADDING or self.encoding.keep_padding:
                encoded.append((tag, raw))
        if end is None:
            raise DataSetError("item without delimiter")
        return _group_lengths(self, _in_order(encoded)), pos

    def one(
        self,
        data: bytes,
        pos: int,
        tag: int,
        vr: bytes,
        length: int,
        value: int,
        scope: _Scope | None = None,
    ) -> tuple[bytes, int]:
        """
        Re-encode the element whose header starts at ``pos``.

        :returns: its bytes and the offset after it.
        """
        reader = self.reader
        if reader.sequence_like(tag, vr, length):
            if vr == b"UN":
                # A sequence sent as UN: its items are in implicit VR little
                # endian (PS3.5 §6.2.2); the reference writes it as SQ.
                items, after = self.implicit_items().items(data, value, length)
            else:
                items, after = self.items(data, value, length)
            sq = b"SQ" if vr in (b"", b"UN") else vr
            if self.encoding.undefined_lengths:
                head = self.header(tag, sq, _UNDEFINED)
                return head + items + self.delimiter(0xE0DD), after
            return self.element(tag, sq, items), after
        if length == _UNDEFINED:
            return self.fragments(data, pos, tag, vr, value, scope)
        after = value + length
        if after > len(data):
            raise DataSetError(f"element at {pos} runs past the data set")
        out, unit, text, known = self._resolve(tag, vr, length, scope)
        raw = bytes(data[value:after])
        normalised = False
        if text is not None and string_unnormalised(raw, text == b"UI"):
            raw = normalise_string(raw, text == b"UI")
            normalised = True
        elif length % 2 and known != b"OW":
            # The reference pads an odd-length value with a null byte as
            # it reads it, OW values excepted.
            raw += b"\0"
            normalised = True
        if not self.converting and out == vr and not normalised:
            return bytes(data[pos:after]), after
        return self.element(tag, out, swap(raw, unit) if unit else raw), after

    def _resolve(
        self, tag: int, vr: bytes, length: int, scope: _Scope | None
    ) -> tuple[bytes, int, bytes | None, bytes]:
        """
        The VR to write, the swap unit, the string VR (or ``None``) and the
        VR as the reference holds it, for a defined-length element;
        remembered for public tags whose answer does not depend on what
        the data set said before.
        """
        key = (self._profile, tag, vr, length <= 0xFFFF)
        cacheable = not tag & 0x10000 and tag not in _SCOPED_TAGS
        if cacheable:
            found = _RESOLVED.get(key)
            if found is not None:
                return found
        out = self.vr_out(vr, tag, length, scope)
        result = (
            out,
            self.swap_unit(tag, vr, length, scope, out),
            string_vr(tag, vr),
            self.known_vr(tag, vr, length, scope),
        )
        if cacheable:
            if len(_RESOLVED) >= _RESOLVED_LIMIT:
                _RESOLVED.clear()
            _RESOLVED[key] = result
        return result

    def swap_unit(
        self, tag: int, vr: bytes, length: int, scope: _Scope | None, out: bytes
    ) -> int:
        """
        The unit to byte-swap a value in, or 0.  Values leave in the target
        byte order, except those ``-u`` writes as OB: the reference writes
        them in little endian whatever the syntax.
        """
        known = self.known_vr(tag, vr, length, scope) if self.converting else vr
        unit = SWAP_UNITS.get(known, 0)
        if out == b"OB" and known != b"OB":
            return unit if self.reader.syntax.order == ">" else 0
        return unit if self.swapping else 0

    def implicit_items(self) -> _Writer:
        """
        A writer that reads implicit VR little endian and writes what this
        one writes.
        """
        if self._implicit is None:
            reader = _Reader(_SYNTAXES[IMPLICIT_LITTLE], self.reader.is_sequence)
            self._implicit = _Writer(reader, self.encoding, self.syntax)
        return self._implicit

    def fragments(
        self,
        data: bytes,
        pos: int,
        tag: int,
        vr: bytes,
        value: int,
        scope: _Scope | None,
    ) -> tuple[bytes, int]:
        """
        Encapsulated pixel data (or another value of undefined length that
        is not a sequence): items of bytes up to a sequence delimiter.
        """
        reader = self.reader
        parts = []
        at = value
        while True:
            item, _, length, start = reader.header(data, at)
            if item == _SEQUENCE_END:
                break
            if item != _ITEM or length == _UNDEFINED:
                raise DataSetError(f"bad pixel data fragment at {at}")
            if start + length > len(data):
                raise DataSetError(f"pixel data fragment at {at} is cut off")
            parts.append(bytes(data[start : start + length]))
            at = start + length
        if not self.converting:
            return bytes(data[pos:start]), start
        out = self.out
        head = self.header(
            tag, self.vr_out(vr or b"OB", tag, _UNDEFINED, scope), _UNDEFINED
        )
        body = b"".join(
            out.tag.pack(0xFFFE, 0xE000) + out.u32.pack(len(part)) + part
            for part in parts
        )
        return head + body + self.delimiter(0xE0DD), start

    def items(self, data: bytes, pos: int, length: int) -> tuple[bytes, int]:
        end = None if length == _UNDEFINED else pos + length
        parts: list[bytes] = []
        out = self.out
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
            if self.encoding.padding is not None:
                body += self.padding(len(body), self.encoding.padding[1])
            item_head = out.tag.pack(0xFFFE, 0xE000)
            if self.encoding.undefined_lengths:
                parts.append(
                    item_head + out.u32.pack(_UNDEFINED) + body
                    + self.delimiter(0xE00D)
                )  # fmt: skip
            else:
                parts.append(item_head + out.u32.pack(len(body)) + body)
        if pos != end:
            raise DataSetError("sequence contents overrun its length")
        return b"".join(parts), pos


def _in_order(elements: list[_T]) -> list[_T]:
    """
    Elements ``(tag, ...)`` in ascending tag order, the first of repeated
    tags kept, as the reference holds a data set.
    """
    if all(a[0] < b[0] for a, b in zip(elements, elements[1:])):
        return elements
    first: dict[int, _T] = {}
    for element in elements:
        first.setdefault(element[0], element)
    return [first[tag] for tag in sorted(first)]


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
        value = writer.out.u32.pack(sizes.get(group, 0))
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
    spooled one to copy, byte-swapped in units of ``swap`` bytes if that
    is not 0.
    """

    data: bytes | None = None
    start: int = 0
    length: int = 0
    swap: int = 0

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
    target_syntax: str | None = None,
    offset: int = 0,
) -> list[Piece]:
    """
    Plan the re-encoding of a spooled data set.

    :param transfer_syntax: the syntax it was received in (for deflated,
        ``read`` gives the inflated bytes).
    :param starts: the offsets of the top-level elements, as the scanner
        found them, in order.
    :param total: the data set's length.
    :param read: reads ``(offset, length)`` bytes of the spooled data set.
    :param encoding: the ``+e/-e``, ``+g=/+g/-g`` and ``+u/-u`` choices.
    :param target_syntax: the syntax to write, if another one; deflated
        means explicit VR little endian, deflating is the caller's.
    :param offset: where the data set starts in the file (preamble and
        meta information), for ``+p``.
    :returns: the pieces of the new data set, in order.
    :raises DataSetError: for a structure the scanner let pass but that
        cannot be re-encoded.
    """
    source = _SYNTAXES.get(transfer_syntax, _SYNTAXES[EXPLICIT_LITTLE])
    reader = _Reader(source, is_sequence)
    target = _SYNTAXES.get(target_syntax or transfer_syntax, source)
    writer = _Writer(reader, encoding, target)
    ends = [*starts[1:], total] if starts else []
    bounds = list(zip(starts, ends, strict=True))
    elements: list[tuple[int, list[Piece]]] = []
    scope = _Scope()
    for start, end in bounds:
        head = read(start, min(12, end - start))
        tag, vr, length, value = reader.header(head, 0)
        if tag == _PADDING and not encoding.keep_padding:
            # The reference drops received padding (and adds its own, +p).
            continue
        if length != _UNDEFINED and (length <= 64 or tag in _SCOPE_TAGS):
            scope.note(tag, read(start + value, min(length, 64)), reader)
        whole = (
            reader.sequence_like(tag, vr, length)
            or _is_group_length(tag)
            or (length != _UNDEFINED and string_vr(tag, vr) is not None)
            or (length != _UNDEFINED and length % 2 == 1)
            or (writer.converting and end - start <= _IN_MEMORY)
            or (writer.converting and length == _UNDEFINED)
        )
        if whole:
            raw = read(start, end - start)
            new, _ = writer.one(raw, 0, tag, vr, length, value, scope)
            elements.append((tag, [Piece(data=new)]))
            continue
        out = writer.vr_out(vr, tag, length, scope)
        if writer.converting or out != vr:
            unit = writer.swap_unit(tag, vr, length, scope, out)
            header = writer.header(tag, out, length)
            elements.append(
                (
                    tag,
                    [
                        Piece(data=header),
                        Piece(start=start + value, length=length, swap=unit),
                    ],
                )
            )
        else:
            elements.append((tag, [Piece(start=start, length=end - start)]))
    pieces = [
        piece
        for _, parts in _apply_group_lengths(writer, _in_order(elements))
        for piece in parts
    ]
    if encoding.padding is not None:
        end = offset + sum(piece.size for piece in pieces)
        pad = writer.padding(end, encoding.padding[0])
        if pad:
            pieces.append(Piece(data=pad))
    return pieces


class StreamConverter:
    """
    Converts a data set between the uncompressed transfer syntaxes while it
    arrives, so that the file is written as the data set comes in rather
    than after it (``+te``, ``+tb``, ``+ti``; the same output as
    :func:`plan`).

    Each top-level element is converted once it is complete; a long value
    (pixel data) is passed through as it arrives behind its new header,
    byte-swapped on the way if the byte order changes.  Group length
    elements are written with a placeholder value and corrected at the
    end (:attr:`patches`), since their group follows them.

    The caller feeds the same bytes to a :class:`DataSetScanner` first and
    passes its ``top_starts``: the scanner has checked the structure and
    says where each top-level element begins.
    """

    def __init__(
        self,
        transfer_syntax: str,
        target_syntax: str,
        encoding: Encoding = Encoding(),
        offset: int = 0,
    ) -> None:
        """
        :param offset: where the data set starts in the file, for ``+p``.
        """
        reader = _Reader(_SYNTAXES[transfer_syntax], _is_sequence_tag)
        self._writer = _Writer(reader, encoding, _SYNTAXES[target_syntax])
        source, target = reader.syntax, self._writer.syntax
        #: Whole headers in one unpack or pack, for :meth:`_convert_plain`.
        self._source_head = struct.Struct(
            source.order + ("HH2sH" if source.explicit else "HHL")
        )
        self._target_head = struct.Struct(
            target.order + ("HH2sH" if target.explicit else "HHL")
        )
        self._target_long = struct.Struct(target.order + "HH2s2xL")
        self._reader = reader
        self._encoding = encoding
        self._offset = offset
        self._scope = _Scope()
        #: Received bytes of the current top-level element, not yet used.
        self._buffer = bytearray()
        #: The data-set offset of ``_buffer[0]``.
        self._position = 0
        #: How many top-level elements are done.
        self._done = 0
        #: Value bytes still to pass through, their swap unit, and the
        #: part of a unit waiting for the next fragment.
        self._passing = 0
        self._value_length = 0
        self._unit = 0
        self._carry = b""
        self._group: int | None = None
        #: Where the value of the current group's length element is, in
        #: the output, if it has one.
        self._group_length_at: int | None = None
        self._group_size = 0
        #: Bytes of output so far.
        self.size = 0
        #: Where each top-level element starts in the output.
        self.starts: list[int] = []
        #: Whether top-level elements came out of order or repeated: the
        #: output then still needs sorting (:func:`plan`, from the output).
        self.disordered = False
        self._last_tag = -1
        #: ``(output offset, bytes)`` to overwrite once all is written.
        self.patches: list[tuple[int, bytes]] = []

    def feed(
        self, data: bytes | memoryview, starts: Sequence[int]
    ) -> list[bytes | memoryview]:
        """
        Take the next fragment; ``starts`` are the top-level element
        offsets the scanner has found so far (including in ``data``).

        :returns: output that is ready, in order.
        :raises DataSetError: for a structure that cannot be converted.
        """
        out: list[bytes | memoryview] = []
        view = memoryview(data).cast("B")
        at = 0
        while at < len(view):
            if self._passing:
                step = min(self._passing, len(view) - at)
                self._pass(view[at : at + step], out)
                at += step
                continue
            self._buffer += view[at:]
            at = len(view)
            self._convert_complete(starts, None, out)
        return out

    def finish(
        self, starts: Sequence[int], total: int, offset: int | None = None
    ) -> list[bytes | memoryview]:
        """
        End the data set (``total`` bytes long): the last elements, group
        length values and ``+p`` padding.

        :param offset: where the data set starts in the file, if not as
            given at construction.
        """
        if offset is not None:
            self._offset = offset
        out: list[bytes | memoryview] = []
        if self._passing:
            raise DataSetError("data set ends inside a value")
        self._convert_complete(starts, total, out)
        if self._buffer:
            raise DataSetError("data set ends inside an element")
        self._end_group()
        if self._encoding.padding is not None:
            pad = self._writer.padding(
                self._offset + self.size, self._encoding.padding[0]
            )
            if pad:
                self.starts.append(self.size)
            self._emit(pad, None, out)
        return out

    def _pass(self, chunk: memoryview, out: list[bytes | memoryview]) -> None:
        self._passing -= len(chunk)
        self._group_size += len(chunk)
        self.size += len(chunk)
        if not self._unit:
            out.append(chunk)
            return
        data = self._carry + bytes(chunk) if self._carry else bytes(chunk)
        whole = len(data) - len(data) % self._unit
        if not self._passing:
            whole = len(data)
        self._carry = data[whole:]
        if whole:
            out.append(swap(data[:whole], self._unit))

    def _convert_complete(
        self,
        starts: Sequence[int],
        total: int | None,
        out: list[bytes | memoryview],
    ) -> None:
        """
        Convert the elements in the buffer that are complete, and start
        passing a long value through once its header is there.
        """
        buffer = self._buffer
        at = 0  # how much of the buffer is used up
        try:
            while at < len(buffer) and not self._passing:
                at = self._convert_plain(buffer, at, starts, total, out)
                if at >= len(buffer):
                    return
                used = self._convert_next(buffer, at, starts, total, out)
                if used is None:
                    return
                if self._passing:
                    # The rest of the buffer is value bytes and what follows.
                    rest = bytes(buffer[at + used :])
                    at = len(buffer)
                    self._buffer = bytearray(rest[self._value_length :])
                    if rest:
                        self._pass(memoryview(rest)[: self._value_length], out)
                    return
                at += used
        finally:
            if self._buffer is buffer and at:
                del buffer[:at]

    def _convert_next(
        self,
        buffer: bytearray,
        at: int,
        starts: Sequence[int],
        total: int | None,
        out: list[bytes | memoryview],
    ) -> int | None:
        """
        Convert the element at ``at`` in the buffer, or start passing its
        long value through.

        :returns: how many buffer bytes it used (for a passed value, its
            header's), or ``None`` if it is not complete yet.
        """
        reader, writer = self._reader, self._writer
        index = self._done
        if index >= len(starts):
            return None
        start = starts[index]
        if start != self._position:
            raise DataSetError(f"element at {start} not where expected")
        end = starts[index + 1] if index + 1 < len(starts) else total
        have = len(buffer) - at
        if have < 12 and (end is None or have < end - start):
            return None
        tag, vr, length, value = reader.header(bytes(buffer[at : at + 12]), 0)
        passing = (
            length != _UNDEFINED
            and length > _IN_MEMORY
            and not reader.sequence_like(tag, vr, length)
            and not _is_group_length(tag)
            and tag != _PADDING
            and string_vr(tag, vr) is None
            and length % 2 == 0
        )
        if passing:
            self._note_order(tag)
            self._start_group(tag, out)
            self.starts.append(self.size)
            out_vr = writer.vr_out(vr, tag, length, self._scope)
            unit = writer.swap_unit(tag, vr, length, self._scope, out_vr)
            self._emit(writer.header(tag, out_vr, length), tag, out)
            self._done += 1
            self._passing, self._unit, self._carry = length, unit, b""
            self._value_length = length
            self._position = start + value + length
            return value
        if end is None:
            return None
        size = end - start
        raw = bytes(buffer[at : at + size])
        self._position = end
        self._done += 1
        if tag == _PADDING and not self._encoding.keep_padding:
            return size
        if length != _UNDEFINED and (length <= 64 or tag in _SCOPE_TAGS):
            self._scope.note(tag, raw[value : value + min(length, 64)], reader)
        new, after = writer.one(raw, 0, tag, vr, length, value, self._scope)
        if after != size:
            raise DataSetError(f"element at {start} does not end where expected")
        self._note_order(tag)
        if _is_group_length(tag):
            self._group_length(tag, out)
            return size
        self._start_group(tag, out)
        self.starts.append(self.size)
        self._emit(new, tag, out)
        return size

    def _convert_plain(
        self,
        buffer: bytearray,
        at: int,
        starts: Sequence[int],
        total: int | None,
        out: list[bytes | memoryview],
    ) -> int:
        """
        Convert the complete plain elements from ``at`` on, in one loop:
        what most of a data set is, and what :meth:`_convert_next` would
        do for them, without its generality.  A plain element has a short
        defined even length and a public tag; it is not a sequence, a
        group length, padding or an element whose VR depends on earlier
        ones (:data:`_SCOPED_TAGS`, :data:`_SCOPE_TAGS`), its value needs
        no normalising, and the writer has resolved its tag and VR before
        (:data:`_RESOLVED`).  The first element that is not plain, or not
        complete, is left to :meth:`_convert_next`.

        :returns: where it stopped in the buffer.
        """
        writer = self._writer
        if not writer.converting:
            return at
        explicit_in = self._reader.syntax.explicit
        explicit_out = writer.syntax.explicit
        source_head = self._source_head
        source_long = self._reader.u32
        target_head, target_long = self._target_head, self._target_long
        profile = writer._profile
        resolved = _RESOLVED
        limit = len(buffer)
        count = len(starts)
        index = self._done
        position = self._position
        while index < count and starts[index] == position:
            end = starts[index + 1] if index + 1 < count else total
            if end is None:
                break
            size = end - position
            if size < 8 or at + size > limit:
                break
            if explicit_in:
                group, element, vr, length = source_head.unpack_from(buffer, at)
                if vr in _LONG_VRS:
                    if size < 12:
                        break
                    length = source_long.unpack_from(buffer, at + 8)[0]
                    value = at + 12
                elif vr in KNOWN_VRS:
                    value = at + 8
                else:
                    break
                if vr == b"SQ" or vr == b"UN":
                    break
            else:
                group, element, length = source_head.unpack_from(buffer, at)
                vr = b""
                value = at + 8
            tag = group << 16 | element
            after = at + size
            if (
                value + length != after
                or length & 1
                or length > _IN_MEMORY
                or group & 1
                or group >= 0xFFFC
                or not element
                or tag in _SCOPED_TAGS
                or tag in _SCOPE_TAGS
                or (not explicit_in and tag in SEQUENCE_TAGS)
            ):
                break
            found = resolved.get((profile, tag, vr, length <= 0xFFFF))
            if found is None:
                break
            out_vr, unit, text, _ = found
            if text is not None and length:
                tail = buffer[after - 2 : after]
                if text == b"UI":
                    if tail == b"\0\0" or _WHITE_SPACE.search(buffer, value, after):
                        break
                elif tail == b"  ":
                    break
            if not explicit_out:
                head = target_head.pack(group, element, length)
            elif out_vr in _LONG_VRS:
                head = target_long.pack(group, element, out_vr, length)
            elif length <= 0xFFFF:
                head = target_head.pack(group, element, out_vr, length)
            else:
                break
            raw = bytes(buffer[value:after])
            new = head + (swap(raw, unit) if unit else raw)
            if tag <= self._last_tag:
                self.disordered = True
            self._last_tag = tag
            if group != self._group:
                self._start_group(tag, out)
            self.starts.append(self.size)
            out.append(new)
            self.size += len(new)
            self._group_size += len(new)
            index += 1
            position = end
            at = after
        self._done = index
        self._position = position
        return at

    def _emit(
        self, data: bytes, tag: int | None, out: list[bytes | memoryview]
    ) -> None:
        if data:
            out.append(data)
            self.size += len(data)
            if tag is not None:
                self._group_size += len(data)

    def _start_group(self, tag: int, out: list[bytes | memoryview]) -> None:
        """
        Note a (non group length) element of group ``tag >> 16``: close
        the previous group and, with ``+g``, open this one with a group
        length element.
        """
        group = tag >> 16
        if group == self._group:
            return
        self._end_group()
        self._group = group
        if self._encoding.group_lengths == "create" and 0 < group < 0xFFFE:
            self._placeholder(group, out)

    def _group_length(self, tag: int, out: list[bytes | memoryview]) -> None:
        """
        A received group length element: a placeholder under ``+g=``;
        dropped under ``-g``, and under ``+g``, where every group gets one
        before its first element.
        """
        if self._encoding.group_lengths != "recalc":
            return
        group = tag >> 16
        if group != self._group:
            self._end_group()
            self._group = group
        self._placeholder(group, out)

    def _note_order(self, tag: int) -> None:
        if tag <= self._last_tag:
            self.disordered = True
        self._last_tag = tag

    def _placeholder(self, group: int, out: list[bytes | memoryview]) -> None:
        element = self._writer.element(group << 16, b"UL", bytes(4))
        self.starts.append(self.size)
        self._group_length_at = self.size + len(element) - 4
        out.append(element)
        self.size += len(element)

    def _end_group(self) -> None:
        if self._group_length_at is not None:
            value = self._writer.out.u32.pack(self._group_size)
            self.patches.append((self._group_length_at, value))
        self._group_length_at = None
        self._group_size = 0
