"""
Public test doubles for applications that embed dicomtw: an in-memory
store handler and a scripted peer that builds the PDUs a storage SCU
sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from twisted.internet.defer import Deferred, succeed
from zope.interface import implementer

from dicomtw.dimse import NO_DATA_SET, CommandField, Tag, encode_command, fragment
from dicomtw.pdu import (
    AAssociateRQ,
    AReleaseRQ,
    ImplementationClassUID,
    MaximumLength,
    PresentationContextRQ,
    UserInformation,
)
from dicomtw.scp import IStoreHandler, IStoreSink, StoreRequest, StoreResult
from dicomtw.status import Status


@implementer(IStoreSink)
class MemorySink:
    """
    Collects one data set in memory.

    :ivar paused: when set, :meth:`write` returns this Deferred, so tests
        can hold the adapter in back-pressure.
    """

    def __init__(self, store: MemoryStore, request: StoreRequest) -> None:
        self.store = store
        self.request = request
        self.chunks: list[bytes] = []
        self.paused: Deferred[None] | None = None
        self.abandoned = False

    def write(self, data: memoryview | bytes) -> Deferred[None] | None:
        """
        Keep a copy of the fragment.
        """
        self.chunks.append(bytes(data))
        return self.paused

    def finish(self) -> Deferred[StoreResult]:
        """
        File the object under its SOP Instance UID.
        """
        self.store.objects[self.request.sop_instance] = b"".join(self.chunks)
        if self.store.finishing is not None:
            return self.store.finishing
        return succeed(StoreResult(self.store.status))

    def abandon(self) -> None:
        """
        Forget the partial object.
        """
        self.abandoned = True
        self.chunks = []


@implementer(IStoreHandler)
class MemoryStore:
    """
    A store handler that keeps objects in a dict.

    :ivar objects: received data sets by SOP Instance UID.
    :ivar status: the status every store answers with.
    :ivar finishing: when set, returned from every sink's ``finish``.
    """

    def __init__(self, status: int = Status.SUCCESS) -> None:
        self.status = status
        self.objects: dict[str, bytes] = {}
        self.sinks: list[MemorySink] = []
        self.finishing: Deferred[StoreResult] | None = None

    def begin(self, request: StoreRequest) -> MemorySink:
        """
        Open a sink for ``request``.
        """
        sink = MemorySink(self, request)
        self.sinks.append(sink)
        return sink


@dataclass
class ScriptedPeer:
    """
    Builds the bytes a storage SCU sends, for feeding to a protocol.
    """

    calling_ae: str = "TESTSCU"
    called_ae: str = "STORESCP"
    max_pdu: int = 16384
    contexts: list[PresentationContextRQ] = field(default_factory=list)
    _message_id: int = 0

    def propose(self, context_id: int, abstract: str, *syntaxes: str) -> None:
        """
        Add a presentation context to the request.
        """
        self.contexts.append(PresentationContextRQ(context_id, abstract, syntaxes))

    def associate(self) -> bytes:
        """
        :returns: an encoded A-ASSOCIATE-RQ.
        """
        user = UserInformation(
            (MaximumLength(self.max_pdu), ImplementationClassUID("1.2.3.4"))
        )
        return AAssociateRQ(
            self.called_ae, self.calling_ae, tuple(self.contexts), user
        ).encode()

    def _next_id(self) -> int:
        self._message_id += 1
        return self._message_id

    def echo(self, context_id: int) -> bytes:
        """
        :returns: the P-DATA-TF PDUs of a C-ECHO-RQ.
        """
        command = encode_command(
            {
                Tag.AFFECTED_SOP_CLASS_UID: "1.2.840.10008.1.1",
                Tag.COMMAND_FIELD: CommandField.C_ECHO_RQ,
                Tag.MESSAGE_ID: self._next_id(),
                Tag.COMMAND_DATA_SET_TYPE: NO_DATA_SET,
            }
        )
        return b"".join(fragment(context_id, command, self.max_pdu, command=True))

    def store(
        self, context_id: int, sop_class: str, sop_instance: str, data_set: bytes
    ) -> list[bytes]:
        """
        :returns: the P-DATA-TF PDUs of a C-STORE-RQ and its data set, one
            PDU per list entry.
        """
        command = encode_command(
            {
                Tag.AFFECTED_SOP_CLASS_UID: sop_class,
                Tag.COMMAND_FIELD: CommandField.C_STORE_RQ,
                Tag.MESSAGE_ID: self._next_id(),
                Tag.PRIORITY: 0,
                Tag.COMMAND_DATA_SET_TYPE: 0x0000,
                Tag.AFFECTED_SOP_INSTANCE_UID: sop_instance,
            }
        )
        pdus = list(fragment(context_id, command, self.max_pdu, command=True))
        pdus.extend(fragment(context_id, data_set, self.max_pdu, command=False))
        return pdus

    def release(self) -> bytes:
        """
        :returns: an encoded A-RELEASE-RQ.
        """
        return AReleaseRQ().encode()


def concatenate(pdus: Iterable[bytes]) -> bytes:
    """
    :returns: the PDUs as one byte string.
    """
    return b"".join(pdus)
