"""
Support for tests that talk to real DICOM peers over loopback.

This is not a test module.  It finds DCMTK's command-line programs, runs a
storage SCP under test (dicomtw or DCMTK's ``storescp``) as a child process,
makes small DICOM objects with deterministic UIDs, and compares what was sent
with what was stored.

DCMTK programs are always named by absolute path in ``/usr/bin``: pynetdicom
installs Python programs called ``storescu``, ``echoscu`` and ``storescp``
that come earlier on ``PATH`` and behave differently.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, TypeVar

import pytest
from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    UID,
    BasicTextSRStorage,
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    EncapsulatedPDFStorage,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGLosslessSV1,
    MRImageStorage,
    RTPlanStorage,
    RTStructureSetStorage,
)

__all__ = [
    "DCMTK_BIN",
    "DCMTK_MISSING_REASON",
    "DCMTK_TOOLS",
    "OBJECT_MAKERS",
    "ServerProcess",
    "UNCOMPRESSED",
    "assert_same_dataset",
    "compressed_versions",
    "dcmtk_missing",
    "dcmtk_tool",
    "deflate",
    "free_port",
    "jpeg_compress",
    "make_basic_text_sr",
    "make_ct",
    "make_encapsulated_pdf",
    "make_mr",
    "make_rt_plan",
    "make_uid",
    "read_dataset",
    "requires_dcmtk",
    "run_tool",
    "storescu_profile",
    "write_object",
    "server_environment",
]

_T = TypeVar("_T")

#: Where Debian's ``dcmtk`` package puts its programs.
DCMTK_BIN = Path("/usr/bin")

#: The DCMTK programs the real-peer tests use.
DCMTK_TOOLS = (
    "storescu",
    "echoscu",
    "dcmsend",
    "dcmdump",
    "storescp",
    "dcmconv",
    "dcmcjpeg",
    "img2dcm",
)

#: The reason given when DCMTK is missing; a test run should say how to fix it.
DCMTK_MISSING_REASON = (
    "DCMTK not installed: apt-get install dcmtk (scripts/test does this)"
)

#: The uncompressed transfer syntaxes every storage SCP must accept.
UNCOMPRESSED = (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian)

# How long a server may take to accept TCP connections, and how long it gets
# to exit after SIGTERM before it is killed.
_STARTUP_TIMEOUT = 15.0
_STOP_TIMEOUT = 5.0
_POLL_INTERVAL = 0.05


# -- finding DCMTK ----------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _is_dcmtk(path: str) -> bool:
    """
    Tell whether an executable is a DCMTK program, from its ``--version``.

    :param path: absolute path of the executable.
    :returns: whether it exists and its version text names DCMTK.
    """
    if not os.access(path, os.X_OK):
        return False
    try:
        done = subprocess.run(
            [path, "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return b"dcmtk" in (done.stdout + done.stderr).lower()


def dcmtk_missing() -> list[str]:
    """
    List the DCMTK programs of :data:`DCMTK_TOOLS` that cannot be used.

    :returns: the names of programs that are absent from ``/usr/bin`` or are
        not DCMTK's; empty when all are there.
    """
    return [name for name in DCMTK_TOOLS if not _is_dcmtk(str(DCMTK_BIN / name))]


def dcmtk_tool(name: str) -> str:
    """
    Give the absolute path of a DCMTK program, checking that it is DCMTK's.

    :param name: the program's name, e.g. ``"storescu"``.
    :returns: its absolute path in ``/usr/bin``.
    :raises AssertionError: if it is missing or not DCMTK's.
    """
    path = str(DCMTK_BIN / name)
    if not _is_dcmtk(path):
        raise AssertionError(f"{path}: not a DCMTK program. {DCMTK_MISSING_REASON}")
    return path


def requires_dcmtk(test: _T) -> _T:
    """
    Skip a test function or class when DCMTK's programs are not installed.

    Under CI (``CI`` set in the environment) nothing is skipped: the test
    command installs DCMTK there, so a missing program must fail loudly
    instead of hiding the interop tests.  Works for pytest functions and for
    trial test case classes alike.

    :param test: the test function or class.
    :returns: ``test``, marked to be skipped if DCMTK is missing.
    """
    missing = dcmtk_missing()
    if not missing or os.environ.get("CI"):
        return test
    reason = f"{DCMTK_MISSING_REASON} (missing: {', '.join(missing)})"
    if isinstance(test, type):
        # trial's runner reads the ``skip`` attribute of a test case class.
        setattr(test, "skip", reason)
    marked: _T = pytest.mark.skip(reason=reason)(test)
    return marked


# -- processes --------------------------------------------------------------


def free_port() -> int:
    """
    Find a TCP port on 127.0.0.1 that nothing listens on right now.

    :returns: the port number.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_environment() -> dict[str, str]:
    """
    Build the environment for a dicomtw process started by a test: ours,
    with this checkout first on ``PYTHONPATH``, so that the code under test
    runs whatever is installed.

    :returns: a copy of ``os.environ``.
    """
    env = dict(os.environ)
    repository = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [repository, env.get("PYTHONPATH")])
    )
    return env


def _tool_environment() -> dict[str, str]:
    """
    Build the environment for peer programs: ours, with Nagle disabled.

    :returns: a copy of ``os.environ`` with ``TCP_NODELAY=1``.
    """
    env = dict(os.environ)
    env["TCP_NODELAY"] = "1"
    return env


def run_tool(
    argv: Sequence[str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """
    Run a peer program to completion and capture what it prints.

    :param argv: the command line; its first word should be an absolute path.
    :param timeout: seconds to wait before the program is killed.
    :returns: the finished process, with ``stdout`` and ``stderr`` as text.
    :raises AssertionError: if the program did not finish in time.
    """
    try:
        return subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=_tool_environment(),
        )
    except subprocess.TimeoutExpired as expired:
        raise AssertionError(
            f"{argv[0]} did not finish within {timeout} s\n"
            f"stdout: {expired.stdout!r}\nstderr: {expired.stderr!r}"
        ) from None


class ServerProcess:
    """
    A storage SCP running as a child process for the length of a ``with``.

    Entering starts the server with ``-od OUTPUT_DIR``, the given options and
    the port, and returns once it accepts TCP connections on 127.0.0.1.
    Leaving stops it with SIGTERM (SIGKILL after 5 s) and reaps it.  What the
    server prints goes to :attr:`log_path`.

    :ivar kind: ``"dicomtw"`` or ``"dcmtk"``.
    :ivar port: the TCP port the server listens on.
    :ivar output_dir: the directory the server stores into.
    :ivar log_path: the file that receives the server's stderr and stdout.
    :ivar argv: the full command line of the server.
    """

    KINDS = ("dicomtw", "dcmtk")

    def __init__(
        self,
        output_dir: Path,
        options: Sequence[str] = (),
        kind: str = "dicomtw",
        port: int | None = None,
        log_path: Path | None = None,
    ) -> None:
        """
        :param output_dir: directory for received files; created if needed.
        :param options: storescp options placed between ``-od DIR`` and the
            port, e.g. ``["+xa"]``.
        :param kind: which server to run, ``"dicomtw"`` (``python -m
            dicomtw``) or ``"dcmtk"`` (``/usr/bin/storescp``).
        :param port: the port to listen on; a free one if not given.
        :param log_path: where to write the server's output; by default
            ``server-<kind>-<port>.log`` beside ``output_dir``.
        """
        if kind not in self.KINDS:
            raise ValueError(f"unknown server kind {kind!r}; use one of {self.KINDS}")
        self.kind = kind
        self.port = free_port() if port is None else port
        self.output_dir = Path(output_dir)
        self.log_path = (
            self.output_dir.parent / f"server-{kind}-{self.port}.log"
            if log_path is None
            else Path(log_path)
        )
        args = ["-od", str(self.output_dir), *options, str(self.port)]
        if kind == "dicomtw":
            self.argv = [sys.executable, "-m", "dicomtw", *args]
        else:
            self.argv = [dcmtk_tool("storescp"), *args]
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        """
        Start the server and wait until it accepts connections.

        :returns: this object.
        :raises AssertionError: if the server exits or does not listen within
            15 seconds; the server is stopped first.
        """
        self.output_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=_tool_environment(),
            )
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """
        Stop the server, whatever happened inside the ``with`` block.
        """
        self.stop()

    def _wait_until_listening(self) -> None:
        """
        Poll the port until a TCP connection succeeds.

        :raises AssertionError: if the server exits or the time runs out.
        """
        process = self._process
        assert process is not None
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"server exited with status {process.returncode} before "
                    f"listening: {self.argv}\n{self.log_text()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"server not listening on port {self.port} after "
                    f"{_STARTUP_TIMEOUT} s: {self.argv}\n{self.log_text()}"
                )
            time.sleep(_POLL_INTERVAL)

    @property
    def returncode(self) -> int | None:
        """
        The server's exit status, or ``None`` while it runs or before start.
        """
        return None if self._process is None else self._process.poll()

    def stop(self) -> int | None:
        """
        Terminate the server (SIGTERM, then SIGKILL after 5 s) and reap it.

        Calling it again, or before the server started, does nothing.

        :returns: the exit status (negative for a signal), or ``None`` if the
            server was never started.
        """
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def log_text(self) -> str:
        """
        Read what the server has printed so far.

        :returns: its stderr and stdout, decoded leniently.
        """
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stored_files(self) -> list[Path]:
        """
        List the regular files in the output directory, recursively.

        :returns: their paths, sorted.
        """
        return sorted(p for p in self.output_dir.rglob("*") if p.is_file())


# -- test objects -----------------------------------------------------------


def make_uid(*parts: str) -> UID:
    """
    Derive a UID deterministically from names, under the ``2.25`` root.

    :param parts: names that identify the UID, e.g. ``("ct", "instance")``.
    :returns: a valid UID of at most 44 characters; equal names give equal
        UIDs.
    """
    digest = hashlib.sha256("/".join(parts).encode("utf-8")).digest()
    value = int.from_bytes(digest[:16], "big") or 1
    return UID(f"2.25.{value}")


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    """
    Build a code sequence item.

    :param value: the Code Value.
    :param scheme: the Coding Scheme Designator.
    :param meaning: the Code Meaning.
    :returns: the item.
    """
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def _common(
    seed: str, sop_class: str, modality: str, patient: str = "Test^Peer"
) -> Dataset:
    """
    Build the patient, study, series and SOP common attributes.

    :param seed: the name all UIDs of the object are derived from.
    :param sop_class: the SOP Class UID.
    :param modality: the Modality.
    :param patient: the Patient's Name.
    :returns: a data set without file meta information.
    """
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = make_uid(seed, "instance")
    ds.StudyDate = "20240102"
    ds.StudyTime = "101112.131415"
    ds.AccessionNumber = "ACC0001"
    ds.Modality = modality
    ds.Manufacturer = "dicomtw tests"
    ds.ReferringPhysicianName = "Referrer^Rita"
    ds.PatientName = patient
    ds.PatientID = "PID-0001"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = make_uid("study")
    ds.SeriesInstanceUID = make_uid(seed, "series")
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    return ds


def _image(ds: Dataset, rows: int, columns: int, signed: bool, seed: str) -> None:
    """
    Add a 16-bit monochrome image with deterministic pixels, little endian.

    :param ds: the data set to extend.
    :param rows: the number of rows.
    :param columns: the number of columns.
    :param signed: whether pixels are two's complement.
    :param seed: varies the pixel pattern between objects.
    """
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = 16
    ds.BitsStored = 16 if signed else 12
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if signed else 0
    offset = sum(seed.encode("utf-8"))
    words = bytearray()
    for row in range(rows):
        for column in range(columns):
            value = (row * 67 + column * 13 + offset) % 4096
            if signed:
                value -= 2048
            words += value.to_bytes(2, "little", signed=signed)
    ds.PixelData = bytes(words)
    ds["PixelData"].VR = "OW"


def make_ct(seed: str = "ct") -> Dataset:
    """
    Make a CT Image (64 x 64, 12 bits stored, unsigned).

    :param seed: the name UIDs are derived from; objects made from different
        seeds have different SOP Instance UIDs.
    :returns: the data set, pixel data little endian.
    """
    ds = _common(seed, CTImageStorage, "CT")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.FrameOfReferenceUID = make_uid("frame-of-reference")
    ds.PositionReferenceIndicator = ""
    ds.SliceThickness = "2.5"
    ds.KVP = "120"
    ds.DataCollectionDiameter = "500.0"
    ds.ExposureTime = 1000
    ds.XRayTubeCurrent = 250
    ds.RevolutionTime = 0.5
    ds.SpiralPitchFactor = 0.984375
    ds.CTDIvol = 12.25
    ds.ImagePositionPatient = ["-125.0", "-125.0", "-40.5"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PixelSpacing = ["0.976562", "0.976562"]
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    ds.ProcedureCodeSequence = DicomSequence(
        [_code("CTHEAD", "99DICOMTW", "CT of the head")]
    )
    _image(ds, 64, 64, signed=False, seed=seed)
    return ds


def make_mr(seed: str = "mr") -> Dataset:
    """
    Make an MR Image (32 x 32, 16 bits stored, signed, Latin-1 name).

    :param seed: the name UIDs are derived from.
    :returns: the data set, pixel data little endian.
    """
    ds = _common(seed, MRImageStorage, "MR", patient="Müller^Jürgen")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M"]
    ds.FrameOfReferenceUID = make_uid("frame-of-reference")
    ds.ScanningSequence = ["SE", "IR"]
    ds.SequenceVariant = ["SK", "SP"]
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.SequenceName = "*tse2d1_9"
    ds.SliceThickness = "5"
    ds.RepetitionTime = "4000"
    ds.EchoTime = "95"
    ds.EchoTrainLength = 9
    ds.MagneticFieldStrength = "1.5"
    ds.ImagingFrequency = "63.6"
    ds.FlipAngle = "150"
    ds.AcquisitionMatrix = [0, 256, 192, 0]
    ds.InPlanePhaseEncodingDirection = "ROW"
    ds.AdditionalPatientHistory = "Line one.\r\nLine two, with ümlauts."
    ds.ImagePositionPatient = ["-100", "-100", "0"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PixelSpacing = ["7.8125", "7.8125"]
    _image(ds, 32, 32, signed=True, seed=seed)
    return ds


def _text_item(relationship: str, code: Dataset, text: str) -> Dataset:
    """
    Build a TEXT content item of a structured report.

    :param relationship: the Relationship Type.
    :param code: the concept name code.
    :param text: the Text Value.
    :returns: the content item.
    """
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = "TEXT"
    item.ConceptNameCodeSequence = DicomSequence([code])
    item.TextValue = text
    return item


def make_basic_text_sr(seed: str = "sr") -> Dataset:
    """
    Make a Basic Text SR with nested content sequences and an empty sequence.

    :param seed: the name UIDs are derived from.
    :returns: the data set.
    """
    ds = _common(seed, BasicTextSRStorage, "SR")
    ds.ContentDate = "20240102"
    ds.ContentTime = "101500"
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = DicomSequence(
        [_code("18748-4", "LN", "Diagnostic Imaging Report")]
    )
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ReferencedPerformedProcedureStepSequence = DicomSequence()
    ds.PerformedProcedureCodeSequence = DicomSequence()
    findings = Dataset()
    findings.RelationshipType = "CONTAINS"
    findings.ValueType = "CONTAINER"
    findings.ConceptNameCodeSequence = DicomSequence(
        [_code("121070", "DCM", "Findings")]
    )
    findings.ContinuityOfContent = "SEPARATE"
    coded = Dataset()
    coded.RelationshipType = "CONTAINS"
    coded.ValueType = "CODE"
    coded.ConceptNameCodeSequence = DicomSequence([_code("121071", "DCM", "Finding")])
    coded.ConceptCodeSequence = DicomSequence(
        [_code("FND1", "99DICOMTW", "Nothing remarkable")]
    )
    findings.ContentSequence = DicomSequence(
        [
            _text_item(
                "CONTAINS",
                _code("121071", "DCM", "Finding"),
                "No acute findings.\r\nSecond paragraph of the finding.",
            ),
            coded,
        ]
    )
    ds.ContentSequence = DicomSequence(
        [
            _text_item("CONTAINS", _code("121060", "DCM", "History"), "Headache."),
            findings,
        ]
    )
    return ds


def _control_point(index: int, weight: str, first: bool) -> Dataset:
    """
    Build a control point of a static photon beam.

    :param index: the Control Point Index.
    :param weight: the Cumulative Meterset Weight.
    :param first: whether it is the first point, which carries the geometry.
    :returns: the control point item.
    """
    point = Dataset()
    point.ControlPointIndex = index
    point.CumulativeMetersetWeight = weight
    if first:
        point.NominalBeamEnergy = "6"
        point.GantryAngle = "90"
        point.GantryRotationDirection = "NONE"
        point.BeamLimitingDeviceAngle = "0"
        point.PatientSupportAngle = "0"
        point.IsocenterPosition = ["0", "-15.5", "20"]
        jaws = []
        for device, positions in (("ASYMX", ["-50", "50"]), ("ASYMY", ["-40", "60"])):
            jaw = Dataset()
            jaw.RTBeamLimitingDeviceType = device
            jaw.LeafJawPositions = positions
            jaws.append(jaw)
        point.BeamLimitingDevicePositionSequence = DicomSequence(jaws)
    return point


def _beam(number: int, gantry_name: str) -> Dataset:
    """
    Build a static photon beam with two control points.

    :param number: the Beam Number.
    :param gantry_name: the Beam Name.
    :returns: the beam item.
    """
    beam = Dataset()
    beam.BeamNumber = number
    beam.BeamName = gantry_name
    beam.BeamType = "STATIC"
    beam.RadiationType = "PHOTON"
    beam.TreatmentMachineName = "LINAC1"
    beam.PrimaryDosimeterUnit = "MU"
    beam.SourceAxisDistance = "1000"
    limits = []
    for device in ("ASYMX", "ASYMY"):
        limit = Dataset()
        limit.RTBeamLimitingDeviceType = device
        limit.NumberOfLeafJawPairs = 1
        limits.append(limit)
    beam.BeamLimitingDeviceSequence = DicomSequence(limits)
    beam.TreatmentDeliveryType = "TREATMENT"
    beam.NumberOfWedges = 0
    beam.NumberOfCompensators = 0
    beam.NumberOfBoli = 0
    beam.NumberOfBlocks = 0
    beam.FinalCumulativeMetersetWeight = "1"
    beam.NumberOfControlPoints = 2
    beam.ControlPointSequence = DicomSequence(
        [_control_point(0, "0", True), _control_point(1, "1", False)]
    )
    beam.ReferencedPatientSetupNumber = 1
    return beam


def make_rt_plan(seed: str = "rtplan") -> Dataset:
    """
    Make an RT Plan with nested beam, control point and fraction sequences.

    :param seed: the name UIDs are derived from.
    :returns: the data set.
    """
    ds = _common(seed, RTPlanStorage, "RTPLAN")
    ds.FrameOfReferenceUID = make_uid("frame-of-reference")
    ds.RTPlanLabel = "Plan 1"
    ds.RTPlanName = "Two fields"
    ds.RTPlanDate = "20240102"
    ds.RTPlanTime = "120000"
    ds.RTPlanGeometry = "PATIENT"
    structures = Dataset()
    structures.ReferencedSOPClassUID = RTStructureSetStorage
    structures.ReferencedSOPInstanceUID = make_uid("rtstruct", "instance")
    ds.ReferencedStructureSetSequence = DicomSequence([structures])
    setup = Dataset()
    setup.PatientPosition = "HFS"
    setup.PatientSetupNumber = 1
    ds.PatientSetupSequence = DicomSequence([setup])
    references = []
    for number, meterset in ((1, "101.5"), (2, "98.25")):
        reference = Dataset()
        reference.ReferencedBeamNumber = number
        reference.BeamMeterset = meterset
        references.append(reference)
    fractions = Dataset()
    fractions.FractionGroupNumber = 1
    fractions.NumberOfFractionsPlanned = 25
    fractions.NumberOfBeams = 2
    fractions.NumberOfBrachyApplicationSetups = 0
    fractions.ReferencedBeamSequence = DicomSequence(references)
    ds.FractionGroupSequence = DicomSequence([fractions])
    ds.BeamSequence = DicomSequence([_beam(1, "G90"), _beam(2, "G270")])
    ds.ApprovalStatus = "UNAPPROVED"
    return ds


#: A tiny but well-formed PDF document (one empty page), of even length.
TINY_PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >> endobj\n"
    b"trailer << /Root 1 0 R >>\n"
    b"%%EOF\n"
)


def make_encapsulated_pdf(seed: str = "pdf") -> Dataset:
    """
    Make an Encapsulated PDF document holding :data:`TINY_PDF`.

    :param seed: the name UIDs are derived from.
    :returns: the data set.
    """
    ds = _common(seed, EncapsulatedPDFStorage, "DOC")
    ds.ContentDate = "20240102"
    ds.ContentTime = "101500"
    ds.AcquisitionDateTime = "20240102101500.000000"
    ds.ConversionType = "WSD"
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = "A tiny PDF"
    ds.ConceptNameCodeSequence = DicomSequence()
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    document = TINY_PDF if len(TINY_PDF) % 2 == 0 else TINY_PDF + b"\n"
    ds.EncapsulatedDocument = document
    return ds


_SWAP_WIDTH = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def _swap_words(data: bytes, width: int) -> bytes:
    """
    Reverse the byte order of every ``width``-byte word.

    :param data: the bytes, a whole number of words.
    :param width: the word size in bytes.
    :returns: the swapped bytes.
    """
    out = bytearray(len(data))
    for start in range(width):
        out[start::width] = data[width - 1 - start :: width]
    return bytes(out)


def write_object(ds: Dataset, path: Path, transfer_syntax: str) -> Path:
    """
    Write a data set made here as a Part 10 file in an uncompressed syntax.

    The data set's OW pixel data is taken to be little endian and is swapped
    for explicit VR big endian, which pydicom does not do itself.

    :param ds: the data set; it is not changed.
    :param path: the file to write.
    :param transfer_syntax: implicit LE, explicit LE or explicit BE.
    :returns: ``path``.
    """
    syntax = UID(transfer_syntax)
    if syntax not in UNCOMPRESSED:
        raise ValueError(f"not an uncompressed transfer syntax: {syntax}")
    out = copy.deepcopy(ds)
    if not syntax.is_little_endian and "PixelData" in ds:
        element = ds["PixelData"]
        out["PixelData"] = DataElement(
            element.tag, element.VR, _swap_words(element.value, 2)
        )
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    out.file_meta = meta
    out.save_as(
        path,
        enforce_file_format=True,
        implicit_vr=syntax.is_implicit_VR,
        little_endian=syntax.is_little_endian,
    )
    return path


def jpeg_compress(source: Path, target: Path) -> Path:
    """
    JPEG-compress a file losslessly with DCMTK's ``dcmcjpeg`` (TS .4.70).

    :param source: an uncompressed image file.
    :param target: the file to write.
    :returns: ``target``.
    :raises AssertionError: if ``dcmcjpeg`` fails.
    """
    done = run_tool([dcmtk_tool("dcmcjpeg"), str(source), str(target)])
    if done.returncode != 0:
        raise AssertionError(f"dcmcjpeg failed: {done.stdout}{done.stderr}")
    return target


def deflate(source: Path, target: Path) -> Path:
    """
    Write a file in deflated explicit VR little endian with ``dcmconv +td``.

    :param source: an uncompressed file.
    :param target: the file to write.
    :returns: ``target``.
    :raises AssertionError: if ``dcmconv`` fails.
    """
    done = run_tool([dcmtk_tool("dcmconv"), "+td", str(source), str(target)])
    if done.returncode != 0:
        raise AssertionError(f"dcmconv failed: {done.stdout}{done.stderr}")
    return target


def compressed_versions(source: Path, directory: Path) -> dict[str, Path]:
    """
    Make a JPEG lossless and a deflated copy of a file.

    Both copies keep the source's SOP Instance UID.

    :param source: an uncompressed image file.
    :param directory: where to write ``<name>.jpeg`` and ``<name>.deflated``.
    :returns: the transfer syntax UID of each copy, mapped to its path.
    """
    directory.mkdir(parents=True, exist_ok=True)
    return {
        JPEGLosslessSV1: jpeg_compress(source, directory / f"{source.name}.jpeg"),
        DeflatedExplicitVRLittleEndian: deflate(
            source, directory / f"{source.name}.deflated"
        ),
    }


def storescu_profile(
    path: Path,
    sop_classes: Sequence[str],
    transfer_syntaxes: Sequence[str] = (ExplicitVRLittleEndian, ImplicitVRLittleEndian),
) -> tuple[str, str]:
    """
    Write a DCMTK association negotiation profile that proposes SOP classes.

    ``storescu`` refuses to propose a SOP class it does not know; with ``-xf``
    it proposes whatever the profile lists.

    :param path: the configuration file to write.
    :param sop_classes: the abstract syntaxes to propose, one context each.
    :param transfer_syntaxes: the transfer syntaxes proposed in each context.
    :returns: the ``-xf`` arguments: the file name and the profile name.
    """
    lines = ["[[TransferSyntaxes]]", "[Proposed]"]
    lines += [f"TransferSyntax{n} = {ts}" for n, ts in enumerate(transfer_syntaxes, 1)]
    lines += ["", "[[PresentationContexts]]", "[Proposed]"]
    lines += [
        f"PresentationContext{n} = {uid}\\Proposed"
        for n, uid in enumerate(sop_classes, 1)
    ]
    lines += ["", "[[Profiles]]", "[Proposed]", "PresentationContexts = Proposed", ""]
    path.write_text("\n".join(lines), encoding="ascii")
    return str(path), "Proposed"


# -- reading and comparing --------------------------------------------------


def read_dataset(path: Path) -> Dataset:
    """
    Read a Part 10 file completely.

    :param path: the file.
    :returns: the data set, with ``file_meta``.
    """
    return dcmread(path)


def _normalised_value(element: DataElement, little_endian: bool) -> Any:
    """
    Give an element's value in a form independent of the transfer syntax.

    :param element: a non-sequence element.
    :param little_endian: the byte order the element was read in.
    :returns: the decoded value; word-valued binary data in little endian.
    """
    value = element.value
    width = _SWAP_WIDTH.get(element.VR)
    if width and isinstance(value, bytes) and not little_endian:
        return _swap_words(value, width)
    return value


def _flatten(
    ds: Dataset, explicit: bool, little_endian: bool, where: str = ""
) -> Iterator[tuple[str, str | None, Any]]:
    """
    List every element of a data set, sequences included, outside group 2.

    :param ds: the data set or sequence item.
    :param explicit: whether VRs were read from the file (explicit VR).
    :param little_endian: the byte order the file was read in.
    :param where: the path of ``ds`` inside the top-level data set.
    :returns: ``(path, VR or None, value)`` triples; sequences yield their
        item count, then their items' elements.
    """
    for element in ds:
        if element.tag.group == 0x0002:
            continue
        path = f"{where}{element.tag}"
        vr = element.VR if explicit else None
        if element.VR == "SQ":
            yield path, vr, f"{len(element.value)} items"
            for number, item in enumerate(element.value):
                yield from _flatten(item, explicit, little_endian, f"{path}[{number}].")
        else:
            yield path, vr, _normalised_value(element, little_endian)


def _describe(ds: Dataset) -> tuple[bool, bool]:
    """
    Tell how a file read by :func:`read_dataset` was encoded.

    :param ds: the data set with its file meta information.
    :returns: ``(explicit VR, little endian)``.
    """
    syntax = UID(ds.file_meta.TransferSyntaxUID)
    return not syntax.is_implicit_VR, syntax.is_little_endian


def _difference(sent: tuple[str | None, Any], got: tuple[str | None, Any]) -> str:
    """
    Describe how two flattened elements differ, briefly.

    :param sent: ``(VR, value)`` as sent.
    :param got: ``(VR, value)`` as received.
    :returns: a one-line description.
    """
    (sent_vr, sent_value), (got_vr, got_value) = sent, got
    if sent_vr != got_vr:
        return f"VR {sent_vr} sent, {got_vr} received"
    if isinstance(sent_value, bytes) and isinstance(got_value, bytes):
        common = min(len(sent_value), len(got_value))
        offset = next(
            (i for i in range(common) if sent_value[i] != got_value[i]), common
        )
        return (
            f"{len(sent_value)} bytes sent, {len(got_value)} received, "
            f"first difference at byte {offset}"
        )
    return f"sent {sent_value!r:.80}, received {got_value!r:.80}"


def assert_same_dataset(sent_path: Path, received_path: Path) -> None:
    """
    Assert that two files hold the same data set, whatever their encoding.

    Compares every element outside group 0002, in sequences too: its tag, its
    VR when both files use explicit VR, and its decoded value (word-valued
    binary data after byte-order normalisation).  Undefined versus explicit
    lengths and the transfer syntax make no difference.

    :param sent_path: the file that was sent.
    :param received_path: the file the server stored.
    :raises AssertionError: listing the differing elements.
    """
    sent = read_dataset(sent_path)
    received = read_dataset(received_path)
    sent_explicit, sent_little = _describe(sent)
    received_explicit, received_little = _describe(received)
    explicit = sent_explicit and received_explicit
    expected = {
        path: (vr, value) for path, vr, value in _flatten(sent, explicit, sent_little)
    }
    actual = {
        path: (vr, value)
        for path, vr, value in _flatten(received, explicit, received_little)
    }
    problems = []
    for path in sorted(expected.keys() | actual.keys()):
        if path not in actual:
            problems.append(f"{path}: missing from the received file")
        elif path not in expected:
            problems.append(f"{path}: added by the server: {actual[path]!r:.80}")
        elif expected[path] != actual[path]:
            problems.append(f"{path}: {_difference(expected[path], actual[path])}")
    if problems:
        raise AssertionError(
            f"{received_path} differs from {sent_path}:\n  " + "\n  ".join(problems)
        )


#: Makers of the test objects, by a short name.
OBJECT_MAKERS: dict[str, Callable[[str], Dataset]] = {
    "ct": make_ct,
    "mr": make_mr,
    "sr": make_basic_text_sr,
    "rtplan": make_rt_plan,
    "pdf": make_encapsulated_pdf,
}
