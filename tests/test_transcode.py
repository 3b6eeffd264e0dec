"""
Tests for dicomtw.transcode: level-0 deflate in the reference's stored
blocks, and gathering of re-encoded output.
"""

from __future__ import annotations

import zlib

from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.errors import DataSetError
from dicomtw.transcode import StoredDeflater, _StoredBlocks, _WriteSizes, deflate


def explicit_little(ds: Dataset) -> bytes:
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = False
    write_dataset(buffer, ds)
    return buffer.getvalue()


def sample(items: int, pixels: int) -> bytes:
    ds = Dataset()
    ds.PatientName = "Doe^Jane"
    ds.ReferencedImageSequence = Sequence(
        [Dataset() for _ in range(items)]
    )  # fmt: skip
    for number, item in enumerate(ds.ReferencedImageSequence):
        item.ReferencedSOPInstanceUID = f"1.2.3.{number}"
    if pixels:
        ds.PixelData = bytes(range(256)) * (pixels // 256)
        ds["PixelData"].VR = "OW"
    return explicit_little(ds)


def stored_blocks(stream: bytes) -> list[tuple[int, bool]]:
    """
    The (length, final) of each block of a raw deflate stream made of
    stored blocks only.
    """
    blocks = []
    at = 0
    while True:
        header = stream[at]
        kind = header >> 1 & 3
        assert kind == 0, "not a stored block"
        length = int.from_bytes(stream[at + 1 : at + 3], "little")
        check = int.from_bytes(stream[at + 3 : at + 5], "little")
        assert check == length ^ 0xFFFF
        blocks.append((length, bool(header & 1)))
        at += 5 + length
        if header & 1:
            assert at == len(stream)
            return blocks


class StoredDeflaterTests(SynchronousTestCase):
    """
    Level 0 writes stored blocks as zlib does for the reference's writes.
    """

    def test_inflates_back(self) -> None:
        """
        The stream is valid raw deflate holding the data set.
        """
        data = sample(items=2000, pixels=300_000)
        stream = b"".join(deflate([data], 0))
        self.assertEqual(zlib.decompress(stream, -15), data)

    def test_window_blocks(self) -> None:
        """
        A large value fills zlib's 64 KiB window: the first block is
        64 KiB less 5 bytes, the second 32 KiB and 5 bytes, then 32 KiB
        each, and the rest in the final block (the reference's pattern).
        """
        data = sample(items=0, pixels=1 << 20)
        blocks = stored_blocks(b"".join(deflate([data], 0)))
        self.assertEqual(blocks[0], (65531, False))
        self.assertEqual(blocks[1], (32773, False))
        self.assertEqual(set(blocks[2:-1]), {(32768, False)})
        self.assertEqual(
            blocks[-1], (len(data) - 65531 - 32773 - 32768 * (len(blocks) - 3), True)
        )

    def test_small_writes(self) -> None:
        """
        With small elements only, a block is cut at the end of the write
        that brings 32 KiB or more into the window.
        """
        data = sample(items=3000, pixels=0)
        sizes = _WriteSizes().feed(data)
        self.assertEqual(sum(sizes), len(data))
        model = _StoredBlocks()
        ends = []
        for size in sizes:
            ends.extend(start + length for start, length, _ in model.write(size))
        self.assertTrue(ends)
        boundaries = set()
        total = 0
        for size in sizes:
            total += size
            boundaries.add(total)
        self.assertTrue(set(ends) <= boundaries)

    def test_empty(self) -> None:
        """
        An empty data set is one empty final block.
        """
        self.assertEqual(b"".join(deflate([], 0)), b"\x01\x00\x00\xff\xff")

    @settings(max_examples=30, deadline=None)
    @given(st.lists(st.integers(min_value=1, max_value=70_000), max_size=20))
    def test_pieces_do_not_matter(self, cuts: list[int]) -> None:
        """
        Feeding the data set in any pieces gives the same stream.
        """
        data = sample(items=500, pixels=200_000)
        whole = b"".join(deflate([data], 0))
        pieces = []
        at = 0
        for cut in cuts:
            pieces.append(data[at : at + cut])
            at += cut
        pieces.append(data[at:])
        self.assertEqual(b"".join(deflate(pieces, 0)), whole)

    def test_cut_off(self) -> None:
        """
        A data set that ends inside an element is an error, not a short
        stream.
        """
        data = sample(items=10, pixels=1000)
        deflater = StoredDeflater()
        deflater.compress(data[:-10])
        self.assertRaises(DataSetError, deflater.flush)
