"""
Tests for :mod:`dicomtw.scanner`: the streaming data-set walker.

Data sets are built with pydicom, plus a few hand-made elements pydicom
would not write (odd lengths, an undefined-length ``UN`` sequence), and fed
in fragments of many sizes.
"""

from __future__ import annotations

import struct
import tracemalloc
import zlib
from collections.abc import Iterable, Iterator

from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.errors import DataSetError, UsageError
from dicomtw.scanner import (
    MAX_DEPTH,
    MODALITY,
    PATIENT_NAME,
    SOP_CLASS_UID,
    SOP_INSTANCE_UID,
    SPECIFIC_CHARACTER_SET,
    STUDY_INSTANCE_UID,
    DataSetScanner,
    text_value,
)
from dicomtw.uids import (
    DEFLATED_LITTLE,
    EXPLICIT_BIG,
    EXPLICIT_LITTLE,
    IMPLICIT_LITTLE,
    JPEG_BASELINE,
)

ALL_SYNTAXES = (IMPLICIT_LITTLE, EXPLICIT_LITTLE, EXPLICIT_BIG, DEFLATED_LITTLE)

EXPECTED = {
    SPECIFIC_CHARACTER_SET: b"ISO_IR 100",
    SOP_CLASS_UID: b"1.2.840.10008.5.1.4.1.1.2\x00",
    SOP_INSTANCE_UID: b"1.2.3.4.5.6.7\x00",
    MODALITY: b"CT",
    PATIENT_NAME: b"Doe^Jon ",
    STUDY_INSTANCE_UID: b"1.2.3.4.5\x00",
}


def _top_level_dataset() -> Dataset:
    """
    Build the header part of the test object: wanted values at top level,
    the same tags again inside sequences of every length kind, and a
    private block.

    :returns: the data set, without pixel data.
    """
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = "1.2.3.4.5.6.7"
    ds.Modality = "CT"

    deep = Dataset()
    deep.StudyInstanceUID = "7.7.7"
    deep.is_undefined_length_sequence_item = True
    inner = Dataset()
    inner.PatientName = "Inner^Name"
    inner.ReferencedSOPSequence = Sequence([deep])
    inner["ReferencedSOPSequence"].is_undefined_length = True

    first = Dataset()
    first.PatientName = "Nested^Name"
    first.SOPInstanceUID = "9.9.9"
    first.is_undefined_length_sequence_item = True
    defined_in_undefined = Dataset()
    defined_in_undefined.Modality = "MR"
    first.ReferencedStudySequence = Sequence([defined_in_undefined])
    second = Dataset()
    second.ReferencedSeriesSequence = Sequence([inner])
    second["ReferencedSeriesSequence"].is_undefined_length = True
    inner.is_undefined_length_sequence_item = True
    ds.ReferencedImageSequence = Sequence([first, second])
    ds["ReferencedImageSequence"].is_undefined_length = True

    opaque = Dataset()
    opaque.SOPClassUID = "8.8.8"
    ds.ReferencedPerformedProcedureStepSequence = Sequence([opaque])

    ds.add_new(0x00090010, "LO", "ACME")
    ds.add_new(0x00091001, "LO", "private value")
    ds.add_new(0x00091002, "OB", b"\x01\x02\x03\x04")
    ds.PatientName = "Doe^Jon"
    ds.StudyInstanceUID = "1.2.3.4.5"
    return ds


def _write(ds: Dataset, implicit: bool, little: bool) -> bytes:
    """
    Encode a data set with pydicom.

    :param ds: the data set.
    :param implicit: whether to use implicit VR.
    :param little: whether to use little endian.
    :returns: the encoded bytes.
    """
    fp = DicomBytesIO()
    fp.is_little_endian = little
    fp.is_implicit_VR = implicit
    write_dataset(fp, ds)
    return fp.getvalue()


def _hand_made(syntax: str) -> list[bytes]:
    """
    Encode top-level elements pydicom does not write: an odd-length value
    and a private undefined-length element (``UN`` in explicit VR, whose
    contents are in implicit VR little endian, PS3.5 §6.2.2).

    :param syntax: the transfer syntax.
    :returns: the encoded elements, one per list entry.
    """
    order = ">" if syntax == EXPLICIT_BIG else "<"
    implicit_item = (
        b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
        + struct.pack("<HHL", 0x0010, 0x0010, 5)
        + b"Inner"
        + b"\xfe\xff\x0d\xe0\x00\x00\x00\x00"
    )
    sequence_end = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    if syntax == IMPLICIT_LITTLE:
        odd = struct.pack("<HHL", 0x0029, 0x0010, 3) + b"ODD"
        undefined = struct.pack("<HHL", 0x0029, 0x1001, 0xFFFFFFFF)
    else:
        odd = struct.pack(order + "HH2sH", 0x0029, 0x0010, b"LO", 3) + b"ODD"
        undefined = struct.pack(order + "HH2sHL", 0x0029, 0x1001, b"UN", 0, 0xFFFFFFFF)
    return [odd, undefined + implicit_item + sequence_end]


def _pixel_data(syntax: str, size: int) -> bytes:
    """
    Encode Pixel Data: encapsulated in explicit VR little endian (and
    deflated), native otherwise.

    :param syntax: the transfer syntax.
    :param size: the number of pixel bytes.
    :returns: the encoded element.
    """
    ds = Dataset()
    ds.BitsAllocated = 16
    if syntax in (EXPLICIT_LITTLE, DEFLATED_LITTLE):
        frames = [bytes(size // 2), bytes(size - size // 2)]
        ds.add_new(0x7FE00010, "OB", encapsulate(frames))
        ds["PixelData"].is_undefined_length = True
    else:
        ds.add_new(0x7FE00010, "OW", bytes(size))
    del ds.BitsAllocated
    implicit = syntax == IMPLICIT_LITTLE
    return _write(ds, implicit, syntax != EXPLICIT_BIG)


def _elements(syntax: str, pixels: int = 64) -> list[bytes]:
    """
    Encode the test object as a list of top-level elements.

    :param syntax: any of the four native transfer syntaxes; deflated
        gives the uncompressed elements.
    :param pixels: the number of pixel bytes.
    :returns: each top-level element's bytes, in order.
    """
    implicit = syntax == IMPLICIT_LITTLE
    little = syntax != EXPLICIT_BIG
    parts = []
    ds = _top_level_dataset()
    for element in ds:
        single = Dataset()
        single.add(element)
        parts.append(_write(single, implicit, little))
    return parts + _hand_made(syntax) + [_pixel_data(syntax, pixels)]


def _deflate(data: bytes) -> bytes:
    """
    Deflate a data set as PS3.5 §A.5 asks (raw deflate, no zlib header).

    :param data: the data set.
    :returns: the compressed stream.
    """
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _encode(syntax: str, pixels: int = 64) -> bytes:
    """
    Encode the whole test object as it travels on the wire.

    :param syntax: the transfer syntax.
    :param pixels: the number of pixel bytes.
    :returns: the data-set bytes.
    """
    data = b"".join(_elements(syntax, pixels))
    return _deflate(data) if syntax == DEFLATED_LITTLE else data


def _fragments(data: bytes, size: int) -> Iterator[memoryview]:
    """
    Cut bytes into memoryviews of a fixed size, as P-DATA values come.

    :param data: the bytes.
    :param size: the fragment size.
    :returns: the fragments.
    """
    view = memoryview(data)
    return (view[start : start + size] for start in range(0, len(data), size))


def _scan(syntax: str, pieces: Iterable[bytes | memoryview]) -> DataSetScanner:
    """
    Feed fragments to a new scanner and finish it.

    :param syntax: the transfer syntax.
    :param pieces: the fragments.
    :returns: the finished scanner.
    """
    scanner = DataSetScanner(syntax)
    for piece in pieces:
        scanner.feed(piece)
    scanner.finish()
    return scanner


def _explicit(group: int, element: int, vr: bytes, value: bytes) -> bytes:
    """
    Encode one short-VR explicit VR little endian element.

    :param group: the tag group.
    :param element: the tag element.
    :param vr: the VR.
    :param value: the value.
    :returns: the element.
    """
    return struct.pack("<HH2sH", group, element, vr, len(value)) + value


def _tag(tag: int, length: int) -> bytes:
    """
    Encode an item or delimiter tag (or an implicit VR header).

    :param tag: ``group << 16 | element``.
    :param length: the length field.
    :returns: the 8 header bytes.
    """
    return struct.pack("<HHL", tag >> 16, tag & 0xFFFF, length)


ITEM = 0xFFFEE000
ITEM_END = 0xFFFEE00D
SEQUENCE_END = 0xFFFEE0DD
SEQUENCE_START = struct.pack("<HH2sHL", 0x0008, 0x1140, b"SQ", 0, 0xFFFFFFFF)


class ScannerValuesTests(SynchronousTestCase):
    """
    The scanner reports the wanted top-level values of complete data sets.
    """

    def test_all_syntaxes_and_fragment_sizes(self) -> None:
        """
        Every transfer syntax gives the same top-level values whether the
        data set comes in 1-byte, 7-byte or 16 KB fragments.
        """
        for syntax in ALL_SYNTAXES:
            data = _encode(syntax, pixels=40000)
            for size in (1, 7, 16384):
                with self.subTest(syntax=syntax, size=size):
                    scanner = _scan(syntax, _fragments(data, size))
                    self.assertEqual(scanner.values, EXPECTED)
                    self.assertTrue(scanner.uids_known)

    def test_whole_data_set_in_one_fragment(self) -> None:
        """
        A data set fed as one ``bytes`` object gives the same values.
        """
        for syntax in ALL_SYNTAXES:
            with self.subTest(syntax=syntax):
                scanner = _scan(syntax, [_encode(syntax)])
                self.assertEqual(scanner.values, EXPECTED)

    def test_deflated_padding_byte(self) -> None:
        """
        The NUL that pads an odd-length deflate stream to even length
        (PS3.5 §A.5) is ignored.
        """
        data = _encode(DEFLATED_LITTLE)
        scanner = _scan(DEFLATED_LITTLE, [data, b"\x00"])
        self.assertEqual(scanner.values, EXPECTED)

    def test_deflated_padding_byte_after_large_stream(self) -> None:
        """
        The pad byte ends the walk too when the stream inflates to more
        than one inflation step, in the same fragment as the stream's end
        (zlib then keeps it as an unconsumed tail forever).
        """
        data = _encode(DEFLATED_LITTLE, pixels=200000)
        scanner = _scan(DEFLATED_LITTLE, [data + b"\x00"])
        self.assertEqual(scanner.values, EXPECTED)
        self.assertTrue(scanner.finished)

    def test_encapsulated_syntax_is_explicit_little(self) -> None:
        """
        A compressed transfer syntax is walked as explicit VR little endian.
        """
        scanner = _scan(JPEG_BASELINE, [_encode(EXPLICIT_LITTLE)])
        self.assertEqual(scanner.values, EXPECTED)

    def test_uids_known_after_sop_instance(self) -> None:
        """
        ``uids_known`` turns true once SOP Instance UID has been walked,
        and not before.
        """
        for syntax in (IMPLICIT_LITTLE, EXPLICIT_LITTLE, EXPLICIT_BIG):
            elements = _elements(syntax)
            scanner = DataSetScanner(syntax)
            for element in elements[:2]:
                scanner.feed(element)
            third = elements[2]
            scanner.feed(third[:-1])
            self.assertFalse(scanner.uids_known)
            scanner.feed(third[-1:])
            self.assertTrue(scanner.uids_known)
            self.assertEqual(scanner.values[SOP_INSTANCE_UID], b"1.2.3.4.5.6.7\x00")

    def test_uids_known_when_sop_instance_is_absent(self) -> None:
        """
        A top-level tag after (0008,0018) also makes the UIDs known.
        """
        scanner = DataSetScanner(EXPLICIT_LITTLE)
        scanner.feed(_explicit(0x0008, 0x0016, b"UI", b"1.2\x00"))
        self.assertFalse(scanner.uids_known)
        scanner.feed(_explicit(0x0008, 0x0060, b"CS", b"CT"))
        self.assertTrue(scanner.uids_known)
        self.assertNotIn(SOP_INSTANCE_UID, scanner.values)

    def test_long_values_are_not_kept(self) -> None:
        """
        Values longer than ``max_value_length`` are skipped, not kept.
        """
        scanner = DataSetScanner(EXPLICIT_LITTLE, max_value_length=10)
        scanner.feed(_encode(EXPLICIT_LITTLE))
        scanner.finish()
        self.assertEqual(
            scanner.values,
            {
                SPECIFIC_CHARACTER_SET: b"ISO_IR 100",
                MODALITY: b"CT",
                PATIENT_NAME: b"Doe^Jon ",
                STUDY_INSTANCE_UID: b"1.2.3.4.5\x00",
            },
        )

    def test_wanted_tags_are_chosen_by_caller(self) -> None:
        """
        Only the tags the caller asks for are kept, and a private top-level
        element can be one of them.
        """
        scanner = DataSetScanner(EXPLICIT_BIG, wanted=frozenset({0x00091001}))
        scanner.feed(_encode(EXPLICIT_BIG))
        scanner.finish()
        self.assertEqual(scanner.values, {0x00091001: b"private value "})

    def test_unknown_vr_has_long_length(self) -> None:
        """
        An explicit VR the scanner does not know, made of two capital
        letters, is read with reserved bytes and a 4-byte length, as DCMTK
        reads it; the data set is then re-encoded (to UN).
        """
        unknown = struct.pack("<HH2sHL", 0x0009, 0x1003, b"ZZ", 0, 3) + b"abc"
        data = unknown + _explicit(0x0010, 0x0010, b"PN", b"Doe")
        scanner = _scan(EXPLICIT_LITTLE, list(_fragments(data, 5)))
        self.assertEqual(scanner.values, {PATIENT_NAME: b"Doe"})
        self.assertTrue(scanner.needs_reencoding)

    def test_other_unknown_vr_has_short_length(self) -> None:
        """
        Any other unknown VR (``xx``, digits) is read with a 2-byte length,
        as DCMTK reads it.
        """
        for vr in (b"xx", b"1A", b"Zz"):
            unknown = struct.pack("<HH2sH", 0x0009, 0x1003, vr, 4) + b"abcd"
            data = unknown + _explicit(0x0010, 0x0010, b"PN", b"Doe")
            scanner = _scan(EXPLICIT_LITTLE, list(_fragments(data, 5)))
            self.assertEqual(scanner.values, {PATIENT_NAME: b"Doe"}, vr)
            self.assertTrue(scanner.needs_reencoding, vr)

    def test_item_delimiter_in_defined_item_is_tolerated(self) -> None:
        """
        An Item Delimitation Item inside a defined-length item is ignored.
        """
        body = _explicit(0x0010, 0x0010, b"PN", b"In") + _tag(ITEM_END, 0)
        data = (
            SEQUENCE_START
            + _tag(ITEM, len(body))
            + body
            + _tag(SEQUENCE_END, 0)
            + _explicit(0x0010, 0x0010, b"PN", b"Out ")
        )
        scanner = _scan(EXPLICIT_LITTLE, [data])
        self.assertEqual(scanner.values, {PATIENT_NAME: b"Out "})

    def test_large_values_are_not_copied(self) -> None:
        """
        Walking 64 MB of pixel data allocates next to nothing: values are
        counted past, never copied.
        """
        header = struct.pack("<HH2sHL", 0x7FE0, 0x0010, b"OW", 0, 64 << 20)
        block = memoryview(bytes(1 << 20))
        scanner = DataSetScanner(EXPLICIT_LITTLE)
        scanner.feed(_explicit(0x0008, 0x0018, b"UI", b"1.2\x00") + header)
        tracemalloc.start()
        try:
            for _ in range(64):
                scanner.feed(block)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        scanner.finish()
        self.assertLess(peak, 64 * 1024)
        self.assertEqual(scanner.offset, 12 + 12 + (64 << 20))

    def test_empty_data_set(self) -> None:
        """
        An empty data set is complete and has no values.
        """
        for syntax in ALL_SYNTAXES:
            scanner = _scan(syntax, [])
            self.assertEqual(scanner.values, {})

    @settings(max_examples=60, deadline=None)
    @given(
        syntax=st.sampled_from(ALL_SYNTAXES),
        cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=40),
    )
    def test_any_fragmentation(self, syntax: str, cuts: list[int]) -> None:
        """
        However the data set is cut into fragments, the values are the same.
        """
        data = _encode(syntax, pixels=2000)
        points = sorted({0, len(data), *(cut for cut in cuts if cut < len(data))})
        pieces = [data[a:b] for a, b in zip(points, points[1:])]
        self.assertEqual(_scan(syntax, pieces).values, EXPECTED)


class ScannerTruncationTests(SynchronousTestCase):
    """
    A data set that ends inside an element, item or sequence is refused at
    :meth:`DataSetScanner.finish`.
    """

    def test_every_truncation_point(self) -> None:
        """
        Cutting the data set anywhere but between two top-level elements
        makes ``finish`` raise; cutting between them does not.
        """
        for syntax in (IMPLICIT_LITTLE, EXPLICIT_LITTLE, EXPLICIT_BIG):
            elements = _elements(syntax)
            data = b"".join(elements)
            boundaries = {0}
            for element in elements:
                boundaries.add(max(boundaries) + len(element))
            self.assertEqual(max(boundaries), len(data))
            for stop in range(len(data) + 1):
                with self.subTest(syntax=syntax, stop=stop):
                    scanner = DataSetScanner(syntax)
                    scanner.feed(data[:stop])
                    if stop in boundaries:
                        scanner.finish()
                    else:
                        self.assertRaises(DataSetError, scanner.finish)

    def test_deflated_truncation(self) -> None:
        """
        A deflated data set cut anywhere before the end of its deflate
        stream is refused.
        """
        data = _encode(DEFLATED_LITTLE)
        for stop in range(1, len(data)):
            scanner = DataSetScanner(DEFLATED_LITTLE)
            scanner.feed(data[:stop])
            self.assertRaises(DataSetError, scanner.finish)

    @settings(max_examples=100, deadline=None)
    @given(data=st.data())
    def test_truncation_in_fragments(self, data: st.DataObject) -> None:
        """
        A cut inside the last element is refused however the prefix was
        fragmented.
        """
        syntax = data.draw(st.sampled_from((EXPLICIT_LITTLE, EXPLICIT_BIG)))
        encoded = _encode(syntax)
        last = len(_elements(syntax)[-1])
        stop = data.draw(st.integers(len(encoded) - last + 1, len(encoded) - 1))
        size = data.draw(st.integers(1, 64))
        scanner = DataSetScanner(syntax)
        for piece in _fragments(encoded[:stop], size):
            scanner.feed(piece)
        self.assertRaises(DataSetError, scanner.finish)


class ScannerStructureTests(SynchronousTestCase):
    """
    Impossible structures are refused as soon as they are seen.
    """

    def assertFeedRaises(self, data: bytes, syntax: str = EXPLICIT_LITTLE) -> None:
        """
        Check that feeding ``data`` raises :class:`DataSetError`, in one
        fragment and byte by byte.

        :param data: the broken data set.
        :param syntax: its transfer syntax.
        """
        self.assertRaises(DataSetError, DataSetScanner(syntax).feed, data)
        scanner = DataSetScanner(syntax)

        def byte_by_byte() -> None:
            for piece in _fragments(data, 1):
                scanner.feed(piece)

        self.assertRaises(DataSetError, byte_by_byte)

    def test_item_outside_sequence(self) -> None:
        """
        An item tag at top level is refused.
        """
        self.assertFeedRaises(_tag(ITEM, 0))
        self.assertFeedRaises(_tag(ITEM_END, 0), IMPLICIT_LITTLE)
        self.assertFeedRaises(_tag(SEQUENCE_END, 0))

    def test_sequence_delimiter_inside_item(self) -> None:
        """
        A sequence delimiter where an item's elements are expected is
        refused.
        """
        self.assertFeedRaises(
            SEQUENCE_START + _tag(ITEM, 0xFFFFFFFF) + _tag(SEQUENCE_END, 0)
        )

    def test_element_in_sequence(self) -> None:
        """
        An element where an item is expected is refused.
        """
        self.assertFeedRaises(
            SEQUENCE_START + _explicit(0x0010, 0x0010, b"PN", b"Doe ")
        )

    def test_element_past_defined_item(self) -> None:
        """
        An element running past the end of its defined-length item is
        refused.
        """
        body = _explicit(0x0010, 0x0010, b"PN", b"Doe ")
        self.assertFeedRaises(SEQUENCE_START + _tag(ITEM, len(body) - 2) + body)

    def test_header_past_defined_item(self) -> None:
        """
        An element header that does not fit in its defined-length item is
        refused.
        """
        body = _explicit(0x0010, 0x0010, b"PN", b"")
        self.assertFeedRaises(SEQUENCE_START + _tag(ITEM, 6) + body)

    def test_unclosed_sequence_in_defined_item(self) -> None:
        """
        An undefined-length sequence must end before its defined-length
        item does.
        """
        inner = SEQUENCE_START + _tag(ITEM, 0xFFFFFFFF) + _tag(ITEM_END, 0)
        data = SEQUENCE_START + _tag(ITEM, len(inner)) + inner + b"\x00" * 16
        self.assertFeedRaises(data)

    def test_undefined_length_on_wrong_vr(self) -> None:
        """
        Only SQ, UN, OB and OW may have an undefined length.
        """
        for vr in (b"UT", b"UC", b"OF", b"UR"):
            with self.subTest(vr=vr):
                self.assertFeedRaises(
                    struct.pack("<HH2sHL", 0x0010, 0x4000, vr, 0, 0xFFFFFFFF)
                )

    def test_undefined_length_fragment(self) -> None:
        """
        An encapsulated pixel data fragment of undefined length is refused.
        """
        header = struct.pack("<HH2sHL", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF)
        self.assertFeedRaises(header + _tag(ITEM, 0xFFFFFFFF))

    def test_element_in_pixel_data(self) -> None:
        """
        An element where a pixel data fragment is expected is refused.
        """
        header = struct.pack("<HH2sHL", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF)
        self.assertFeedRaises(header + _tag(0x00100010, 0))

    def test_nesting_limit(self) -> None:
        """
        Nesting deeper than ``MAX_DEPTH`` is refused instead of growing
        without bound.
        """
        level = SEQUENCE_START + _tag(ITEM, 0xFFFFFFFF)
        self.assertFeedRaises(level * MAX_DEPTH)

    def test_nesting_below_limit(self) -> None:
        """
        Nesting up to the limit is walked and closed properly.
        """
        depth = MAX_DEPTH // 2 - 1
        opening = (SEQUENCE_START + _tag(ITEM, 0xFFFFFFFF)) * depth
        closing = (_tag(ITEM_END, 0) + _tag(SEQUENCE_END, 0)) * depth
        scanner = _scan(EXPLICIT_LITTLE, [opening, closing])
        self.assertEqual(scanner.values, {})

    def test_corrupt_deflate_stream(self) -> None:
        """
        A deflated data set that is not a deflate stream is refused.
        """
        self.assertFeedRaises(b"\xff" * 32, DEFLATED_LITTLE)

    def test_error_is_sticky(self) -> None:
        """
        After an error every further call raises the same error.
        """
        scanner = DataSetScanner(EXPLICIT_LITTLE)
        with self.assertRaises(DataSetError) as caught:
            scanner.feed(_tag(ITEM, 0))
        with self.assertRaises(DataSetError) as again:
            scanner.feed(b"")
        self.assertIs(again.exception, caught.exception)
        self.assertRaises(DataSetError, scanner.finish)

    def test_feed_after_finish(self) -> None:
        """
        Feeding a finished scanner, or finishing it twice, is a local bug.
        """
        scanner = _scan(EXPLICIT_LITTLE, [])
        self.assertRaises(UsageError, scanner.feed, b"\x00")
        self.assertRaises(UsageError, scanner.finish)

    @settings(max_examples=300, deadline=None)
    @given(
        syntax=st.sampled_from(ALL_SYNTAXES),
        garbage=st.binary(max_size=200),
        size=st.integers(1, 32),
    )
    def test_garbage_raises_only_data_set_error(
        self, syntax: str, garbage: bytes, size: int
    ) -> None:
        """
        Arbitrary bytes either scan or raise :class:`DataSetError`; no other
        exception escapes.
        """
        scanner = DataSetScanner(syntax)
        try:
            for piece in _fragments(garbage, size):
                scanner.feed(piece)
            scanner.finish()
        except DataSetError:
            pass

    @settings(max_examples=300, deadline=None)
    @given(
        syntax=st.sampled_from((IMPLICIT_LITTLE, EXPLICIT_LITTLE, EXPLICIT_BIG)),
        position=st.integers(0, 10000),
        byte=st.integers(0, 255),
    )
    def test_mutations_raise_only_data_set_error(
        self, syntax: str, position: int, byte: int
    ) -> None:
        """
        A valid data set with one byte changed either scans or raises
        :class:`DataSetError`.
        """
        data = bytearray(_encode(syntax))
        data[position % len(data)] = byte
        scanner = DataSetScanner(syntax)
        try:
            for piece in _fragments(bytes(data), 13):
                scanner.feed(piece)
            scanner.finish()
        except DataSetError:
            pass


class TextValueTests(SynchronousTestCase):
    """
    :func:`text_value` reads raw values as DCMTK does.
    """

    def test_trailing_padding(self) -> None:
        """
        Trailing spaces and NULs are removed, leading ones kept.
        """
        self.assertEqual(text_value(b" Doe^Jon \x00 "), " Doe^Jon")
        self.assertEqual(text_value(b""), "")

    def test_uid_white_space(self) -> None:
        """
        Every white-space character of a UID is removed (§6.6).
        """
        self.assertEqual(text_value(b" 1.2 .3\t\x00", uid=True), "1.2.3")
        self.assertEqual(text_value(b"1.2.3 ", uid=True), "1.2.3")

    def test_every_byte_is_one_character(self) -> None:
        """
        Bytes outside ASCII decode to one character each and never fail.
        """
        self.assertEqual(text_value(b"\xc3\xbc\xff"), "\xc3\xbc\xff")
