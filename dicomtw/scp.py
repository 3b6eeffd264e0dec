"""
The Verification and Storage SCPs: DIMSE commands in, statuses out.

A C-STORE's data set is handed, fragment by fragment, to a *sink* that a
store handler opens for it.  The default handler, :class:`FileStore`,
spools the fragments into a temporary file in the output directory from
a worker thread, finalises the file (file meta information, fsync, atomic
rename, fsync of the directory) and only then reports success.  Embedders
provide their own :class:`IStoreHandler` to send objects elsewhere.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool
from zope.interface import Interface, implementer

from dicomtw.dimse import (
    CommandField,
    CommandReceived,
    CommandSet,
    DataReceived,
    Tag,
    echo_response,
    store_response,
)
from dicomtw.dictionary import UID_REGISTRY
from dicomtw.errors import AbortReason, AbortSource, DataSetError, ProtocolError
from dicomtw.commands import ReceptionCommand
from dicomtw.eostudy import EndedStudy, EndOfStudy
from dicomtw.logs import GATE, enabled
from dicomtw.naming import (
    TimeNamer,
    default_file_name,
    safe_join,
    sanitise_uid,
    unique_file_name,
)
from dicomtw.negotiation import AcceptedContext
from dicomtw.reencode import REENCODABLE, STREAMABLE, Encoding, StreamConverter, plan
from dicomtw.transcode import (
    DataSetOutput,
    buffers,
    copy_pieces,
    deflate,
    inflate_file,
)
from dicomtw.scanner import (
    PATIENT_NAME,
    SOP_CLASS_UID,
    SOP_INSTANCE_UID,
    SPECIFIC_CHARACTER_SET,
    STUDY_INSTANCE_UID,
    DataSetScanner,
    text_value,
)
from dicomtw.sopclasses import log_prefix
from dicomtw.sorting import PATIENT_NAME as PATIENT_NAME_SORT
from dicomtw.sorting import StudyTracker, patient_directory_name
from dicomtw.status import Status, describe
from dicomtw.storage import (
    IMPLEMENTATION_VERSION_NAME_BP,
    FileMeta,
    SpoolFile,
    StorageError,
    encode_file_meta,
)
from dicomtw.uids import (
    DEFLATED_LITTLE,
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
)

#: Hand spooled bytes to the writer thread once this many are waiting.
FLUSH_SIZE = 256 * 1024
#: Create the spool file once this much of a data set has arrived, before
#: the first batch is due; smaller objects are written in one go at the end.
EARLY_SPOOL = 32 * 1024
#: Ask the adapter to stop reading once this many are waiting; with one
#: batch in flight, an association holds at most about twice this.
HIGH_WATER = 512 * 1024
#: A data set that will certainly be re-encoded (another transfer syntax,
#: non-default encoding options) is held in memory up to this size and
#: converted there, so that it is written once; a larger one is spooled
#: as received and re-encoded from the spool file.
CONVERT_IN_MEMORY = 4 << 20
#: Give up looking for the SOP Instance UID after this many bytes: every
#: real data set has it in its first kilobytes.
HEAD_LIMIT = 1 << 20


@dataclass(frozen=True)
class AssociationInfo:
    """
    What a store handler may want to know about the association.
    """

    assoc_id: str
    peer: str
    calling_ae: str
    called_ae: str
    #: The subject of the peer's TLS certificate, when there is one.
    peer_certificate: str | None = None


@dataclass(frozen=True)
class StoreRequest:
    """
    One C-STORE-RQ, as a store handler sees it.
    """

    association: AssociationInfo
    context: AcceptedContext
    message_id: int
    sop_class: str
    sop_instance: str
    priority: int = 0
    move_originator: str | None = None


@dataclass(frozen=True)
class StoreResult:
    """
    The outcome of one C-STORE.

    :ivar status: the DIMSE status to answer with.
    :ivar path: where the object was stored, if it was.
    :ivar replaced: whether an existing file of that name was replaced.
    :ivar detail: why it failed, for the log.
    :ivar ended_study: the study this object's arrival ended (with a sort
        option), for the end-of-study actions after the response.
    """

    status: int
    path: str | None = None
    replaced: bool = False
    detail: str = ""
    ended_study: EndedStudy | None = None


class IStoreSink(Interface):
    """
    Receives the data set of one C-STORE as it arrives.
    """

    def write(data: memoryview | bytes) -> Deferred[None] | None:
        """
        Take the next fragment.  The sink may keep a reference to it.

        :returns: ``None`` when ready for more, or a Deferred that fires
            when it is; the adapter stops reading from the peer meanwhile.
        """

    def finish() -> Deferred[StoreResult]:
        """
        The data set is complete.

        :returns: a Deferred firing with the result once the object is
            safely stored (or has failed); it must not fail.
        """

    def abandon() -> None:
        """
        The association broke off: drop everything, leave nothing behind.
        """


class IStoreHandler(Interface):
    """
    Opens a sink for every C-STORE-RQ.
    """

    def begin(request: StoreRequest) -> IStoreSink:
        """
        :returns: the sink that will receive ``request``'s data set.
        """


@implementer(IStoreSink)
class DiscardSink:
    """
    Receives a data set and throws it away (``--ignore``).
    """

    def write(self, data: memoryview | bytes) -> None:
        """
        Drop a fragment.
        """

    def finish(self) -> Deferred[StoreResult]:
        """
        :returns: success, always, as the reference answers with
            ``--ignore``.
        """
        return succeed(StoreResult(Status.SUCCESS))

    def abandon(self) -> None:
        """
        Nothing to clean up.
        """


@dataclass(frozen=True)
class FileStoreOptions:
    """
    How :class:`FileStore` writes files.

    :ivar bit_preserving: ``+B``: file meta from the command.
    :ivar write_dataset: ``-F``: no preamble and meta information.
    :ivar fsync: flush each file and its directory to stable storage.
    :ivar naming: ``default`` (``-uf``), ``unique`` (``+uf``) or ``time``
        (``-tn``).
    :ivar on_duplicate: when the file exists: ``overwrite`` (the
        reference), ``keep`` it, store under a ``unique`` numbered name, or
        ``reject`` the object.
    :ivar sort: ``-ss``, ``-su`` or ``-sp`` as :mod:`dicomtw.sorting` names
        them, or ``None``.
    :ivar transfer_syntax: the transfer syntax to write in normal mode
        (``+te``, ``+tb``, ``+ti``, ``+td``), or ``None`` for the one each
        object was received in (``+t=``).
    :ivar compression_level: the zlib level of deflated output (``+cl``).
    """

    directory: str = "."
    bit_preserving: bool = False
    write_dataset: bool = False
    extension: str = ""
    naming: str = "default"
    on_duplicate: str = "overwrite"
    sort: str | None = None
    sort_prefix: str = ""
    encoding: Encoding = field(default_factory=Encoding)
    transfer_syntax: str | None = None
    compression_level: int = 6
    fsync: bool = True
    ignore: bool = False


@implementer(IStoreHandler)
class FileStore:
    """
    The default store handler: one file per object in a directory.
    """

    log = Logger(observer=GATE)

    def __init__(
        self,
        options: FileStoreOptions,
        reactor: Any,
        threadpool: ThreadPool | None = None,
    ) -> None:
        self.options = options
        self.reactor = reactor
        self.threadpool = threadpool
        self._time_names = TimeNamer()
        self.studies = (
            StudyTracker(options.sort, options.sort_prefix) if options.sort else None
        )
        #: The end-of-study actions (``-rns``, ``-xcs``, ``-tos``), if any.
        self.end_of_study: EndOfStudy | None = None
        self._current_study: EndedStudy | None = None
        #: An unnamed spool file made ahead of time in a worker thread, for
        #: the next object: creating a file (allocating its inode) can take
        #: longer than a whole CT image takes to arrive.
        self._spare: SpoolFile | None = None
        self._making_spare = False
        #: Whether this system makes unnamed files (a named spare would be
        #: left behind by a crash).
        self._spares_possible = True
        self._closed = False

    def take_spool(self) -> SpoolFile | None:
        """
        The spool file made ahead of time, if one is ready, for a sink that
        is about to receive an object; start making the next one.

        Spares are unnamed files (:meth:`SpoolFile.unnamed`): one that is
        never used disappears with the process, whatever ends it.  Where
        there are none, every sink creates its own file as before.
        """
        spare, self._spare = self._spare, None
        if spare is not None and spare.pid != os.getpid():
            # Made by the parent of a forked child: not this process's.
            spare.discard()
            spare = None
        self._make_spare()
        return spare

    def close(self) -> None:
        """
        Drop the spare spool file and make no more; sinks that are open
        carry on.
        """
        self._closed = True
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.discard()

    def _make_spare(self) -> None:
        if self._making_spare or self._closed or not self._spares_possible:
            return
        self._making_spare = True

        def made(spool: SpoolFile | None) -> None:
            self._making_spare = False
            if spool is None:
                self._spares_possible = False
            elif self._closed or self._spare is not None:
                spool.discard()
            else:
                self._spare = spool

        def failed(failure: Failure) -> None:
            self._making_spare = False
            self.log.failure("Unexpected error making a spool file", failure)

        self.run_blocking(self.new_spare).addCallbacks(made, failed)

    def new_spare(self) -> SpoolFile | None:
        """
        Make a spare spool file (blocking: in a worker thread).
        """
        return SpoolFile.unnamed(self.options.directory, fsync=self.options.fsync)

    def study_began(self, directory: str) -> EndedStudy | None:
        """
        A new study began in ``directory``.

        :returns: the study that ended with it, if any.
        """
        ended = self._current_study
        self._current_study = EndedStudy(directory)
        return ended

    def record(self, path: str) -> None:
        """
        Note a file of the current study, for ``-rns``.
        """
        if self._current_study is not None:
            self._current_study.files.append(path)

    def close_study(self) -> EndedStudy | None:
        """
        End the current study for good (``-tos``): a later object of the
        same Study Instance UID begins a new one.
        """
        ended, self._current_study = self._current_study, None
        if self.studies is not None:
            self.studies.study_uid = None
            self.studies.directory = None
        return ended

    def run_blocking(self, function: Callable[..., Any], *args: Any) -> Deferred[Any]:
        """
        Run blocking file work off the reactor thread.
        """
        pool = self.threadpool or self.reactor.getThreadPool()
        return deferToThreadPool(self.reactor, pool, function, *args)

    def _file_name(self, request: StoreRequest) -> str:
        """
        The file name by ``-uf``, ``+uf`` or ``-tn`` (behaviour reference
        §7.3-7.5), taken when the command arrives.
        """
        extension = self.options.extension
        if self.options.naming == "unique":
            return unique_file_name(request.sop_class, extension)
        if self.options.naming == "time":
            return self._time_names.name(
                request.sop_class, extension, self.reactor.seconds()
            )
        return default_file_name(request.sop_class, request.sop_instance, extension)

    def begin(self, request: StoreRequest) -> IStoreSink:
        """
        Open a sink that spools ``request``'s data set into a file.
        """
        if self.options.ignore:
            return DiscardSink()
        clean, changed = sanitise_uid(request.sop_instance)
        if changed and self.options.naming == "default":
            self.log.warn(
                "Sanitized unusual characters in SOP Instance UID, converted"
                ' from "{raw}" to "{clean}".',
                raw=request.sop_instance,
                clean=clean,
                assoc=request.association.assoc_id,
            )
        name = self._file_name(request)
        path = safe_join(self.options.directory, name)
        return FileSink(self, request, path)


def transfer_syntax_name(uid: str) -> str:
    """
    The registry name of a transfer syntax, or its UID.
    """
    entry = UID_REGISTRY.get(uid)
    return str(entry[0]) if entry else uid


def _numbered(path: str, extension: str) -> Iterator[str]:
    """
    ``--on-duplicate unique``: ``<name>_1<extension>``, ``<name>_2...``.
    """
    base = path[: len(path) - len(extension)] if extension else path
    return (f"{base}_{number}{extension}" for number in range(1, 10000))


def _missing(scanner: DataSetScanner, tag: int) -> str | None:
    raw = scanner.values.get(tag)
    if raw is None:
        return None
    value = text_value(raw, uid=True)
    return value or None


@dataclass(frozen=True)
class _Committed:
    """
    A batch write that went on to commit, and how the commit went.
    """

    outcome: tuple[bool, bool, str]


@dataclass(frozen=True)
class _CommitFailed:
    failure: Failure


@implementer(IStoreSink)
class FileSink:
    """
    Streams one data set into a spool file and commits it under its final
    name.  All file work happens in the store's worker threads, one batch
    at a time, so at most :data:`HIGH_WATER` bytes wait in memory plus the
    batch being written.
    """

    log = Logger(observer=GATE)

    def __init__(self, store: FileStore, request: StoreRequest, path: str) -> None:
        self.store = store
        self.request = request
        self.path = path
        self._scanner = DataSetScanner(request.context.transfer_syntax)
        self._scan_error: str | None = None
        self._head: bytes | None = None if self._needs_scan_for_head() else b""
        self._pending: list[memoryview | bytes] = []
        self._pending_size = 0
        self._received = 0
        self._spool: SpoolFile | None = store.take_spool()
        self._busy = False
        #: Guards the hand-over of a commit to a batch write's thread.
        self._handover = threading.Lock()
        #: Whether the batch write in flight can still take the commit.
        self._attachable = False
        #: The commit's chunks, handed to that batch write.
        self._attached: list[memoryview | bytes] | None = None
        self._failure: StoreResult | None = None
        self._drained: Deferred[None] | None = None
        self._finished: Deferred[StoreResult] | None = None
        self._abandoned = False
        self._done = False
        self._head_length = 0
        self._reencode_error = ""
        self._study_directory: str | None = None
        self._study_created = False
        self._ended_study: EndedStudy | None = None
        received = request.context.transfer_syntax
        wanted = store.options.transfer_syntax
        #: The transfer syntax the file is written in.
        self.transfer_syntax = (
            received if wanted is None or store.options.bit_preserving else wanted
        )
        if self.transfer_syntax != received and received not in REENCODABLE:
            self._fail(
                StoreResult(
                    Status.OUT_OF_RESOURCES,
                    detail=f"cannot write DICOM file: {path}: no codec converts"
                    f" {transfer_syntax_name(received)} to"
                    f" {transfer_syntax_name(self.transfer_syntax)}",
                )
            )
        if self._head == b"" and not store.options.write_dataset:
            self._head = self._command_meta()
        #: Converts between uncompressed syntaxes as the data set arrives;
        #: what is spooled is then the converted data set.
        self._converter: StreamConverter | None = None
        if (
            not store.options.bit_preserving
            and received in STREAMABLE
            and self.transfer_syntax in STREAMABLE
            and self.transfer_syntax != received
        ):
            self._converter = StreamConverter(
                received, self.transfer_syntax, store.options.encoding
            )
        #: Whether the data set is still being held in memory to be
        #: converted there (:data:`CONVERT_IN_MEMORY`).
        self._in_memory = (
            self._converter is None
            and received != DEFLATED_LITTLE
            and self._conversion_certain()
        )

    def _needs_scan_for_head(self) -> bool:
        options = self.store.options
        return not (options.bit_preserving or options.write_dataset)

    def _command_meta(self) -> bytes:
        request = self.request
        return encode_file_meta(
            FileMeta(
                request.sop_class,
                request.sop_instance,
                request.context.transfer_syntax,
                request.association.calling_ae,
                IMPLEMENTATION_CLASS_UID,
                IMPLEMENTATION_VERSION_NAME_BP,
            )
        )

    def _data_set_meta(self) -> bytes | None:
        sop_class = _missing(self._scanner, SOP_CLASS_UID)
        sop_instance = _missing(self._scanner, SOP_INSTANCE_UID)
        if sop_class is None or sop_instance is None:
            return None
        return encode_file_meta(
            FileMeta(
                sop_class,
                sop_instance,
                self.transfer_syntax,
                self.request.association.calling_ae,
                IMPLEMENTATION_CLASS_UID,
                IMPLEMENTATION_VERSION_NAME,
            )
        )

    # -- receiving -----------------------------------------------------

    def write(self, data: memoryview | bytes) -> Deferred[None] | None:
        """
        Scan and spool one fragment.
        """
        self._received += len(data)
        if self._scan_error is None:
            try:
                self._scanner.feed(data)
            except DataSetError as error:
                self._scan_error = str(error)
        if self._failure is not None or self._scan_error is not None:
            return None
        if self._converter is None:
            self._pending.append(data)
            self._pending_size += len(data)
        else:
            try:
                converted = self._converter.feed(data, self._scanner.top_starts)
            except DataSetError as error:
                self._cannot_convert(error)
                return None
            self._pending.extend(converted)
            self._pending_size += sum(map(len, converted))
        if self._head is None:
            self._decide_head(final=False)
        self._step()
        if self._pending_size >= HIGH_WATER and self._busy and not self._in_memory:
            self._drained = Deferred()
            return self._drained
        return None

    def _decide_head(self, final: bool) -> None:
        if not (final or self._scanner.uids_known or self._received > HEAD_LIMIT):
            return
        mismatch = self._check_uids()
        if mismatch is not None:
            self._fail(mismatch)
            return
        head = self._data_set_meta()
        if head is None:
            self._fail(self._bad_data_set("SOP Class or Instance UID missing"))
            return
        self._head = head
        self._head_length = len(head)

    def _check_uids(self) -> StoreResult | None:
        sop_class = _missing(self._scanner, SOP_CLASS_UID)
        sop_instance = _missing(self._scanner, SOP_INSTANCE_UID)
        if sop_class is None or sop_instance is None:
            if not (self._scanner.uids_known or self._received > HEAD_LIMIT):
                return None
            return self._bad_data_set("SOP Class or Instance UID missing")
        if (sop_class, sop_instance) != (
            self.request.sop_class,
            self.request.sop_instance,
        ):
            return StoreResult(
                Status.DATA_SET_MISMATCH,
                detail=f"data set has SOP class {sop_class} and instance"
                f" {sop_instance}; the command names {self.request.sop_class}"
                f" and {self.request.sop_instance}",
            )
        return None

    def _bad_data_set(self, why: str) -> StoreResult:
        return StoreResult(Status.CANNOT_UNDERSTAND, detail=f"bad DICOM file: {why}")

    def _fail(self, result: StoreResult) -> None:
        if self._failure is None:
            self._failure = result
        self._pending = []
        self._pending_size = 0

    # -- writing -------------------------------------------------------
    #
    # At most one piece of blocking work (a batch write, the commit, the
    # discard) runs at a time, and only _step starts one.  Completions set
    # _busy back, call _step, and only then release a waiting adapter:
    # releasing it runs the adapter's code, which may call write or finish
    # again before we return.
    #
    # A commit due while a batch write runs is handed to that write's
    # thread, which commits as soon as its write is done instead of going
    # back to the reactor first (_attach_commit, _batch_blocking).

    def _step(self) -> None:
        """
        Start the next piece of blocking work, if there is one and none is
        running.
        """
        if self._done:
            return
        if self._busy:
            if self._finished is not None and self._failure is None:
                self._attach_commit()
            return
        if self._abandoned:
            self._done = True
            self._run(self._discard_blocking, self._ignore, self._ignore)
        elif self._finished is not None:
            self._done = True
            if self._failure is not None:
                self._run(self._discard_blocking, self._failed, self._failed)
            else:
                chunks = self._take()
                self._run(
                    self._commit_blocking, self._committed, self._commit_failed, chunks
                )
        elif self._failure is None and self._head is not None:
            if not self._hold_in_memory():
                if self._spool is None and self._received >= EARLY_SPOOL:
                    # Create the file now rather than with the first batch:
                    # creating it can take longer than the rest of the data
                    # set takes to arrive.
                    self._run_batch(self._take())
                elif self._pending_size >= FLUSH_SIZE:
                    self._run_batch(self._take())
            elif self._spool is None:
                # Create the spool file while the data set arrives, so
                # that only the conversion and one write remain for the
                # end.
                self._run_batch([])

    def _run_batch(self, chunks: list[memoryview | bytes]) -> None:
        with self._handover:
            self._attachable = True
        self._run(self._batch_blocking, self._batch_done, self._batch_failed, chunks)

    def _attach_commit(self) -> None:
        """
        Hand the commit to the batch write in flight, if it has not yet
        finished: its thread commits right after writing.
        """
        with self._handover:
            if not self._attachable:
                return
            self._attached = self._take()
        self._done = True

    def _batch_blocking(
        self, chunks: Sequence[memoryview | bytes]
    ) -> _Committed | _CommitFailed | None:
        """
        Write a batch, then the commit if one was attached meanwhile.
        """
        self._write_blocking(chunks)
        with self._handover:
            attached, self._attached = self._attached, None
            self._attachable = False
        if attached is None:
            return None
        try:
            return _Committed(self._commit_blocking(attached))
        except Exception:
            return _CommitFailed(Failure())

    def _batch_done(self, result: _Committed | _CommitFailed | None) -> None:
        if isinstance(result, _Committed):
            self._committed(result.outcome)
        elif isinstance(result, _CommitFailed):
            self._commit_failed(result.failure)
        else:
            self._flushed(None)

    def _batch_failed(self, failure: Failure) -> None:
        with self._handover:
            attached, self._attached = self._attached, None
            self._attachable = False
        if attached is not None:
            # The commit never started: the store fails and is discarded.
            self._done = False
        self._write_failed(failure)

    def _hold_in_memory(self) -> bool:
        """
        Whether to keep the pending bytes for an in-memory conversion;
        past :data:`CONVERT_IN_MEMORY` the data set is spooled after all.
        """
        if self._in_memory and self._received > CONVERT_IN_MEMORY:
            self._in_memory = False
        return self._in_memory

    def _run(
        self,
        work: Callable[..., Any],
        done: Callable[[Any], None],
        failed: Callable[[Failure], None],
        *args: Any,
    ) -> None:
        self._busy = True
        d = self.store.run_blocking(work, *args)
        d.addCallbacks(done, failed)
        d.addErrback(self._bug)

    def _take(self) -> list[memoryview | bytes]:
        chunks = self._pending
        if self._head:
            chunks = [self._head, *chunks]
            self._head = b""
        self._pending = []
        self._pending_size = 0
        return chunks

    def _write_blocking(self, chunks: Sequence[memoryview | bytes]) -> None:
        if self._spool is None:
            self._spool = SpoolFile(
                self.store.options.directory, fsync=self.store.options.fsync
            )
        self._spool.write_chunks(chunks)

    def _flushed(self, _: None) -> None:
        self._busy = False
        self._step()
        self._release_drained()

    def _write_failed(self, failure: Failure) -> None:
        self._busy = False
        self._storage_failed(failure)
        self._step()
        self._release_drained()

    def _storage_failed(self, failure: Failure) -> None:
        """
        Writing failed: the object gets 0xA700.  File system errors are
        expected (disk full, permissions); anything else is a bug and is
        logged as one.
        """
        if not failure.check(StorageError, OSError):
            self.log.failure("Unexpected error writing {path}", failure, path=self.path)
        self._fail(
            StoreResult(
                Status.OUT_OF_RESOURCES,
                detail=f"cannot write DICOM file: {self.path}: {failure.value}",
            )
        )

    def _release_drained(self) -> None:
        if self._drained is not None and (
            self._pending_size < HIGH_WATER
            or self._failure is not None
            or self._in_memory
        ):
            drained, self._drained = self._drained, None
            drained.callback(None)

    # -- finishing -----------------------------------------------------

    def finish(self) -> Deferred[StoreResult]:
        """
        Commit the object, or clean up after a failure.
        """
        if self._scan_error is None:
            try:
                self._scanner.finish()
            except DataSetError as error:
                self._scan_error = str(error)
        if self._scan_error is not None:
            self._fail(self._bad_data_set(self._scan_error))
        elif not self.store.options.bit_preserving:
            # What normal mode corrects, in the reference's words.
            for warning in self._scanner.warnings:
                self.log.warn(
                    "{warning}",
                    warning=warning,
                    assoc=self.request.association.assoc_id,
                )
        if self._failure is None and self._head is None:
            self._decide_head(final=True)
        if self._failure is None and not self._needs_scan_for_head():
            mismatch = self._check_uids()
            if mismatch is not None:
                self._fail(mismatch)
        if self._failure is None and self._converter is not None:
            try:
                converted = self._converter.finish(
                    self._scanner.top_starts, self._scanner.offset, self._head_length
                )
            except DataSetError as error:
                self._cannot_convert(error)
            else:
                self._pending.extend(converted)
                self._pending_size += sum(map(len, converted))
        if self._failure is None and self.store.studies is not None:
            self._sort()
        self._finished = Deferred()
        finished = self._finished
        self._step()
        if self._ended_study is None:
            return finished
        ended = self._ended_study
        return finished.addCallback(
            lambda result: dataclasses.replace(result, ended_study=ended)
        )

    def _sort(self) -> None:
        """
        Put the object into its study's subdirectory (behaviour reference
        §8), deciding with the process's current study.
        """
        studies = self.store.studies
        assert studies is not None
        fields = dict(path=self.path, assoc=self.request.association.assoc_id)
        study = _missing(self._scanner, STUDY_INSTANCE_UID)
        if study is None:
            self._fail(
                self._bad_data_set(
                    "element StudyInstanceUID (0020,000d) absent or empty in data set"
                )
            )
            return
        patient = self._scanner.values.get(PATIENT_NAME)
        if studies.mode == PATIENT_NAME_SORT:
            self._check_patient_name(patient, fields)
        try:
            name, new = studies.directory_for(
                study, patient, self.store.reactor.seconds()
            )
            directory = safe_join(self.store.options.directory, name)
        except ValueError as error:
            self._fail(self._bad_data_set(str(error)))
            return
        self._study_directory = directory if new else None
        self.path = safe_join(directory, os.path.basename(self.path))
        if new:
            self._ended_study = self.store.study_began(directory)
        self.store.record(self.path)
        if self.store.end_of_study is not None:
            association = self.request.association
            self.store.end_of_study.activity(
                association.calling_ae,
                association.called_ae,
                association.peer.rpartition(":")[0],
            )

    def _check_patient_name(self, raw: bytes | None, fields: dict[str, Any]) -> None:
        if patient_directory_name(raw)[1]:
            self.log.warn(
                "element PatientName (0010,0010) absent or empty in data set,"
                " using 'ANONYMOUS' instead",
                **fields,
            )
            return
        charset = self._scanner.values.get(SPECIFIC_CHARACTER_SET)
        text = text_value(charset) if charset is not None else None
        if text not in (None, "", "ISO_IR 100") and raw and max(raw) >= 0x80:
            self.log.warn(
                "Patient name not in Latin-1 (charset: {charset}), ASCII dir name"
                " may be broken",
                charset=text,
                **fields,
            )

    def _make_study_directory(self) -> None:
        directory = self._study_directory
        if directory is None:
            return
        try:
            os.mkdir(directory)
            self._study_created = True
        except FileExistsError:
            self._study_created = False
        except OSError as error:
            raise StorageError(
                error.errno or 0, "could not create subdirectory for study", directory
            ) from None

    def _commit_blocking(
        self, chunks: Sequence[memoryview | bytes]
    ) -> tuple[bool, bool, str]:
        """
        :returns: whether the object was stored, whether it replaced a
            file, and its path.
        """
        self._make_study_directory()
        if self._converter is not None:
            self._write_blocking(chunks)
            assert self._spool is not None
            for at, value in self._converter.patches:
                self._spool.patch(self._head_length + at, value)
            if self._converter.disordered:
                # Elements out of order: sort the converted data set.
                self._reencode_blocking(
                    self.transfer_syntax, self._converter.starts, self._converter.size
                )
        elif self._hold_in_memory():
            self._convert_in_memory(chunks)
        else:
            self._write_blocking(chunks)
            if self._reencoding_needed():
                self._reencode_blocking()
        spool = self._spool
        assert spool is not None
        mode = self.store.options.on_duplicate
        if mode == "overwrite":
            return True, spool.commit(self.path, overwrite=True), self.path
        alternatives = _numbered(self.path, self.store.options.extension)
        stored = spool.commit(
            self.path,
            overwrite=False,
            alternatives=alternatives if mode == "unique" else (),
        )
        return stored, False, spool.final_path or self.path

    def _cannot_convert(self, error: DataSetError) -> None:
        self._fail(
            StoreResult(
                Status.OUT_OF_RESOURCES,
                detail=f"cannot write DICOM file: {self.path}:"
                f" cannot convert the data set: {error}",
            )
        )

    def _reencoding_needed(self) -> bool:
        return self._conversion_certain() or (
            self._reencodable() and self._scanner.needs_reencoding
        )

    def _reencodable(self) -> bool:
        received = self.request.context.transfer_syntax
        return not self.store.options.bit_preserving and (
            received in REENCODABLE or self.transfer_syntax == received
        )

    def _conversion_certain(self) -> bool:
        """
        Whether the data set will be re-encoded whatever it holds.
        """
        options = self.store.options
        received = self.request.context.transfer_syntax
        return self._reencodable() and (
            not options.encoding.is_default
            or self.transfer_syntax != received
            # The reference inflates and deflates again, at its level.
            or received == DEFLATED_LITTLE
        )

    def _convert_in_memory(self, chunks: Sequence[memoryview | bytes]) -> None:
        """
        Re-encode a data set held whole in memory (``chunks``: the file
        meta information, if any, and the data set as received) and write
        the result into a new spool file with one system call.
        """
        options = self.store.options
        whole = memoryview(b"".join(chunks))
        head, data = whole[: self._head_length], whole[self._head_length :]

        def read(offset: int, length: int) -> bytes:
            return bytes(data[offset : offset + length])

        try:
            pieces = plan(
                self.request.context.transfer_syntax,
                self._scanner.top_starts,
                self._scanner.offset,
                read,
                encoding=options.encoding,
                target_syntax=self.transfer_syntax,
                offset=len(head),
            )
        except DataSetError as error:
            self._cannot_reencode(error)
            self._write_blocking([whole])
            return
        out: Sequence[bytes | memoryview] = buffers(pieces, data)
        if self.transfer_syntax == DEFLATED_LITTLE:
            out = deflate(out, options.compression_level)
        self._write_blocking([head, *out])

    def _reencode_blocking(
        self,
        source_syntax: str | None = None,
        starts: Sequence[int] | None = None,
        total: int | None = None,
    ) -> None:
        """
        Write the spooled data set anew as the reference writes it in
        normal mode (``dicomtw.reencode``), in the output transfer syntax,
        into a second spool file that replaces the first.

        A data set that cannot be re-encoded is kept as received when that
        is still the syntax its meta information names; otherwise the
        store fails.
        """
        old = self._spool
        assert old is not None
        options = self.store.options
        received = source_syntax or self.request.context.transfer_syntax
        head = self._head_length
        source = old.reopen()
        inflated = None
        try:
            if received == DEFLATED_LITTLE:
                try:
                    inflated = inflate_file(source, head, options.directory)
                except DataSetError as error:
                    self._cannot_reencode(error)
                    return
                data_fd, base = inflated.fileno(), 0
            else:
                data_fd, base = source, head

            def read(offset: int, length: int) -> bytes:
                return os.pread(data_fd, length, base + offset)

            try:
                pieces = plan(
                    received,
                    self._scanner.top_starts if starts is None else starts,
                    self._scanner.offset if total is None else total,
                    read,
                    encoding=options.encoding,
                    target_syntax=self.transfer_syntax,
                    offset=head,
                )
            except DataSetError as error:
                self._cannot_reencode(error)
                return
            new = SpoolFile(options.directory, fsync=options.fsync)
            try:
                if head:
                    new.write_chunks([os.pread(source, head, 0)])
                deflated = self.transfer_syntax == DEFLATED_LITTLE
                output = DataSetOutput(
                    new, options.compression_level if deflated else None
                )
                copy_pieces(pieces, read, output)
                output.close()
            except BaseException:
                new.discard()
                raise
        finally:
            os.close(source)
            if inflated is not None:
                inflated.close()
        old.discard()
        self._spool = new

    def _cannot_reencode(self, error: DataSetError) -> None:
        """
        Keep the data set as received, or, if the file must be in another
        syntax than the one received (or re-deflated), fail the store.
        """
        received = self.request.context.transfer_syntax
        if self.transfer_syntax != received or received == DEFLATED_LITTLE:
            raise StorageError(0, f"cannot convert the data set: {error}", self.path)
        self._reencode_error = str(error)

    def _discard_blocking(self) -> None:
        if self._spool is not None:
            self._spool.discard()

    def _committed(self, outcome: tuple[bool, bool, str]) -> None:
        stored, replaced, path = outcome
        self._busy = False
        if self._study_directory is not None:
            self.log.info(
                "{what} subdirectory for study: {directory}",
                what="created new" if self._study_created else "using existing",
                directory=self._study_directory,
            )
        if self._reencode_error:
            self.log.warn(
                "{path} kept as received, not re-encoded: {error}",
                path=self.path,
                error=self._reencode_error,
            )
        assert self._finished is not None
        if stored:
            result = StoreResult(Status.SUCCESS, path, replaced)
        elif self.store.options.on_duplicate == "keep":
            self.log.warn("DICOM file already exists, keeping it: {path}", path=path)
            result = StoreResult(Status.SUCCESS, detail="kept the existing file")
        else:
            result = StoreResult(
                Status.DUPLICATE_SOP_INSTANCE,
                detail=f"DICOM file already exists: {path}",
            )
        self._finished.callback(result)

    def _commit_failed(self, failure: Failure) -> None:
        # SpoolFile.commit discards the spool file itself when it fails.
        self._storage_failed(failure)
        self._run(self._discard_blocking, self._failed, self._failed)

    def _failed(self, _: object) -> None:
        self._busy = False
        assert self._finished is not None and self._failure is not None
        self._finished.callback(self._failure)

    def _ignore(self, _: object) -> None:
        self._busy = False

    def _bug(self, failure: Failure) -> None:
        self.log.failure("Bug in the store sink for {path}", failure, path=self.path)

    def abandon(self) -> None:
        """
        Drop the spool file; called when the association breaks off while
        the data set is arriving.
        """
        if self._abandoned or self._finished is not None:
            return
        self._abandoned = True
        self._fail(StoreResult(Status.OUT_OF_RESOURCES, detail="abandoned"))
        self._step()


# --- the service of one association --------------------------------------


@dataclass(frozen=True)
class TestingOptions:
    """
    The reference's fault-injection options (behaviour reference §6.7).
    """

    sleep_after: int = 0
    sleep_during: int = 0
    abort_after: bool = False
    abort_during: bool = False


class AbortRequested(Exception):
    """
    Raised to make the adapter abort the association
    (``--abort-during``/``--abort-after``).
    """


class ServiceSCP:
    """
    Verification and Storage SCP for one association: turns DIMSE events
    into sink calls and responses.

    :param respond: sends a response command set on a presentation context.
    """

    log = Logger(observer=GATE)

    def __init__(
        self,
        handler: IStoreHandler,
        association: AssociationInfo,
        contexts: dict[int, AcceptedContext],
        respond: Callable[[int, bytes], None],
        reactor: IReactorTime,
        testing: TestingOptions = TestingOptions(),
        command: ReceptionCommand | None = None,
    ) -> None:
        self.handler = handler
        self.on_reception = command
        self.association = association
        self.contexts = contexts
        self.respond = respond
        self.reactor = reactor
        self.testing = testing
        self._store: tuple[StoreRequest, IStoreSink] | None = None
        self._fragments = 0
        self._end_of_study: EndOfStudy | None = getattr(handler, "end_of_study", None)
        self._activity()
        # Building a log event per object is not free: ask the gate once.
        self._info = enabled(type(self).log.namespace, LogLevel.info)

    @property
    def storing(self) -> bool:
        """
        Whether a C-STORE's data set is being received.
        """
        return self._store is not None

    def command(self, event: CommandReceived) -> Deferred[None] | None:
        """
        Handle a command set.

        :returns: ``None``, or a Deferred to wait for before reading on.
        :raises ProtocolError: for a command this SCP cannot serve.
        """
        self._activity()
        context = self.contexts.get(event.context_id)
        if context is None:
            raise ProtocolError(
                f"ASC Bad presentation context ID {event.context_id}",
                AbortSource.SERVICE_USER,
                AbortReason.NOT_SPECIFIED,
            )
        command = event.command
        field = command.command_field
        if field == CommandField.C_ECHO_RQ:
            self._echo(context, command)
            return None
        if field == CommandField.C_STORE_RQ:
            return self._begin_store(context, command)
        raise ProtocolError(
            f"Expected C-ECHO or C-STORE request but received DIMSE command"
            f" 0x{field:04x}",
            AbortSource.SERVICE_USER,
            AbortReason.NOT_SPECIFIED,
        )

    def _echo(self, context: AcceptedContext, command: CommandSet) -> None:
        message_id = command.ushort(Tag.MESSAGE_ID)
        if command.has_data_set:
            raise ProtocolError(
                "C-ECHO-RQ with a data set",
                AbortSource.SERVICE_USER,
                AbortReason.NOT_SPECIFIED,
            )
        self.log.info(
            "Received Echo Request (MsgID {message_id})",
            message_id=message_id,
            assoc=self.association.assoc_id,
            peer=self.association.peer,
        )
        sop_class = command.text(Tag.AFFECTED_SOP_CLASS_UID) or context.abstract_syntax
        self.respond(
            context.context_id, echo_response(message_id, sop_class, Status.SUCCESS)
        )
        return None

    def _begin_store(
        self, context: AcceptedContext, command: CommandSet
    ) -> Deferred[None] | None:
        if not command.has_data_set:
            raise ProtocolError(
                "C-Store RQ: DataSetType == NULL",
                AbortSource.SERVICE_USER,
                AbortReason.NOT_SPECIFIED,
            )
        request = StoreRequest(
            self.association,
            context,
            command.ushort(Tag.MESSAGE_ID),
            command.uid(Tag.AFFECTED_SOP_CLASS_UID),
            command.uid(Tag.AFFECTED_SOP_INSTANCE_UID),
            command.ushort(Tag.PRIORITY) if Tag.PRIORITY in command else 0,
            command.text(Tag.MOVE_ORIGINATOR_AE_TITLE),
        )
        if self._info:
            self.log.info(
                "Received Store Request (MsgID {message_id}, {prefix})",
                message_id=request.message_id,
                prefix=log_prefix(request.sop_class),
                sop_class=request.sop_class,
                sop_instance=request.sop_instance,
                assoc=self.association.assoc_id,
                peer=self.association.peer,
            )
        self._store = (request, self.handler.begin(request))
        self._fragments = 0
        return self._sleep_during()

    def _sleep_during(self) -> Deferred[None] | None:
        if not self.testing.sleep_during:
            return None
        return deferLater(self.reactor, self.testing.sleep_during, lambda: None)

    def data(self, event: DataReceived) -> Deferred[None] | None:
        """
        Pass a data-set fragment to the sink; on the last one, finish the
        store and send the response.

        :returns: ``None``, or a Deferred to wait for before reading on.
        :raises AbortRequested: for ``--abort-during``/``--abort-after``.
        """
        assert self._store is not None, "data without a C-STORE"
        request, sink = self._store
        self._fragments += 1
        if self.testing.abort_during:
            self.abandon()
            raise AbortRequested()
        waiting = sink.write(event.data)
        if not event.last:
            return waiting if waiting is not None else self._sleep_during()
        if self.testing.abort_after:
            self.abandon()
            raise AbortRequested()
        self._store = None
        d: Deferred[Any] = waiting if waiting is not None else succeed(None)
        d.addCallback(lambda _: self._sleep_during())
        d.addCallback(lambda _: sink.finish())
        d.addCallback(self._stored, request)
        return d

    def _stored(
        self, result: StoreResult, request: StoreRequest
    ) -> Deferred[None] | None:
        fields = dict(
            assoc=self.association.assoc_id,
            peer=self.association.peer,
            message_id=request.message_id,
            sop_class=request.sop_class,
            sop_instance=request.sop_instance,
            path=result.path,
            status=result.status,
        )
        if result.status == Status.SUCCESS and result.path is not None:
            if self._info:
                self.log.info("storing DICOM file: {path}", **fields)
            if result.replaced:
                self.log.warn(
                    "DICOM file already exists, overwriting: {path}", **fields
                )
        elif result.status != Status.SUCCESS:
            self.log.error(
                "Store failed with status 0x{status:04x} ({status_text}): {detail}",
                status_text=describe(result.status),
                detail=result.detail,
                **fields,
            )
        self.respond(
            request.context.context_id,
            store_response(
                request.message_id,
                request.sop_class,
                request.sop_instance,
                result.status,
            ),
        )
        waiting: Deferred[None] | None = None
        if self.on_reception is not None:
            waiting = self.on_reception.run(
                result.path if result.status == Status.SUCCESS else None,
                self.association.calling_ae,
                self.association.called_ae,
                self.association.peer.rpartition(":")[0],
                self.association.peer_certificate,
            )
        if result.ended_study is not None and self._end_of_study is not None:
            waiting = self._end_study(result.ended_study, waiting)
        if self.testing.sleep_after:
            seconds = self.testing.sleep_after
            if waiting is None:
                return deferLater(self.reactor, seconds, lambda: None)
            waiting.addCallback(
                lambda _: deferLater(self.reactor, seconds, lambda: None)
            )
        return waiting

    def _activity(self) -> None:
        if self._end_of_study is not None:
            association = self.association
            self._end_of_study.activity(
                association.calling_ae,
                association.called_ae,
                association.peer.rpartition(":")[0],
            )

    def _end_study(
        self, study: EndedStudy, waiting: Deferred[None] | None
    ) -> Deferred[None]:
        """
        Run the end-of-study actions after the response and after the
        ``-xcr`` command (once it has ended, with ``-xs``).
        """
        assert self._end_of_study is not None
        association = self.association
        arguments = (
            study,
            association.calling_ae,
            association.called_ae,
            association.peer.rpartition(":")[0],
        )
        if waiting is None:
            return self._end_of_study.ended(*arguments)
        end_of_study = self._end_of_study
        return waiting.addCallback(lambda _: end_of_study.ended(*arguments))

    def abandon(self) -> None:
        """
        The association ended: drop a half-received object.
        """
        if self._store is not None:
            _, sink = self._store
            self._store = None
            sink.abandon()
