"""
The two error families of dicomtw.

A :class:`ProtocolError` means the peer is at fault: it carries what the
upper layer should answer with (an A-ABORT source and reason, PS3.8 §9.3.8,
Table 9-26, or an A-ASSOCIATE-RJ result, source and reason, PS3.8 §9.3.4,
Table 9-21).  A :class:`UsageError` means local code is at fault, for
example asking the state machine for something illegal in its state.
"""

from __future__ import annotations


class AbortSource:
    """
    A-ABORT source values, PS3.8 §9.3.8, Table 9-26.
    """

    SERVICE_USER = 0
    RESERVED = 1
    SERVICE_PROVIDER = 2


class AbortReason:
    """
    A-ABORT reason/diag values for the service-provider source, PS3.8
    §9.3.8, Table 9-26.
    """

    NOT_SPECIFIED = 0
    UNRECOGNIZED_PDU = 1
    UNEXPECTED_PDU = 2
    RESERVED = 3
    UNRECOGNIZED_PDU_PARAMETER = 4
    UNEXPECTED_PDU_PARAMETER = 5
    INVALID_PDU_PARAMETER_VALUE = 6


class ProtocolError(Exception):
    """
    The peer sent something that breaks PS3.8.

    :ivar source: the A-ABORT source to answer with.
    :ivar reason: the A-ABORT reason/diag to answer with.
    :ivar detail: a short human-readable account for the log.
    """

    def __init__(
        self,
        detail: str,
        source: int = AbortSource.SERVICE_PROVIDER,
        reason: int = AbortReason.INVALID_PDU_PARAMETER_VALUE,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.source = source
        self.reason = reason


class UsageError(Exception):
    """
    Local code asked for something the protocol does not allow here.
    """


class DataSetError(Exception):
    """
    A received data set is structurally broken: it ends inside an element,
    item or sequence, or its lengths and delimiters contradict each other
    (PS3.5 §7.1 and §7.5).  The reference program aborts the association
    without a C-STORE-RSP in this case (behaviour reference §6.3, step 4).
    """
