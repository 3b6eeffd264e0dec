"""
Tests for :mod:`dicomtw.storage`: file meta information and spool files.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence

import pydicom
from hypothesis import given
from hypothesis import strategies as st
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import UID
from twisted.trial.unittest import SynchronousTestCase

from dicomtw import storage
from dicomtw.errors import UsageError
from dicomtw.storage import (
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    IMPLEMENTATION_VERSION_NAME_BP,
    PREAMBLE,
    SPOOL_PREFIX,
    SPOOL_SUFFIX,
    FileMeta,
    SpoolFile,
    StorageError,
    encode_file_meta,
)
from dicomtw.uids import EXPLICIT_BIG, EXPLICIT_LITTLE, IMPLICIT_LITTLE

CT = "1.2.840.10008.5.1.4.1.1.2"


def _pydicom_meta(meta: FileMeta) -> bytes:
    """
    Encode the same meta information with pydicom, as a reference.

    :param meta: the values.
    :returns: preamble, ``DICM`` and pydicom's group 0002.
    """
    file_meta = FileMetaDataset()
    file_meta.MediaStorageSOPClassUID = UID(meta.sop_class)
    file_meta.MediaStorageSOPInstanceUID = UID(meta.sop_instance)
    file_meta.TransferSyntaxUID = UID(meta.transfer_syntax)
    file_meta.ImplementationClassUID = UID(meta.implementation_class_uid)
    file_meta.ImplementationVersionName = meta.implementation_version_name
    file_meta.SourceApplicationEntityTitle = meta.source_ae
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = False
    write_file_meta_info(fp, file_meta)
    return b"\x00" * 128 + b"DICM" + fp.getvalue()


def _data_set(syntax: str) -> bytes:
    """
    Encode a small data set.

    :param syntax: one of the three uncompressed transfer syntaxes.
    :returns: the data set bytes.
    """
    ds = Dataset()
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.PatientName = "Doe^Jon"
    fp = DicomBytesIO()
    fp.is_little_endian = syntax != EXPLICIT_BIG
    fp.is_implicit_VR = syntax == IMPLICIT_LITTLE
    write_dataset(fp, ds)
    return fp.getvalue()


_uids = st.from_regex(r"\A[1-9][0-9]{0,2}(\.(0|[1-9][0-9]{0,5})){1,8}\Z")
_aes = st.from_regex(r"\A[A-Z0-9_]{1,16}\Z")


class FileMetaTests(SynchronousTestCase):
    """
    :func:`encode_file_meta` writes group 0002 exactly as pydicom does.
    """

    def test_matches_pydicom(self) -> None:
        """
        The bytes equal pydicom's for odd and even value lengths.
        """
        for instance, ae in (("1.2.3.4.5", "STORESCU"), ("1.2.3.4", "ODD")):
            meta = FileMeta(CT, instance, EXPLICIT_LITTLE, ae)
            self.assertEqual(encode_file_meta(meta), _pydicom_meta(meta))

    @given(sop_class=_uids, instance=_uids, syntax=_uids, ae=_aes)
    def test_matches_pydicom_for_any_values(
        self, sop_class: str, instance: str, syntax: str, ae: str
    ) -> None:
        """
        The bytes equal pydicom's for any UIDs and AE title.
        """
        meta = FileMeta(sop_class, instance, syntax, ae)
        self.assertEqual(encode_file_meta(meta), _pydicom_meta(meta))

    def test_read_back_by_pydicom(self) -> None:
        """
        pydicom reads a file of meta plus data set back, values intact.
        """
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        for syntax in (IMPLICIT_LITTLE, EXPLICIT_LITTLE, EXPLICIT_BIG):
            meta = FileMeta(
                CT,
                "1.2.3.4.5",
                syntax,
                "SCU",
                IMPLEMENTATION_CLASS_UID,
                IMPLEMENTATION_VERSION_NAME_BP,
            )
            path = os.path.join(directory, "f.dcm")
            with open(path, "wb") as f:
                f.write(encode_file_meta(meta) + _data_set(syntax))
            ds = pydicom.dcmread(path)
            self.assertEqual(ds.file_meta.MediaStorageSOPClassUID, CT)
            self.assertEqual(ds.file_meta.MediaStorageSOPInstanceUID, "1.2.3.4.5")
            self.assertEqual(ds.file_meta.TransferSyntaxUID, syntax)
            self.assertEqual(
                ds.file_meta.ImplementationClassUID, IMPLEMENTATION_CLASS_UID
            )
            self.assertEqual(
                ds.file_meta.ImplementationVersionName, IMPLEMENTATION_VERSION_NAME_BP
            )
            self.assertEqual(ds.file_meta.SourceApplicationEntityTitle, "SCU")
            self.assertEqual(ds.file_meta.FileMetaInformationVersion, b"\x00\x01")
            self.assertEqual(ds.PatientName, "Doe^Jon")

    def test_layout(self) -> None:
        """
        The file starts with 128 zero bytes and ``DICM``, then (0002,0000)
        UL whose value is the length of the rest of group 0002.
        """
        encoded = encode_file_meta(FileMeta(CT, "1.2", EXPLICIT_LITTLE, "A"))
        self.assertEqual(encoded[:132], PREAMBLE)
        self.assertEqual(encoded[132:140], b"\x02\x00\x00\x00UL\x04\x00")
        self.assertEqual(int.from_bytes(encoded[140:144], "little"), len(encoded) - 144)

    def test_defaults_are_dicomtw(self) -> None:
        """
        The implementation identity defaults to dicomtw's own, and the
        version names are valid SH values that differ between modes.
        """
        meta = FileMeta(CT, "1.2", EXPLICIT_LITTLE, "A")
        self.assertEqual(meta.implementation_class_uid, IMPLEMENTATION_CLASS_UID)
        self.assertTrue(IMPLEMENTATION_CLASS_UID.startswith("2.25."))
        self.assertLessEqual(len(IMPLEMENTATION_CLASS_UID), 64)
        self.assertEqual(meta.implementation_version_name, IMPLEMENTATION_VERSION_NAME)
        for name in (IMPLEMENTATION_VERSION_NAME, IMPLEMENTATION_VERSION_NAME_BP):
            self.assertLessEqual(len(name), 16)
            self.assertNotIn("\\", name)
        self.assertNotEqual(IMPLEMENTATION_VERSION_NAME, IMPLEMENTATION_VERSION_NAME_BP)

    def test_too_long_value(self) -> None:
        """
        A value that does not fit a 2-byte length is refused.
        """
        meta = FileMeta(CT, "1" * 70000, EXPLICIT_LITTLE, "A")
        self.assertRaises(ValueError, encode_file_meta, meta)


class SpoolFileTests(SynchronousTestCase):
    """
    :class:`SpoolFile` writes, commits and discards temporary files.
    """

    def setUp(self) -> None:
        """
        Make a scratch output directory.
        """
        self.directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.directory)

    def make(self, fsync: bool = True) -> SpoolFile:
        """
        :returns: a new spool file in the output directory.
        """
        return SpoolFile(self.directory, fsync=fsync)

    def listing(self) -> list[str]:
        """
        :returns: the names in the output directory, sorted.
        """
        return sorted(os.listdir(self.directory))

    def read(self, name: str) -> bytes:
        """
        :param name: a file in the output directory.
        :returns: its contents.
        """
        with open(os.path.join(self.directory, name), "rb") as f:
            return f.read()

    def test_spool_name_and_mode(self) -> None:
        """
        The spool file is hidden, in the directory, and created with mode
        0o666 less the umask.
        """
        old = os.umask(0o027)
        try:
            spool = SpoolFile(self.directory)
        finally:
            os.umask(old)
        self.addCleanup(spool.discard)
        name = os.path.basename(spool.path)
        self.assertEqual(os.path.dirname(spool.path), self.directory)
        self.assertTrue(name.startswith(SPOOL_PREFIX) and name.endswith(SPOOL_SUFFIX))
        self.assertEqual(stat.S_IMODE(os.stat(spool.path).st_mode), 0o640)

    def test_write_and_commit(self) -> None:
        """
        Chunks of every buffer kind are written in order, and the commit
        leaves only the final file.
        """
        spool = self.make()
        data = memoryview(b"0123456789")
        spool.write_chunks([b"head", data[2:5], bytearray(b"xy"), b""])
        spool.write_chunks([memoryview(b"tail")])
        self.assertEqual(spool.size, 13)
        final = os.path.join(self.directory, "CT.1.2")
        self.assertFalse(spool.commit(final))
        self.assertEqual(self.listing(), ["CT.1.2"])
        self.assertEqual(self.read("CT.1.2"), b"head234xytail")
        self.assertEqual(spool.final_path, final)

    def test_commit_replaces(self) -> None:
        """
        Committing over an existing file replaces it and says so.
        """
        final = os.path.join(self.directory, "CT.1")
        with open(final, "wb") as f:
            f.write(b"old")
        spool = self.make()
        spool.write_chunks([b"new"])
        self.assertTrue(spool.commit(final))
        self.assertEqual(self.listing(), ["CT.1"])
        self.assertEqual(self.read("CT.1"), b"new")

    def test_commit_without_overwrite(self) -> None:
        """
        Without ``overwrite`` an existing file is left untouched, the spool
        file disappears and the result is False; a free name is taken and
        the result is True.
        """
        final = os.path.join(self.directory, "CT.1")
        with open(final, "wb") as f:
            f.write(b"old")
        spool = self.make()
        spool.write_chunks([b"new"])
        self.assertFalse(spool.commit(final, overwrite=False))
        self.assertEqual(self.listing(), ["CT.1"])
        self.assertEqual(self.read("CT.1"), b"old")
        spool = self.make()
        spool.write_chunks([b"new"])
        self.assertTrue(spool.commit(final + "x", overwrite=False))
        self.assertEqual(self.listing(), ["CT.1", "CT.1x"])
        self.assertEqual(self.read("CT.1x"), b"new")

    def test_commit_into_subdirectory(self) -> None:
        """
        A spool file can be committed into a study subdirectory.
        """
        os.mkdir(os.path.join(self.directory, "study"))
        spool = self.make()
        spool.write_chunks([b"x"])
        spool.commit(os.path.join(self.directory, "study", "CT.1"))
        self.assertEqual(self.listing(), ["study"])
        self.assertEqual(self.read(os.path.join("study", "CT.1")), b"x")

    def test_reopen(self) -> None:
        """
        What was written can be read back through a new descriptor.
        """
        spool = self.make()
        self.addCleanup(spool.discard)
        spool.write_chunks([b"abc", b"def"])
        fd = spool.reopen()
        try:
            self.assertEqual(os.pread(fd, 100, 2), b"cdef")
        finally:
            os.close(fd)

    def test_discard(self) -> None:
        """
        Discarding removes the spool file; doing it twice is harmless.
        """
        spool = self.make()
        spool.write_chunks([b"x"])
        spool.discard()
        spool.discard()
        self.assertEqual(self.listing(), [])

    def test_discard_after_commit(self) -> None:
        """
        Discarding a committed file keeps the committed file.
        """
        spool = self.make()
        spool.write_chunks([b"x"])
        spool.commit(os.path.join(self.directory, "CT.1"))
        spool.discard()
        self.assertEqual(self.listing(), ["CT.1"])

    def test_use_after_close(self) -> None:
        """
        Writing to or committing a closed spool file is a local bug.
        """
        spool = self.make()
        spool.discard()
        self.assertRaises(UsageError, spool.write_chunks, [b"x"])
        self.assertRaises(UsageError, spool.commit, os.path.join(self.directory, "x"))

    def patch_writev(self, fake: Callable[[int, Sequence[memoryview]], int]) -> None:
        """
        Replace :func:`os.writev` for the duration of the test.

        :param fake: the replacement.
        """
        self.patch(os, "writev", fake)

    def test_short_writes(self) -> None:
        """
        Short writes are resumed where they stopped.
        """
        real = os.writev

        def short(fd: int, buffers: Sequence[memoryview]) -> int:
            return real(fd, [bytes(buffers[0][:3])])

        self.patch_writev(short)
        spool = self.make()
        spool.write_chunks([b"abcdefg", b"h", b"ijklmnop"])
        spool.commit(os.path.join(self.directory, "CT.1"))
        self.assertEqual(self.read("CT.1"), b"abcdefghijklmnop")

    def test_many_chunks(self) -> None:
        """
        More chunks than one ``writev`` call takes are written in batches.
        """
        chunks = [bytes([n % 256]) for n in range(5000)]
        spool = self.make()
        spool.write_chunks(chunks)
        spool.commit(os.path.join(self.directory, "CT.1"))
        self.assertEqual(self.read("CT.1"), b"".join(chunks))

    def test_disk_full(self) -> None:
        """
        ``ENOSPC`` comes out as :class:`StorageError`, and discarding then
        leaves nothing behind.
        """

        def full(fd: int, buffers: Sequence[memoryview]) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        spool = self.make()
        self.patch_writev(full)
        with self.assertRaises(StorageError) as caught:
            spool.write_chunks([b"x"])
        self.assertEqual(caught.exception.errno, errno.ENOSPC)
        self.assertEqual(str(caught.exception), os.strerror(errno.ENOSPC))
        self.assertEqual(caught.exception.path, spool.path)
        spool.discard()
        self.assertEqual(self.listing(), [])

    def test_no_progress(self) -> None:
        """
        A write that makes no progress is an error, not an endless loop.
        """
        self.patch_writev(lambda fd, buffers: 0)
        spool = self.make()
        with self.assertRaises(StorageError) as caught:
            spool.write_chunks([b"x"])
        self.assertEqual(caught.exception.errno, errno.EIO)
        spool.discard()
        self.assertEqual(self.listing(), [])

    def test_directory_is_a_file(self) -> None:
        """
        An output "directory" that is a file gives ``ENOTDIR``.
        """
        path = os.path.join(self.directory, "file")
        with open(path, "wb"):
            pass
        with self.assertRaises(StorageError) as caught:
            SpoolFile(path)
        self.assertEqual(caught.exception.errno, errno.ENOTDIR)

    def test_directory_missing(self) -> None:
        """
        A missing output directory gives ``ENOENT``.
        """
        with self.assertRaises(StorageError) as caught:
            SpoolFile(os.path.join(self.directory, "missing"))
        self.assertEqual(caught.exception.errno, errno.ENOENT)

    def test_directory_unwritable(self) -> None:
        """
        An unwritable output directory gives ``EACCES``.
        """
        locked = os.path.join(self.directory, "locked")
        os.mkdir(locked, 0o500)
        self.addCleanup(os.chmod, locked, 0o700)
        if os.access(locked, os.W_OK):
            self.skipTest("running with privileges that ignore permissions")
        with self.assertRaises(StorageError) as caught:
            SpoolFile(locked)
        self.assertEqual(caught.exception.errno, errno.EACCES)

    def test_permission_denied(self) -> None:
        """
        ``EACCES`` from creating the file comes out as
        :class:`StorageError` (simulated, as root ignores permissions).
        """

        def denied(path: str, flags: int, mode: int = 0o777) -> int:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)

        self.patch(os, "open", denied)
        with self.assertRaises(StorageError) as caught:
            SpoolFile(self.directory)
        self.assertEqual(caught.exception.errno, errno.EACCES)
        self.assertEqual(str(caught.exception), "Permission denied")

    def test_final_name_is_a_directory(self) -> None:
        """
        Committing onto a directory fails with ``EISDIR`` (the reference's
        "Is a directory"), keeps the directory and removes the spool file.
        """
        final = os.path.join(self.directory, "CT.1")
        os.mkdir(final)
        spool = self.make()
        spool.write_chunks([b"x"])
        with self.assertRaises(StorageError) as caught:
            spool.commit(final)
        self.assertEqual(caught.exception.errno, errno.EISDIR)
        self.assertEqual(str(caught.exception), "Is a directory")
        self.assertEqual(caught.exception.path, final)
        self.assertEqual(self.listing(), ["CT.1"])
        self.assertTrue(os.path.isdir(final))

    def test_fsync_calls(self) -> None:
        """
        A commit flushes the file and then the directory.
        """
        synced: list[str] = []
        real = os.fsync

        def record(fd: int) -> None:
            synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
            real(fd)

        self.patch(os, "fsync", record)
        spool = self.make()
        spool.write_chunks([b"x"])
        spool.commit(os.path.join(self.directory, "CT.1"))
        self.assertEqual(synced, ["file", "dir"])

    def test_fsync_disabled(self) -> None:
        """
        With ``fsync=False`` nothing is flushed.
        """
        synced: list[int] = []
        self.patch(os, "fsync", synced.append)
        spool = self.make(fsync=False)
        spool.write_chunks([b"x"])
        spool.commit(os.path.join(self.directory, "CT.1"))
        self.assertEqual(synced, [])
        self.assertEqual(self.listing(), ["CT.1"])

    def test_fsync_failure(self) -> None:
        """
        A failing flush is a :class:`StorageError`, no final file appears
        and the spool file is removed.
        """

        def failing(fd: int) -> None:
            raise OSError(errno.EIO, os.strerror(errno.EIO))

        self.patch(os, "fsync", failing)
        spool = self.make()
        spool.write_chunks([b"x"])
        with self.assertRaises(StorageError) as caught:
            spool.commit(os.path.join(self.directory, "CT.1"))
        self.assertEqual(caught.exception.errno, errno.EIO)
        self.assertEqual(self.listing(), [])


class UnnamedSpoolFileTests(SpoolFileTests):
    """
    The same for unnamed spool files (``O_TMPFILE``), which have no name
    in the directory until their commit.
    """

    def make(self, fsync: bool = True) -> SpoolFile:
        spool = SpoolFile.unnamed(self.directory, fsync=fsync)
        if spool is None:
            self.skipTest("this system or file system makes no unnamed files")
        return spool

    def test_nameless_until_commit(self) -> None:
        """
        Written but not committed, the file does not appear in the
        directory; committed, it has the final name and mode 0o666 less
        the umask at its creation.
        """
        old = os.umask(0o027)
        try:
            spool = self.make()
        finally:
            os.umask(old)
        spool.write_chunks([b"abc"])
        self.assertEqual(self.listing(), [])
        final = os.path.join(self.directory, "CT.1")
        self.assertFalse(spool.commit(final))
        self.assertEqual(self.listing(), ["CT.1"])
        self.assertEqual(stat.S_IMODE(os.stat(final).st_mode), 0o640)
        self.assertEqual(self.read("CT.1"), b"abc")

    def test_gone_with_the_process(self) -> None:
        """
        A process killed while it holds a written unnamed spool file
        leaves nothing in the directory.
        """
        self.make().discard()  # skips where there are none
        script = (
            "import os, signal, sys\n"
            "from dicomtw.storage import SpoolFile\n"
            "spool = SpoolFile.unnamed(sys.argv[1])\n"
            "spool.write_chunks([bytes(100000)])\n"
            "print('written', flush=True)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n"
        )
        child = subprocess.run(
            [sys.executable, "-c", script, self.directory],
            capture_output=True,
            timeout=60,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        self.assertEqual(child.stdout, b"written\n", child.stderr)
        self.assertEqual(child.returncode, -signal.SIGKILL)
        self.assertEqual(self.listing(), [])

    def test_unavailable(self) -> None:
        """
        Without ``O_TMPFILE``, or without ``/proc`` to name the file by,
        there is no unnamed spool file, and no open descriptor is left.
        """
        self.make().discard()  # skips where there are none
        self.patch(storage, "_O_TMPFILE", 0)
        self.assertIsNone(SpoolFile.unnamed(self.directory))
        self.patch(storage, "_O_TMPFILE", os.O_TMPFILE)
        closed: list[int] = []
        real_close = os.close

        def close(fd: int) -> None:
            closed.append(fd)
            real_close(fd)

        self.patch(os.path, "exists", lambda path: False)
        self.patch(os, "close", close)
        self.assertIsNone(SpoolFile.unnamed(self.directory))
        self.assertEqual(len(closed), 1)
        self.assertEqual(self.listing(), [])

    def test_not_nameable(self) -> None:
        """
        Where unnamed files cannot be given a name (a file system or
        sandbox that refuses the link), there are none, and the probe
        leaves nothing behind.
        """
        self.make().discard()  # skips where there are none
        self.patch(storage, "_NAMEABLE", {})

        def refuse(fd: int, path: str) -> None:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

        self.patch(storage, "_link_descriptor", refuse)
        self.assertIsNone(SpoolFile.unnamed(self.directory))
        self.assertEqual(self.listing(), [])
        self.assertEqual(list(storage._NAMEABLE.values()), [False])

    def test_nameable_probe(self) -> None:
        """
        The probe names a second file once per file system and removes
        the name at once.
        """
        self.make().discard()  # skips where there are none
        self.patch(storage, "_NAMEABLE", {})
        named: list[str] = []
        real = storage._link_descriptor

        def record(fd: int, path: str) -> None:
            named.append(path)
            real(fd, path)

        self.patch(storage, "_link_descriptor", record)
        first = self.make()
        second = self.make()
        self.assertEqual(len(named), 1)
        self.assertEqual(self.listing(), [])
        self.assertEqual(list(storage._NAMEABLE.values()), [True])
        for spool in (first, second):
            spool.write_chunks([b"x"])
        first.commit(os.path.join(self.directory, "CT.1"))
        second.commit(os.path.join(self.directory, "CT.2"))
        self.assertEqual(self.listing(), ["CT.1", "CT.2"])

    def test_missing_directory(self) -> None:
        """
        A directory that cannot hold files gives no unnamed file either.
        """
        self.assertIsNone(SpoolFile.unnamed(os.path.join(self.directory, "missing")))
