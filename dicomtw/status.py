"""
DIMSE status codes the storage and verification SCPs answer with (PS3.7
Annex C, PS3.4 §B.2.3), and the reference's use of them (behaviour
reference §6.5).
"""

from __future__ import annotations


class Status:
    """
    Named status codes.
    """

    SUCCESS = 0x0000
    #: Refused: out of resources (PS3.4 Table B.2-1, 0xA7xx).
    OUT_OF_RESOURCES = 0xA700
    #: Error: data set does not match SOP class (0xA9xx).
    DATA_SET_MISMATCH = 0xA900
    #: Error: cannot understand (0xCxxx).
    CANNOT_UNDERSTAND = 0xC000
    #: Refused: SOP class not supported (PS3.7 §C.5.20).
    SOP_CLASS_NOT_SUPPORTED = 0x0122
    #: Failure: duplicate SOP instance (PS3.7 §C.5.8), for
    #: ``--on-duplicate reject``; C-STORE has no status of its own for it.
    DUPLICATE_SOP_INSTANCE = 0x0111

    @staticmethod
    def is_success(code: int) -> bool:
        """
        :returns: whether ``code`` reports success.
        """
        return code == Status.SUCCESS


def describe(code: int) -> str:
    """
    :returns: a short name for a status code, for logs.
    """
    names = {
        Status.SUCCESS: "Success",
        Status.OUT_OF_RESOURCES: "Refused: Out of Resources",
        Status.DATA_SET_MISMATCH: "Error: Data Set does not match SOP Class",
        Status.CANNOT_UNDERSTAND: "Error: Cannot understand",
        Status.SOP_CLASS_NOT_SUPPORTED: "Refused: SOP Class not supported",
        Status.DUPLICATE_SOP_INSTANCE: "Failure: Duplicate SOP Instance",
    }
    return names.get(code, f"0x{code:04x}")
