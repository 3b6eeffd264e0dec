"""
The Part 10 file writer: file meta information and durable spool files.

A received object is written to a temporary file in its destination
directory while it arrives, then flushed to stable storage and renamed to
its final name in one step, so that a final name only ever holds a complete
object and success is reported only for an object on disk (design,
"Durability").  The functions here block; the store service runs them in a
worker thread.  They touch files, never the network, and never Twisted.

Every :class:`OSError` (disk full, permission denied, a directory in the
way, ...) comes out as :class:`StorageError`, which the caller answers with
status 0xA700 (behaviour reference §6.5); after any error
:meth:`SpoolFile.discard` leaves nothing behind.
"""

from __future__ import annotations

import errno
import itertools
import os
import secrets
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dicomtw import __version__
from dicomtw.errors import UsageError
from dicomtw.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

__all__ = [
    "FALLBACK_SOP_CLASS_UID",
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "IMPLEMENTATION_VERSION_NAME_BP",
    "PREAMBLE",
    "SPOOL_PREFIX",
    "SPOOL_SUFFIX",
    "remove_spool_files",
    "FileMeta",
    "SpoolFile",
    "StorageError",
    "encode_file_meta",
]

#: Implementation Version Name in files written bit-preserving (``+B``);
#: the reference, too, names its two writers differently (§10.2).
IMPLEMENTATION_VERSION_NAME_BP = ("DICOMTW_BP_" + __version__.replace(".", ""))[:16]

#: (0002,0002) of a file whose data set has no SOP Class UID: the
#: reference's private "generic file" class (§10.1).
FALLBACK_SOP_CLASS_UID = "1.2.276.0.7230010.3.1.0.1"

#: The 128-byte preamble and the ``DICM`` prefix (PS3.10 §7.1).
PREAMBLE = bytes(128) + b"DICM"

#: Start writeback of a spool file each time this many bytes were added.
WRITEBACK_INTERVAL = 128 << 10

#: Spool files are named ``SPOOL_PREFIX + pid + "-" + random +
#: SPOOL_SUFFIX``; a crash can leave one behind, it never looks like a
#: received object, and the process id says whose it was.
SPOOL_PREFIX = ".dicomtw-"
SPOOL_SUFFIX = ".part"

_CREATE_ATTEMPTS = 16
_OPEN_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC
#: Linux's flag for a file without a name (0 where there is none).
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
#: Whether unnamed files can be given a name, by file system (device
#: number), once found out.
_NAMEABLE: dict[int, bool] = {}
_MAX_SHORT_VALUE = 0xFFFE

try:
    _IOV_MAX = max(16, os.sysconf("SC_IOV_MAX"))
except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
    _IOV_MAX = 1024

_SHORT_HEADER = struct.Struct("<HH2sH")
_GROUP_LENGTH = struct.Struct("<HH2sHL")
# (0002,0001) File Meta Information Version, OB, always 00\01.
_VERSION_ELEMENT = struct.pack("<HH2sHL", 0x0002, 0x0001, b"OB", 0, 2) + b"\x00\x01"


class StorageError(Exception):
    """
    A file could not be created, written, flushed or renamed.

    :ivar errno: the operating system's error number.
    :ivar message: its text, e.g. ``Is a directory`` (what the reference
        logs after the path, §6.3 step 5.3).
    :ivar path: the file the operation was about, if known.
    """

    def __init__(self, code: int, message: str, path: str | None = None) -> None:
        """
        :param code: an ``errno`` value.
        :param message: the reason, without the path.
        :param path: the file concerned.
        """
        super().__init__(code, message)
        self.errno = code
        self.message = message
        self.path = path

    def __str__(self) -> str:
        """
        :returns: the reason alone, as the reference prints it.
        """
        return self.message


def _storage_error(error: OSError, path: str) -> StorageError:
    """
    Turn an :class:`OSError` into a :class:`StorageError`.

    :param error: the error raised by the operating system.
    :param path: the file concerned.
    :returns: the equivalent storage error.
    """
    code = error.errno if error.errno is not None else errno.EIO
    return StorageError(code, error.strerror or os.strerror(code), path)


@dataclass(frozen=True)
class FileMeta:
    """
    The values of a file's meta information (PS3.10 §7.1).

    :ivar sop_class: (0002,0002) Media Storage SOP Class UID.
    :ivar sop_instance: (0002,0003) Media Storage SOP Instance UID.
    :ivar transfer_syntax: (0002,0010) Transfer Syntax UID.
    :ivar source_ae: (0002,0016) Source Application Entity Title, the
        calling AE title of the association.
    :ivar implementation_class_uid: (0002,0012).
    :ivar implementation_version_name: (0002,0013).
    """

    sop_class: str
    sop_instance: str
    transfer_syntax: str
    source_ae: str
    implementation_class_uid: str = IMPLEMENTATION_CLASS_UID
    implementation_version_name: str = IMPLEMENTATION_VERSION_NAME


def _element(group: int, element: int, vr: bytes, text: str, pad: bytes) -> bytes:
    """
    Encode one short-VR element in explicit VR little endian.

    :param group: the tag's group.
    :param element: the tag's element number.
    :param vr: the two-letter VR.
    :param text: the value; characters outside ISO 8859-1 become ``?``.
    :param pad: the padding byte for an odd length (PS3.5 §6.2).
    :returns: header and value.
    :raises ValueError: if the value is too long for a 2-byte length.
    """
    value = text.encode("latin-1", "replace")
    if len(value) % 2:
        value += pad
    if len(value) > _MAX_SHORT_VALUE:
        raise ValueError(f"({group:04X},{element:04X}) value is too long")
    return _SHORT_HEADER.pack(group, element, vr, len(value)) + value


def encode_file_meta(meta: FileMeta) -> bytes:
    """
    Encode the preamble, ``DICM`` and group 0002 of a Part 10 file.

    The elements are those of behaviour reference §10.1, in tag order, in
    explicit VR little endian (PS3.10 §7.1): UIDs padded with NUL, the
    version name and AE title with a space, to even length.

    :param meta: the values.
    :returns: the bytes that precede the data set in the file.
    :raises ValueError: if a value is longer than 65534 bytes.
    """
    body = b"".join(
        (
            _VERSION_ELEMENT,
            _element(0x0002, 0x0002, b"UI", meta.sop_class, b"\x00"),
            _element(0x0002, 0x0003, b"UI", meta.sop_instance, b"\x00"),
            _element(0x0002, 0x0010, b"UI", meta.transfer_syntax, b"\x00"),
            _element(0x0002, 0x0012, b"UI", meta.implementation_class_uid, b"\x00"),
            _element(0x0002, 0x0013, b"SH", meta.implementation_version_name, b" "),
            _element(0x0002, 0x0016, b"AE", meta.source_ae, b" "),
        )
    )
    length = _GROUP_LENGTH.pack(0x0002, 0x0000, b"UL", 4, len(body))
    return PREAMBLE + length + body


class SpoolFile:
    """
    A temporary file in the destination directory.

    It is created at once with a random hidden name (``.dicomtw-*.part``),
    filled with :meth:`write_chunks`, then either committed under its final
    name or discarded.  Because it lives in the destination directory, the
    final rename never crosses a file system.

    An *unnamed* spool file (:meth:`unnamed`, Linux's ``O_TMPFILE``) has
    no name at all until :meth:`commit` gives it its spool name just before
    the rename: if the process dies first, the file system reclaims it and
    nothing is left in the directory.

    :ivar directory: the directory the file was created in.
    :ivar path: the temporary file's path (for an unnamed file, the name it
        gets at :meth:`commit`).
    :ivar size: the number of bytes written so far.
    :ivar final_path: the name it was committed under, once committed.
    :ivar pid: the process that created it.
    """

    def __init__(
        self, directory: str, *, fsync: bool = True, unnamed: bool = False
    ) -> None:
        """
        Create the file (mode 0o666 less the umask, as the reference's).

        :param directory: the destination directory.
        :param fsync: whether :meth:`commit` flushes the file and the
            directory to stable storage; turning it off trades the
            durability promise for speed.
        :param unnamed: create it without a name (see :meth:`unnamed`).
        :raises StorageError: if the (named) file cannot be created.
        :raises OSError: if an unnamed file cannot be created.
        """
        self.directory = directory
        self.size = 0
        self._advised = 0
        self.final_path: str | None = None
        self.pid = os.getpid()
        self._fsync = fsync
        self._finished = False
        self._fd: int | None = None
        #: Whether the file still has no name.
        self._unnamed = False
        if unnamed:
            self._open_unnamed(directory)
            return
        for _attempt in range(_CREATE_ATTEMPTS):
            path = self._spool_name()
            try:
                self._fd = os.open(path, _OPEN_FLAGS, 0o666)
            except FileExistsError:
                continue
            except OSError as error:
                raise _storage_error(error, path) from None
            self.path = path
            return
        raise StorageError(
            errno.EEXIST, "no free temporary file name", directory
        )  # pragma: no cover - needs 16 collisions of 64 random bits

    @classmethod
    def unnamed(cls, directory: str, *, fsync: bool = True) -> SpoolFile | None:
        """
        Create an unnamed spool file, which can wait in advance for an
        object without leaving anything behind if the process dies.

        :returns: the file, or ``None`` where the system or the file system
            cannot make one (not Linux, no ``O_TMPFILE`` support, no
            ``/proc``), cannot give one a name later, or the directory is
            not usable.
        """
        try:
            spool = cls(directory, fsync=fsync, unnamed=True)
        except OSError:
            return None
        if not spool._nameable():
            spool.discard()
            return None
        return spool

    def _nameable(self) -> bool:
        """
        Whether the commit will be able to name unnamed files on this
        file system: found out once per file system, by naming a second
        unnamed file and removing that name at once.  (A file, once named,
        cannot be named again after losing its name, so the probe cannot
        be this one.)
        """
        assert self._fd is not None
        device = os.fstat(self._fd).st_dev
        known = _NAMEABLE.get(device)
        if known is None:
            try:
                probe = SpoolFile(self.directory, fsync=False, unnamed=True)
                try:
                    assert probe._fd is not None
                    _link_descriptor(probe._fd, probe.path)
                    os.unlink(probe.path)
                finally:
                    probe.discard()
                known = True
            except OSError:
                known = False
            _NAMEABLE[device] = known
        return known

    def _spool_name(self) -> str:
        name = f"{SPOOL_PREFIX}{self.pid}-{secrets.token_hex(8)}{SPOOL_SUFFIX}"
        return os.path.join(self.directory, name)

    def _open_unnamed(self, directory: str) -> None:
        """
        :raises OSError: if an unnamed file cannot be made, or could not
            be given a name later (no ``/proc``).
        """
        if not _O_TMPFILE:
            raise OSError(errno.EOPNOTSUPP, "no O_TMPFILE here")
        fd = os.open(directory, _O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o666)
        if not os.path.exists(_descriptor_path(fd)):
            os.close(fd)
            raise OSError(errno.ENOENT, "no /proc/self/fd")
        self._fd = fd
        self._unnamed = True
        self.path = self._spool_name()

    def write_chunks(self, chunks: Sequence[bytes | bytearray | memoryview]) -> None:
        """
        Append buffers to the file with as few system calls as possible.

        :param chunks: the buffers, written in order; they are not copied.
        :raises StorageError: if writing fails (e.g. ``ENOSPC``).
        :raises UsageError: if the file was already committed or discarded.
        """
        fd = self._live_fd()
        views = [view for view in map(_byte_view, chunks) if view.nbytes]
        index = 0
        while index < len(views):
            try:
                written = os.writev(fd, views[index : index + _IOV_MAX])
            except OSError as error:
                raise _storage_error(error, self.path) from None
            if written <= 0:
                raise StorageError(errno.EIO, "write made no progress", self.path)
            self.size += written
            while written:
                first = views[index]
                if written >= first.nbytes:
                    written -= first.nbytes
                    index += 1
                else:
                    views[index] = first[written:]
                    written = 0
        if self.size - self._advised >= WRITEBACK_INTERVAL:
            self._start_writeback(fd)

    def patch(self, offset: int, data: bytes) -> None:
        """
        Overwrite bytes already written, at ``offset`` from the start of
        the file.

        :raises StorageError: if writing fails.
        :raises UsageError: if the file was already committed or discarded.
        """
        fd = self._live_fd()
        if offset < 0 or offset + len(data) > self.size:
            raise UsageError("patch outside what was written")
        try:
            written = os.pwrite(fd, data, offset)
        except OSError as error:
            raise _storage_error(error, self.path) from None
        if written != len(data):
            raise StorageError(errno.EIO, "short write", self.path)

    def reopen(self) -> int:
        """
        :returns: a new descriptor that reads the file, for the caller to
            close.
        :raises OSError: if it cannot be opened.
        :raises UsageError: if the file was already committed or discarded.
        """
        fd = self._live_fd()
        path = _descriptor_path(fd) if self._unnamed else self.path
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)

    def _start_writeback(self, fd: int) -> None:
        """
        Hand what has been written so far to the kernel's writeback now,
        and drop it from the page cache once it is clean.

        On Linux ``POSIX_FADV_DONTNEED`` starts writing dirty pages back
        without waiting for them.  A large object is therefore mostly on
        disk by the time :meth:`commit` flushes it, instead of the whole
        object waiting for the final ``fsync``; and a receiver of large
        objects does not fill the page cache with data nobody reads.
        """
        advise = getattr(os, "posix_fadvise", None)
        if advise is None:  # pragma: no cover - not on Linux
            return
        try:
            advise(fd, self._advised, self.size - self._advised, os.POSIX_FADV_DONTNEED)
        except OSError:  # pragma: no cover - advice only
            pass
        self._advised = self.size

    def commit(
        self,
        final_path: str,
        *,
        overwrite: bool = True,
        alternatives: Iterable[str] = (),
    ) -> bool:
        """
        Make the file durable and give it its final name.

        The file is flushed (``fsync``) and closed, renamed atomically, and
        the directory is flushed so that the new name survives a crash.
        With ``overwrite`` the rename replaces an existing file; without,
        the file is hard-linked to the final name, which fails if that name
        exists, and the existing file is left untouched.  On error the spool
        file is discarded before :class:`StorageError` is raised.  If only
        the final directory flush fails, the object is already under its
        final name, but the error is still raised: success must not be
        reported for an object not known to be on stable storage.

        :param final_path: the file's final path.
        :param overwrite: whether an existing file of that name is replaced.
        :param alternatives: without ``overwrite``, further names to try in
            order when ``final_path`` is taken; :attr:`final_path` tells
            which one was used.
        :returns: with ``overwrite``: whether an existing file was replaced
            (the caller logs the reference's overwrite warning).  Without
            ``overwrite``: whether the object was stored; False means the
            name was taken, and the spool file has been discarded.
        :raises StorageError: if flushing, closing or renaming fails.
        :raises UsageError: if the file was already committed or discarded.
        """
        fd = self._live_fd()
        step_path = self.path
        try:
            if self._fsync:
                os.fsync(fd)
            if self._unnamed:
                # Its spool name, from which the steps below go on as for a
                # named file; in the directory that the flush below covers.
                _link_descriptor(fd, self.path)
                self._unnamed = False
            self._fd = None
            os.close(fd)
            step_path = final_path
            if overwrite:
                result = os.path.lexists(final_path)
                os.replace(self.path, final_path)
            else:
                for candidate in itertools.chain([final_path], alternatives):
                    step_path = candidate
                    try:
                        os.link(self.path, candidate)
                    except FileExistsError:
                        continue
                    final_path = candidate
                    break
                else:
                    self.discard()
                    return False
                result = True
                self._unlink_spool()
            self._finished = True
            self.final_path = final_path
            if self._fsync:
                self._sync_directories(final_path)
        except OSError as error:
            self.discard()
            raise _storage_error(error, step_path) from None
        return result

    def discard(self) -> None:
        """
        Close and remove the temporary file; idempotent, never raises.

        After a successful :meth:`commit` it does nothing.
        """
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        if not self._finished:
            self._finished = True
            if not self._unnamed:
                self._unlink_spool()

    def _live_fd(self) -> int:
        """
        :returns: the open file descriptor.
        :raises UsageError: if the file was already committed or discarded.
        """
        if self._fd is None:
            raise UsageError(f"spool file {self.path} is closed")
        return self._fd

    def _unlink_spool(self) -> None:
        """
        Remove the temporary name, ignoring a failure to do so.
        """
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def _sync_directories(self, final_path: str) -> None:
        """
        Flush the directory entries changed by the rename.

        :param final_path: the committed file's path.
        :raises OSError: if a directory cannot be opened or flushed.
        """
        final_directory = os.path.dirname(final_path) or "."
        _fsync_directory(final_directory)
        spool_directory = self.directory or "."
        if not os.path.samefile(spool_directory, final_directory):
            _fsync_directory(spool_directory)


def _descriptor_path(fd: int) -> str:
    """
    The name by which an open unnamed file can be linked into a directory.
    """
    return f"/proc/self/fd/{fd}"


def _link_descriptor(fd: int, path: str) -> None:
    """
    Give the open unnamed file ``fd`` the name ``path``.

    This is ``linkat()`` with ``AT_SYMLINK_FOLLOW`` on the file's ``/proc``
    entry; :func:`os.link` asks for the flag only when given a directory
    descriptor, so it gets one, which the absolute path leaves unused.
    """
    os.link(_descriptor_path(fd), path, src_dir_fd=fd, follow_symlinks=True)


def _fsync_directory(directory: str) -> None:
    """
    Flush a directory's entries to stable storage.

    :param directory: the directory.
    :raises OSError: if it cannot be opened or flushed.
    """
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _byte_view(chunk: bytes | bytearray | memoryview) -> memoryview:
    """
    View a buffer as unsigned bytes, so lengths and slices count bytes.

    :param chunk: any contiguous buffer.
    :returns: a byte view of it, without copying.
    """
    view = memoryview(chunk)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def _spool_owner(name: str) -> int | None:
    """
    :returns: the process id in a spool file's name, or ``None`` for any
        other name.
    """
    if not (name.startswith(SPOOL_PREFIX) and name.endswith(SPOOL_SUFFIX)):
        return None
    owner, _, _ = name[len(SPOOL_PREFIX) :].partition("-")
    return int(owner) if owner.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_spool_files(directory: str, pid: int | None = None) -> int:
    """
    Remove spool files left behind: those of process ``pid``, or, without
    ``pid``, those of every process that no longer exists.  Spool files
    never hold a complete object under a final name, so removing them
    loses nothing that was acknowledged.

    :returns: how many were removed.
    """
    removed = 0
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    for name in names:
        owner = _spool_owner(name)
        if owner is None or owner == os.getpid():
            continue
        if (owner == pid) if pid is not None else not _alive(owner):
            try:
                os.unlink(os.path.join(directory, name))
                removed += 1
            except OSError:
                pass
    return removed
