"""
A deterministic corpus of data sets holding every DICOM value
representation, for checking transfer-syntax conversion against DCMTK.

Binary values of the "other" VRs (OB, OW, OF, OL, OD, OV, UN) and pixel
data are kept in the data sets as little-endian bytes, as pydicom holds
them after reading a little-endian file.  ``write_corpus_file`` swaps them
(and fixes group lengths) when writing explicit VR big endian, so the same
data set can be written in all three uncompressed transfer syntaxes:

    from vr_corpus import make_all_vrs, write_corpus_file, IVR  # tests/ on sys.path
    write_corpus_file(make_all_vrs("a"), "/tmp/a.dcm", IVR)

Notes on the contents of ``make_all_vrs``:

- every VR, with standard tags from both pydicom's and DCMTK 3.6.7's
  dictionaries where possible; (0008,040C) FileOffsetInContainer (UV) is
  known to pydicom but not to DCMTK 3.6.7, and (0040,FF02) / (0040,FF04)
  are public tags unknown to both (an unknown public tag and an unknown
  public undefined-length sequence);
- a private block whose creator DCMTK's private.dic knows
  ("GEMS_PARM_01" in group 0043) and one it does not ("DICOMTW PROBE" in
  group 0011), each with US, UL, SL/SS, FD/FL, OB, and a private
  undefined-length sequence with binary VRs two levels deep;
- group lengths (0008,0000) and (0010,0000), correct for the syntax the
  file is written in;
- the ambiguous "US or SS" / "US or OW" / "OB or OW" tags: Smallest and
  Largest Image Pixel Value, Pixel Padding Value (signed or not following
  ``pixel_representation``), Red Palette Color LUT Descriptor, a Modality
  LUT Sequence item with LUT Descriptor and LUT Data, Real World Value
  Mapping items holding their own Pixel Representation (0, 1, absent), a Waveform
  Sequence item, Overlay Data (6000,3000) and 16-bit Pixel Data.
"""

from __future__ import annotations

import copy
import hashlib
import struct

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_file_meta_info
from pydicom.sequence import Sequence

IVR = "1.2.840.10008.1.2"
EVRLE = "1.2.840.10008.1.2.1"
EVRBE = "1.2.840.10008.1.2.2"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
UID_ROOT = "1.2.826.0.1.3680043.10.1."

#: Swap unit, in bytes, of the binary VRs whose values are held as bytes.
SWAP_UNIT = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def _number(seed: str, salt: str) -> int:
    digest = hashlib.sha256(f"{salt}:{seed}".encode()).hexdigest()
    return int(digest[:15], 16)


def make_uid(seed: str, salt: str = "sop") -> str:
    """
    A UID under the project's root, derived deterministically from seed.
    """
    return f"{UID_ROOT}{_number(seed, salt)}"


def _le(fmt: str, *values) -> bytes:
    return struct.pack("<" + fmt, *values)


def _add(ds: Dataset, tag: int, vr: str, value, undefined: bool = False) -> None:
    elem = DataElement(tag, vr, value)
    if undefined:
        elem.is_undefined_length = True
    ds.add(elem)


def _base(seed: str, *, modality: str = "CT") -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = make_uid(seed)
    ds.StudyInstanceUID = make_uid(seed, "study")
    ds.SeriesInstanceUID = make_uid(seed, "series")
    ds.PatientName = "Corpus^" + seed
    ds.PatientID = "PID-" + seed
    ds.Modality = modality
    _add(ds, 0x00080000, "UL", 0)  # group lengths: fixed when written
    _add(ds, 0x00100000, "UL", 0)
    return ds


def _file_meta(ds: Dataset, syntax: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = UID_ROOT + "99"
    meta.ImplementationVersionName = "VR_CORPUS"
    return meta


def make_all_vrs(seed: str, *, pixel_representation: int = 1) -> Dataset:
    """
    A CT image holding at least one element of every VR (see module doc).
    """
    signed = pixel_representation == 1
    xs = "SS" if signed else "US"
    n = _number(seed, "values") % 1000

    ds = _base(seed)
    # -- strings, odd lengths where the VR allows -----------------------
    _add(ds, 0x00080054, "AE", "DICOMTW")  # RetrieveAETitle, 7 chars
    _add(ds, 0x00101010, "AS", "042Y")  # PatientAge
    _add(ds, 0x00100040, "CS", "O")  # PatientSex, 1 char
    _add(ds, 0x00080020, "DA", "20240131")  # StudyDate
    _add(ds, 0x00080030, "TM", "101112.5")  # StudyTime, odd
    _add(ds, 0x0008002A, "DT", "20240131101112")  # AcquisitionDateTime
    _add(ds, 0x00280030, "DS", ["0.5", "0.5"])  # PixelSpacing, 7 chars
    _add(ds, 0x00200013, "IS", str(n))  # InstanceNumber
    _add(ds, 0x00080070, "LO", "DICOMTW")  # Manufacturer
    _add(ds, 0x00080050, "SH", "ACC" + seed[:8])  # AccessionNumber
    _add(ds, 0x00080090, "PN", "Ref^Doc")  # ReferringPhysicianName, 7
    _add(ds, 0x00080081, "ST", "1 Street")  # InstitutionAddress
    _add(ds, 0x00204000, "LT", "Image comments, odd")  # ImageComments, 19
    _add(ds, 0x00080119, "UC", "LONGCODE-" + seed)  # LongCodeValue
    _add(ds, 0x00081190, "UR", "http://example.invalid/x")  # RetrieveURL
    _add(ds, 0x0040A160, "UT", "unlimited text, odd")  # TextValue, 19
    _add(ds, 0x00080016, "UI", CT_IMAGE_STORAGE)  # (already SOPClassUID)
    # -- numbers ----------------------------------------------------------
    _add(ds, 0x00181310, "US", [0, 4, 4, 0])  # AcquisitionMatrix, 4 US
    _add(ds, 0x00189219, "SS", -1234)  # TagAngleSecondAxis
    _add(ds, 0x00081161, "UL", [1, 0x01020304, 0xFFFFFFF0])  # SimpleFrameList
    _add(ds, 0x00186020, "SL", -70000)  # ReferencePixelX0
    _add(ds, 0x00180013, "FL", 1.5)  # ContrastBolusT1Relaxivity
    _add(ds, 0x00081163, "FD", [1.25, -2.5e10])  # TimeRange, 2 FD
    _add(ds, 0x00720082, "SV", [-2, 0x0102030405060708])  # SelectorSVValue
    _add(ds, 0x00720083, "UV", [3, 0xF102030405060708])  # SelectorUVValue
    _add(ds, 0x0008040C, "UV", 0x1122334455667788)  # unknown to DCMTK 3.6.7
    _add(ds, 0x00280009, "AT", [0x00181063, 0x00181065])  # FrameIncrPtr
    # -- other binary VRs (little-endian bytes) ------------------------------
    _add(ds, 0x00420011, "OB", b"\x01\x02\x03\x04\x05")  # EncapsulatedDoc
    _add(ds, 0x00181638, "OF", _le("3f", 1.0, -2.0, 3.5))  # OF
    _add(ds, 0x00660022, "OD", _le("2d", 1.0, -0.25))  # DoublePointCoords
    _add(ds, 0x00660040, "OL", _le("3L", 1, 2, 0x0A0B0C0D))  # OL
    _add(ds, 0x00720081, "OV", _le("2Q", 1, 0x0102030405060708))  # OV
    _add(ds, 0x0072006D, "UN", b"\x01\x02\x03\x04")  # SelectorUNValue
    # -- unknown public tags ---------------------------------------------
    _add(ds, 0x0040FF02, "US", [0x0102, 0x0304])  # unknown, binary
    _add(ds, 0x0040FF03, "LO", "unknown public")
    unknown_item = Dataset()
    _add(unknown_item, 0x0040FF05, "UL", 0x0A0B0C0D)
    _add(ds, 0x0040FF04, "SQ", Sequence([unknown_item]), undefined=True)

    # -- image pixel module, 16 bit, with ambiguous VRs -----------------------
    rows, cols = 4, 4
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    _add(ds, 0x00280010, "US", rows)
    _add(ds, 0x00280011, "US", cols)
    _add(ds, 0x00280100, "US", 16)
    _add(ds, 0x00280101, "US", 12)
    _add(ds, 0x00280102, "US", 11)
    _add(ds, 0x00280103, "US", pixel_representation)
    _add(ds, 0x00280106, xs, -5 if signed else 5)  # SmallestImagePixelValue
    _add(ds, 0x00280107, xs, 1000)  # LargestImagePixelValue
    _add(ds, 0x00280120, xs, -2000 if signed else 0xFFFF)  # PixelPadding
    # Red palette descriptor (always "US or SS"; first value 0 = 65536)
    _add(ds, 0x00281101, "US", [256, 0, 16])
    _add(ds, 0x00281201, "OW", _le("4H", 0, 0x1000, 0x8000, 0xFFFF))

    # Modality LUT sequence: LUT Descriptor + LUT Data (US or OW)
    lut = Dataset()
    _add(lut, 0x00283002, xs, [4, -2 if signed else 2, 16])
    _add(lut, 0x00283003, "LO", "LUT")
    _add(lut, 0x00283004, "LO", "HU")
    _add(lut, 0x00283006, "US", [0x0102, 0x0304, 0x0506, 0x0708])
    _add(ds, 0x00283000, "SQ", Sequence([lut]))

    # Real World Value Mapping: items with their own Pixel Representation
    rwv = []
    for pr in (0, 1):
        item = Dataset()
        _add(item, 0x00280103, "US", pr)  # in-item PixelRepresentation
        _add(item, 0x00280106, "SS" if pr else "US", -7 if pr else 7)
        _add(item, 0x00409216, "SS" if pr else "US", -1 if pr else 1)
        _add(item, 0x00409211, "SS" if pr else "US", -1 if pr else 0xFFFE)
        _add(item, 0x00409224, "FD", 0.0)  # Intercept
        _add(item, 0x00409225, "FD", 1.0)  # Slope
        rwv.append(item)
    item = Dataset()  # no Pixel Representation in the item
    _add(item, 0x00280106, xs, -9 if signed else 9)
    _add(item, 0x00409216, xs, -1 if signed else 1)
    _add(item, 0x00409211, xs, 3)
    rwv.append(item)
    _add(ds, 0x00409096, "SQ", Sequence(rwv))

    # Waveform sequence: WaveformBitsAllocated 16, WaveformData OW
    wave = Dataset()
    _add(wave, 0x003A0005, "US", 1)  # NumberOfWaveformChannels
    _add(wave, 0x003A0010, "UL", 2)  # NumberOfWaveformSamples
    _add(wave, 0x003A001A, "DS", "100")  # SamplingFrequency
    _add(wave, 0x54001004, "US", 16)  # WaveformBitsAllocated
    _add(wave, 0x54001006, "CS", "SS")  # WaveformSampleInterpretation
    _add(wave, 0x54001010, "OW", _le("2h", -1, 0x0102))
    _add(ds, 0x54000100, "SQ", Sequence([wave]))

    # overlay, 1 bit, 4x4 -> 2 bytes
    _add(ds, 0x60000010, "US", rows)
    _add(ds, 0x60000011, "US", cols)
    _add(ds, 0x60000040, "CS", "G")
    _add(ds, 0x60000050, "SS", [1, 1])
    _add(ds, 0x60000100, "US", 1)
    _add(ds, 0x60000102, "US", 0)
    _add(ds, 0x60003000, "OW", b"\x81\x42")

    # -- private blocks -----------------------------------------------------
    # creator known to DCMTK's private.dic
    _add(ds, 0x00430010, "LO", "GEMS_PARM_01")
    _add(ds, 0x00431001, "SS", -3)  # SS in private.dic
    _add(ds, 0x00431010, "US", [0x0102, 0x0304, 0x0506])  # US
    _add(ds, 0x0043101A, "SL", -100000)  # SL
    _add(ds, 0x00431028, "OB", b"\x0a\x0b\x0c")  # OB, odd
    _add(ds, 0x00431033, "FL", 2.5)  # FL
    _add(ds, 0x00431035, "UL", [0x01020304, 5])  # UL
    # creator unknown to both dictionaries, two creators in one group
    _add(ds, 0x00110010, "LO", "DICOMTW PROBE")
    _add(ds, 0x00110011, "LO", "DICOMTW OTHER")
    _add(ds, 0x00111001, "UL", [0x01020304, 0x05060708])
    _add(ds, 0x00111002, "US", [0x0102, 0x0304, 0x0506])
    _add(ds, 0x00111003, "FD", [1.5, -3.25])
    _add(ds, 0x00111004, "LO", "private text")
    _add(ds, 0x00111005, "OB", b"\x01\x02\x03")
    _add(ds, 0x00111007, "SS", [-1, 2])
    _add(ds, 0x00111008, "OW", _le("3H", 0x0102, 0x0304, 0x0506))
    _add(ds, 0x00111009, "AT", [0x00100010, 0x7FE00010])
    _add(ds, 0x0011100A, "SL", -2)
    _add(ds, 0x0011100B, "FL", [0.5])
    # nested private sequence (undefined length), binary VRs 2 levels down
    inner = Dataset()
    _add(inner, 0x00110010, "LO", "DICOMTW PROBE")
    _add(inner, 0x00111020, "US", 0x0A0B)
    _add(inner, 0x00111021, "OW", _le("2H", 0x1122, 0x3344))
    _add(inner, 0x00111022, "FD", -1.0)
    _add(inner, 0x00181310, "US", [1, 2, 3, 4])  # public US in private item
    outer = Dataset()
    _add(outer, 0x00110010, "LO", "DICOMTW PROBE")
    _add(outer, 0x00111010, "UL", 0x0D0C0B0A)
    _add(outer, 0x00111011, "OF", _le("f", 0.5))
    _add(outer, 0x00111012, "SQ", Sequence([inner]), undefined=True)
    _add(outer, 0x00283006, "US", [7, 8])  # LUTData outside a LUT
    _add(ds, 0x00111006, "SQ", Sequence([outer]), undefined=True)
    _add(ds, 0x00111100, "US", 0x0102)  # second creator's block
    _add(ds, 0x00111101, "OB", b"\x01\x02")

    # public nested sequence (defined length) with binary VRs at level 2
    level2 = Dataset()
    _add(level2, 0x00181310, "US", [5, 6, 7, 8])
    _add(level2, 0x00660040, "OL", _le("L", 0x01020304))
    _add(level2, 0x00660022, "OD", _le("d", 2.0))
    _add(level2, 0x00280009, "AT", [0x00280010])
    level1 = Dataset()
    _add(level1, 0x00081150, "UI", CT_IMAGE_STORAGE)
    _add(level1, 0x00081155, "UI", make_uid(seed, "ref"))
    _add(level1, 0x00081160, "IS", "1")
    _add(level1, 0x00081163, "FD", [0.0, 1.0])
    _add(level1, 0x00089215, "SQ", Sequence([level2]))  # DerivationCodeSeq
    _add(ds, 0x00081140, "SQ", Sequence([level1]))  # ReferencedImageSequence

    pixels = [(i * 257 + n) & 0x0FFF for i in range(rows * cols)]
    if signed:
        pixels = [p - 2048 for p in pixels]
    _add(ds, 0x7FE00010, "OW", _le(f"{rows * cols}{'h' if signed else 'H'}", *pixels))
    return ds


def make_8bit_image(seed: str, rows: int = 3, cols: int = 5) -> Dataset:
    """
    An 8-bit image whose pixel data has an odd length (rows * cols).
    """
    ds = _base(seed)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    _add(ds, 0x00280010, "US", rows)
    _add(ds, 0x00280011, "US", cols)
    _add(ds, 0x00280100, "US", 8)
    _add(ds, 0x00280101, "US", 8)
    _add(ds, 0x00280102, "US", 7)
    _add(ds, 0x00280103, "US", 0)
    _add(ds, 0x00280106, "US", 1)  # SmallestImagePixelValue, "US or SS"
    _add(ds, 0x00280107, "US", rows * cols)
    _add(ds, 0x7FE00010, "OB", bytes((i + 1) & 0xFF for i in range(rows * cols)))
    return ds


def make_long_text(seed: str, length: int = 70001) -> Dataset:
    """
    A data set with a 16-bit-length VR element (LT) longer than 0xFFFF:
    encodable in implicit VR only (see ``write_corpus_file``).
    """
    ds = _base(seed)
    _add(ds, 0x00204000, "LT", ("0123456789" * (length // 10 + 1))[:length])
    return ds


def make_sized(seed: str, payload: int) -> Dataset:
    """
    A small data set padded with an OB element of ``payload`` bytes, to
    get files of chosen sizes (for padding tests).
    """
    ds = _base(seed)
    _add(ds, 0x00420011, "OB", bytes(i & 0xFF for i in range(payload)))
    return ds


def _swap_binary(ds: Dataset) -> None:
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value:
                _swap_binary(item)
            continue
        unit = SWAP_UNIT.get(elem.VR)
        if unit and elem.value:
            raw = bytes(elem.value)
            elem.value = b"".join(
                raw[i : i + unit][::-1] for i in range(0, len(raw), unit)
            )


def _group_lengths(ds: Dataset, implicit: bool, little: bool) -> None:
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value:
                _group_lengths(item, implicit, little)
    for elem in list(ds):
        if elem.tag.element != 0 or elem.tag.group == 2:
            continue
        group = elem.tag.group
        fp = DicomBytesIO()
        fp.is_implicit_VR = implicit
        fp.is_little_endian = little
        for other in ds:
            if other.tag.group == group and other.tag.element != 0:
                write_data_element(fp, other)
        elem.value = len(fp.getvalue())


def encode_dataset(ds: Dataset, syntax: str) -> bytes:
    """
    The encoded data set (no meta header), with binary values swapped for
    big endian and top-level group lengths kept and computed for the
    syntax (pydicom's own writer drops group lengths).  ds is unchanged.
    """
    implicit = syntax == IVR
    little = syntax != EVRBE
    out = copy.deepcopy(ds)
    if not little:
        _swap_binary(out)
    _group_lengths(out, implicit, little)
    fp = DicomBytesIO()
    fp.is_implicit_VR = implicit
    fp.is_little_endian = little
    for tag in sorted(out.keys()):
        write_data_element(fp, out[tag])
    return fp.getvalue()


def write_corpus_file(ds: Dataset, path: str, syntax: str) -> None:
    """
    Write ds as a Part 10 file (128-byte zero preamble, meta header) in one
    of the uncompressed syntaxes; see ``encode_dataset``.
    """
    body = encode_dataset(ds, syntax)
    meta = DicomBytesIO()
    meta.is_implicit_VR = False
    meta.is_little_endian = True
    write_file_meta_info(meta, _file_meta(ds, syntax), enforce_standard=True)
    with open(path, "wb") as f:
        f.write(b"\0" * 128 + b"DICM" + meta.getvalue() + body)


def write_all_syntaxes(ds: Dataset, stem: str) -> dict[str, str]:
    """
    Write ds as stem + "_ivr.dcm", "_evrle.dcm" and "_evrbe.dcm".
    """
    paths = {}
    for syntax, suffix in ((IVR, "ivr"), (EVRLE, "evrle"), (EVRBE, "evrbe")):
        path = f"{stem}_{suffix}.dcm"
        write_corpus_file(ds, path, syntax)
        paths[syntax] = path
    return paths


if __name__ == "__main__":  # pragma: no cover
    import os
    import sys

    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/probe/corpus"
    os.makedirs(out, exist_ok=True)
    write_all_syntaxes(make_all_vrs("all"), f"{out}/all")
    write_all_syntaxes(make_all_vrs("allpr0", pixel_representation=0), f"{out}/allpr0")
    write_all_syntaxes(make_8bit_image("img8"), f"{out}/img8")
    write_corpus_file(make_long_text("long"), f"{out}/long_ivr.dcm", IVR)
    for size in (0, 101, 1000, 4093):
        write_all_syntaxes(make_sized(f"sized{size}", size), f"{out}/sized{size}")
    print(out)


def _raw_element(
    tag: int, vr: bytes | None, value: bytes, explicit: bool, undefined: bool = False
) -> bytes:
    """
    One little-endian element, built by hand (pydicom will not write an
    undefined-length UN); ``vr`` None means implicit VR.
    """
    if len(value) % 2:
        value += b" " if vr in (b"LO", b"CS", b"PN", b"SH") else b"\0"
    length = 0xFFFFFFFF if undefined else len(value)
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if not explicit or vr is None:
        return head + struct.pack("<L", length) + value
    if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT", b"OF"):
        return head + vr + b"\0\0" + struct.pack("<L", length) + value
    return head + vr + struct.pack("<H", length) + value


def _undefined_item(body: bytes) -> bytes:
    return (
        struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF)
        + body
        + struct.pack("<HHL", 0xFFFE, 0xE00D, 0)
    )


_SEQUENCE_END = struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)


def un_sequences_data_set(sop_instance: str, explicit: bool) -> bytes:
    """
    A little-endian data set (explicit or implicit VR) with sequences sent
    as UN of undefined length (their items in implicit VR, PS3.5 §6.2.2),
    known tags sent as UN, and a private block whose creator DCMTK's
    private.dic knows, in block 0x11.
    """
    x = explicit
    uid = sop_instance.encode("ascii")
    inner = (
        _raw_element(0x00181310, None, struct.pack("<4H", 5, 6, 7, 8), False)
        + _raw_element(0x00190010, None, b"DICOMTW UN", False)
        + _raw_element(0x00191002, None, struct.pack("<L", 0x01020304), False)
    )
    unknown_item = _raw_element(
        0x00181310, None, struct.pack("<4H", 9, 10, 11, 12), False
    )
    return b"".join(
        (
            _raw_element(0x00080016, b"UI", CT_IMAGE_STORAGE.encode() + b"\0", x),
            _raw_element(0x00080018, b"UI", uid, x),
            _raw_element(0x00080060, b"CS", b"CT", x),
            _raw_element(0x00100010, b"PN", b"Craft^UN", x),
            _raw_element(
                0x00181310, b"UN" if x else None, struct.pack("<4H", 1, 2, 3, 4), x
            ),
            _raw_element(0x00190010, b"LO", b"DICOMTW UN", x),
            _raw_element(
                0x00191001, b"UN", _undefined_item(inner) + _SEQUENCE_END, x, True
            ),
            _raw_element(0x00280106, b"UN" if x else None, struct.pack("<H", 3), x),
            _raw_element(
                0x0040FF10,
                b"UN",
                _undefined_item(unknown_item) + _SEQUENCE_END,
                x,
                True,
            ),
            _raw_element(0x00430011, b"LO", b"GEMS_PARM_01", x),
            _raw_element(
                0x00431110, b"US" if x else None, struct.pack("<3H", 1, 2, 3), x
            ),
            _raw_element(0x00431128, b"OB" if x else None, b"\x0a\x0b", x),
            _raw_element(
                0x00431135, b"UL" if x else None, struct.pack("<L", 0x01020304), x
            ),
        )
    )


def write_raw_file(data_set: bytes, path: str, sop_instance: str, syntax: str) -> None:
    """
    Write a hand-built data set as a Part 10 file.
    """
    ds = Dataset()
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_instance
    meta = DicomBytesIO()
    meta.is_implicit_VR = False
    meta.is_little_endian = True
    write_file_meta_info(meta, _file_meta(ds, syntax), enforce_standard=True)
    with open(path, "wb") as f:
        f.write(b"\0" * 128 + b"DICM" + meta.getvalue() + data_set)


def make_with_padding(seed: str) -> Dataset:
    """
    A data set carrying Data Set Trailing Padding (FFFC,FFFC) at the top
    level and inside a sequence item, which normal mode drops.
    """
    ds = _base(seed)
    item = Dataset()
    item.CodeValue = "1"
    item.add_new(0xFFFCFFFC, "OB", bytes(6))
    ds.AnatomicRegionSequence = Sequence([item])
    ds.add_new(0xFFFCFFFC, "OB", bytes(10))
    return ds
