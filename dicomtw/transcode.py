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
from typing import IO

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
        self.written = 0
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._deflater = (
            None
            if deflate_level is None
            else zlib.compressobj(deflate_level, zlib.DEFLATED, -15)
        )

    def write(self, data: bytes) -> None:
        """
        Add plain data-set bytes.
        """
        self.written += len(data)
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
    deflater = zlib.compressobj(level, zlib.DEFLATED, -15)
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
