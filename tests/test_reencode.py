"""
Tests for dicomtw.reencode: normal-mode re-encoding of a spooled data set.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.errors import DataSetError
from dicomtw.reencode import (
    Encoding,
    StreamConverter,
    normalise_string,
    plan,
    string_unnormalised,
    swap,
)
from dicomtw.scanner import DataSetScanner

EVRLE = "1.2.840.10008.1.2.1"
EVRBE = "1.2.840.10008.1.2.2"
IVR = "1.2.840.10008.1.2"
UNDEFINED = 0xFFFFFFFF


class Builder:
    """
    Writes elements by hand, in one transfer syntax.
    """

    def __init__(self, syntax: str) -> None:
        self.explicit = syntax != IVR
        self.order = ">" if syntax == EVRBE else "<"

    def element(self, group: int, element: int, vr: bytes, value: bytes) -> bytes:
        head = struct.pack(self.order + "HH", group, element)
        if not self.explicit:
            return head + struct.pack(self.order + "L", len(value)) + value
        if vr in (b"OB", b"SQ", b"UN"):
            return (
                head + vr + b"\0\0" + struct.pack(self.order + "L", len(value)) + value
            )
        return head + vr + struct.pack(self.order + "H", len(value)) + value

    def open_sequence(self, group: int, element: int) -> bytes:
        head = struct.pack(self.order + "HH", group, element)
        undefined = struct.pack(self.order + "L", UNDEFINED)
        return head + (b"SQ\0\0" if self.explicit else b"") + undefined

    def delimiter(self, element: int, length: int = 0) -> bytes:
        return struct.pack(self.order + "HHL", 0xFFFE, element, length)

    def ul(self, value: int) -> bytes:
        return struct.pack(self.order + "L", value)


def sample(syntax: str) -> bytes:
    """
    A data set with wrong group lengths, an undefined-length sequence with
    an undefined-length item (itself holding a group length), and
    encapsulated pixel data.
    """
    b = Builder(syntax)
    item = b.element(0x0008, 0x0000, b"UL", b.ul(999)) + b.element(
        0x0008, 0x1150, b"UI", b"1.2.840.10008.5.1.4.1.1.2\0"
    )
    pixels = (
        struct.pack(b.order + "HH", 0x7FE0, 0x0010)
        + (b"OB\0\0" if b.explicit else b"")
        + b.ul(UNDEFINED)
        + b.delimiter(0xE000, 0)
        + b.delimiter(0xE000, 4)
        + b"\1\2\3\4"
        + b.delimiter(0xE0DD)
    )
    return (
        b.element(0x0008, 0x0000, b"UL", b.ul(1))
        + b.element(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.2\0")
        + b.element(0x0008, 0x0018, b"UI", b"1.2.3.4\0")
        + b.open_sequence(0x0008, 0x1140)
        + b.delimiter(0xE000, UNDEFINED)
        + item
        + b.delimiter(0xE00D)
        + b.delimiter(0xE0DD)
        + b.element(0x0010, 0x0000, b"UL", b.ul(0))
        + b.element(0x0010, 0x0010, b"PN", b"Doe^John")
        + pixels
    )


def reencode(syntax: str, data: bytes) -> bytes:
    scanner = DataSetScanner(syntax)
    scanner.feed(data)
    scanner.finish()
    assert scanner.needs_reencoding
    pieces = plan(syntax, scanner.top_starts, len(data), lambda o, n: data[o : o + n])
    return b"".join(
        (
            piece.data
            if piece.data is not None
            else data[piece.start : piece.start + piece.length]
        )
        for piece in pieces
    )


class ReencodeTests(SynchronousTestCase):
    """
    Sequences and items get explicit lengths, group lengths are
    recalculated, everything else is kept.
    """

    def check(self, syntax: str) -> None:
        result = reencode(syntax, sample(syntax))
        buffer = DicomBytesIO(result)
        ds = read_dataset(buffer, syntax == IVR, syntax != EVRBE)
        sequence = ds.ReferencedImageSequence
        self.assertFalse(sequence.is_undefined_length)
        self.assertFalse(sequence[0].is_undefined_length_sequence_item)
        self.assertEqual(sequence[0].ReferencedSOPClassUID, "1.2.840.10008.5.1.4.1.1.2")
        # A group length counts the bytes of the rest of its group: here
        # from (0008,0016) up to (0010,0000).
        first = 12  # (0008,0000) UL, header and value
        patient = result.index(Builder(syntax).element(0x0010, 0x0000, b"UL", b"")[:4])
        self.assertEqual(ds[0x00080000].value, patient - first)
        # In the item: (0008,1150) with its 8-byte header.
        self.assertEqual(sequence[0][0x00080000].value, 8 + 26)
        self.assertEqual(ds.PatientName, "Doe^John")
        self.assertTrue(result.endswith(sample(syntax)[-36:]))

    def test_explicit_little(self) -> None:
        """
        Explicit VR little endian.
        """
        self.check(EVRLE)

    def test_explicit_big(self) -> None:
        """
        Explicit VR big endian.
        """
        self.check(EVRBE)

    def test_implicit(self) -> None:
        """
        Implicit VR little endian: the dictionary says which tags are SQ.
        """
        self.check(IVR)

    def test_group_length_of_patient_group(self) -> None:
        """
        (0010,0000) counts the patient group's other elements: one PN of 8
        bytes and its header.
        """
        for syntax in (EVRLE, EVRBE, IVR):
            result = reencode(syntax, sample(syntax))
            ds = read_dataset(DicomBytesIO(result), syntax == IVR, syntax != EVRBE)
            self.assertEqual(ds[0x00100000].value, 8 + 8, syntax)

    def test_broken_sequence(self) -> None:
        """
        A sequence that cannot be parsed raises DataSetError, so that the
        caller keeps the data set as received.
        """
        b = Builder(EVRLE)
        data = b.element(0x0008, 0x0018, b"UI", b"1.2\0") + b.open_sequence(
            0x0008, 0x1140
        )
        data += b.element(0x0008, 0x1150, b"UI", b"1.2\0")
        self.assertRaises(
            DataSetError, plan, EVRLE, [0, 12], len(data), lambda o, n: data[o : o + n]
        )


def convert(
    source: str,
    target: str,
    data: bytes,
    encoding: Encoding = Encoding(),
    offset: int = 0,
) -> bytes:
    """
    Plan the conversion of ``data`` from ``source`` to ``target`` and
    carry it out in memory, byte swaps included.
    """
    scanner = DataSetScanner(source)
    scanner.feed(data)
    scanner.finish()
    pieces = plan(
        source,
        scanner.top_starts,
        len(data),
        lambda o, n: data[o : o + n],
        encoding=encoding,
        target_syntax=target,
        offset=offset,
    )
    return b"".join(
        (
            piece.data
            if piece.data is not None
            else swap(data[piece.start : piece.start + piece.length], piece.swap)
        )
        for piece in pieces
    )


def _encode(ds: Dataset, syntax: str) -> bytes:
    buffer = DicomBytesIO()
    buffer.is_little_endian = syntax != EVRBE
    buffer.is_implicit_VR = syntax == IVR
    write_dataset(buffer, ds)
    return buffer.getvalue()


def _decode(data: bytes, syntax: str) -> Dataset:
    return read_dataset(DicomBytesIO(data), syntax == IVR, syntax != EVRBE)


def _binary_data_set() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.99.1"
    ds.PatientName = "Doe^Jane"
    ds.add_new(0x00181310, "US", [0, 256, 256, 0])  # AcquisitionMatrix
    ds.add_new(0x00189219, "SS", -300)  # TagAngleSecondAxis
    ds.add_new(0x00209158, "LT", "odd")  # FrameComments
    ds.add_new(0x00209165, "AT", [0x00100010, 0x7FE00010])
    ds.add_new(0x00189089, "FD", [0.25, -1.5, 3.0])  # DiffusionGradientOrientation
    ds.add_new(0x00181320, "FL", 2.5)  # B1rms
    ds.add_new(0x00209153, "FD", 10.5)
    ds.add_new(0x00281050, "DS", "40")
    ds.SamplesPerPixel = 1
    ds.Rows = 2
    ds.Columns = 3
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 1
    ds.add_new(0x00280106, "SS", -2)  # SmallestImagePixelValue, US or SS
    item = Dataset()
    item.add_new(0x00283002, "US", [4, 0, 16])  # LUTDescriptor, US or SS
    item.add_new(0x00283006, "US", [1, 2, 3, 4])  # LUTData, US or OW
    ds.ModalityLUTSequence = [item]
    ds.add_new(0x00090010, "LO", "DICOMTW UNIT")
    ds.add_new(0x00091001, "UL", 7)  # unknown private: UN after implicit
    ds.PixelData = struct.pack("<6h", -1, 2, -3, 4, -5, 4095)
    ds["PixelData"].VR = "OW"
    return ds


class ConversionTests(SynchronousTestCase):
    """
    ``+te``, ``+tb`` and ``+ti``: every pair of uncompressed syntaxes
    keeps every value, with binary values byte-swapped by VR.
    """

    syntaxes = (IVR, EVRLE, EVRBE)

    def test_values_kept(self) -> None:
        """
        Converted from each syntax into each other, the data set reads
        back with the same values; VRs survive where the source has them.
        """
        original = _binary_data_set()
        for source in self.syntaxes:
            data = _encode(original, source)
            for target in self.syntaxes:
                result = _decode(convert(source, target, data), target)
                for element in original:
                    if element.tag.is_private and IVR in (source, target):
                        continue
                    if element.VR == "SQ":
                        # pydicom leaves US-or-SS values in implicit VR
                        # items undecoded.
                        got = result[element.tag][0]
                        self.assertEqual(
                            got.get(0x00283002).value if target != IVR else None,
                            [4, 0, 16] if target != IVR else None,
                        )
                        continue
                    expected = element.value
                    # pydicom writes OW bytes as they are in any syntax.
                    if element.tag == 0x7FE00010 and (source == EVRBE) != (
                        target == EVRBE
                    ):
                        expected = swap(expected, 2)
                    self.assertEqual(
                        result[element.tag].value, expected, (source, target, element)
                    )
                if target != IVR and source != IVR:
                    self.assertEqual(result[0x00209165].VR, "AT")
                    self.assertEqual(result[0x00091001].value, 7)

    def test_implicit_vrs_from_dictionary(self) -> None:
        """
        From implicit VR, explicit output gets dictionary VRs: SS for a
        US-or-SS element after Pixel Representation 1, US in an item that
        has none, OW for pixel data and LUT Data, LO for private creators,
        UN for unknown private tags.
        """
        data = _encode(_binary_data_set(), IVR)
        result = _decode(convert(IVR, EVRLE, data), EVRLE)
        self.assertEqual(result[0x00280106].VR, "SS")
        self.assertEqual(result[0x00280106].value, -2)
        item = result.ModalityLUTSequence[0]
        self.assertEqual(item[0x00283002].VR, "US")
        self.assertEqual(item[0x00283006].VR, "OW")
        self.assertEqual(result[0x7FE00010].VR, "OW")
        self.assertEqual(result[0x00090010].VR, "LO")
        self.assertEqual(result[0x00091001].VR, "UN")
        self.assertEqual(result[0x00091001].value, struct.pack("<L", 7))

    def test_big_endian_bytes(self) -> None:
        """
        Explicit big endian output swaps US, SS, FD, AT and OW values in
        their own units and leaves text and OB alone.
        """
        data = _encode(_binary_data_set(), EVRLE)
        big = convert(EVRLE, EVRBE, data)
        self.assertIn(
            b"\x00\x18\x13\x10US\x00\x08\x00\x00\x01\x00\x01\x00\x00\x00", big
        )
        self.assertIn(
            b"\x00\x20\x91\x65AT\x00\x08\x00\x10\x00\x10\x7f\xe0\x00\x10", big
        )
        self.assertIn(struct.pack(">d", 10.5), big)
        self.assertIn(
            b"\x7f\xe0\x00\x10OW\x00\x00"
            + struct.pack(">L6h", 12, -1, 2, -3, 4, -5, 4095),
            big,
        )
        self.assertIn(b"\x00\x20\x91\x58LT\x00\x04odd ", big)

    def test_large_values_copied_by_range(self) -> None:
        """
        A value too large to convert in memory is planned as a range with
        its swap unit, so pixel data is never read whole.
        """
        ds = _binary_data_set()
        ds.Rows, ds.Columns = 256, 512
        ds.PixelData = bytes(range(256)) * 1024
        data = _encode(ds, EVRLE)
        scanner = DataSetScanner(EVRLE)
        scanner.feed(data)
        scanner.finish()
        pieces = plan(
            EVRLE,
            scanner.top_starts,
            len(data),
            lambda o, n: data[o : o + n],
            target_syntax=EVRBE,
        )
        ranges = [piece for piece in pieces if piece.data is None]
        self.assertEqual([(p.length, p.swap) for p in ranges], [(256 * 1024, 2)])
        self.assertEqual(
            _decode(convert(EVRLE, EVRBE, data), EVRBE).PixelData,
            swap(ds.PixelData, 2),
        )

    def test_options_apply_while_converting(self) -> None:
        """
        ``-e``, ``+g`` and ``-u`` apply to the converted data set.
        """
        ds = _binary_data_set()
        ds.add_new(0x00081030, "LO", "Study")
        ds.add_new(0x00400280, "ST", "x")
        ds.add_new(0x0040A160, "UT", "text")
        data = _encode(ds, IVR)
        encoding = Encoding(
            group_lengths="create", undefined_lengths=True, new_vrs=False
        )
        result = convert(IVR, EVRBE, data, encoding)
        back = _decode(result, EVRBE)
        self.assertTrue(back.ModalityLUTSequence.is_undefined_length)
        self.assertIn(0x00080000, back)
        self.assertIn(b"\x00\x40\xa1\x60OB\x00\x00\x00\x00\x00\x04text", result)

    def test_swap(self) -> None:
        """
        Words are swapped in their units; a ragged end stays.
        """
        self.assertEqual(swap(b"\1\2\3\4\5", 2), b"\2\1\4\3\5")
        self.assertEqual(swap(b"\1\2\3\4", 4), b"\4\3\2\1")
        self.assertEqual(swap(bytes(range(8)), 8), bytes(reversed(range(8))))
        self.assertEqual(swap(b"\1\2", 0), b"\1\2")


def stream_convert(
    source: str,
    target: str,
    data: bytes,
    encoding: Encoding = Encoding(),
    cuts: Sequence[int] = (),
    offset: int = 0,
) -> bytes:
    """
    Convert ``data`` with StreamConverter, fed in pieces cut at ``cuts``,
    and apply its patches.
    """
    return stream_converter(source, target, data, encoding, cuts, offset)[1]


def stream_converter(
    source: str,
    target: str,
    data: bytes,
    encoding: Encoding = Encoding(),
    cuts: Sequence[int] = (),
    offset: int = 0,
) -> tuple[StreamConverter, bytes]:
    """
    :func:`stream_convert`, and the converter it used.
    """
    scanner = DataSetScanner(source)
    converter = StreamConverter(source, target, encoding, offset)
    out: list[bytes | memoryview] = []
    bounds = sorted({0, *[c for c in cuts if 0 < c < len(data)], len(data)})
    for start, end in zip(bounds, bounds[1:]):
        piece = memoryview(data)[start:end]
        scanner.feed(piece)
        out.extend(converter.feed(piece, scanner.top_starts))
    scanner.finish()
    out.extend(converter.finish(scanner.top_starts, len(data)))
    result = bytearray(b"".join(out))
    for at, value in converter.patches:
        result[at : at + len(value)] = value
    return converter, bytes(result)


_SYNTAXES = (IVR, EVRLE, EVRBE)

#: Public and private tags of many VRs, some of which depend on others
#: (pixel values on Pixel Representation, private ones on their creator).
_PLAIN_TAGS = [
    (0x00080005, b"CS"),
    (0x00080016, b"UI"),
    (0x00080018, b"UI"),
    (0x00080020, b"DA"),
    (0x00100010, b"PN"),
    (0x00100020, b"LO"),
    (0x00180050, b"DS"),
    (0x00181310, b"US"),
    (0x00181320, b"FL"),
    (0x00189089, b"FD"),
    (0x00200013, b"IS"),
    (0x00204000, b"LT"),
    (0x00209165, b"AT"),
    (0x00280103, b"US"),
    (0x00280106, b"SS"),
    (0x00281201, b"OW"),
    (0x00420011, b"OB"),
    (0x00189219, b"SS"),
    (0x0040A160, b"UT"),
    (0x00080000, b"UL"),
    (0x00089999, b"UN"),
    (0x00090010, b"LO"),
    (0x00091001, b"UN"),
    (0xFFFCFFFC, b"OB"),
]


class _RawBuilder(Builder):
    """
    Writes elements with any VR's header layout.
    """

    def element(  # type: ignore[override]
        self, tag: int, vr: bytes, value: bytes
    ) -> bytes:
        head = struct.pack(self.order + "HH", tag >> 16, tag & 0xFFFF)
        if not self.explicit:
            return head + struct.pack(self.order + "L", len(value)) + value
        if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
            return (
                head + vr + b"\0\0" + struct.pack(self.order + "L", len(value)) + value
            )
        return head + vr + struct.pack(self.order + "H", len(value)) + value


class StreamConverterTests(SynchronousTestCase):
    """
    Converting while the data set arrives writes what :func:`plan` writes,
    however the data set is cut into fragments.
    """

    def data_sets(self) -> list[Dataset]:
        large = _binary_data_set()
        large.Rows = 300
        large.Columns = 400
        large.PixelData = bytes(range(7, 247)) * 1000 + b"\x01"
        large["PixelData"].VR = "OW"
        grouped = _binary_data_set()
        grouped.add_new(0x00280000, "UL", 0)
        grouped.add_new(0x00180000, "UL", 99)
        grouped.add_new(0x7FE00000, "UL", 5)
        grouped.PixelData = bytes(200_000)
        grouped["PixelData"].VR = "OW"
        return [_binary_data_set(), large, grouped]

    @settings(max_examples=40, deadline=None)
    @given(
        st.sampled_from([(s, t) for s in _SYNTAXES for t in _SYNTAXES if s != t]),
        st.sampled_from(
            [
                Encoding(),
                Encoding(group_lengths="create"),
                Encoding(group_lengths="remove"),
                Encoding(undefined_lengths=True, new_vrs=False),
                Encoding(padding=(256, 16)),
                Encoding(padding=(1000, 0), group_lengths="create"),
            ]
        ),
        st.integers(min_value=0, max_value=2),
        st.lists(st.integers(min_value=0, max_value=260_000), max_size=12),
        st.integers(min_value=0, max_value=400),
    )
    def test_same_as_plan(
        self,
        syntaxes: tuple[str, str],
        encoding: Encoding,
        which: int,
        cuts: list[int],
        offset: int,
    ) -> None:
        source, target = syntaxes
        data = _encode(self.data_sets()[which], source)
        expected = convert(source, target, data, encoding, offset)
        got = stream_convert(source, target, data, encoding, cuts, offset)
        self.assertEqual(got, expected)

    @settings(max_examples=150, deadline=None)
    @given(
        st.sampled_from([(s, t) for s in _SYNTAXES for t in _SYNTAXES if s != t]),
        st.sampled_from(
            [Encoding(), Encoding(group_lengths="create"), Encoding(new_vrs=False)]
        ),
        st.lists(
            st.tuples(
                st.sampled_from(_PLAIN_TAGS),
                st.binary(max_size=9)
                | st.text(" \0\t.1A^", max_size=9).map(str.encode),
            ),
            max_size=25,
        ),
        st.booleans(),
        st.lists(st.integers(min_value=0, max_value=400), max_size=6),
    )
    def test_elements_like_plan(
        self,
        syntaxes: tuple[str, str],
        encoding: Encoding,
        elements: list[tuple[tuple[int, bytes], bytes]],
        ordered: bool,
        cuts: list[int],
    ) -> None:
        """
        Single elements of many VRs, with odd lengths, extra padding and
        white space, repeated or out of order: the same output as
        :func:`plan` whether the converter has seen the tags before or
        not.
        """
        source, target = syntaxes
        if ordered:
            elements = sorted(dict(elements).items())
        # Received padding is dropped before order matters.
        tags = [tag for (tag, _), _ in elements if tag != 0xFFFCFFFC]
        b = _RawBuilder(source)
        data = b"".join(b.element(tag, vr, value) for (tag, vr), value in elements)
        expected = convert(source, target, data, encoding)
        disordered = any(a >= b for a, b in zip(tags, tags[1:]))
        for _ in range(2):
            converter, got = stream_converter(source, target, data, encoding, cuts)
            self.assertEqual(converter.disordered, disordered)
            if not disordered:
                self.assertEqual(got, expected)
            else:
                # The caller sorts such output with plan, as received.
                self.assertEqual(convert(target, target, got, encoding), expected)

    def test_cut_off(self) -> None:
        """
        A data set that ends inside a value is an error.
        """
        data = _encode(self.data_sets()[1], IVR)
        converter = StreamConverter(IVR, EVRLE)
        scanner = DataSetScanner(IVR)
        scanner.feed(data[:-100])
        converter.feed(data[:-100], scanner.top_starts)
        self.assertRaises(
            DataSetError, converter.finish, scanner.top_starts, len(data) - 100
        )


class StringTests(SynchronousTestCase):
    """
    Normal mode writes string values as the reference does.
    """

    def test_normalise(self) -> None:
        cases = [
            (b"CT", False, b"CT"),
            (b"CT  ", False, b"CT"),
            (b"ABC ", False, b"ABC "),
            (b"ABC   ", False, b"ABC "),
            (b"  ACME    ", False, b"  ACME"),
            (b"  ACME   ", False, b"  ACME   \0"),
            (b"A \\B    ", False, b"A \\B"),
            (b"odd", False, b"odd\0"),
            (b"  ", False, b""),
            (b"1.2\0", True, b"1.2\0"),
            (b"1.2\0\0\0\0", True, b"1.2\0"),
            (b" 1.2. 3 \0", True, b"1.2.3\0"),
            (b"1.2.3", True, b"1.2.3\0"),
            (b"1.22\t", True, b"1.22"),
        ]
        for value, ui, expected in cases:
            self.assertEqual(normalise_string(value, ui), expected, value)
            self.assertEqual(string_unnormalised(value, ui), value != expected, value)

    def test_scanner_flags(self) -> None:
        """
        The scanner asks for re-encoding only for values the reference
        would write differently, in explicit and implicit VR.
        """
        for syntax in (EVRLE, IVR):
            builder = Builder(syntax)
            clean = builder.element(0x0008, 0x0018, b"UI", b"1.2.3\0")
            clean += builder.element(0x0008, 0x0060, b"CS", b"CT")
            for extra in (
                builder.element(0x0008, 0x0070, b"LO", b"ACME  "),
                builder.element(0x0020, 0x000D, b"UI", b"1.2 "),
                builder.element(0x0008, 0x0080, b"LO", b"odd"),
            ):
                scanner = DataSetScanner(syntax)
                scanner.feed(clean)
                self.assertFalse(scanner.needs_reencoding, syntax)
                scanner.feed(extra)
                self.assertTrue(scanner.needs_reencoding, (syntax, extra))

    def test_same_syntax_rewrite(self) -> None:
        """
        Re-encoded in its own syntax, a data set gets its string values
        normalised and keeps everything else.
        """
        builder = Builder(EVRLE)
        data = (
            builder.element(0x0008, 0x0018, b"UI", b"1.2. 3\0\0")
            + builder.element(0x0008, 0x0060, b"CS", b"CT  ")
            + builder.element(0x0010, 0x0010, b"PN", b"Doe^Jane")
        )
        expected = (
            builder.element(0x0008, 0x0018, b"UI", b"1.2.3\0")
            + builder.element(0x0008, 0x0060, b"CS", b"CT")
            + builder.element(0x0010, 0x0010, b"PN", b"Doe^Jane")
        )
        self.assertEqual(convert(EVRLE, EVRLE, data), expected)
