"""
Interoperability of the storage SCP with pynetdicom 3 as a real client.

Each test class starts one dicomtw server (``python -m dicomtw``) on a free
loopback port for all of its tests, and talks to it with pynetdicom's
``AE``: C-ECHO, C-STORE in two transfer syntaxes, a request with 120
presentation contexts, unknown SOP classes with and without ``-pm``, a
data set that contradicts its command, sixteen concurrent associations, and
the ``--max-associations`` limit.

Run with ``python -m pytest``: the classes start their server in
``setUpClass``, which trial's own runner does not call.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from peers import (
    ServerProcess,
    assert_same_dataset,
    make_ct,
    read_dataset,
    write_object,
)
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom import AE, StoragePresentationContexts, _config
from pynetdicom.association import Association
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.sopclasses import STORAGE_SOP_CLASSES

#: Seconds pynetdicom waits for anything from the server.
PEER_TIMEOUT = 10.0

#: The calling AE title of every association.
CALLING_AE = "PYNETDICOM"

#: A SOP class that no DICOM dictionary knows.
UNKNOWN_SOP_CLASS = "1.2.3.4.5.6.7.8.9"

#: The Verification SOP Class, PS3.4 Annex A.
VERIFICATION = UID("1.2.840.10008.1.1")

#: The status of a successful C-ECHO or C-STORE.
SUCCESS = 0x0000

#: Error: data set does not match SOP class (PS3.4 Table B.2-1).
DATA_SET_MISMATCH = 0xA900

#: The transfer syntaxes pynetdicom proposes by default, most preferred first.
PROPOSED_SYNTAXES = [
    ImplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
]

# Concurrency test: how many associations at once and objects each sends.
_THREADS = 16
_OBJECTS_PER_THREAD = 5
_JOIN_TIMEOUT = 60.0


def make_client(
    contexts: Sequence[str], syntaxes: Sequence[str] = PROPOSED_SYNTAXES
) -> AE:
    """
    Make a pynetdicom application entity that requests presentation contexts.

    :param contexts: the abstract syntaxes to propose, one context each.
    :param syntaxes: the transfer syntaxes proposed in every context.
    :returns: the application entity, with every timeout set.
    """
    ae = AE(ae_title=CALLING_AE)
    ae.acse_timeout = PEER_TIMEOUT
    ae.dimse_timeout = PEER_TIMEOUT
    ae.network_timeout = PEER_TIMEOUT
    ae.connection_timeout = PEER_TIMEOUT
    for abstract_syntax in contexts:
        ae.add_requested_context(abstract_syntax, list(syntaxes))
    return ae


def with_file_meta(ds: Dataset, transfer_syntax: str) -> Dataset:
    """
    Give a data set the file meta information pynetdicom needs to send it.

    :param ds: the data set; it is changed in place.
    :param transfer_syntax: the syntax it is to be sent in.
    :returns: ``ds``.
    """
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(transfer_syntax)
    ds.file_meta = meta
    return ds


class ServerClassMixin:
    """
    Starts one dicomtw server for a whole test case class.

    :cvar options: storescp options besides ``-od`` and the port.
    :cvar server: the running server, set by ``setUpClass``.
    :cvar workdir: a scratch directory holding ``received/`` (the output
        directory), ``sent/`` and the server log.
    """

    options: Sequence[str] = ()
    server: ServerProcess
    workdir: Path

    @classmethod
    def setUpClass(cls) -> None:
        """
        Make the scratch directory and start the server.
        """
        cls.workdir = Path(tempfile.mkdtemp(prefix="dicomtw-pynetdicom-"))
        (cls.workdir / "sent").mkdir()
        server = ServerProcess(
            cls.workdir / "received",
            cls.options,
            log_path=cls.workdir / "server.log",
        )
        try:
            cls.server = server.__enter__()
        except BaseException:
            shutil.rmtree(cls.workdir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        """
        Stop the server and remove the scratch directory.
        """
        cls.server.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def associate(self, ae: AE) -> Association:
        """
        Open an association with the server and insist that it is accepted.

        :param ae: the requesting application entity.
        :returns: the established association.
        """
        assoc = ae.associate("127.0.0.1", self.server.port, ae_title="STORESCP")
        if not assoc.is_established:
            assoc.abort()
            raise AssertionError(
                "association not established\n--- server log:\n"
                + self.server.log_text()
            )
        return assoc

    def listing(self) -> set[str]:
        """
        List the names in the output directory, hidden ones included.

        :returns: the names of every entry, recursively, relative to it.
        """
        root = self.server.output_dir
        return {str(path.relative_to(root)) for path in root.rglob("*")}

    def write_sent(self, ds: Dataset, transfer_syntax: str, name: str) -> Path:
        """
        Keep a copy of an object about to be sent, as a Part 10 file.

        :param ds: the data set.
        :param transfer_syntax: the syntax it is sent in.
        :param name: the file name under ``sent/``.
        :returns: the file.
        """
        return write_object(ds, self.workdir / "sent" / name, transfer_syntax)

    def received(self, name: str) -> Path:
        """
        Find a file the server should have stored.

        :param name: its expected name in the output directory.
        :returns: its path.
        :raises AssertionError: listing the directory and the log if absent.
        """
        path = self.server.output_dir / name
        if not path.is_file():
            raise AssertionError(
                f"{name} not stored; output directory holds "
                f"{sorted(self.listing())}\n--- server log:\n" + self.server.log_text()
            )
        return path


class StorageClientTests(ServerClassMixin, SynchronousTestCase):
    """
    pynetdicom echoes, stores and negotiates with a default dicomtw server.
    """

    def store_in(self, transfer_syntax: str, seed: str) -> None:
        """
        Store a CT in one transfer syntax and check the stored file.

        :param transfer_syntax: the only syntax proposed for CT.
        :param seed: the name the CT's UIDs are derived from.
        """
        ds = make_ct(seed)
        sent = self.write_sent(ds, transfer_syntax, f"{seed}.dcm")
        assoc = self.associate(make_client([CTImageStorage], [transfer_syntax]))
        try:
            negotiated = assoc.accepted_contexts[0].transfer_syntax[0]
            status = assoc.send_c_store(read_dataset(sent))
        finally:
            assoc.release()
        self.assertEqual(negotiated, transfer_syntax)
        self.assertEqual(status.Status, SUCCESS)
        path = self.received(f"CT.{ds.SOPInstanceUID}")
        assert_same_dataset(sent, path)
        self.assertEqual(read_dataset(path).file_meta.TransferSyntaxUID, negotiated)

    def test_echo(self) -> None:
        """
        A C-ECHO is answered with status 0x0000.
        """
        assoc = self.associate(make_client([VERIFICATION]))
        try:
            status = assoc.send_c_echo()
        finally:
            assoc.release()
        self.assertEqual(status.Status, SUCCESS)

    def test_store_implicit_little_endian(self) -> None:
        """
        A CT sent in implicit VR little endian is stored unchanged, with that
        transfer syntax in its file meta information.
        """
        self.store_in(ImplicitVRLittleEndian, "pynetdicom-implicit")

    def test_store_explicit_little_endian(self) -> None:
        """
        A CT sent in explicit VR little endian is stored unchanged, with that
        transfer syntax in its file meta information.
        """
        self.store_in(ExplicitVRLittleEndian, "pynetdicom-explicit")

    def test_many_presentation_contexts(self) -> None:
        """
        Of 120 presentation contexts (119 storage SOP classes and
        Verification) every one the server supports is accepted with
        explicit VR little endian, and the association then carries a
        C-ECHO and a C-STORE.
        """
        storage = [str(cx.abstract_syntax) for cx in StoragePresentationContexts[:119]]
        requested = [*storage, VERIFICATION]
        self.assertIn(CTImageStorage, requested)
        self.assertEqual(len(set(requested)), 120)
        supported = {uid for uid in storage if uid in STORAGE_SOP_CLASSES}
        supported.add(VERIFICATION)
        ds = make_ct("pynetdicom-many-contexts")
        sent = self.write_sent(ds, ExplicitVRLittleEndian, "many.dcm")

        assoc = self.associate(make_client(requested))
        try:
            accepted = {
                cx.abstract_syntax: cx.transfer_syntax[0]
                for cx in assoc.accepted_contexts
            }
            refused = {cx.abstract_syntax for cx in assoc.rejected_contexts}
            echo = assoc.send_c_echo()
            store = assoc.send_c_store(read_dataset(sent))
        finally:
            assoc.release()

        self.assertEqual(set(accepted), supported)
        self.assertEqual(refused, set(requested) - supported)
        self.assertEqual(set(accepted.values()), {ExplicitVRLittleEndian})
        self.assertEqual((echo.Status, store.Status), (SUCCESS, SUCCESS))
        assert_same_dataset(sent, self.received(f"CT.{ds.SOPInstanceUID}"))

    def test_unknown_sop_class_refused(self) -> None:
        """
        Without ``-pm`` a context for an unknown SOP class is refused with
        result 3 (abstract syntax not supported), so pynetdicom cannot store
        such an object, and nothing is written.
        """
        ds = make_ct("pynetdicom-unknown-refused")
        ds.SOPClassUID = UNKNOWN_SOP_CLASS
        with_file_meta(ds, ExplicitVRLittleEndian)
        before = self.listing()
        assoc = self.associate(make_client([VERIFICATION, UNKNOWN_SOP_CLASS]))
        try:
            refused = {cx.abstract_syntax: cx.result for cx in assoc.rejected_contexts}
            with self.assertRaises(ValueError):
                assoc.send_c_store(ds)
        finally:
            assoc.release()
        self.assertEqual(refused, {UNKNOWN_SOP_CLASS: 0x03})
        self.assertEqual(self.listing(), before)

    def test_mismatched_instance_refused(self) -> None:
        """
        A C-STORE whose data set has another SOP Instance UID than the
        command is answered with 0xA900, and the output directory is left
        exactly as it was: no file under either UID and no spool file.
        """
        ds = make_ct("pynetdicom-mismatch")
        sent = self.write_sent(ds, ExplicitVRLittleEndian, "mismatch.dcm")
        instance = str(ds.SOPInstanceUID)
        other = instance[:-1] + ("1" if instance[-1] != "1" else "2")
        raw = sent.read_bytes()
        # The first occurrence is (0002,0003) in the file meta information;
        # both UIDs have the same length, so no group length changes.
        sent.write_bytes(raw.replace(instance.encode(), other.encode(), 1))
        meta = read_dataset(sent)
        self.assertEqual(
            (meta.file_meta.MediaStorageSOPInstanceUID, meta.SOPInstanceUID),
            (other, instance),
        )
        before = self.listing()
        # Sent from the file, pynetdicom takes the command's UIDs from the
        # file meta information and the data set bytes from the file.
        self.patch(_config, "STORE_SEND_CHUNKED_DATASET", True)
        assoc = self.associate(make_client([CTImageStorage]))
        try:
            status = assoc.send_c_store(sent)
        finally:
            assoc.release()
        self.assertEqual(status.Status, DATA_SET_MISMATCH)
        self.assertEqual(self.listing(), before)

    def test_concurrent_associations(self) -> None:
        """
        Sixteen associations held open at the same time each store five
        objects successfully: the server serves them concurrently.
        """
        objects = [
            [
                with_file_meta(
                    make_ct(f"pynetdicom-thread-{n}-{k}"), ImplicitVRLittleEndian
                )
                for k in range(_OBJECTS_PER_THREAD)
            ]
            for n in range(_THREADS)
        ]
        all_open = threading.Barrier(_THREADS, timeout=PEER_TIMEOUT * 2)
        statuses: dict[int, list[int]] = {}
        errors: dict[int, str] = {}

        def client(number: int) -> None:
            ae = make_client([CTImageStorage], [ImplicitVRLittleEndian])
            assoc = ae.associate("127.0.0.1", self.server.port, ae_title="STORESCP")
            try:
                if not assoc.is_established:
                    errors[number] = "association not established"
                    all_open.abort()
                    return
                all_open.wait()
                statuses[number] = [
                    assoc.send_c_store(ds).Status for ds in objects[number]
                ]
            except Exception as error:
                errors[number] = repr(error)
            finally:
                assoc.release()

        threads = [
            threading.Thread(target=client, args=(n,), daemon=True)
            for n in range(_THREADS)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + _JOIN_TIMEOUT
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.assertFalse(
            [thread.name for thread in threads if thread.is_alive()],
            "client threads still running",
        )
        if errors:
            self.fail(
                f"clients failed: {errors}\n--- server log:\n" + self.server.log_text()
            )
        self.assertEqual(
            statuses,
            {n: [SUCCESS] * _OBJECTS_PER_THREAD for n in range(_THREADS)},
        )
        for row in objects:
            for ds in row:
                path = self.received(f"CT.{ds.SOPInstanceUID}")
                self.assertEqual(read_dataset(path).SOPInstanceUID, ds.SOPInstanceUID)


class PromiscuousClientTests(ServerClassMixin, SynchronousTestCase):
    """
    With ``-pm`` pynetdicom can store an object of an unknown SOP class.
    """

    options = ("-pm",)

    def test_unknown_sop_class_stored(self) -> None:
        """
        A context for an unknown SOP class is accepted and the object is
        stored unchanged as ``UNKNOWN.<SOP Instance UID>``.
        """
        ds = make_ct("pynetdicom-unknown-stored")
        ds.SOPClassUID = UNKNOWN_SOP_CLASS
        sent = self.write_sent(ds, ExplicitVRLittleEndian, "unknown.dcm")
        assoc = self.associate(make_client([UNKNOWN_SOP_CLASS]))
        try:
            accepted = [cx.abstract_syntax for cx in assoc.accepted_contexts]
            status = assoc.send_c_store(read_dataset(sent))
        finally:
            assoc.release()
        self.assertEqual(accepted, [UNKNOWN_SOP_CLASS])
        self.assertEqual(status.Status, SUCCESS)
        path = self.received(f"UNKNOWN.{ds.SOPInstanceUID}")
        assert_same_dataset(sent, path)
        self.assertEqual(
            read_dataset(path).file_meta.MediaStorageSOPClassUID, UNKNOWN_SOP_CLASS
        )


class AssociationLimitTests(ServerClassMixin, SynchronousTestCase):
    """
    ``--max-associations 2`` turns a third simultaneous association away.
    """

    options = ("--max-associations", "2")

    def test_third_association_rejected(self) -> None:
        """
        While two associations are open a third is rejected with
        A-ASSOCIATE-RJ (result 2 transient, source 3, reason 2 local limit
        exceeded); once they are released a new one is accepted again.
        """
        held = [self.associate(make_client([VERIFICATION])) for _ in range(2)]
        try:
            third = make_client([VERIFICATION]).associate(
                "127.0.0.1", self.server.port, ae_title="STORESCP"
            )
            if third.is_established:
                third.release()
            rejected = third.is_rejected
            primitive = third.acceptor.primitive
            answer = (
                None
                if primitive is None
                else (primitive.result, primitive.result_source, primitive.diagnostic)
            )
            echoes = [assoc.send_c_echo().Status for assoc in held]
        finally:
            for assoc in held:
                assoc.release()
        self.assertTrue(rejected, "third association not rejected")
        self.assertEqual(answer, (2, 3, 2))
        self.assertEqual(echoes, [SUCCESS, SUCCESS])
        self.assert_accepted_again()

    def assert_accepted_again(self) -> None:
        """
        Wait (at most 5 s) until the server accepts a new association, its
        released ones having left the count.
        """
        deadline = time.monotonic() + 5.0
        while True:
            assoc = make_client([VERIFICATION]).associate(
                "127.0.0.1", self.server.port, ae_title="STORESCP"
            )
            if assoc.is_established:
                status = assoc.send_c_echo()
                assoc.release()
                self.assertEqual(status.Status, SUCCESS)
                return
            if time.monotonic() > deadline:
                self.fail("no association accepted after the others were released")
            time.sleep(0.2)
