"""
A streaming walk over the element headers of a received data set.

The storage SCP writes data-set fragments to disk as they arrive, so it never
holds a whole object; yet it must know a few values (SOP Class and Instance
UID for the file meta information, Study Instance UID for sorting, the
modality for the log) and it must notice a data set that is structurally
broken, which the reference program answers with an A-ABORT (behaviour
reference §6.3, step 4).  :class:`DataSetScanner` does both from the byte
stream alone.

Rules of this module:

* It is sans-I/O: bytes in, values and :class:`DataSetError` out.  It never
  logs, never reads the clock, never touches a file.
* Values are skipped by counting, never copied; only the values of the
  wanted top-level tags, up to a size limit, are kept.  Memory is bounded by
  one element header, those values and the nesting depth, whatever the size
  of the object.
* Only the container structure is checked (PS3.5 §7.1, §7.5 and §A.4):
  lengths that run past a defined-length item, delimiters out of place, a
  stream that ends inside an element, an item or a sequence, and an
  undefined length on a value representation that cannot have one.  Odd
  lengths, tag order and value contents are not checked, as DCMTK accepts
  them too.
* Undefined-length sequences and items are walked, and so are the
  defined-length items inside them; a defined-length SQ value is skipped as
  a whole, because its length already bounds it.  An explicit-VR ``UN``
  element of undefined length holds a sequence in implicit VR little endian
  (PS3.5 §6.2.2); an undefined-length Pixel Data, ``OB`` or ``OW`` element
  holds encapsulated fragments (PS3.5 §A.4), whose contents are skipped.
* In a defined-length item an Item Delimitation Item is tolerated and
  ignored; delimiters' own length fields are not used.
"""

from __future__ import annotations

import re
import struct
import zlib

from dicomtw.dictionary import LONG_VRS as _LONG_VRS
from dicomtw.dictionary import SEQUENCE_TAGS, STRING_VRS, implicit_string_vr, keyword
from dicomtw.errors import DataSetError, UsageError
from dicomtw.uids import (
    DEFLATED_LITTLE,
    EXPLICIT_BIG,
    EXPLICIT_LITTLE,
    IMPLICIT_LITTLE,
)

SPECIFIC_CHARACTER_SET = 0x00080005
SOP_CLASS_UID = 0x00080016
SOP_INSTANCE_UID = 0x00080018
MODALITY = 0x00080060
PATIENT_NAME = 0x00100010
STUDY_INSTANCE_UID = 0x0020000D

#: The top-level tags whose values the storage SCP needs.
DEFAULT_WANTED = frozenset(
    {
        SPECIFIC_CHARACTER_SET,
        SOP_CLASS_UID,
        SOP_INSTANCE_UID,
        MODALITY,
        PATIENT_NAME,
        STUDY_INSTANCE_UID,
    }
)

#: Deepest nesting of undefined-length sequences and items accepted; a
#: deeper stream is refused rather than let grow the context stack without
#: bound (each level costs the peer only 16 bytes).
MAX_DEPTH = 128

_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQUENCE_END = 0xFFFEE0DD
_DELIMITER_GROUP = 0xFFFE
_UNDEFINED = 0xFFFFFFFF
_PIXEL_DATA = 0x7FE00010

# Output of zlib is bounded per call, so a small deflated stream cannot
# inflate into a large buffer (PS3.5 §A.5 data sets may come from anyone).
_INFLATE_CHUNK = 65536
#: Data Set Trailing Padding (FFFC,FFFC), which normal mode drops.
_PADDING_GROUP = 0xFFFC

# Explicit VRs with a 2-byte length field (PS3.5 §7.1.2, Table 7.1-2).  Any
# other VR, including one this module does not know, has 2 reserved bytes
# and a 4-byte length, which is also DCMTK's reading of unknown VRs.
_SHORT_VRS = frozenset(
    {
        b"AE",
        b"AS",
        b"AT",
        b"CS",
        b"DA",
        b"DS",
        b"DT",
        b"FL",
        b"FD",
        b"IS",
        b"LO",
        b"LT",
        b"PN",
        b"SH",
        b"SL",
        b"SS",
        b"ST",
        b"TM",
        b"UI",
        b"UL",
        b"US",
    }
)


def _upper_case(vr: bytes) -> bool:
    """
    Whether an unknown VR is two capital letters, which PS3.5 §6.2 has
    read like UN (reserved bytes and a 4-byte length).
    """
    return 65 <= vr[0] <= 90 and 65 <= vr[1] <= 90


_DATASET = 0
_SEQUENCE = 1
_FRAGMENTS = 2

_UID_WHITESPACE = b" \t\n\r\f\v"


class _Encoding:
    """
    The byte layout of element headers in one transfer syntax.

    :ivar explicit: whether headers carry a VR.
    :ivar head: tag, VR and 2-byte length of an explicit-VR header.
    :ivar plain: tag and 4-byte length (implicit VR headers and items).
    :ivar long: the 4-byte length after the reserved bytes.
    """

    __slots__ = ("explicit", "head", "plain", "long")

    def __init__(self, explicit: bool, order: str) -> None:
        """
        :param explicit: whether headers carry a VR.
        :param order: the :mod:`struct` byte-order character.
        """
        self.explicit = explicit
        self.head = struct.Struct(order + "HH2sH")
        self.plain = struct.Struct(order + "HHL")
        self.long = struct.Struct(order + "L")


_IMPLICIT_LE = _Encoding(False, "<")
_EXPLICIT_LE = _Encoding(True, "<")
_EXPLICIT_BE = _Encoding(True, ">")

_ENCODINGS = {
    IMPLICIT_LITTLE: _IMPLICIT_LE,
    EXPLICIT_LITTLE: _EXPLICIT_LE,
    EXPLICIT_BIG: _EXPLICIT_BE,
    DEFLATED_LITTLE: _EXPLICIT_LE,
}


class _Context:
    """
    One level of nesting: a data set, a sequence or encapsulated fragments.

    :ivar kind: ``_DATASET``, ``_SEQUENCE`` or ``_FRAGMENTS``.
    :ivar end: stream offset where a defined-length item ends, else None.
    :ivar limit: offset no header or value may run past, else None.
    :ivar encoding: how the headers in this context are laid out.
    :ivar top: whether this is the top-level data set.
    """

    __slots__ = ("kind", "end", "limit", "encoding", "top", "last")

    def __init__(
        self,
        kind: int,
        end: int | None,
        limit: int | None,
        encoding: _Encoding,
        top: bool = False,
    ) -> None:
        """
        :param kind: ``_DATASET``, ``_SEQUENCE`` or ``_FRAGMENTS``.
        :param end: stream offset of a defined-length item's end, or None.
        :param limit: the innermost enclosing defined end, or None.
        :param encoding: the header layout inside this context.
        :param top: whether this is the top-level data set.
        """
        self.kind = kind
        self.end = end
        self.limit = limit
        self.encoding = encoding
        self.top = top
        #: The highest element tag seen in this data set, to notice
        #: elements out of order or repeated.
        self.last = -1


def text_value(raw: bytes, *, uid: bool = False) -> str:
    """
    Turn a raw text value into a string the way DCMTK reads it.

    Trailing spaces and NULs (the padding of PS3.5 §6.2) are removed.  For a
    UI value every white-space character is removed, wherever it is, as
    DCMTK does while reading (behaviour reference §6.6).  Bytes are decoded
    as ISO 8859-1, so each byte becomes exactly one character and nothing
    fails to decode; decoding Specific Character Set text is the caller's
    business.

    :param raw: the value bytes as received.
    :param uid: whether the value is a UI value.
    :returns: the value as text.
    """
    value = raw.rstrip(b" \x00")
    if uid:
        value = value.translate(None, _UID_WHITESPACE).rstrip(b"\x00")
    return value.decode("latin-1")


class DataSetScanner:
    """
    Walks the element headers of a data set fed to it in fragments.

    Feed it every fragment of the data set as received, then call
    :meth:`finish`.  For the deflated transfer syntax it inflates on the fly
    and walks the inflated bytes; the caller keeps (and stores) the original
    bytes.

    :ivar values: raw values of the wanted top-level tags seen so far, by
        tag as ``group << 16 | element``; values longer than the limit and
        undefined-length values are not kept.
    :ivar uids_known: True once the walk has passed SOP Instance UID
        (0008,0018) at top level, so the SOP Class and Instance UIDs in
        :attr:`values` are final.
    :ivar finished: True once :meth:`finish` has succeeded.
    """

    def __init__(
        self,
        transfer_syntax: str,
        wanted: frozenset[int] = DEFAULT_WANTED,
        max_value_length: int = 1024,
    ) -> None:
        """
        :param transfer_syntax: the presentation context's transfer syntax;
            encapsulated (compressed) syntaxes are laid out as explicit VR
            little endian.
        :param wanted: the top-level tags whose values to keep.
        :param max_value_length: the longest value to keep.
        """
        encoding = _ENCODINGS.get(transfer_syntax, _EXPLICIT_LE)
        self.values: dict[int, bytes] = {}
        self.uids_known = False
        #: Offsets of the top-level elements, in the (inflated) data set.
        self.top_starts: list[int] = []
        #: Whether the reference would write this data set differently in
        #: normal mode: a sequence or item of undefined length, or a group
        #: length element, was seen (``dicomtw.reencode``).
        self.needs_reencoding = False
        #: Whether top-level elements came out of order or repeated.
        self.disordered = False
        #: The reference's warnings about what normal mode corrects, at
        #: most :data:`MAX_WARNINGS` of them.
        self.warnings: list[str] = []
        self.finished = False
        self._wanted = wanted
        self._max_value_length = max_value_length
        self._stack = [_Context(_DATASET, None, None, encoding, top=True)]
        self._consumed = 0
        self._skip = 0
        self._carry = b""
        self._collect_tag = 0
        self._collect_need = 0
        self._collected = bytearray()
        self._error: DataSetError | None = None
        self._inflater = (
            zlib.decompressobj(-15) if transfer_syntax == DEFLATED_LITTLE else None
        )
        self._deflated_seen = False

    @property
    def offset(self) -> int:
        """
        The number of (inflated) data-set bytes walked so far.
        """
        return self._consumed + len(self._carry)

    def feed(self, data: memoryview | bytes) -> None:
        """
        Walk the next fragment of the data set.

        :param data: the fragment, as received (still deflated for the
            deflated transfer syntax).
        :raises DataSetError: if the structure so far is impossible.
        :raises UsageError: if called after :meth:`finish`.
        """
        if self._error is not None:
            raise self._error
        if self.finished:
            raise UsageError("data fed to a finished scanner")
        try:
            if self._inflater is None:
                self._consume(data)
            else:
                self._inflate(data)
        except DataSetError as error:
            self._error = error
            raise

    def finish(self) -> None:
        """
        Declare the data set complete and check that nothing is left open.

        :raises DataSetError: if the stream ends inside an element header,
            a value, an item, a sequence or (deflated) the deflate stream.
        :raises UsageError: if called twice.
        """
        if self._error is not None:
            raise self._error
        if self.finished:
            raise UsageError("scanner finished twice")
        try:
            if self._inflater is not None:
                self._consume(self._inflater.flush())
                if self._deflated_seen and not self._inflater.eof:
                    raise DataSetError("deflated data set ends inside its stream")
            self._check_complete()
        except DataSetError as error:
            self._error = error
            raise
        self.finished = True
        self.uids_known = True

    def _check_complete(self) -> None:
        """
        Raise unless the walk stopped between two top-level elements.

        :raises DataSetError: naming what the stream ended inside.
        """
        if self._carry:
            raise DataSetError(
                "data set ends inside an element header at offset " f"{self._consumed}"
            )
        if self._skip or self._collect_need:
            raise DataSetError("data set ends inside an element value")
        stack = self._stack
        while len(stack) > 1 and stack[-1].end == self._consumed:
            stack.pop()
        if len(stack) > 1:
            kind = stack[-1].kind
            what = "an item" if kind == _DATASET else "a sequence"
            raise DataSetError(f"data set ends inside {what}")

    def _inflate(self, data: memoryview | bytes) -> None:
        """
        Inflate a fragment of a deflated data set and walk the result.

        :param data: deflated bytes.
        :raises DataSetError: if the deflate stream is corrupt.
        """
        inflater = self._inflater
        assert inflater is not None
        if data:
            self._deflated_seen = True
        try:
            self._consume(inflater.decompress(data, _INFLATE_CHUNK))
            # Once the stream has ended, zlib keeps bytes after it (a pad
            # byte, say) as an unconsumed tail that never goes away.
            while inflater.unconsumed_tail and not inflater.eof:
                tail = inflater.unconsumed_tail
                self._consume(inflater.decompress(tail, _INFLATE_CHUNK))
        except zlib.error as error:
            raise DataSetError(f"deflated data set is corrupt: {error}") from None

    def _consume(self, data: memoryview | bytes) -> None:
        """
        Walk a fragment of plain data-set bytes.

        A header split between fragments is completed from the next one
        through a buffer of at most 12 bytes, so only a few bytes are ever
        copied, however large the fragment.

        :param data: the bytes.
        """
        if not data:
            return
        carry = self._carry
        start = 0
        if carry:
            joined = carry + bytes(data[: 12 - len(carry)])
            self._carry = b""
            stop = self._walk(joined, 0)
            start = stop - len(carry)
            if start < 0:
                self._carry = joined[stop:]
                return
        stop = self._walk(data, start)
        if stop < len(data):
            self._carry = bytes(data[stop:])

    def _walk(self, buf: memoryview | bytes, pos: int) -> int:
        """
        Walk headers in ``buf`` from ``pos`` as far as they are complete.

        This runs for every element of every object, so it is one loop over
        local variables rather than a method per context kind.

        :param buf: the bytes to walk.
        :param pos: where in ``buf`` the unwalked bytes start.
        :returns: where the walk stopped: ``len(buf)``, or the start of an
            element header that continues in the next fragment.
        :raises DataSetError: on impossible structure.
        """
        end = len(buf)
        base = self._consumed - pos
        stack = self._stack
        ctx = stack[-1]
        skip = self._skip
        wanted = self._wanted
        max_length = self._max_value_length
        while True:
            if skip:
                if skip > end - pos:
                    skip -= end - pos
                    pos = end
                    break
                pos += skip
                skip = 0
            if self._collect_need:
                pos = self._collect(buf, pos)
                if self._collect_need:
                    break
            here = base + pos
            while ctx.end == here:
                stack.pop()
                ctx = stack[-1]
            avail = end - pos
            if avail < 8:
                break
            encoding = ctx.encoding
            limit = ctx.limit
            kind = ctx.kind
            if kind == _DATASET:
                if encoding.explicit:
                    group, element, vr, length = encoding.head.unpack_from(buf, pos)
                    if group == _DELIMITER_GROUP:
                        length = encoding.plain.unpack_from(buf, pos)[2]
                        header = 8
                    elif vr in _SHORT_VRS:
                        header = 8
                    elif vr not in _LONG_VRS and not _upper_case(vr):
                        # The reference reads a VR it does not know with a
                        # 2-byte length, unless it is two capital letters
                        # (then as UN), and writes it as UN.
                        header = 8
                        self.needs_reencoding = True
                        self._warn(_non_standard(vr, group, element, 2))
                    elif avail < 12:
                        break
                    else:
                        length = encoding.long.unpack_from(buf, pos + 8)[0]
                        header = 12
                        if vr not in _LONG_VRS:
                            self.needs_reencoding = True
                            self._warn(_non_standard(vr, group, element, 4))
                else:
                    group, element, length = encoding.plain.unpack_from(buf, pos)
                    vr = b""
                    header = 8
                tag = group << 16 | element
                if limit is not None and here + header > limit:
                    raise DataSetError(_overrun(tag, here))
                if ctx.top:
                    self.top_starts.append(here)
                if group != _DELIMITER_GROUP:
                    if tag <= ctx.last:
                        # The reference sorts elements and keeps the first
                        # of repeated ones.
                        self.needs_reencoding = True
                        if ctx.top:
                            self.disordered = True
                        if tag == ctx.last:
                            self._warn(
                                f"DcmItem: Element {_tag_text(tag)} found twice in"
                                " one data set or item, ignoring second entry"
                            )
                        else:
                            self._warn(
                                "DcmItem: Dataset not in ascending tag order, at"
                                f" element {_tag_text(tag)}"
                            )
                    else:
                        ctx.last = tag
                if (not element and group) or group == _PADDING_GROUP:
                    self.needs_reencoding = True
                pos += header
                if group == _DELIMITER_GROUP:
                    if tag == _ITEM_END and not ctx.top:
                        if ctx.end is None:
                            stack.pop()
                            ctx = stack[-1]
                        continue
                    raise DataSetError(f"{_name(tag)} outside a sequence at {here}")
                if length == _UNDEFINED:
                    ctx = self._open(tag, vr, ctx)
                    continue
                if limit is not None and here + header + length > limit:
                    raise DataSetError(_overrun(tag, here))
                if length % 2 and vr != b"OW" and length != _UNDEFINED:
                    # Odd lengths get a pad byte (dicomtw.reencode).
                    self.needs_reencoding = True
                if length:
                    text = (
                        (vr if vr in STRING_VRS else None)
                        if vr
                        else implicit_string_vr(tag)
                    )
                    if text is None:
                        pass
                    elif text == b"UI" and pos + length <= end:
                        if _WHITE_SPACE.search(buf, pos, pos + length) is not None:
                            self.needs_reencoding = True
                            self._warn(
                                "DcmUniqueIdentifier: Element"
                                f" {keyword(tag) or 'Unknown Tag & Data'}"
                                f" {_tag_text(tag)} contains one or more space"
                                " characters, which were removed"
                            )
                        elif _string_unnormalised(buf, pos, length, end, True):
                            self.needs_reencoding = True
                    elif not self.needs_reencoding and _string_unnormalised(
                        buf, pos, length, end, text == b"UI"
                    ):
                        self.needs_reencoding = True
                if ctx.top:
                    if tag in wanted and length <= max_length:
                        if pos + length <= end:
                            self.values[tag] = bytes(buf[pos : pos + length])
                            pos += length
                            if tag >= SOP_INSTANCE_UID:
                                self.uids_known = True
                        else:
                            # SOP Instance UID is known once it is complete.
                            if tag > SOP_INSTANCE_UID:
                                self.uids_known = True
                            self._collect_tag = tag
                            self._collect_need = length
                            self._collected = bytearray()
                        continue
                    if tag >= SOP_INSTANCE_UID:
                        self.uids_known = True
                if length and (vr == b"SQ" or (not vr and tag in SEQUENCE_TAGS)):
                    # Walk defined-length sequences too: their items may
                    # have undefined lengths (see needs_reencoding).
                    sequence_end = here + header + length
                    ctx = self._push(_SEQUENCE, sequence_end, sequence_end, encoding)
                    continue
                skip = length
            else:
                group, element, length = encoding.plain.unpack_from(buf, pos)
                tag = group << 16 | element
                if limit is not None and here + 8 > limit:
                    raise DataSetError(_overrun(tag, here))
                pos += 8
                if tag == _SEQUENCE_END:
                    stack.pop()
                    ctx = stack[-1]
                elif tag != _ITEM:
                    what = "sequence" if kind == _SEQUENCE else "pixel data"
                    raise DataSetError(f"{_name(tag)} in a {what} at {here}")
                elif kind == _FRAGMENTS:
                    if length == _UNDEFINED:
                        raise DataSetError(f"undefined-length fragment at {here}")
                    if limit is not None and here + 8 + length > limit:
                        raise DataSetError(_overrun(tag, here))
                    skip = length
                elif length == _UNDEFINED:
                    self.needs_reencoding = True
                    ctx = self._push(_DATASET, None, limit, encoding)
                else:
                    item_end = here + 8 + length
                    if limit is not None and item_end > limit:
                        raise DataSetError(_overrun(tag, here))
                    ctx = self._push(_DATASET, item_end, item_end, encoding)
        self._skip = skip
        self._consumed = base + pos
        return pos

    def _collect(self, buf: memoryview | bytes, pos: int) -> int:
        """
        Copy the next bytes of a wanted value that spans fragments.

        :param buf: the current fragment.
        :param pos: where the value's next bytes start in ``buf``.
        :returns: the position after the bytes taken.
        """
        take = min(self._collect_need, len(buf) - pos)
        self._collected += buf[pos : pos + take]
        self._collect_need -= take
        if not self._collect_need:
            self.values[self._collect_tag] = bytes(self._collected)
            self._collected = bytearray()
            if self._collect_tag >= SOP_INSTANCE_UID:
                self.uids_known = True
        return pos + take

    def _open(self, tag: int, vr: bytes, ctx: _Context) -> _Context:
        """
        Enter an undefined-length element: a sequence or pixel fragments.

        :param tag: the element's tag.
        :param vr: its explicit VR, or ``b""`` in implicit VR.
        :param ctx: the enclosing context.
        :returns: the new innermost context.
        :raises DataSetError: if the VR cannot have an undefined length.
        """
        encoding = ctx.encoding
        if tag == _PIXEL_DATA or vr in (b"OB", b"OW"):
            return self._push(_FRAGMENTS, None, ctx.limit, encoding)
        self.needs_reencoding = True
        if vr == b"UN":
            return self._push(_SEQUENCE, None, ctx.limit, _IMPLICIT_LE)
        if vr in (b"", b"SQ"):
            return self._push(_SEQUENCE, None, ctx.limit, encoding)
        raise DataSetError(
            f"undefined length on VR {vr.decode('latin-1')!r} of {_name(tag)}"
        )

    def _warn(self, text: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(text)

    def _push(
        self, kind: int, end: int | None, limit: int | None, encoding: _Encoding
    ) -> _Context:
        """
        Enter a nested context.

        :param kind: ``_DATASET``, ``_SEQUENCE`` or ``_FRAGMENTS``.
        :param end: where a defined-length item ends, or None.
        :param limit: the innermost enclosing defined end, or None.
        :param encoding: the header layout inside.
        :returns: the new context.
        :raises DataSetError: if nesting exceeds :data:`MAX_DEPTH`.
        """
        if len(self._stack) > MAX_DEPTH:
            raise DataSetError(f"data set nested deeper than {MAX_DEPTH} levels")
        ctx = _Context(kind, end, limit, encoding)
        self._stack.append(ctx)
        return ctx


_WHITE_SPACE = re.compile(rb"[ \t\n\v\f\r]")

#: Warnings kept per data set: a hostile one cannot fill the log.
MAX_WARNINGS = 20


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04x},{tag & 0xFFFF:04x})"


def _non_standard(vr: bytes, group: int, element: int, size: int) -> str:
    shown = "".join(chr(b) if b >= 32 else " " for b in vr)
    return (
        f"DcmItem: Non-standard VR '{shown}' ({vr[0]:02x}\\{vr[1]:02x})"
        f" encountered while parsing element {_tag_text(group << 16 | element)},"
        f" assuming {size} byte length field"
    )


def _string_unnormalised(
    buf: memoryview | bytes, pos: int, length: int, end: int, ui: bool
) -> bool:
    """
    Whether the reference would write the string value at ``pos`` other
    than it came (``dicomtw.reencode.normalise_string``); a value that
    continues in the next fragment counts as such, to be checked when the
    data set is re-encoded.
    """
    if length % 2 or pos + length > end:
        return True
    tail = bytes(buf[pos + length - 2 : pos + length])
    if ui:
        return (
            tail == b"\0\0" or _WHITE_SPACE.search(buf[pos : pos + length]) is not None
        )
    return tail == b"  "


def _name(tag: int) -> str:
    """
    Format a tag for an error message, with its dictionary name if known.

    :param tag: ``group << 16 | element``.
    :returns: the tag as ``(gggg,eeee)`` or ``(gggg,eeee) Name``.
    """
    text = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    name = keyword(tag)
    return f"{text} {name}" if name else text


def _overrun(tag: int, offset: int) -> str:
    """
    Word the error for an element that runs past its enclosing item.

    :param tag: the element's tag.
    :param offset: the stream offset of its header.
    :returns: the message.
    """
    return f"{_name(tag)} at {offset} runs past the end of its item"
