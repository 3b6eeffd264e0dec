"""
Tests for dicomtw.reencode: normal-mode re-encoding of a spooled data set.
"""

from __future__ import annotations

import struct

from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.errors import DataSetError
from dicomtw.reencode import plan
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
