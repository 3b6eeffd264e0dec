"""
Tests for dicomtw.scp: the default store handler writing real files, with
its blocking work run inline so that the tests stay synchronous.
"""

from __future__ import annotations

import errno
import io
import os
import tempfile
from typing import Any, Callable

import pydicom
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from dicomtw import reencode, scp, storage
from dicomtw.negotiation import AcceptedContext, Policy
from dicomtw.protocol import ServerSettings, StorageServerFactory
from dicomtw.scp import (
    AssociationInfo,
    FileSink,
    FileStore,
    FileStoreOptions,
    IStoreSink,
    StoreRequest,
    StoreResult,
)
from dicomtw.status import Status
from dicomtw.tap import DrainService
from dicomtw.storage import SPOOL_PREFIX, SpoolFile, StorageError

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
EVRLE = "1.2.840.10008.1.2.1"
IVR = "1.2.840.10008.1.2"
EVRBE = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"


def encode(
    sop_class: str | None = CT,
    sop_instance: str | None = "1.2.3.4",
    pixels: int = 0,
    implicit: bool = False,
    study: str | None = "1.2.3",
    patient: str = "Doe^John",
) -> bytes:
    """
    A data set with the given UIDs (left out when ``None``) and ``pixels``
    bytes of pixel data.
    """
    ds = Dataset()
    if sop_class is not None:
        ds.SOPClassUID = sop_class
    if sop_instance is not None:
        ds.SOPInstanceUID = sop_instance
    ds.PatientName = patient
    if study is not None:
        ds.StudyInstanceUID = study
    if pixels:
        ds.PixelData = bytes(range(256)) * (pixels // 256)
        ds["PixelData"].VR = "OB"
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = implicit
    write_dataset(buffer, ds)
    return buffer.getvalue()


def ct_request(sop_instance: str = "1.2.3.4", syntax: str = EVRLE) -> StoreRequest:
    """
    A C-STORE-RQ for a CT image on a context of ``syntax``.
    """
    return StoreRequest(
        AssociationInfo("1", "127.0.0.1:1", "SENDER", "STORESCP"),
        AcceptedContext(1, CT, syntax),
        1,
        CT,
        sop_instance,
    )


class InlineFileStore(FileStore):
    """
    A FileStore whose blocking work runs at once, in the test's thread.
    """

    def run_blocking(self, function: Callable[..., Any], *args: Any) -> Deferred[Any]:
        return maybeDeferred(function, *args)


class ManualStore(FileStore):
    """
    A FileStore whose sinks' blocking work waits in :attr:`pending` until
    the test runs it; the store's own spare spool files are made at once.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: list[tuple[Deferred[Any], Callable[..., Any], tuple[Any, ...]]]
        self.pending = []

    def run_blocking(self, function: Callable[..., Any], *args: Any) -> Deferred[Any]:
        if function == self.new_spare:
            return succeed(function(*args))
        d: Deferred[Any] = Deferred()
        self.pending.append((d, function, args))
        return d

    def run_next(self) -> None:
        """
        Run the oldest piece of waiting work, which must be the only one.
        """
        assert len(self.pending) == 1, f"{len(self.pending)} jobs at once"
        d, function, args = self.pending.pop(0)
        try:
            result = function(*args)
        except Exception:
            d.errback()
        else:
            d.callback(result)


class SpareSpoolTests(SynchronousTestCase):
    """
    The store makes each object's spool file ahead of time, unnamed, so
    that nothing of it shows in the directory unless it is committed.
    """

    def setUp(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="dicomtw-spare-")
        self.addCleanup(_remove_tree, self.directory)
        self.made = 0
        test = self

        class CountingStore(InlineFileStore):
            def new_spare(self) -> SpoolFile | None:
                test.made += 1
                return super().new_spare()

        self.store = CountingStore(
            FileStoreOptions(directory=self.directory), MemoryReactorClock()
        )
        self.addCleanup(self.store.close)
        probe = SpoolFile.unnamed(self.directory)
        if probe is None:
            self.skipTest("this system or file system makes no unnamed files")
        probe.discard()
        #: Whether each spool file made was unnamed.
        self.unnamed: list[bool] = []

        class RecordingSpoolFile(SpoolFile):
            def __init__(self, *args: Any, unnamed: bool = False, **kw: Any) -> None:
                test.unnamed.append(unnamed)
                super().__init__(*args, unnamed=unnamed, **kw)

        self.patch(scp, "SpoolFile", RecordingSpoolFile)

    def send(self, sop_instance: str, body: bytes | None = None) -> StoreResult:
        sink = self.store.begin(ct_request(sop_instance))
        body = (
            encode(sop_instance=sop_instance, pixels=300_000) if body is None else body
        )
        for start in range(0, len(body), 16372):
            sink.write(memoryview(body)[start : start + 16372])
        return self.successResultOf(sink.finish())

    def test_objects_use_spares(self) -> None:
        """
        The first object makes its own spool file and has the next one
        made; every later object takes the one made for it.  Only final
        files ever appear in the directory.
        """
        results = [self.send(f"1.2.{n}") for n in range(3)]
        self.assertEqual([r.status for r in results], [Status.SUCCESS] * 3)
        self.assertEqual(
            sorted(os.listdir(self.directory)), ["CT.1.2.0", "CT.1.2.1", "CT.1.2.2"]
        )
        self.assertEqual(self.made, 3)
        self.assertEqual(self.unnamed.count(False), 1)
        spare = self.store.take_spool()
        self.assertIsNotNone(spare)
        assert spare is not None
        spare.discard()

    def test_failed_object_leaves_nothing(self) -> None:
        """
        An object that fails after taking a spare leaves nothing behind.
        """
        self.send("1.2.0")
        result = self.send("1.2.1", encode(sop_instance="9.9", pixels=300_000))
        self.assertEqual(result.status, Status.DATA_SET_MISMATCH)
        self.assertEqual(os.listdir(self.directory), ["CT.1.2.0"])

    def test_close(self) -> None:
        """
        A closed store drops its spare and makes no more; objects are
        still stored.
        """
        self.send("1.2.0")
        self.store.close()
        self.assertIsNone(self.store.take_spool())
        self.assertEqual(self.send("1.2.1").status, Status.SUCCESS)
        self.assertEqual(self.made, 1)
        self.assertEqual(sorted(os.listdir(self.directory)), ["CT.1.2.0", "CT.1.2.1"])

    def test_closed_when_the_service_stops(self) -> None:
        """
        The front ends' drain service closes the store once the
        associations are done.
        """
        settings = ServerSettings(policy=Policy(frozenset({CT})), handler=self.store)
        drain = DrainService(StorageServerFactory(settings, MemoryReactorClock()), 1.0)
        drain.startService()
        self.assertIsNone(self.store.take_spool())
        self.successResultOf(drain.stopService())
        self.assertIsNone(self.store.take_spool())
        self.assertEqual(self.made, 1)

    def test_not_across_fork(self) -> None:
        """
        A spare made by another process (the parent of a forked child) is
        not used.
        """
        self.assertIsNone(self.store.take_spool())
        self.patch(os, "getpid", lambda: -1)
        self.assertIsNone(self.store.take_spool())
        self.assertEqual(self.made, 2)

    def test_no_unnamed_files(self) -> None:
        """
        Where unnamed files cannot be made, the store stops trying after
        the first attempt, and objects are stored as before.
        """
        self.patch(storage, "_O_TMPFILE", 0)
        results = [self.send(f"1.2.{n}") for n in range(3)]
        self.assertEqual([r.status for r in results], [Status.SUCCESS] * 3)
        self.assertEqual(self.made, 1)
        self.assertEqual(
            sorted(os.listdir(self.directory)), ["CT.1.2.0", "CT.1.2.1", "CT.1.2.2"]
        )
        self.assertEqual(self.unnamed.count(False), 3)


class FileSinkTests(SynchronousTestCase):
    """
    One data set in, one file (or nothing) out.
    """

    def setUp(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="dicomtw-scp-")
        self.addCleanup(_remove_tree, self.directory)

    def store(
        self,
        body: bytes,
        sop_class: str = CT,
        sop_instance: str = "1.2.3.4",
        syntax: str = EVRLE,
        fragment: int = 16372,
        **options: Any,
    ) -> StoreResult:
        """
        Send ``body`` through a sink in fragments and return the result.
        """
        store = self.new_store(
            FileStoreOptions(directory=self.directory, **options), MemoryReactorClock()
        )
        request = StoreRequest(
            AssociationInfo("1", "127.0.0.1:1", "SENDER", "STORESCP"),
            AcceptedContext(1, sop_class, syntax),
            1,
            sop_class,
            sop_instance,
        )
        sink = store.begin(request)
        for start in range(0, len(body), fragment):
            sink.write(memoryview(body)[start : start + fragment])
        return self.successResultOf(sink.finish())

    def new_store(
        self,
        options: FileStoreOptions,
        reactor: Any,
        kind: type[FileStore] = InlineFileStore,
    ) -> FileStore:
        """
        A store (by default one whose blocking work runs at once), closed
        after the test.
        """
        store = kind(options, reactor)
        self.addCleanup(store.close)
        return store

    def listing(self) -> list[str]:
        return sorted(os.listdir(self.directory))

    def spooled(self, sink: IStoreSink) -> int:
        """
        How many bytes of the sink's spool file are on disk.
        """
        return sum(
            os.path.getsize(os.path.join(self.directory, name))
            for name in self.listing()
            if name.startswith(SPOOL_PREFIX)
        )

    def test_stores_part10_file(self) -> None:
        """
        A good object becomes ``CT.<uid>`` with the reference's file meta
        information and the data set as received.
        """
        body = encode(pixels=100_000)
        result = self.store(body)
        self.assertEqual(result.status, Status.SUCCESS)
        self.assertEqual(self.listing(), ["CT.1.2.3.4"])
        path = os.path.join(self.directory, "CT.1.2.3.4")
        self.assertEqual(result.path, path)
        with open(path, "rb") as stream:
            content = stream.read()
        self.assertTrue(content.endswith(body))
        meta = pydicom.dcmread(path).file_meta
        self.assertEqual(meta.MediaStorageSOPClassUID, CT)
        self.assertEqual(meta.MediaStorageSOPInstanceUID, "1.2.3.4")
        self.assertEqual(meta.TransferSyntaxUID, EVRLE)
        self.assertEqual(meta.SourceApplicationEntityTitle, "SENDER")

    def test_one_byte_fragments(self) -> None:
        """
        Fragments of one byte give the same file.
        """
        body = encode()
        result = self.store(body, fragment=1)
        self.assertEqual(result.status, Status.SUCCESS)
        self.assertEqual(pydicom.dcmread(result.path).SOPInstanceUID, "1.2.3.4")

    def test_instance_mismatch(self) -> None:
        """
        A data set whose SOP Instance UID differs from the command's gets
        0xA900 and leaves nothing on disk.
        """
        result = self.store(encode(sop_instance="9.9.9"), fragment=10)
        self.assertEqual(result.status, Status.DATA_SET_MISMATCH)
        self.assertEqual(self.listing(), [])

    def test_class_mismatch(self) -> None:
        """
        A data set whose SOP Class UID differs gets 0xA900, nothing on
        disk.
        """
        result = self.store(encode(sop_class=MR, pixels=300_000))
        self.assertEqual(result.status, Status.DATA_SET_MISMATCH)
        self.assertEqual(self.listing(), [])

    def test_missing_uids(self) -> None:
        """
        A data set without SOP Instance UID gets 0xC000, nothing on disk.
        """
        result = self.store(encode(sop_instance=None))
        self.assertEqual(result.status, Status.CANNOT_UNDERSTAND)
        self.assertEqual(self.listing(), [])

    def test_truncated_data_set(self) -> None:
        """
        A data set that ends inside an element gets 0xC000, nothing on
        disk.
        """
        result = self.store(encode(pixels=300_000)[:-1000])
        self.assertEqual(result.status, Status.CANNOT_UNDERSTAND)
        self.assertEqual(self.listing(), [])

    def test_disk_full(self) -> None:
        """
        ENOSPC while spooling gives 0xA700 and leaves no partial file.
        """

        def full(fd: int, buffers: object) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        self.patch(os, "writev", full)
        result = self.store(encode(pixels=400_000))
        self.assertEqual(result.status, Status.OUT_OF_RESOURCES)
        self.assertEqual(self.listing(), [])

    def test_directory_in_the_way(self) -> None:
        """
        A directory under the final name gives 0xA700, leaves the
        directory alone and no spool file behind.
        """
        os.mkdir(os.path.join(self.directory, "CT.1.2.3.4"))
        result = self.store(encode())
        self.assertEqual(result.status, Status.OUT_OF_RESOURCES)
        self.assertEqual(self.listing(), ["CT.1.2.3.4"])
        self.assertTrue(os.path.isdir(os.path.join(self.directory, "CT.1.2.3.4")))

    def test_overwrite(self) -> None:
        """
        The same instance twice replaces the file, and says so.
        """
        self.assertFalse(self.store(encode()).replaced)
        self.assertTrue(self.store(encode()).replaced)
        self.assertEqual(self.listing(), ["CT.1.2.3.4"])

    def test_on_duplicate_keep(self) -> None:
        """
        ``--on-duplicate keep`` leaves the first file and answers success.
        """
        self.store(encode(pixels=256))
        result = self.store(encode(pixels=512), on_duplicate="keep")
        self.assertEqual(result.status, Status.SUCCESS)
        self.assertEqual(self.listing(), ["CT.1.2.3.4"])
        path = os.path.join(self.directory, "CT.1.2.3.4")
        self.assertEqual(pydicom.dcmread(path).PixelData, bytes(range(256)))

    def test_on_duplicate_unique(self) -> None:
        """
        ``--on-duplicate unique`` stores later copies under numbered names,
        before the extension.
        """
        for _ in range(3):
            result = self.store(encode(), on_duplicate="unique", extension=".dcm")
            self.assertEqual(result.status, Status.SUCCESS)
        self.assertEqual(
            self.listing(), ["CT.1.2.3.4.dcm", "CT.1.2.3.4_1.dcm", "CT.1.2.3.4_2.dcm"]
        )
        self.assertTrue(result.path.endswith("CT.1.2.3.4_2.dcm"))

    def test_on_duplicate_reject(self) -> None:
        """
        ``--on-duplicate reject`` answers 0x0111 and changes nothing.
        """
        self.store(encode(pixels=256))
        result = self.store(encode(pixels=512), on_duplicate="reject")
        self.assertEqual(result.status, Status.DUPLICATE_SOP_INSTANCE)
        self.assertEqual(self.listing(), ["CT.1.2.3.4"])
        path = os.path.join(self.directory, "CT.1.2.3.4")
        self.assertEqual(pydicom.dcmread(path).PixelData, bytes(range(256)))

    def test_concurrent_same_instance(self) -> None:
        """
        Two interleaved stores of the same instance leave one whole file,
        never a mixture.
        """
        store = self.new_store(
            FileStoreOptions(directory=self.directory), MemoryReactorClock()
        )
        first, second = encode(pixels=600_000), encode(pixels=900_000)
        sink_a, sink_b = store.begin(ct_request()), store.begin(ct_request())
        half = len(first) // 2
        sink_a.write(memoryview(first)[:half])
        sink_b.write(memoryview(second)[:half])
        sink_a.write(memoryview(first)[half:])
        self.assertEqual(self.successResultOf(sink_a.finish()).status, Status.SUCCESS)
        sink_b.write(memoryview(second)[half:])
        self.assertEqual(self.successResultOf(sink_b.finish()).status, Status.SUCCESS)
        with open(os.path.join(self.directory, "CT.1.2.3.4"), "rb") as stream:
            self.assertTrue(stream.read().endswith(second))
        self.assertEqual(self.listing(), ["CT.1.2.3.4"])

    def test_sort_on_study_uid(self) -> None:
        """
        ``-su`` puts objects into ``<prefix>_<Study Instance UID>``.
        """
        result = self.store(encode(), sort="sort-on-study-uid", sort_prefix="S")
        self.assertEqual(result.status, Status.SUCCESS)
        self.assertEqual(
            result.path, os.path.join(self.directory, "S_1.2.3", "CT.1.2.3.4")
        )

    def test_sort_refuses_parent_directory(self) -> None:
        """
        With an empty prefix, a Study Instance UID of ``..`` is refused
        with 0xC000 instead of writing into the parent directory.
        """
        result = self.store(encode(study=".."), sort="sort-on-study-uid")
        self.assertEqual(result.status, Status.CANNOT_UNDERSTAND)
        self.assertEqual(self.listing(), [])
        self.assertNotIn("CT.1.2.3.4", os.listdir(os.path.dirname(self.directory)))

    def test_sort_hostile_patient_name(self) -> None:
        """
        ``-sp`` with a patient name of ``../../x`` stays inside the output
        directory.
        """
        result = self.store(encode(patient="../../x"), sort="sort-on-patientname")
        self.assertEqual(result.status, Status.SUCCESS)
        [study] = self.listing()
        self.assertRegex(study, r"^______x_\d{8}_\d{9}$")

    def test_sort_needs_study_uid(self) -> None:
        """
        Without a Study Instance UID, sorting answers 0xC000 and writes
        nothing.
        """
        result = self.store(encode(study=None), sort="sort-conc-studies")
        self.assertEqual(result.status, Status.CANNOT_UNDERSTAND)
        self.assertEqual(self.listing(), [])

    def test_bit_preserving(self) -> None:
        """
        With +B the meta information comes from the command, with the
        bit-preserving version name, and the bytes are unchanged.
        """
        body = encode(implicit=True)
        result = self.store(body, syntax=IVR, bit_preserving=True)
        with open(result.path, "rb") as stream:
            self.assertTrue(stream.read().endswith(body))
        meta = pydicom.dcmread(result.path).file_meta
        self.assertEqual(meta.TransferSyntaxUID, IVR)
        self.assertTrue(meta.ImplementationVersionName.startswith("DICOMTW_BP"))

    def test_write_dataset(self) -> None:
        """
        With -F only the data set is written.
        """
        body = encode()
        result = self.store(body, write_dataset=True)
        with open(result.path, "rb") as stream:
            self.assertEqual(stream.read(), body)

    def test_extension(self) -> None:
        """
        -fe is appended verbatim.
        """
        self.store(encode(), extension=".dcm")
        self.assertEqual(self.listing(), ["CT.1.2.3.4.dcm"])

    def test_hostile_instance_uid(self) -> None:
        """
        A SOP Instance UID with path characters is sanitised and stays
        inside the directory.
        """
        uid = "../../x/\0y"
        result = self.store(encode(sop_instance=uid), sop_instance=uid)
        self.assertEqual(result.status, Status.SUCCESS)
        self.assertEqual(self.listing(), ["CT..._.._x__y"])

    def test_ignore(self) -> None:
        """
        --ignore answers success and writes nothing.
        """
        result = self.store(encode(sop_instance="9.9"), ignore=True)
        self.assertEqual(result.status, Status.SUCCESS)
        self.assertEqual(self.listing(), [])

    def test_memory_bounded(self) -> None:
        """
        While the writer is busy, the sink asks to pause once HIGH_WATER
        bytes wait, so memory stays bounded whatever the object's size.
        """
        pending: list[Deferred[None]] = []

        class SlowStore(FileStore):
            def run_blocking(
                self, function: Callable[..., Any], *args: Any
            ) -> Deferred[Any]:
                d: Deferred[Any] = Deferred()
                pending.append(d)
                d.addCallback(lambda _: function(*args))
                return d

        store = SlowStore(FileStoreOptions(directory=self.directory), None)
        sink = store.begin(ct_request())
        body = encode(pixels=4_000_000)
        paused = None
        written = 0
        for start in range(0, len(body), 16372):
            paused = sink.write(memoryview(body)[start : start + 16372])
            written += 16372
            if paused is not None:
                break
        self.assertIsNotNone(paused)
        self.assertLessEqual(written, 2 * scp.HIGH_WATER + 16372)
        while pending:
            pending.pop(0).callback(None)
        self.assertIsNone(self.successResultOf(paused))

    def test_reentrant_resume(self) -> None:
        """
        When a batch completes and releases the paused adapter, the
        adapter may write the rest and finish at once; the sink still runs
        one piece of blocking work at a time and stores the object whole,
        whatever the object's size.
        """
        for size in range(1_000_000, 1_000_000 + 16 * 65_536, 65_536):
            self.reentrant_resume(size)

    def test_reentrant_resume_converting(self) -> None:
        """
        The same while converting, with data sets held in memory and data
        sets that outgrow CONVERT_IN_MEMORY and are spooled after all.
        """
        self.patch(scp, "CONVERT_IN_MEMORY", 1_400_000)
        for size in range(1_000_000, 1_000_000 + 16 * 65_536, 65_536):
            self.reentrant_resume(size, convert=True)

    def reentrant_resume(self, size: int, convert: bool = False) -> None:
        if convert:
            options = FileStoreOptions(directory=self.directory, transfer_syntax=EVRLE)
            request = ct_request(syntax=IVR)
        else:
            options = FileStoreOptions(directory=self.directory)
            request = ct_request()
        store = self.new_store(options, None, ManualStore)
        assert isinstance(store, ManualStore)
        pending = store.pending
        sink = store.begin(request)
        body = encode(pixels=size, implicit=convert)
        fragments = [body[i : i + 16372] for i in range(0, len(body), 16372)]
        results: list[StoreResult] = []

        def feed(_: object = None) -> None:
            while fragments:
                paused = sink.write(fragments.pop(0))
                if paused is not None:
                    paused.addCallback(feed)
                    return
            sink.finish().addCallback(results.append)

        feed()
        while pending:
            self.assertEqual(len(pending), 1, f"two blocking jobs at once ({size})")
            d, function, args = pending.pop(0)
            d.callback(function(*args))
        self.assertEqual(len(results), 1, f"never finished ({size})")
        [result] = results
        self.assertEqual(result.status, Status.SUCCESS)
        if convert:
            written = pydicom.dcmread(result.path)
            self.assertEqual(written.file_meta.TransferSyntaxUID, EVRLE)
            self.assertEqual(written.PixelData, bytes(range(256)) * (size // 256))
        else:
            with open(result.path, "rb") as stream:
                self.assertTrue(stream.read().endswith(body))
        self.assertEqual(self.listing(), ["CT.1.2.3.4"])
        os.remove(result.path)

    def converted(self, body: bytes, **options: Any) -> bytes:
        result = self.store(body, syntax=IVR, **options)
        self.assertEqual(result.status, Status.SUCCESS)
        with open(result.path, "rb") as stream:
            content = stream.read()
        os.remove(result.path)
        return content

    def test_conversion_paths_agree(self) -> None:
        """
        A data set is converted as it arrives (between uncompressed
        syntaxes), in memory once whole (up to CONVERT_IN_MEMORY bytes), or
        from its spool file; all three write the same file.
        """
        body = encode(pixels=300_000, implicit=True)
        for syntax, level in [(EVRLE, 6), (EVRBE, 6), (DEFLATED, 9), (DEFLATED, 0)]:
            options = dict(transfer_syntax=syntax, compression_level=level)
            files = [self.converted(body, **options)]
            self.patch(scp, "STREAMABLE", frozenset())
            files.append(self.converted(body, **options))
            self.patch(scp, "CONVERT_IN_MEMORY", 0)
            files.append(self.converted(body, **options))
            self.patch(scp, "CONVERT_IN_MEMORY", 4 << 20)
            self.patch(scp, "STREAMABLE", reencode.STREAMABLE)
            self.assertEqual(files[1], files[0], syntax)
            self.assertEqual(files[2], files[0], syntax)
            meta = pydicom.dcmread(io.BytesIO(files[0])).file_meta
            self.assertEqual(meta.TransferSyntaxUID, syntax)

    def test_conversion_streamed(self) -> None:
        """
        Converted between uncompressed syntaxes, a data set is written to
        its spool file while it arrives, never held whole.
        """
        store = self.new_store(
            FileStoreOptions(directory=self.directory, transfer_syntax=EVRBE),
            MemoryReactorClock(),
        )
        request = ct_request(syntax=IVR)
        sink = store.begin(request)
        body = encode(pixels=3_000_000, implicit=True)
        step = 16372
        for start in range(0, len(body), step):
            sink.write(memoryview(body)[start : start + step])
            self.assertLess(sink._pending_size, scp.FLUSH_SIZE + 2 * step)
        result = self.successResultOf(sink.finish())
        self.assertEqual(result.status, Status.SUCCESS)
        written = pydicom.dcmread(result.path)
        self.assertEqual(written.file_meta.TransferSyntaxUID, EVRBE)
        # Pixel Data is OW: its words are big endian in the file.
        expected = bytes(range(256)) * (3_000_000 // 256)
        self.assertEqual(written.PixelData, reencode.swap(expected, 2))

    def test_conversion_memory_bounded(self) -> None:
        """
        A data set to be converted is held in memory, with nothing written
        to its spool file, until it passes CONVERT_IN_MEMORY bytes; then it
        is spooled like any other and its memory is released.
        """
        self.patch(scp, "CONVERT_IN_MEMORY", 1 << 20)
        store = self.new_store(
            FileStoreOptions(directory=self.directory, transfer_syntax=DEFLATED),
            MemoryReactorClock(),
        )
        request = ct_request(syntax=IVR)
        sink = store.begin(request)
        body = encode(pixels=3_000_000, implicit=True)
        step = 16372
        spooled_at = None
        for start in range(0, len(body), step):
            sink.write(memoryview(body)[start : start + step])
            spooled = self.spooled(sink) > 0
            if spooled_at is None and spooled:
                spooled_at = start + step
            if spooled:
                self.assertLess(sink._pending_size, scp.FLUSH_SIZE)
        self.assertIsNotNone(spooled_at)
        self.assertGreater(spooled_at, 1 << 20)
        self.assertLessEqual(spooled_at, (1 << 20) + step)
        result = self.successResultOf(sink.finish())
        self.assertEqual(result.status, Status.SUCCESS)
        self.assertEqual(self.listing(), ["CT.1.2.3.4"])
        written = pydicom.dcmread(result.path)
        self.assertEqual(written.file_meta.TransferSyntaxUID, DEFLATED)
        self.assertEqual(written.PixelData, bytes(range(256)) * (3_000_000 // 256))

    def started_batch(self, **options: Any) -> tuple[ManualStore, IStoreSink]:
        """
        A sink that has received a whole object and whose batch write is
        still waiting to run, and the store holding that work.
        """
        store = self.new_store(
            FileStoreOptions(directory=self.directory, **options),
            MemoryReactorClock(),
            ManualStore,
        )
        assert isinstance(store, ManualStore)
        sink = store.begin(ct_request())
        body = encode(pixels=300_032)
        for start in range(0, len(body), 16372):
            self.assertIsNone(sink.write(memoryview(body)[start : start + 16372]))
        self.assertEqual(len(store.pending), 1)
        return store, sink

    def test_commit_after_batch_in_one_job(self) -> None:
        """
        An object that ends while a batch write waits is committed by that
        same piece of work, right after the write.
        """
        store, sink = self.started_batch()
        results: list[StoreResult] = []
        sink.finish().addCallback(results.append)
        self.assertEqual(len(store.pending), 1)
        store.run_next()
        self.assertEqual(store.pending, [])
        [result] = results
        self.assertEqual(result.status, Status.SUCCESS)
        self.assertEqual(self.listing(), ["CT.1.2.3.4"])
        self.assertEqual(len(pydicom.dcmread(result.path).PixelData), 300_032)

    def test_batch_fails_with_commit_attached(self) -> None:
        """
        If that batch write fails, the store fails and nothing is left.
        """
        store, sink = self.started_batch()
        results: list[StoreResult] = []
        sink.finish().addCallback(results.append)

        def full(*args: Any) -> None:
            raise StorageError(errno.ENOSPC, "No space left on device", "x")

        assert isinstance(sink, FileSink)
        self.patch(sink, "_write_blocking", full)
        store.run_next()
        while store.pending:
            store.run_next()
        [result] = results
        self.assertEqual(result.status, Status.OUT_OF_RESOURCES)
        self.assertEqual(self.listing(), [])
        self.assertEqual(self.spooled(sink), 0)

    def test_commit_fails_after_batch(self) -> None:
        """
        If the commit that follows fails, the store fails and nothing but
        what was in the way is left.
        """
        os.mkdir(os.path.join(self.directory, "CT.1.2.3.4"))
        store, sink = self.started_batch()
        results: list[StoreResult] = []
        sink.finish().addCallback(results.append)
        store.run_next()
        while store.pending:
            store.run_next()
        [result] = results
        self.assertEqual(result.status, Status.OUT_OF_RESOURCES)
        self.assertIn("Is a directory", result.detail)
        self.assertEqual(self.listing(), ["CT.1.2.3.4"])
        self.assertEqual(self.spooled(sink), 0)

    def test_abandon(self) -> None:
        """
        An association that breaks off mid-object leaves no spool file.
        """
        store = self.new_store(
            FileStoreOptions(directory=self.directory), MemoryReactorClock()
        )
        sink = store.begin(ct_request())
        body = encode(pixels=1_000_000)
        sink.write(memoryview(body)[:600_000])
        self.assertGreater(self.spooled(sink), 0)
        sink.abandon()
        self.assertEqual(self.listing(), [])
        self.assertEqual(self.spooled(sink), 0)


def _remove_tree(directory: str) -> None:
    for root, dirs, files in os.walk(directory, topdown=False):
        for name in files:
            os.unlink(os.path.join(root, name))
        for name in dirs:
            os.rmdir(os.path.join(root, name))
    os.rmdir(directory)


class FileSinkSpareTests(FileSinkTests):
    """
    The same with the unnamed spool file the store makes for each object
    after the first.
    """

    def new_store(
        self,
        options: FileStoreOptions,
        reactor: Any,
        kind: type[FileStore] = InlineFileStore,
    ) -> FileStore:
        store = super().new_store(options, reactor, kind)
        self.assertIsNone(store.take_spool())
        if store._spare is None:
            self.skipTest("this system or file system makes no unnamed files")
        return store

    def spooled(self, sink: IStoreSink) -> int:
        """
        The unnamed spool file is not in the directory: its size is read
        through its descriptor, while it is open.
        """
        self.assertEqual([n for n in self.listing() if n.startswith(SPOOL_PREFIX)], [])
        assert isinstance(sink, FileSink)
        spool = sink._spool
        if spool is None or spool._fd is None:
            return 0
        return os.fstat(spool._fd).st_size
