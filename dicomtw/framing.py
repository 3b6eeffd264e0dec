"""
Cut a byte stream into whole PDUs, PS3.8 §9.3.1.

Rules this module keeps:

- A PDU header is 6 bytes: type, reserved, 32-bit big-endian length.
- The type byte is checked as soon as it arrives, and the length as soon
  as the header is complete -- *before* any of the body is buffered.  A
  P-DATA-TF may be at most the maximum length we advertised; every other
  PDU at most a fixed cap (1 MiB, as DCMTK refuses larger A-ASSOCIATE-RQ
  PDUs), and A-RELEASE and A-ABORT exactly 4 bytes.  So memory held here
  is bounded by one PDU plus one read, whatever the peer announces.
- Bodies are handed to :func:`dicomtw.pdu.decode_pdu` as memory views.  A
  PDU that lies within one received chunk is not copied at all; one that
  straddles chunks is joined once.
- After the first error the framer is dead: it raises the same error
  again rather than guessing where the next PDU starts.
"""

from __future__ import annotations

from dicomtw.errors import AbortReason, AbortSource, ProtocolError
from dicomtw.pdu import (
    HEADER_SIZE,
    PDU,
    PDU_CLASSES,
    PDUType,
    decode_header,
    decode_pdu,
)

#: The cap on PDUs other than P-DATA-TF; DCMTK refuses A-ASSOCIATE-RQ
#: PDUs above 1 MiB.
MAX_ASSOCIATE_LENGTH = 1 << 20

_FIXED_LENGTH = {
    PDUType.A_RELEASE_RQ: 4,
    PDUType.A_RELEASE_RP: 4,
    PDUType.A_ABORT: 4,
    PDUType.A_ASSOCIATE_RJ: 4,
}


class Framer:
    """
    Incremental PDU framing of one connection's byte stream.

    :ivar max_pdata_length: the largest P-DATA-TF PDU length accepted;
        the adapter sets it to the maximum length it advertised.
    """

    def __init__(
        self,
        max_pdata_length: int,
        max_other_length: int = MAX_ASSOCIATE_LENGTH,
    ) -> None:
        self.max_pdata_length = max_pdata_length
        self.max_other_length = max_other_length
        self._chunks: list[memoryview] = []
        self._size = 0
        self._error: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """
        The number of bytes received but not yet framed.
        """
        return self._size

    @property
    def partial(self) -> bool:
        """
        Whether part of a PDU has been received.
        """
        return self._size > 0

    def feed(self, data: bytes) -> None:
        """
        Add received bytes; once the framer is dead they are dropped, so
        a peer cannot grow the buffer while the association is aborted.
        """
        if data and self._error is None:
            self._chunks.append(memoryview(data))
            self._size += len(data)

    def next_pdu(self) -> PDU | None:
        """
        :returns: the next whole PDU, or ``None`` if more bytes are needed.
        :raises ProtocolError: for a bad header or a malformed PDU.
        """
        if self._error is not None:
            raise self._error
        try:
            return self._next()
        except ProtocolError as error:
            self._error = error
            self._chunks.clear()
            self._size = 0
            raise

    def _next(self) -> PDU | None:
        if self._size == 0:
            return None
        pdu_type = self._chunks[0][0]
        if pdu_type not in PDU_CLASSES:
            raise ProtocolError(
                f"Unrecognized PDU type: 0x{pdu_type:02x}",
                AbortSource.SERVICE_PROVIDER,
                AbortReason.UNRECOGNIZED_PDU,
            )
        if self._size < HEADER_SIZE:
            return None
        header = self._peek(HEADER_SIZE)
        _, length = decode_header(header)
        self._check_length(pdu_type, length)
        total = HEADER_SIZE + length
        if self._size < total:
            return None
        whole = self._take(total)
        return decode_pdu(pdu_type, whole[HEADER_SIZE:])

    def _check_length(self, pdu_type: int, length: int) -> None:
        if pdu_type == PDUType.P_DATA_TF:
            limit = self.max_pdata_length
        else:
            limit = _FIXED_LENGTH.get(pdu_type, self.max_other_length)
        if length > limit:
            raise ProtocolError(
                f"Illegal PDU Length {length}.  Max expected {limit}",
                AbortSource.SERVICE_PROVIDER,
                AbortReason.INVALID_PDU_PARAMETER_VALUE,
            )

    def _peek(self, count: int) -> bytes | memoryview:
        first = self._chunks[0]
        if len(first) >= count:
            return first[:count]
        out = bytearray()
        for chunk in self._chunks:
            out += chunk[: count - len(out)]
            if len(out) == count:
                break
        return bytes(out)

    def _take(self, count: int) -> memoryview:
        self._size -= count
        first = self._chunks[0]
        if len(first) >= count:
            if len(first) == count:
                del self._chunks[0]
            else:
                self._chunks[0] = first[count:]
            return first[:count]
        out = bytearray(count)
        filled = 0
        while filled < count:
            chunk = self._chunks[0]
            need = count - filled
            if len(chunk) <= need:
                out[filled : filled + len(chunk)] = chunk
                filled += len(chunk)
                del self._chunks[0]
            else:
                out[filled:] = chunk[:need]
                self._chunks[0] = chunk[need:]
                filled = count
        return memoryview(out)
