"""
The file side of re-encoding: inflating a spooled deflated data set,
copying planned pieces (:func:`dicomtw.reencode.plan`) with their byte
swaps, and deflating the result for ``+td``.

All of it is blocking and runs in the store's worker threads.
"""

from __future__ import annotations

import os
import tempfile
import zlib
from collections.abc import Callable, Iterable
from typing import IO, Any

from dicomtw.dictionary import LONG_VRS as _LONG_VRS
from dicomtw.errors import DataSetError
from dicomtw.reencode import Piece, swap
from dicomtw.storage import SpoolFile

#: Copy and inflate in steps of this size (a multiple of every swap unit).
STEP = 1 << 20


def inflate_file(source: int, offset: int, directory: str) -> IO[bytes]:
    """
    Inflate the raw deflate stream in ``source`` from ``offset`` to its end
    into an anonymous temporary file in ``directory``, at most
    :data:`STEP` bytes in memory at a time.

    :returns: the temporary file; closing it removes it.
    :raises DataSetError: if the stream is corrupt or incomplete.
    """
    inflated = tempfile.TemporaryFile(dir=directory)
    try:
        inflater = zlib.decompressobj(-15)
        position = offset
        while True:
            chunk = os.pread(source, STEP, position)
            if not chunk:
                break
            position += len(chunk)
            data = inflater.decompress(chunk, STEP)
            while data:
                inflated.write(data)
                data = inflater.decompress(inflater.unconsumed_tail, STEP)
        inflated.write(inflater.flush())
        if not inflater.eof:
            raise DataSetError("deflated data set ends inside its stream")
        inflated.flush()
    except zlib.error as error:
        inflated.close()
        raise DataSetError(f"deflated data set is corrupt: {error}") from None
    except BaseException:
        inflated.close()
        raise
    return inflated


class DataSetOutput:
    """
    Writes a data set into a spool file, deflating it on the way for the
    deflated transfer syntax.  Small writes are gathered and written
    together, :data:`STEP` bytes at a time.
    """

    def __init__(self, spool: SpoolFile, deflate_level: int | None = None) -> None:
        """
        :param deflate_level: the zlib level, or ``None`` not to deflate.
        """
        self.spool = spool
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._deflater = None if deflate_level is None else _compressor(deflate_level)

    def write(self, data: bytes) -> None:
        """
        Add plain data-set bytes.
        """
        if self._deflater is not None:
            data = self._deflater.compress(data)
        if data:
            self._pending.append(data)
            self._pending_size += len(data)
            if self._pending_size >= STEP:
                self._flush()

    def _flush(self) -> None:
        if self._pending:
            self.spool.write_chunks(self._pending)
        self._pending = []
        self._pending_size = 0

    def close(self) -> None:
        """
        End the data set (and the deflate stream) and write what is left.
        """
        if self._deflater is not None:
            self._pending.append(self._deflater.flush())
        self._flush()


# -- deflate level 0 as the reference writes it ------------------------------
#
# At level 0 zlib writes stored blocks, and where one block ends depends on
# how the input reached deflate(): the reference passes each element's
# header fields and value in separate calls, with a 4 KiB output buffer, so
# zlib gathers its input in its 64 KiB window and cuts a block whenever
# 32 KiB or more wait there.  Python's zlib passes large buffers and makes
# blocks of up to 64 KiB straight from the input instead: the same data,
# in different blocks.  To write the reference's bytes, level 0 is done
# here: the plain data set is cut into the reference's writes
# (_WriteSizes), their effect on zlib's window is replayed (_StoredBlocks),
# and the stored blocks are written by hand (RFC 1951 §3.2.4).

_WINDOW_HALF = 32 * 1024
_WINDOW = 2 * _WINDOW_HALF
#: zlib's largest stored block from its pending buffer (64 KiB less the
#: 5-byte block header).
_MAX_STORED = _WINDOW - 5
_UNDEFINED_LENGTH = 0xFFFFFFFF


class _WriteSizes:
    """
    Cuts an explicit VR little endian data set, fed in any pieces, into the
    sizes of the writes the reference makes for it: 2 bytes of group, 2 of
    element, 2 of VR, 2 reserved and 4 of length (or 2 of length), each
    value in one write; items and delimiters as group, element, length.
    """

    def __init__(self) -> None:
        self._head = bytearray()
        self._skip = 0
        #: For each open element of undefined length: whether its items
        #: are fragments (raw bytes) rather than data sets.
        self._open: list[bool] = []

    def feed(self, data: bytes | memoryview) -> list[int]:
        sizes: list[int] = []
        view = memoryview(data)
        at = 0
        while at < len(view):
            if self._skip:
                step = min(self._skip, len(view) - at)
                self._skip -= step
                at += step
                continue
            need = self._header_size()
            take = min(need - len(self._head), len(view) - at)
            self._head += view[at : at + take]
            at += take
            if len(self._head) == self._header_size():
                sizes.extend(self._header_done())
        return sizes

    def _header_size(self) -> int:
        head = self._head
        if len(head) < 6:
            return 6
        if head[0:2] == b"\xfe\xff":
            return 8
        return 12 if bytes(head[4:6]) in _LONG_VRS else 8

    def _header_done(self) -> list[int]:
        head = bytes(self._head)
        self._head = bytearray()
        group = int.from_bytes(head[0:2], "little")
        element = int.from_bytes(head[2:4], "little")
        if group == 0xFFFE or len(head) == 12:
            length = int.from_bytes(head[-4:], "little")
        else:
            length = int.from_bytes(head[6:8], "little")
        if group == 0xFFFE:
            if element == 0xE0DD and self._open:
                self._open.pop()
            elif element == 0xE000 and self._open and self._open[-1]:
                return self._value([2, 2, 4], length)
            return [2, 2, 4]
        vr = head[4:6]
        sizes = [2, 2, 2, 2, 4] if len(head) == 12 else [2, 2, 2, 2]
        if length == _UNDEFINED_LENGTH:
            self._open.append(vr != b"SQ")
            return sizes
        if vr == b"SQ":
            return sizes
        return self._value(sizes, length)

    def _value(self, sizes: list[int], length: int) -> list[int]:
        self._skip = length
        return [*sizes, length] if length else sizes


class _StoredBlocks:
    """
    Replays zlib's level-0 deflate for a sequence of writes made with a
    small output buffer: where each stored block starts and how long it
    is.
    """

    def __init__(self) -> None:
        self._position = 0  # input taken into the window so far
        self._base = 0  # input offset of the window's first byte
        self._block = 0  # input offset where the next block starts

    def write(self, size: int) -> list[tuple[int, int, bool]]:
        blocks = []
        while size:
            room = _WINDOW - (self._position - self._base)
            if size > room and self._block - self._base >= _WINDOW_HALF:
                self._base += _WINDOW_HALF
                room += _WINDOW_HALF
            step = min(room, size)
            self._position += step
            size -= step
            waiting = self._position - self._block
            if waiting >= _WINDOW_HALF:
                length = min(waiting, _MAX_STORED)
                blocks.append((self._block, length, False))
                self._block += length
            elif not step:  # pragma: no cover - the window always drains
                raise AssertionError("stored deflate made no progress")
        return blocks

    def finish(self) -> tuple[int, int, bool]:
        return self._block, self._position - self._block, True


class StoredDeflater:
    """
    Level-0 deflate of a plain explicit VR little endian data set, written
    in the stored blocks the reference's zlib calls produce.  Has the
    ``compress`` and ``flush`` of a zlib compressor object.
    """

    def __init__(self) -> None:
        self._sizes = _WriteSizes()
        self._model = _StoredBlocks()
        self._blocks: list[tuple[int, int, bool]] = []
        self._buffer = bytearray()
        self._buffer_start = 0

    def compress(self, data: bytes | memoryview) -> bytes:
        for size in self._sizes.feed(data):
            self._blocks.extend(self._model.write(size))
        self._buffer += data
        return self._emit()

    def flush(self) -> bytes:
        self._blocks.append(self._model.finish())
        out = self._emit()
        if self._blocks or self._buffer:
            raise DataSetError("data set ends inside an element")
        return out

    def _emit(self) -> bytes:
        out = bytearray()
        end = self._buffer_start + len(self._buffer)
        done = 0
        while self._blocks and self._blocks[0][0] + self._blocks[0][1] <= end:
            start, length, last = self._blocks.pop(0)
            offset = start - self._buffer_start
            out.append(1 if last else 0)
            out += length.to_bytes(2, "little")
            out += (length ^ 0xFFFF).to_bytes(2, "little")
            out += self._buffer[offset : offset + length]
            done = offset + length
        if done:
            del self._buffer[:done]
            self._buffer_start += done
        return bytes(out)


def _compressor(level: int) -> Any:
    """
    A raw deflate compressor at zlib ``level``, level 0 as the reference
    writes it.
    """
    if level == 0:
        return StoredDeflater()
    return zlib.compressobj(level, zlib.DEFLATED, -15)


def buffers(pieces: Iterable[Piece], data: memoryview) -> list[bytes | memoryview]:
    """
    The planned pieces of a data set held in memory (``data``), as buffers
    to write in order: ranges that need no swapping are views, not copies.
    """
    out: list[bytes | memoryview] = []
    for piece in pieces:
        if piece.data is not None:
            out.append(piece.data)
            continue
        view = data[piece.start : piece.start + piece.length]
        if len(view) != piece.length:
            raise DataSetError("data set is shorter than planned")
        out.append(swap(bytes(view), piece.swap) if piece.swap else view)
    return out


def deflate(chunks: Iterable[bytes | memoryview], level: int) -> list[bytes]:
    """
    Deflate buffers into one raw deflate stream (the deflated transfer
    syntax) at zlib ``level``.
    """
    deflater = _compressor(level)
    out = [deflater.compress(chunk) for chunk in chunks]
    out.append(deflater.flush())
    return out


def copy_pieces(
    pieces: Iterable[Piece], read: Callable[[int, int], bytes], output: DataSetOutput
) -> None:
    """
    Write planned pieces: their bytes, or ranges read from the source and
    byte-swapped as planned.
    """
    for piece in pieces:
        if piece.data is not None:
            output.write(piece.data)
            continue
        done = 0
        while done < piece.length:
            step = min(STEP, piece.length - done)
            chunk = read(piece.start + done, step)
            if len(chunk) != step:
                raise DataSetError("spooled data set is shorter than planned")
            output.write(swap(chunk, piece.swap) if piece.swap else chunk)
            done += step
