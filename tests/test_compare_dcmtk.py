"""
dicomtw and DCMTK's storescp receive the same objects from DCMTK's
storescu; the files they write must be byte-identical except for the
Implementation Class UID and Version Name (and so the meta group length).
Run with pytest.
"""

from __future__ import annotations

import os
import re
import struct
import tempfile
import time
import zlib
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGLosslessSV1,
)
from pynetdicom import AE
from pynetdicom import _config as pynetdicom_config
from twisted.trial.unittest import SynchronousTestCase

import vr_corpus
from vr_corpus import (
    make_8bit_image,
    make_all_vrs,
    make_long_text,
    make_sized,
    make_with_padding,
    un_sequences_data_set,
    write_corpus_file,
    write_raw_file,
)
from peers import (
    OBJECT_MAKERS,
    ServerProcess,
    compressed_versions,
    dcmtk_tool,
    requires_dcmtk,
    run_tool,
    write_object,
)

_IGNORED = {0x00020000, 0x00020012, 0x00020013}
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def split_part10(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """
    Split a Part 10 file into its meta elements (tag, raw element) and the
    data set bytes.
    """
    assert data[128:132] == b"DICM", "not a Part 10 file"
    offset = 132
    elements = []
    while offset < len(data):
        group, element, vr = struct.unpack_from("<HH2s", data, offset)
        if group != 0x0002:
            break
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN"):
            length = struct.unpack_from("<L", data, offset + 8)[0]
            end = offset + 12 + length
        else:
            length = struct.unpack_from("<H", data, offset + 6)[0]
            end = offset + 8 + length
        elements.append(((group << 16) | element, data[offset:end]))
        offset = end
    return elements, data[offset:]


@requires_dcmtk
class SameBytesTests(SynchronousTestCase):
    """
    The default (normal, ``+F``) mode writes what the reference writes.
    """

    def setUp(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dicomtw-compare-"))
        self.corpus = self.directory / "corpus"
        self.corpus.mkdir()
        syntaxes = (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian)
        for kind, make in OBJECT_MAKERS.items():
            for index, syntax in enumerate(syntaxes):
                write_object(
                    make(f"compare-{kind}-{index}"),
                    self.corpus / f"{kind}-{index}.dcm",
                    syntax,
                )

    def receive(self, kind: str, options: list[str], sender: list[str]) -> Path:
        output = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.directory))
        with ServerProcess(output, options, kind=kind) as server:
            result = run_tool(
                [
                    dcmtk_tool("storescu"),
                    *sender,
                    "127.0.0.1",
                    str(server.port),
                    "+sd",
                    str(self.corpus),
                ]
            )
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return output

    def assert_same_files(self, options: list[str], sender: list[str]) -> None:
        reference = self.receive("dcmtk", options, sender)
        ours = self.receive("dicomtw", options, sender)
        names = sorted(p.name for p in reference.iterdir())
        self.assertEqual(sorted(p.name for p in ours.iterdir()), names)
        self.assertEqual(len(names), len(list(self.corpus.iterdir())))
        for name in names:
            expected_meta, expected = split_part10((reference / name).read_bytes())
            got_meta, got = split_part10((ours / name).read_bytes())
            self.assertEqual(got, expected, f"data set of {name} differs")
            self.assertEqual(
                [e for e in got_meta if e[0] not in _IGNORED],
                [e for e in expected_meta if e[0] not in _IGNORED],
                f"file meta information of {name} differs",
            )

    def test_default_mode(self) -> None:
        """
        CT, MR, SR, RT plan and PDF objects, sent as stored in implicit
        LE, explicit LE and explicit BE: the same files.
        """
        self.assert_same_files([], [])

    def test_implicit_transfer(self) -> None:
        """
        The same objects sent in implicit VR little endian (``-xi``).
        """
        self.assert_same_files([], ["-xi"])

    def test_compressed_and_deflated(self) -> None:
        """
        With ``+xa``, JPEG lossless and deflated objects are written as the
        reference writes them.
        """
        source = write_object(
            OBJECT_MAKERS["ct"]("compare-compressed"),
            self.directory / "ct.dcm",
            ExplicitVRLittleEndian,
        )
        for path in self.corpus.iterdir():
            path.unlink()
        versions = compressed_versions(source, self.directory / "compressed")
        for syntax, proposal in (
            (JPEGLosslessSV1, "-xs"),
            (DeflatedExplicitVRLittleEndian, "-xd"),
        ):
            for path in self.corpus.iterdir():
                path.unlink()
            versions[syntax].rename(self.corpus / versions[syntax].name)
            self.assert_same_files(["+xa"], [proposal])


def undefined_lengths_data_set(sop_instance: str) -> Dataset:
    """
    A data set with sequences and items of undefined length, nested in
    defined-length ones too, and group length elements with wrong values.
    """
    ds = Dataset()
    ds.add_new(0x00080000, "UL", 0)
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_instance
    code = Dataset()
    code.add_new(0x00080000, "UL", 7)
    code.CodeValue = "T-D1100"
    code.CodingSchemeDesignator = "SRT"
    code.CodeMeaning = "Head"
    inner = Dataset()
    inner.CodeValue = "9"
    inner.is_undefined_length_sequence_item = True
    code.ConceptCodeSequence = Sequence([inner])
    code.ConceptCodeSequence.is_undefined_length = True
    code.is_undefined_length_sequence_item = True
    ds.AnatomicRegionSequence = Sequence([code])
    other = Dataset()
    other.ReferencedSOPClassUID = CT_IMAGE_STORAGE
    other.ReferencedSOPInstanceUID = "1.2.3"
    other.is_undefined_length_sequence_item = True
    ds.ReferencedImageSequence = Sequence([other])
    ds.ReferencedImageSequence.is_undefined_length = True
    ds.add_new(0x00100000, "UL", 0)
    ds.PatientName = "Doe^John"
    ds.PatientID = "ID01"
    ds.PixelData = bytes(range(256)) * 16
    ds["PixelData"].VR = "OB"
    return ds


@requires_dcmtk
class ReencodingTests(SynchronousTestCase):
    """
    Undefined lengths and group lengths, sent as they are by pynetdicom,
    are written as the reference writes them in normal mode.
    """

    def test_same_bytes_as_reference(self) -> None:
        """
        In each uncompressed transfer syntax, dicomtw re-encodes the data
        set exactly as storescp does.
        """
        directory = Path(tempfile.mkdtemp(prefix="dicomtw-reencode-"))
        syntaxes = (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian)
        outputs = {}
        for kind in ("dcmtk", "dicomtw"):
            output = directory / kind
            with ServerProcess(output, [], kind=kind) as server:
                for index, syntax in enumerate(syntaxes):
                    ds = undefined_lengths_data_set(f"1.2.826.0.1.3680043.2.{index}")
                    ds.file_meta = FileMetaDataset()
                    ds.file_meta.TransferSyntaxUID = syntax
                    ae = AE(ae_title="REENCODE")
                    ae.add_requested_context(CT_IMAGE_STORAGE, syntax)
                    assoc = ae.associate("127.0.0.1", server.port, ae_title="STORESCP")
                    self.assertTrue(assoc.is_established)
                    status = assoc.send_c_store(ds)
                    assoc.release()
                    self.assertEqual(status.Status, 0)
            outputs[kind] = output
        names = sorted(p.name for p in outputs["dcmtk"].iterdir())
        self.assertEqual(len(names), 3)
        self.assertEqual(sorted(p.name for p in outputs["dicomtw"].iterdir()), names)
        for name in names:
            _, expected = split_part10((outputs["dcmtk"] / name).read_bytes())
            _, got = split_part10((outputs["dicomtw"] / name).read_bytes())
            self.assertEqual(got, expected, f"data set of {name} differs")


@requires_dcmtk
class GeneratedNamesTests(SynchronousTestCase):
    """
    ``+uf`` and ``-tn`` (with ``-fe``) name files in the reference's shapes,
    checked on both servers with the same objects.
    """

    def test_shapes(self) -> None:
        """
        Every name matches the shape both programs produce.
        """
        directory = Path(tempfile.mkdtemp(prefix="dicomtw-names-"))
        corpus = directory / "corpus"
        corpus.mkdir()
        for index in range(4):
            write_object(
                OBJECT_MAKERS["ct"](f"names-{index}"),
                corpus / f"ct{index}.dcm",
                ExplicitVRLittleEndian,
            )
        shapes = {
            ("+uf",): r"^CT\.X\.[0-9.]+$",
            ("-tn", "-fe", ".dcm"): r"^\d{17}(_\d{4})?\.CT\.dcm$",
        }
        for options, shape in shapes.items():
            for kind in ("dcmtk", "dicomtw"):
                output = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=directory))
                with ServerProcess(output, list(options), kind=kind) as server:
                    result = run_tool(
                        [
                            dcmtk_tool("storescu"),
                            "127.0.0.1",
                            str(server.port),
                            "+sd",
                            str(corpus),
                        ]
                    )
                    self.assertEqual(result.returncode, 0, result.stderr)
                names = sorted(p.name for p in output.iterdir())
                self.assertGreaterEqual(len(names), 1, (kind, options))
                for name in names:
                    self.assertRegex(name, shape, (kind, options))
                if options == ("+uf",):
                    self.assertEqual(len(names), 4, kind)


def _send_each(test: SynchronousTestCase, port: int, paths: list[Path]) -> None:
    """
    Send each file with storescu, one association each.
    """
    for path in paths:
        result = run_tool([dcmtk_tool("storescu"), "127.0.0.1", str(port), str(path)])
        test.assertEqual(result.returncode, 0, result.stderr)


def _masked_tree(output: Path) -> list[str]:
    """
    The files below ``output``, relative, with sort time stamps masked.
    """
    return sorted(
        re.sub(r"\d{8}_\d{9}", "TIME", str(p.relative_to(output)))
        for p in output.rglob("*")
        if p.is_file()
    )


@requires_dcmtk
class SortingTests(SynchronousTestCase):
    """
    ``-ss``, ``-su`` and ``-sp`` build the reference's study directories
    (time stamps masked).
    """

    def test_same_tree(self) -> None:
        """
        Two studies, one patient name in Latin-1: the same relative paths.
        """
        directory = Path(tempfile.mkdtemp(prefix="dicomtw-sort-"))
        corpus = directory / "corpus"
        corpus.mkdir()
        studies = [
            ("1.2.826.0.1.3680043.9.1", "Müller^Jürgen", "ISO_IR 100"),
            ("1.2.826.0.1.3680043.9.1", "Müller^Jürgen", "ISO_IR 100"),
            ("1.2.826.0.1.3680043.9.2", "Doe^John", None),
        ]
        for index, (study, patient, charset) in enumerate(studies):
            ds = OBJECT_MAKERS["ct"](f"sort-{index}")
            ds.StudyInstanceUID = study
            ds.PatientName = patient
            if charset:
                ds.SpecificCharacterSet = charset
            write_object(ds, corpus / f"{index}.dcm", ExplicitVRLittleEndian)
        for options in (
            ["-su", "UID"],
            ["-su", ""],
            ["-ss", "PFX"],
            ["-ss", ""],
            ["-sp"],
        ):
            trees = {}
            for kind in ("dcmtk", "dicomtw"):
                output = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=directory))
                with ServerProcess(output, options, kind=kind) as server:
                    _send_each(self, server.port, sorted(corpus.iterdir()))
                trees[kind] = _masked_tree(output)
            self.assertEqual(trees["dicomtw"], trees["dcmtk"], options)
            self.assertEqual(len(trees["dicomtw"]), 3, options)


@requires_dcmtk
class EncodingOptionTests(SynchronousTestCase):
    """
    ``-e``, ``+g``, ``-g`` and ``-u`` write what the reference writes, for
    storescu's objects and for pynetdicom's undefined-length data sets.
    """

    def test_same_bytes(self) -> None:
        """
        Each option, in implicit, explicit little and explicit big endian.
        """
        directory = Path(tempfile.mkdtemp(prefix="dicomtw-encoding-"))
        corpus = directory / "corpus"
        corpus.mkdir()
        for kind, make in OBJECT_MAKERS.items():
            write_object(
                make(f"encoding-{kind}"), corpus / f"{kind}.dcm", ExplicitVRLittleEndian
            )
        syntaxes = (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian)
        for options in (["-e"], ["+g"], ["-g"], ["-u"], ["+g", "-e", "-u"]):
            outputs = {}
            for kind in ("dcmtk", "dicomtw"):
                output = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=directory))
                with ServerProcess(output, options, kind=kind) as server:
                    for label, sender in (
                        ("le", []),
                        ("be", ["-xb"]),
                        ("ivr", ["-xi"]),
                    ):
                        result = run_tool(
                            [
                                dcmtk_tool("storescu"),
                                *sender,
                                "127.0.0.1",
                                str(server.port),
                                "+sd",
                                str(corpus),
                            ]
                        )
                        self.assertEqual(result.returncode, 0, result.stderr)
                        for name in list(output.iterdir()):
                            if not name.name.endswith((".le", ".be", ".ivr")):
                                name.rename(output / f"{name.name}.{label}")
                    for index, syntax in enumerate(syntaxes):
                        ds = undefined_lengths_data_set(
                            f"1.2.826.0.1.3680043.3.{index}"
                        )
                        ds.file_meta = FileMetaDataset()
                        ds.file_meta.TransferSyntaxUID = syntax
                        ae = AE(ae_title="ENCODING")
                        ae.add_requested_context(CT_IMAGE_STORAGE, syntax)
                        assoc = ae.associate(
                            "127.0.0.1", server.port, ae_title="STORESCP"
                        )
                        self.assertTrue(assoc.is_established)
                        self.assertEqual(assoc.send_c_store(ds).Status, 0)
                        assoc.release()
                outputs[kind] = output
            names = sorted(p.name for p in outputs["dcmtk"].iterdir())
            self.assertEqual(len(names), 3 * len(OBJECT_MAKERS) + 3, options)
            self.assertEqual(
                sorted(p.name for p in outputs["dicomtw"].iterdir()), names
            )
            for name in names:
                _, expected = split_part10((outputs["dcmtk"] / name).read_bytes())
                _, got = split_part10((outputs["dicomtw"] / name).read_bytes())
                self.assertEqual(got, expected, f"{name} with {options}")


@requires_dcmtk
class ConvertUNTests(SynchronousTestCase):
    """
    ``+uc`` gives UN elements their dictionary VR as the reference does.
    """

    def test_same_bytes(self) -> None:
        """
        Known tags sent as UN (top level and in a sequence) get their VR;
        private ones stay UN; in explicit little and big endian.
        """
        directory = Path(tempfile.mkdtemp(prefix="dicomtw-uc-"))
        outputs = {}
        for kind in ("dcmtk", "dicomtw"):
            output = directory / kind
            with ServerProcess(output, ["+uc"], kind=kind) as server:
                for index, syntax in enumerate(
                    (ExplicitVRLittleEndian, ExplicitVRBigEndian)
                ):
                    ds = Dataset()
                    ds.SOPClassUID = CT_IMAGE_STORAGE
                    ds.SOPInstanceUID = f"1.2.826.0.1.3680043.4.{index}"
                    ds.add_new(0x00100030, "UN", b"19700101")
                    ds.add_new(0x00280030, "UN", b"0.5\\0.5 ")
                    ds.add_new(0x00090010, "LO", "PRIVATE")
                    ds.add_new(0x00091001, "UN", b"\x01\x02\x03\x04")
                    item = Dataset()
                    item.add_new(0x00080100, "UN", b"T-D1100 ")
                    ds.AnatomicRegionSequence = Sequence([item])
                    ds.file_meta = FileMetaDataset()
                    ds.file_meta.TransferSyntaxUID = syntax
                    ae = AE(ae_title="CONVERT")
                    ae.add_requested_context(CT_IMAGE_STORAGE, syntax)
                    assoc = ae.associate("127.0.0.1", server.port, ae_title="STORESCP")
                    self.assertTrue(assoc.is_established)
                    self.assertEqual(assoc.send_c_store(ds).Status, 0)
                    assoc.release()
            outputs[kind] = output
        names = sorted(p.name for p in outputs["dcmtk"].iterdir())
        self.assertEqual(len(names), 2)
        for name in names:
            _, expected = split_part10((outputs["dcmtk"] / name).read_bytes())
            _, got = split_part10((outputs["dicomtw"] / name).read_bytes())
            self.assertEqual(got, expected, name)
        little = (outputs["dicomtw"] / "CT.1.2.826.0.1.3680043.4.0").read_bytes()
        self.assertIn(b"\x10\x00\x30\x00DA\x08\x0019700101", little)
        self.assertIn(b"\x09\x00\x01\x10UN", little)


@requires_dcmtk
class PrivateDictionaryTests(SynchronousTestCase):
    """
    ``DCMDICTPATH`` adds private dictionary entries that ``+uc`` uses, as
    in the reference.
    """

    def test_private_tags(self) -> None:
        """
        A private tag of DCMTK's private.dic and one of a custom dictionary
        given in DCMDICTPATH, both sent as UN, get the same VRs from both
        programs; without the custom dictionary dicomtw keeps UN.
        """
        [dicom_dic] = Path("/usr/share").glob("libdcmtk*/dicom.dic")
        private_dic = dicom_dic.with_name("private.dic")
        directory = Path(tempfile.mkdtemp(prefix="dicomtw-dict-"))
        custom = directory / "custom.dic"
        custom.write_text('(0029,"DICOMTW TEST",10)\tDA\tTestDate\t1\tPrivateTag\n')

        def send(port: int) -> None:
            ds = Dataset()
            ds.SOPClassUID = CT_IMAGE_STORAGE
            ds.SOPInstanceUID = "1.2.826.0.1.3680043.5.1"
            ds.add_new(0x00190010, "LO", "1.2.840.113681")
            ds.add_new(0x00191010, "UN", b"SOME TEXT ")
            ds.add_new(0x00290010, "LO", "DICOMTW TEST")
            ds.add_new(0x00291010, "UN", b"20261203")
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ae = AE(ae_title="DICTIONARY")
            ae.add_requested_context(CT_IMAGE_STORAGE, ExplicitVRLittleEndian)
            assoc = ae.associate("127.0.0.1", port, ae_title="STORESCP")
            self.assertTrue(assoc.is_established)
            self.assertEqual(assoc.send_c_store(ds).Status, 0)
            assoc.release()

        runs = {
            "dcmtk": ("dcmtk", f"{dicom_dic}:{private_dic}:{custom}"),
            "dicomtw": ("dicomtw", str(custom)),
            "plain": ("dicomtw", None),
        }
        files = {}
        for label, (kind, path) in runs.items():
            environment = dict(os.environ)
            environment.pop("DCMDICTPATH", None)
            if path is not None:
                environment["DCMDICTPATH"] = path
            self.patch(os, "environ", environment)
            output = directory / label
            with ServerProcess(output, ["+uc"], kind=kind) as server:
                send(server.port)
            [stored] = list(output.iterdir())
            files[label] = split_part10(stored.read_bytes())[1]
        self.assertEqual(files["dicomtw"], files["dcmtk"])
        self.assertIn(b"\x19\x00\x10\x10ST", files["dicomtw"])
        self.assertIn(b"\x29\x00\x10\x10DA", files["dicomtw"])
        self.assertIn(b"\x29\x00\x10\x10UN", files["plain"])


def _conversion_corpus(directory: Path) -> Path:
    """
    The objects every conversion test sends: the usual CT, MR, SR, RT plan
    and PDF, and data sets holding every VR (signed and unsigned pixel
    representation), an 8-bit image with odd-length pixel data, a text
    longer than a 2-byte length field can say, two larger images and a
    long sequence of small items.
    """
    corpus = directory / "corpus"
    corpus.mkdir()
    for kind, make in OBJECT_MAKERS.items():
        write_object(
            make(f"convert-{kind}"), corpus / f"{kind}.dcm", ExplicitVRLittleEndian
        )
    for name, ds, syntax in (
        ("all-signed", make_all_vrs("convert-signed"), vr_corpus.IVR),
        ("all-unsigned", make_all_vrs("convert-unsigned", pixel_representation=0),
         vr_corpus.EVRLE),
        ("all-big", make_all_vrs("convert-big"), vr_corpus.EVRBE),
        ("image8", make_8bit_image("convert-8bit"), vr_corpus.EVRLE),
        ("long-text", make_long_text("convert-long"), vr_corpus.IVR),
    ):  # fmt: skip
        # A tag newer than DCMTK 3.6.7's dictionary: see
        # test_newer_dictionary_tag and docs/differences.md.
        if NEWER_THAN_DCMTK in ds:
            del ds[NEWER_THAN_DCMTK]
        write_corpus_file(ds, str(corpus / f"{name}.dcm"), syntax)
    # Larger images: one converted in memory, one past CONVERT_IN_MEMORY
    # (4 MiB), converted from its spool file.
    for side in (1024, 1536):
        ds = OBJECT_MAKERS["ct"](f"convert-ct-{side}")
        ds.Rows = ds.Columns = side
        ds.PixelData = bytes(range(7, 247)) * (side * side * 2 // 240) + bytes(
            side * side * 2 % 240
        )
        write_object(ds, corpus / f"ct-{side}.dcm", ExplicitVRLittleEndian)
    # Many small elements in nested items (about 120 KB): deflate level 0
    # cuts its blocks inside them.
    ds = OBJECT_MAKERS["sr"]("convert-many")
    items = []
    for number in range(1500):
        item = Dataset()
        item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        item.ReferencedSOPInstanceUID = f"1.2.3.{number}" + ".1" * (number % 7)
        item.ReferencedFrameNumber = [str(number % 97)] * (1 + number % 3)
        items.append(item)
    ds.ReferencedImageSequence = Sequence(items)
    write_object(ds, corpus / "many-items.dcm", ExplicitVRLittleEndian)
    return corpus


#: FileOffsetInContainer (0008,040C), UV: in pydicom's dictionary, not in
#: DCMTK 3.6.7's.
NEWER_THAN_DCMTK = 0x0008040C

_SENDERS = (("le", []), ("be", ["-xb"]), ("ivr", ["-xi"]))


@requires_dcmtk
class ConversionTests(SynchronousTestCase):
    """
    ``+te``, ``+tb``, ``+ti`` and ``+td`` (with ``+cl``) write what the
    reference writes, for objects received in each uncompressed syntax
    and deflated.
    """

    def setUp(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dicomtw-convert-"))
        self.corpus = _conversion_corpus(self.directory)

    def receive(
        self,
        kind: str,
        options: list[str],
        senders: tuple[tuple[str, list[str]], ...],
    ) -> Path:
        output = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.directory))
        with ServerProcess(output, options, kind=kind) as server:
            for label, sender in senders:
                result = run_tool(
                    [
                        dcmtk_tool("storescu"),
                        *sender,
                        "127.0.0.1",
                        str(server.port),
                        "+sd",
                        str(self.corpus),
                    ]
                )
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                for path in list(output.iterdir()):
                    if not path.name.endswith(tuple(f".{s}" for s, _ in senders)):
                        path.rename(output / f"{path.name}.{label}")
        return output

    def assert_same(
        self,
        options: list[str],
        senders: tuple[tuple[str, list[str]], ...] = _SENDERS,
        syntax: str | None = None,
    ) -> None:
        reference = self.receive("dcmtk", options, senders)
        ours = self.receive("dicomtw", options, senders)
        names = sorted(p.name for p in reference.iterdir())
        self.assertEqual(
            len(names), len(senders) * len(list(self.corpus.iterdir())), options
        )
        self.assertEqual(sorted(p.name for p in ours.iterdir()), names, options)
        for name in names:
            expected_meta, expected = split_part10((reference / name).read_bytes())
            got_meta, got = split_part10((ours / name).read_bytes())
            self.assertEqual(got, expected, f"data set of {name} with {options}")
            self.assertEqual(
                [e for e in got_meta if e[0] not in _IGNORED],
                [e for e in expected_meta if e[0] not in _IGNORED],
                f"file meta information of {name} with {options}",
            )
            if syntax is not None:
                [written] = [_meta_text(e) for t, e in got_meta if t == 0x00020010]
                self.assertEqual(written, syntax, name)

    def test_explicit_little(self) -> None:
        """
        ``+te``: from implicit VR (dictionary VRs, ``US or SS`` by Pixel
        Representation), from big endian (every binary VR swapped).
        """
        self.assert_same(["+te"], syntax=ExplicitVRLittleEndian)

    def test_explicit_big(self) -> None:
        """
        ``+tb``, and with ``-e +g -u`` on top.
        """
        self.assert_same(["+tb"], syntax=ExplicitVRBigEndian)
        self.assert_same(["+tb", "-e", "+g", "-u"], syntax=ExplicitVRBigEndian)

    def test_implicit(self) -> None:
        """
        ``+ti``, and with ``-g``.
        """
        self.assert_same(["+ti"], syntax=ImplicitVRLittleEndian)
        self.assert_same(["+ti", "-g"], syntax=ImplicitVRLittleEndian)

    def test_deflated(self) -> None:
        """
        ``+td`` at the default level and with ``+cl 9`` and ``+cl 0``.
        """
        self.assert_same(["+td"], syntax=DeflatedExplicitVRLittleEndian)
        self.assert_same(["+td", "+cl", "9"], syntax=DeflatedExplicitVRLittleEndian)
        self.assert_same(["+td", "+cl", "0"], syntax=DeflatedExplicitVRLittleEndian)

    def test_compressed_input_refused(self) -> None:
        """
        A JPEG data set accepted through a profile cannot be written in an
        uncompressed syntax: both programs answer 0xA700 and write nothing.
        """
        source = write_object(
            OBJECT_MAKERS["ct"]("convert-jpeg"),
            self.directory / "ct.dcm",
            ExplicitVRLittleEndian,
        )
        jpeg = compressed_versions(source, self.directory / "jpeg")[JPEGLosslessSV1]
        for kind in ("dcmtk", "dicomtw"):
            output = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.directory))
            options = ["-xf", "/etc/dcmtk/storescp.cfg", "Default", "+te"]
            with ServerProcess(output, options, kind=kind) as server:
                result = run_tool(
                    [
                        dcmtk_tool("storescu"),
                        "-v",
                        "-xs",
                        "127.0.0.1",
                        str(server.port),
                        str(jpeg),
                    ]
                )
            self.assertIn(
                "Refused: OutOfResources", result.stdout + result.stderr, kind
            )
            self.assertEqual(list(output.iterdir()), [], kind)

    def test_new_vrs_as_ob(self) -> None:
        """
        ``-u`` without a conversion: OD, OF, OL, OV, SV and UV values
        written as OB are in little endian even in a big endian file, as
        the reference writes them.
        """
        self.assert_same(["-u"])

    def test_deflated_input(self) -> None:
        """
        Objects received deflated are inflated and written again: deflated
        at the ``+cl`` level under ``+t=``, converted under ``+tb``.
        """
        deflating = (("defl", ["-xd"]),)
        self.assert_same(["+xd"], deflating, syntax=DeflatedExplicitVRLittleEndian)
        self.assert_same(
            ["+xd", "+cl", "1"], deflating, syntax=DeflatedExplicitVRLittleEndian
        )
        self.assert_same(["+xd", "+tb"], deflating, syntax=ExplicitVRBigEndian)


def _meta_text(raw: bytes) -> str:
    return raw[8:].rstrip(b"\0 ").decode("ascii")


def _strip_trailing_padding(data: bytes, syntax: str) -> tuple[bytes, int]:
    """
    Split a data set into what comes before its top-level Data Set
    Trailing Padding element and that element's size (0 if none).
    """
    big = syntax == ExplicitVRBigEndian
    header = 8 if syntax == ImplicitVRLittleEndian else 12
    tag = struct.pack(">HH" if big else "<HH", 0xFFFC, 0xFFFC)
    at = data.rfind(tag)
    while at >= 0:
        (length,) = struct.unpack_from(">L" if big else "<L", data, at + header - 4)
        if at + header + length == len(data):
            return data[:at], header + length
        at = data.rfind(tag, 0, at)
    return data, 0


@requires_dcmtk
class RawSenderTests(SynchronousTestCase):
    """
    Data sets sent exactly as built (pynetdicom streaming the file, so
    neither sender re-encodes them): undefined-length private and unknown
    sequences in implicit VR, sequences sent as UN, received padding.  Both
    programs write the same bytes in each output syntax and with ``+p``.
    """

    def setUp(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dicomtw-raw-"))
        corpus = self.directory / "corpus"
        corpus.mkdir()
        for index, syntax in enumerate(
            (vr_corpus.IVR, vr_corpus.EVRLE, vr_corpus.EVRBE)
        ):
            all_vrs = make_all_vrs(f"raw-all-{index}")
            del all_vrs[NEWER_THAN_DCMTK]
            write_corpus_file(all_vrs, str(corpus / f"all-{index}.dcm"), syntax)
            write_corpus_file(
                make_with_padding(f"raw-pad-{index}"),
                str(corpus / f"pad-{index}.dcm"),
                syntax,
            )
            write_corpus_file(
                make_sized(f"raw-sized-{index}", 101 + 1000 * index),
                str(corpus / f"sized-{index}.dcm"),
                syntax,
            )
        for explicit, syntax in ((True, vr_corpus.EVRLE), (False, vr_corpus.IVR)):
            uid = f"{vr_corpus.UID_ROOT}777{int(explicit)}"
            write_raw_file(
                un_sequences_data_set(uid, explicit),
                str(corpus / f"un-{int(explicit)}.dcm"),
                uid,
                syntax,
            )
        self.files = sorted(corpus.iterdir())

    def receive(self, kind: str, options: list[str]) -> Path:
        output = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.directory))
        self.patch(pynetdicom_config, "STORE_SEND_CHUNKED_DATASET", True)
        with ServerProcess(output, options, kind=kind) as server:
            ae = AE(ae_title="RAWSEND")
            for syntax in (
                vr_corpus.IVR,
                vr_corpus.EVRLE,
                vr_corpus.EVRBE,
                JPEGLosslessSV1,
            ):
                ae.add_requested_context(CT_IMAGE_STORAGE, syntax)
            assoc = ae.associate("127.0.0.1", server.port, ae_title="STORESCP")
            self.assertTrue(assoc.is_established)
            try:
                for path in self.files:
                    status = assoc.send_c_store(path)
                    self.assertEqual(status.Status, 0, (kind, options, path.name))
            finally:
                assoc.release()
        return output

    def assert_same(self, options: list[str]) -> None:
        reference = self.receive("dcmtk", options)
        ours = self.receive("dicomtw", options)
        names = sorted(p.name for p in reference.iterdir())
        self.assertEqual(len(names), len(self.files), options)
        self.assertEqual(sorted(p.name for p in ours.iterdir()), names, options)
        padding = options.index("+p") if "+p" in options else None
        for name in names:
            expected_meta, expected = split_part10((reference / name).read_bytes())
            got_file = (ours / name).read_bytes()
            got_meta, got = split_part10(got_file)
            self.assertEqual(
                [e for e in got_meta if e[0] not in _IGNORED],
                [e for e in expected_meta if e[0] not in _IGNORED],
                f"file meta information of {name} with {options}",
            )
            if padding is None:
                self.assertEqual(got, expected, f"data set of {name} with {options}")
                continue
            # The file is padded to a multiple of its length, meta
            # information included, so our longer Implementation Class UID
            # changes the length of the top-level padding, and only that.
            multiple, item = int(options[padding + 1]), int(options[padding + 2])
            if multiple % 2 or item % 2:
                # Padding is off and received padding kept.
                self.assertEqual(got, expected, f"{name} with {options}")
                continue
            [syntax] = [_meta_text(e) for t, e in got_meta if t == 0x00020010]
            if syntax == DeflatedExplicitVRLittleEndian:
                got, expected = zlib.decompress(got, -15), zlib.decompress(
                    expected, -15
                )
                syntax = ExplicitVRLittleEndian
            got_rest, got_pad = _strip_trailing_padding(got, syntax)
            expected_rest, _ = _strip_trailing_padding(expected, syntax)
            self.assertEqual(got_rest, expected_rest, f"{name} with {options}")
            if multiple:
                end = len(got_file) - len(split_part10(got_file)[1]) + len(got)
                self.assertEqual(end % multiple, 0, f"{name} with {options}")
                header = 8 if syntax == ImplicitVRLittleEndian else 12
                self.assertLess(got_pad, multiple + header, f"{name} with {options}")

    def test_same_syntax(self) -> None:
        """
        Normal mode: UN sequences become SQ, received padding is dropped.
        """
        self.assert_same([])

    def test_conversions(self) -> None:
        """
        Each output syntax.
        """
        for option in ("+te", "+tb", "+ti", "+td"):
            self.assert_same([option])

    def test_compressed_data_set_reencoded(self) -> None:
        """
        A JPEG data set with undefined-length sequences, a group length and
        received padding is re-encoded within its transfer syntax, the
        fragments copied as they are.
        """
        source = write_object(
            OBJECT_MAKERS["ct"]("raw-jpeg"),
            self.directory / "ct.dcm",
            ExplicitVRLittleEndian,
        )
        jpeg = compressed_versions(source, self.directory / "jpeg")[JPEGLosslessSV1]
        ds = dcmread(jpeg)
        item = Dataset()
        item.CodeValue = "1"
        item.is_undefined_length_sequence_item = True
        ds.AnatomicRegionSequence = Sequence([item])
        ds.AnatomicRegionSequence.is_undefined_length = True
        ds.add_new(0x00100000, "UL", 0)
        ds.add_new(0xFFFCFFFC, "OB", bytes(4))
        target = self.directory / "jpeg-undefined.dcm"
        ds.save_as(target)
        self.files = [target]
        for options in (["+xa"], ["+xa", "-e", "+g"], ["+xa", "+p", "256", "16"]):
            self.assert_same(options)

    def test_padding(self) -> None:
        """
        ``+p FILE ITEM`` in several syntaxes and with ``-e``; an odd
        multiple turns padding off and keeps received padding.
        """
        for options in (
            ["+p", "256", "16"],
            ["+p", "100", "10", "+ti"],
            ["+p", "16", "0", "-e", "+tb"],
            ["+p", "0", "8"],
            ["+p", "256", "16", "+td"],
            ["+p", "255", "16"],
            ["+p", "256", "15"],
        ):
            self.assert_same(options)


class _RawCompare(SynchronousTestCase):
    """
    Send hand-built files (``self.files``) unchanged with pynetdicom to
    both programs and compare what they write.
    """

    files: list[Path]
    #: By program, the correction warnings of the last receive.
    warnings: dict[str, list[str]]

    def receive(self, kind: str, options: list[str], path: Path) -> Path:
        output = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.directory))
        self.patch(pynetdicom_config, "STORE_SEND_CHUNKED_DATASET", True)
        with ServerProcess(output, options, kind=kind) as server:
            ae = AE(ae_title="RAWSEND")
            ae.add_requested_context(CT_IMAGE_STORAGE, vr_corpus.IVR)
            ae.add_requested_context(CT_IMAGE_STORAGE, vr_corpus.EVRLE)
            assoc = ae.associate("127.0.0.1", server.port, ae_title="STORESCP")
            self.assertTrue(assoc.is_established)
            try:
                status = assoc.send_c_store(path)
                self.assertEqual(status.Status, 0, (kind, options, path.name))
            finally:
                assoc.release()
        # The server has stopped: its log is complete.
        if not hasattr(self, "warnings"):
            self.warnings = {}
        self.warnings[kind] = _correction_warnings(server.log_text())
        return output

    def assert_same(self, option_sets: list[list[str]]) -> None:
        for options in option_sets:
            for path in self.files:
                reference = self.receive("dcmtk", options, path)
                ours = self.receive("dicomtw", options, path)
                [name] = [p.name for p in reference.iterdir()]
                self.assertEqual([p.name for p in ours.iterdir()], [name])
                expected_meta, expected = split_part10((reference / name).read_bytes())
                got_meta, got = split_part10((ours / name).read_bytes())
                self.assertEqual(got, expected, (options, path.name))
                self.assertEqual(
                    self.warnings["dicomtw"],
                    self.warnings["dcmtk"],
                    (options, path.name),
                )
                self.assertEqual(
                    [e for e in got_meta if e[0] not in _IGNORED],
                    [e for e in expected_meta if e[0] not in _IGNORED],
                    (options, path.name),
                )


@requires_dcmtk
@requires_dcmtk
class StringPaddingTests(_RawCompare):
    """
    String values as the reference writes them in normal mode: trailing
    padding beyond one character dropped (spaces; for UI null bytes, and
    white space anywhere, also in the SOP Instance UID, which then matches
    its command with or without ``-up``), odd lengths made even with a
    null byte, leading spaces kept; in sequences too.  Both programs answer
    success, name the file alike and write the same bytes.
    """

    def setUp(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dicomtw-strings-"))
        uid = f"{vr_corpus.UID_ROOT}7771"
        self.assertEqual(len(uid) % 2, 1)
        self.files = []
        for explicit, syntax in ((True, vr_corpus.EVRLE), (False, vr_corpus.IVR)):

            def element(tag: int, vr: bytes, value: bytes) -> bytes:
                # Odd lengths kept: _raw_element would pad them.
                head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
                if explicit:
                    return head + vr + struct.pack("<H", len(value)) + value
                return head + struct.pack("<L", len(value)) + value

            item = element(0x00081150, b"UI", CT_IMAGE_STORAGE.encode() + b"\0\0\0")
            item += element(0x00081155, b"UI", b" 1.2.3 \0")
            item_bytes = struct.pack("<HHL", 0xFFFE, 0xE000, len(item)) + item
            sequence = struct.pack("<HH", 0x0008, 0x1140)
            if explicit:
                sequence += b"SQ\0\0"
            sequence += struct.pack("<L", len(item_bytes)) + item_bytes
            data_set = b"".join(
                (
                    element(0x00080016, b"UI", CT_IMAGE_STORAGE.encode() + b"\0"),
                    element(0x00080018, b"UI", uid.encode() + b" "),
                    element(0x00080020, b"DA", b"20260101  "),
                    element(0x00080060, b"CS", b"CT  "),
                    element(0x00080070, b"LO", b"  ACME   "),
                    element(0x00080080, b"LO", b"odd"),
                    element(0x00081030, b"LO", b"A \\B   "),
                    sequence,
                    element(0x00100010, b"PN", b"Space^Padded    "),
                    element(0x00104000, b"LT", b"text    "),
                    element(0x0020000D, b"UI", f"{uid}. 1".encode() + b" "),
                    element(0x00200013, b"IS", b" 5      "),
                )
            )
            path = self.directory / f"padded-{int(explicit)}.dcm"
            write_raw_file(data_set, str(path), uid, syntax)
            self.files.append(path)

    def test_with_and_without_option(self) -> None:
        self.assert_same([[], ["-up"], ["+te", "-up"], ["+tb"], ["+ti", "-e"]])


#: The reference's warnings about data set corrections that dicomtw logs
#: in the same words.
_CORRECTIONS = (
    "not in ascending tag order",
    "found twice",
    "Non-standard VR",
    "contains one or more space characters",
)


def _correction_warnings(log: str) -> list[str]:
    """
    The data set correction warnings of a server log, in order, without
    their level prefix and the command set's (which dicomtw reads without
    remarks).
    """
    found = []
    for line in log.splitlines():
        text = line.split("W: ", 1)[-1].strip()
        if any(c in text for c in _CORRECTIONS) and "(0000," not in text:
            found.append(text)
    return found


_LONG_VRS = (
    b"OB", b"OW", b"UN", b"UT", b"OF", b"OD", b"OL", b"OV", b"SV", b"UV", b"SQ"
)  # fmt: skip


def _element(tag: int, vr: bytes, value: bytes, explicit: bool) -> bytes:
    """
    One little-endian element built by hand, odd lengths kept.
    """
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if not explicit:
        return head + struct.pack("<L", len(value)) + value
    if vr in _LONG_VRS or vr == b"ZZ":
        return head + vr + b"\0\0" + struct.pack("<L", len(value)) + value
    return head + vr + struct.pack("<H", len(value)) + value


@requires_dcmtk
class OddLengthTests(_RawCompare):
    """
    Values of odd length (not allowed, but sent): the reference pads each
    with a null byte as it reads it, except OW values (Pixel Data in
    implicit VR included); binary values are swapped after padding.
    """

    def setUp(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dicomtw-odd-"))
        vrs = (
            b"OB OW UN US SS UL SL FL FD AT OF OD OL OV SV UV UT LT ST CS"
        ).split()  # fmt: skip
        self.files = []
        for number, explicit in enumerate((True, False)):
            uid = f"{vr_corpus.UID_ROOT}779{number}1"
            elements = [
                (0x00080016, b"UI", CT_IMAGE_STORAGE.encode() + b"\0"),
                (0x00080018, b"UI", uid.encode() + b"\0"),
                (0x00090010, b"LO", b"ODD TEST"),
                *[
                    (0x00091001 + i, vr, b"\x01\x02\x03\x04\x05")
                    for i, vr in enumerate(vrs)
                ],
                (0x00181310, b"US", b"\x01\x02\x03\x04\x05\x06\x07"),
                (0x00281201, b"OW", b"\x01\x02\x03"),
                (0x7FE00010, b"OB" if explicit else b"OW", b"\x01\x02\x03"),
            ]
            data_set = b"".join(_element(t, v, x, explicit) for t, v, x in elements)
            self.assertEqual(len(data_set) % 2, 0)
            path = self.directory / f"odd-{number}.dcm"
            syntax = vr_corpus.EVRLE if explicit else vr_corpus.IVR
            write_raw_file(data_set, str(path), uid, syntax)
            self.files.append(path)

    def test_odd_values(self) -> None:
        self.assert_same([[], ["+tb"], ["+te"], ["+ti"]])

    def test_odd_fragment_aborts(self) -> None:
        """
        A data set of odd total length arrives in an odd fragment: both
        programs abort the association ("Odd Fragment Length") and write
        nothing.
        """
        uid = f"{vr_corpus.UID_ROOT}7799"
        uid_value = uid.encode() + b"\0" * (len(uid) % 2)
        data_set = (
            _element(0x00080016, b"UI", CT_IMAGE_STORAGE.encode() + b"\0", True)
            + _element(0x00080018, b"UI", uid_value, True)
            + _element(0x00100010, b"PN", b"odd", True)
        )
        self.assertEqual(len(data_set) % 2, 1)
        path = self.directory / "odd-total.dcm"
        write_raw_file(data_set, str(path), uid, vr_corpus.EVRLE)
        self.patch(pynetdicom_config, "STORE_SEND_CHUNKED_DATASET", True)
        for kind in ("dcmtk", "dicomtw"):
            output = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.directory))
            with ServerProcess(output, [], kind=kind) as server:
                ae = AE(ae_title="RAWSEND")
                ae.add_requested_context(CT_IMAGE_STORAGE, vr_corpus.EVRLE)
                assoc = ae.associate("127.0.0.1", server.port, ae_title="STORESCP")
                self.assertTrue(assoc.is_established)
                status = assoc.send_c_store(path)
                self.assertFalse(status, kind)
                deadline = time.monotonic() + 5
                while not assoc.is_aborted:
                    self.assertLess(time.monotonic(), deadline, kind)
                    time.sleep(0.05)
                while "Odd Fragment Length" not in server.log_text():
                    self.assertLess(time.monotonic(), deadline, server.log_text())
                    time.sleep(0.05)
            self.assertEqual(list(output.iterdir()), [], kind)


@requires_dcmtk
class DisorderTests(_RawCompare):
    """
    Elements out of ascending tag order (at the top level and in items)
    are written sorted, the first of a repeated tag is kept, a VR the
    reference does not know is read with a 2-byte length (4 for two
    capital letters) and written as UN, a group length with another VR
    than UL is corrected, as the reference does, in normal mode and while
    converting.
    """

    def setUp(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dicomtw-order-"))
        item_body = _element(0x00081155, b"UI", b"1.3\0", True) + _element(
            0x00081150, b"UI", b"1.2\0", True
        )
        item = struct.pack("<HHL", 0xFFFE, 0xE000, len(item_body)) + item_body
        cases = [
            [
                (0x00100010, b"PN", b"Zed^A "),
                (0x00080018, None, None),
                (0x00080060, b"CS", b"CT"),
            ],
            [
                (0x00080018, None, None),
                (0x00080060, b"CS", b"CT"),
                (0x00080060, b"CS", b"MR"),
                (0x7FE00010, b"OW", bytes(range(256)) * 400),
                (0x00200013, b"IS", b"7 "),
            ],
            [
                (0x00080018, None, None),
                (0x00080060, b"LO", b"CT"),
                (0x00100010, b"xx", b"AB"),
                (0x00100020, b"ZZ", b"CD"),
            ],
            [(0x00080018, None, None), (0x00081140, b"SQ", item)],
            [
                (0x00010010, b"LO", b"CREATOR "),
                (0x00080018, None, None),
                (0x00100000, b"US", b"\x05\x00"),
                (0x00100010, b"PN", b"X^Y "),
                (0x00050010, b"LO", b"C3"),
            ],
        ]
        self.files = []
        for number, case in enumerate(cases):
            uid = f"{vr_corpus.UID_ROOT}78{number}1"
            uid_value = uid.encode() + b"\0" * (len(uid) % 2)
            data_set = _element(
                0x00080016, b"UI", CT_IMAGE_STORAGE.encode() + b"\0", True
            ) + b"".join(
                (
                    _element(tag, b"UI", uid_value, True)
                    if vr is None
                    else _element(tag, vr, value, True)
                )
                for tag, vr, value in case
            )
            path = self.directory / f"order-{number}.dcm"
            write_raw_file(data_set, str(path), uid, vr_corpus.EVRLE)
            self.files.append(path)

    def test_sorted(self) -> None:
        self.assert_same([[], ["+te"], ["+tb"], ["+ti"], ["+tb", "+g"]])


@requires_dcmtk
class EndOfStudyTests(SynchronousTestCase):
    """
    ``-rns``, ``-xcs`` and ``-tos`` (behaviour reference §9): the same files
    renamed and the same commands run as by the reference (time stamps
    masked).
    """

    def setUp(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dicomtw-eos-"))
        self.corpus = self.directory / "corpus"
        self.corpus.mkdir()
        objects = [
            ("ct", "1.2.826.0.1.3680043.9.11"),
            ("mr", "1.2.826.0.1.3680043.9.11"),
            ("ct", "1.2.826.0.1.3680043.9.11"),
            ("ct", "1.2.826.0.1.3680043.9.12"),
        ]
        self.files = []
        for index, (kind, study) in enumerate(objects):
            ds = OBJECT_MAKERS[kind](f"eos-{index}")
            ds.StudyInstanceUID = study
            path = self.corpus / f"{index}.dcm"
            write_object(ds, path, ExplicitVRLittleEndian)
            self.files.append(path)

    def run_both(
        self, options: list[str], pause: float = 0.0
    ) -> dict[str, tuple[list[str], str]]:
        """
        Send the objects one association each to both programs.

        :returns: by program, the files written (relative, time stamps
            masked) and what the ``-xcs`` commands wrote.
        """
        results = {}
        for kind in ("dcmtk", "dicomtw"):
            output = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.directory))
            log = output.parent / f"{output.name}.commands"
            arguments = [a.replace("LOG", str(log)) for a in options]
            with ServerProcess(output, arguments, kind=kind) as server:
                _send_each(self, server.port, self.files)
                if pause:
                    time.sleep(pause)
                else:
                    time.sleep(0.5)
            tree = _masked_tree(output)
            text = log.read_text() if log.exists() else ""
            text = re.sub(r"\d{8}_\d{9}", "TIME", text.replace(str(output), "OUT"))
            results[kind] = (tree, text)
        return results

    def test_rename(self) -> None:
        """
        ``-ss S -rns``: CT, MR, CT of one study become ``CT000001``,
        ``MR000002``, ``CT000003`` when the next study begins; the last
        study keeps its names.
        """
        results = self.run_both(["-ss", "S", "-rns"])
        self.assertEqual(results["dicomtw"], results["dcmtk"])
        tree = results["dicomtw"][0]
        self.assertIn("S_TIME/MR000002", tree)
        self.assertEqual(len(tree), 4)

    def test_command(self) -> None:
        """
        ``-su U -xcs``: the command runs once, with ``#p`` the ended
        study's directory and ``#a``, ``#c`` the AE titles; ``#f`` stays
        (at the start of a word it would begin a shell comment).
        """
        results = self.run_both(["-su", "U", "-xcs", "echo #p #a #c x#f >> LOG", "-xs"])
        self.assertEqual(results["dicomtw"], results["dcmtk"])
        self.assertEqual(
            results["dicomtw"][1],
            "OUT/U_1.2.826.0.1.3680043.9.11 STORESCU ANY-SCP x#f\n",
        )

    def test_timeout(self) -> None:
        """
        ``-tos 1``: after a second without messages the last study ends too,
        so every study is renamed and its command run.
        """
        results = self.run_both(
            ["-ss", "S", "-rns", "-tos", "1", "-xcs", "echo #p >> LOG"], pause=2.5
        )
        self.assertEqual(results["dicomtw"], results["dcmtk"])
        tree, text = results["dicomtw"]
        self.assertIn("S_TIME/CT000001", tree)
        self.assertEqual(text.count("\n"), 2)
