"""
Storage SOP classes: which are accepted by default, and the short codes the
reference program puts in file names and log lines.

Behaviour reference §4.4 and Appendix A.  The reference accepts the 186
storage SOP classes DCMTK 3.6.7 knew.  dicomtw accepts those and also every
storage SOP class the installed pydicom knows that was defined later (for
example Photoacoustic Image Storage or Enhanced RT Image Storage), because a
PACS replacing ``storescp`` today should not refuse them.  Such a newer
class is not in Appendix A, so its files are named ``UNKNOWN.<uid>`` and it
is logged as ``OT``, exactly as the reference names it in promiscuous
mode.  The non-patient classes the reference refuses by default (Hanging
Protocol, Color Palette, implant templates, defined procedure protocols,
Protocol Approval) stay refused, and so does the newer non-patient
Inventory Storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from dicomtw.dictionary import UID_REGISTRY
from dicomtw.uids import VERIFICATION

__all__ = [
    "FILE_PREFIXES",
    "UNKNOWN_FILE_PREFIX",
    "UNKNOWN_LOG_PREFIX",
    "NON_PATIENT_SOP_CLASSES",
    "STORAGE_SOP_CLASSES",
    "VERIFICATION",
    "file_prefix",
    "is_known_uid",
    "log_prefix",
]

#: Prefix of generated file names for an unknown SOP class (§7.2).
UNKNOWN_FILE_PREFIX = "UNKNOWN"

#: Modality code in the "Received Store Request" log line for an unknown
#: SOP class (§7.2).
UNKNOWN_LOG_PREFIX = "OT"

#: Appendix A, column "File prefix": SOP Class UID to the code that starts
#: generated file names.  Case matters, and two classes share ``SRi``.
FILE_PREFIXES: Mapping[str, str] = MappingProxyType(
    {
        "1.2.840.10008.5.1.1.27": "SP",
        "1.2.840.10008.5.1.1.29": "HG",
        "1.2.840.10008.5.1.1.30": "HC",
        "1.2.840.10008.5.1.4.1.1.1": "CR",
        "1.2.840.10008.5.1.4.1.1.1.1": "DX",
        "1.2.840.10008.5.1.4.1.1.1.1.1": "DP",
        "1.2.840.10008.5.1.4.1.1.1.2": "DXm",
        "1.2.840.10008.5.1.4.1.1.1.2.1": "DPm",
        "1.2.840.10008.5.1.4.1.1.1.3": "DXo",
        "1.2.840.10008.5.1.4.1.1.1.3.1": "DPo",
        "1.2.840.10008.5.1.4.1.1.2": "CT",
        "1.2.840.10008.5.1.4.1.1.2.1": "CTe",
        "1.2.840.10008.5.1.4.1.1.2.2": "CTl",
        "1.2.840.10008.5.1.4.1.1.3": "USf",
        "1.2.840.10008.5.1.4.1.1.3.1": "USm",
        "1.2.840.10008.5.1.4.1.1.4": "MR",
        "1.2.840.10008.5.1.4.1.1.4.1": "MRe",
        "1.2.840.10008.5.1.4.1.1.4.2": "MRs",
        "1.2.840.10008.5.1.4.1.1.4.3": "MRc",
        "1.2.840.10008.5.1.4.1.1.4.4": "MRl",
        "1.2.840.10008.5.1.4.1.1.5": "NMr",
        "1.2.840.10008.5.1.4.1.1.6": "USr",
        "1.2.840.10008.5.1.4.1.1.6.1": "US",
        "1.2.840.10008.5.1.4.1.1.6.2": "USe",
        "1.2.840.10008.5.1.4.1.1.7": "SC",
        "1.2.840.10008.5.1.4.1.1.7.1": "SCs",
        "1.2.840.10008.5.1.4.1.1.7.2": "SCb",
        "1.2.840.10008.5.1.4.1.1.7.3": "SCw",
        "1.2.840.10008.5.1.4.1.1.7.4": "SCc",
        "1.2.840.10008.5.1.4.1.1.8": "OV",
        "1.2.840.10008.5.1.4.1.1.9": "CV",
        "1.2.840.10008.5.1.4.1.1.9.1": "WV_d",
        "1.2.840.10008.5.1.4.1.1.9.1.1": "TLE",
        "1.2.840.10008.5.1.4.1.1.9.1.2": "ECG",
        "1.2.840.10008.5.1.4.1.1.9.1.3": "ECA",
        "1.2.840.10008.5.1.4.1.1.9.2.1": "WVh",
        "1.2.840.10008.5.1.4.1.1.9.3.1": "WVc",
        "1.2.840.10008.5.1.4.1.1.9.4.1": "AUV",
        "1.2.840.10008.5.1.4.1.1.9.4.2": "AUG",
        "1.2.840.10008.5.1.4.1.1.9.5.1": "WVa",
        "1.2.840.10008.5.1.4.1.1.9.6.1": "WVr",
        "1.2.840.10008.5.1.4.1.1.9.6.2": "WVm",
        "1.2.840.10008.5.1.4.1.1.9.7.1": "EEG",
        "1.2.840.10008.5.1.4.1.1.9.7.2": "EMG",
        "1.2.840.10008.5.1.4.1.1.9.7.3": "EOG",
        "1.2.840.10008.5.1.4.1.1.9.7.4": "WVs",
        "1.2.840.10008.5.1.4.1.1.9.8.1": "WVb",
        "1.2.840.10008.5.1.4.1.1.10": "ML",
        "1.2.840.10008.5.1.4.1.1.11": "VO",
        "1.2.840.10008.5.1.4.1.1.11.1": "PSg",
        "1.2.840.10008.5.1.4.1.1.11.2": "PSc",
        "1.2.840.10008.5.1.4.1.1.11.3": "PSp",
        "1.2.840.10008.5.1.4.1.1.11.4": "PSb",
        "1.2.840.10008.5.1.4.1.1.11.5": "PSx",
        "1.2.840.10008.5.1.4.1.1.11.6": "VPg",
        "1.2.840.10008.5.1.4.1.1.11.7": "VPc",
        "1.2.840.10008.5.1.4.1.1.11.8": "PSa",
        "1.2.840.10008.5.1.4.1.1.11.9": "VPv",
        "1.2.840.10008.5.1.4.1.1.11.10": "VPs",
        "1.2.840.10008.5.1.4.1.1.11.11": "VPm",
        "1.2.840.10008.5.1.4.1.1.12.1": "XA",
        "1.2.840.10008.5.1.4.1.1.12.1.1": "XAe",
        "1.2.840.10008.5.1.4.1.1.12.2": "RF",
        "1.2.840.10008.5.1.4.1.1.12.2.1": "RFe",
        "1.2.840.10008.5.1.4.1.1.12.3": "XB",
        "1.2.840.10008.5.1.4.1.1.13.1.1": "XA3",
        "1.2.840.10008.5.1.4.1.1.13.1.2": "XC3",
        "1.2.840.10008.5.1.4.1.1.13.1.3": "BT",
        "1.2.840.10008.5.1.4.1.1.13.1.4": "BX",
        "1.2.840.10008.5.1.4.1.1.13.1.5": "BP",
        "1.2.840.10008.5.1.4.1.1.14.1": "OCt",
        "1.2.840.10008.5.1.4.1.1.14.2": "OCp",
        "1.2.840.10008.5.1.4.1.1.20": "NM",
        "1.2.840.10008.5.1.4.1.1.30": "PM",
        "1.2.840.10008.5.1.4.1.1.66": "RAW",
        "1.2.840.10008.5.1.4.1.1.66.1": "RGs",
        "1.2.840.10008.5.1.4.1.1.66.2": "FID",
        "1.2.840.10008.5.1.4.1.1.66.3": "RGd",
        "1.2.840.10008.5.1.4.1.1.66.4": "SG",
        "1.2.840.10008.5.1.4.1.1.66.5": "SGs",
        "1.2.840.10008.5.1.4.1.1.66.6": "TR",
        "1.2.840.10008.5.1.4.1.1.67": "RWM",
        "1.2.840.10008.5.1.4.1.1.68.1": "SSm",
        "1.2.840.10008.5.1.4.1.1.68.2": "SSp",
        "1.2.840.10008.5.1.4.1.1.77.1": "VLr",
        "1.2.840.10008.5.1.4.1.1.77.1.1": "VLe",
        "1.2.840.10008.5.1.4.1.1.77.1.1.1": "VVe",
        "1.2.840.10008.5.1.4.1.1.77.1.2": "VLm",
        "1.2.840.10008.5.1.4.1.1.77.1.2.1": "VVm",
        "1.2.840.10008.5.1.4.1.1.77.1.3": "VLs",
        "1.2.840.10008.5.1.4.1.1.77.1.4": "VLp",
        "1.2.840.10008.5.1.4.1.1.77.1.4.1": "VVp",
        "1.2.840.10008.5.1.4.1.1.77.1.5.1": "OPb",
        "1.2.840.10008.5.1.4.1.1.77.1.5.2": "OPw",
        "1.2.840.10008.5.1.4.1.1.77.1.5.3": "OPr",
        "1.2.840.10008.5.1.4.1.1.77.1.5.4": "OPt",
        "1.2.840.10008.5.1.4.1.1.77.1.5.5": "OWs",
        "1.2.840.10008.5.1.4.1.1.77.1.5.6": "OW3",
        "1.2.840.10008.5.1.4.1.1.77.1.5.7": "OCe",
        "1.2.840.10008.5.1.4.1.1.77.1.5.8": "OCb",
        "1.2.840.10008.5.1.4.1.1.77.1.6": "VLw",
        "1.2.840.10008.5.1.4.1.1.77.1.7": "VLd",
        "1.2.840.10008.5.1.4.1.1.77.2": "VMr",
        "1.2.840.10008.5.1.4.1.1.78.1": "OPl",
        "1.2.840.10008.5.1.4.1.1.78.2": "OPa",
        "1.2.840.10008.5.1.4.1.1.78.3": "OPk",
        "1.2.840.10008.5.1.4.1.1.78.4": "OPs",
        "1.2.840.10008.5.1.4.1.1.78.5": "OPv",
        "1.2.840.10008.5.1.4.1.1.78.6": "SRs",
        "1.2.840.10008.5.1.4.1.1.78.7": "OPx",
        "1.2.840.10008.5.1.4.1.1.78.8": "OPc",
        "1.2.840.10008.5.1.4.1.1.79.1": "SRg",
        "1.2.840.10008.5.1.4.1.1.80.1": "OPp",
        "1.2.840.10008.5.1.4.1.1.81.1": "OPm",
        "1.2.840.10008.5.1.4.1.1.82.1": "CM",
        "1.2.840.10008.5.1.4.1.1.88.1": "SR_t",
        "1.2.840.10008.5.1.4.1.1.88.2": "SR_a",
        "1.2.840.10008.5.1.4.1.1.88.3": "SR_d",
        "1.2.840.10008.5.1.4.1.1.88.4": "SR_c",
        "1.2.840.10008.5.1.4.1.1.88.11": "SRt",
        "1.2.840.10008.5.1.4.1.1.88.22": "SRe",
        "1.2.840.10008.5.1.4.1.1.88.33": "SRc",
        "1.2.840.10008.5.1.4.1.1.88.34": "SR3",
        "1.2.840.10008.5.1.4.1.1.88.35": "SRx",
        "1.2.840.10008.5.1.4.1.1.88.40": "SRp",
        "1.2.840.10008.5.1.4.1.1.88.50": "SRm",
        "1.2.840.10008.5.1.4.1.1.88.59": "KO",
        "1.2.840.10008.5.1.4.1.1.88.65": "SRh",
        "1.2.840.10008.5.1.4.1.1.88.67": "SRd",
        "1.2.840.10008.5.1.4.1.1.88.68": "SRr",
        "1.2.840.10008.5.1.4.1.1.88.69": "SRo",
        "1.2.840.10008.5.1.4.1.1.88.70": "SRi",
        "1.2.840.10008.5.1.4.1.1.88.71": "SRa",
        "1.2.840.10008.5.1.4.1.1.88.72": "SRu",
        "1.2.840.10008.5.1.4.1.1.88.73": "SRq",
        "1.2.840.10008.5.1.4.1.1.88.74": "SRj",
        "1.2.840.10008.5.1.4.1.1.88.75": "SRi",
        "1.2.840.10008.5.1.4.1.1.88.76": "SRde",
        "1.2.840.10008.5.1.4.1.1.90.1": "AS",
        "1.2.840.10008.5.1.4.1.1.91.1": "MAs",
        "1.2.840.10008.5.1.4.1.1.104.1": "PDF",
        "1.2.840.10008.5.1.4.1.1.104.2": "CDA",
        "1.2.840.10008.5.1.4.1.1.104.3": "STL",
        "1.2.840.10008.5.1.4.1.1.104.4": "OBJ",
        "1.2.840.10008.5.1.4.1.1.104.5": "MTL",
        "1.2.840.10008.5.1.4.1.1.128": "PI",
        "1.2.840.10008.5.1.4.1.1.128.1": "PIl",
        "1.2.840.10008.5.1.4.1.1.129": "PC",
        "1.2.840.10008.5.1.4.1.1.130": "PIe",
        "1.2.840.10008.5.1.4.1.1.131": "SD",
        "1.2.840.10008.5.1.4.1.1.200.1": "PPcd",
        "1.2.840.10008.5.1.4.1.1.200.2": "PPcp",
        "1.2.840.10008.5.1.4.1.1.200.3": "PA",
        "1.2.840.10008.5.1.4.1.1.200.7": "PPxd",
        "1.2.840.10008.5.1.4.1.1.200.8": "PPxp",
        "1.2.840.10008.5.1.4.1.1.481.1": "RI",
        "1.2.840.10008.5.1.4.1.1.481.2": "RD",
        "1.2.840.10008.5.1.4.1.1.481.3": "RS",
        "1.2.840.10008.5.1.4.1.1.481.4": "RTb",
        "1.2.840.10008.5.1.4.1.1.481.5": "RP",
        "1.2.840.10008.5.1.4.1.1.481.6": "RTr",
        "1.2.840.10008.5.1.4.1.1.481.7": "RTs",
        "1.2.840.10008.5.1.4.1.1.481.8": "RPi",
        "1.2.840.10008.5.1.4.1.1.481.9": "RTi",
        "1.2.840.10008.5.1.4.1.1.481.10": "RIp",
        "1.2.840.10008.5.1.4.1.1.481.11": "RAs",
        "1.2.840.10008.5.1.4.1.1.481.12": "RSe",
        "1.2.840.10008.5.1.4.1.1.481.13": "Rca",
        "1.2.840.10008.5.1.4.1.1.481.14": "Rto",
        "1.2.840.10008.5.1.4.1.1.481.15": "Rra",
        "1.2.840.10008.5.1.4.1.1.481.16": "RSr",
        "1.2.840.10008.5.1.4.1.1.481.17": "RRs",
        "1.2.840.10008.5.1.4.1.1.481.18": "RRt",
        "1.2.840.10008.5.1.4.1.1.481.19": "RRc",
        "1.2.840.10008.5.1.4.1.1.481.20": "RRr",
        "1.2.840.10008.5.1.4.1.1.481.21": "RSd",
        "1.2.840.10008.5.1.4.1.1.481.22": "RTp",
        "1.2.840.10008.5.1.4.1.1.501.1": "CTs",
        "1.2.840.10008.5.1.4.1.1.501.2.1": "DXs",
        "1.2.840.10008.5.1.4.1.1.501.2.2": "DPs",
        "1.2.840.10008.5.1.4.1.1.501.3": "TDR",
        "1.2.840.10008.5.1.4.1.1.501.4": "AI2",
        "1.2.840.10008.5.1.4.1.1.501.5": "AI3",
        "1.2.840.10008.5.1.4.1.1.501.6": "QR",
        "1.2.840.10008.5.1.4.1.1.601.1": "EC",
        "1.2.840.10008.5.1.4.1.1.601.2": "ECm",
        "1.2.840.10008.5.1.4.34.1": "RB_d",
        "1.2.840.10008.5.1.4.34.7": "RTd",
        "1.2.840.10008.5.1.4.34.10": "RTa",
        "1.2.840.10008.5.1.4.38.1": "HP",
        "1.2.840.10008.5.1.4.39.1": "CP",
        "1.2.840.10008.5.1.4.43.1": "IT",
        "1.2.840.10008.5.1.4.44.1": "ITa",
        "1.2.840.10008.5.1.4.45.1": "ITg",
    }
)

#: Storage SOP classes that are not about a patient and that the reference
#: refuses unless a profile names them (§4.4), plus Inventory Storage,
#: which is newer than the reference and of the same kind.
NON_PATIENT_SOP_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.200.1",  # CT Defined Procedure Protocol
        "1.2.840.10008.5.1.4.1.1.200.3",  # Protocol Approval
        "1.2.840.10008.5.1.4.1.1.200.7",  # XA Defined Procedure Protocol
        "1.2.840.10008.5.1.4.1.1.201.1",  # Inventory
        "1.2.840.10008.5.1.4.38.1",  # Hanging Protocol
        "1.2.840.10008.5.1.4.39.1",  # Color Palette
        "1.2.840.10008.5.1.4.43.1",  # Generic Implant Template
        "1.2.840.10008.5.1.4.44.1",  # Implant Assembly Template
        "1.2.840.10008.5.1.4.45.1",  # Implant Template Group
    }
)

_STORAGE_ROOT = "1.2.840.10008.5.1."


def _registry_storage_classes() -> frozenset[str]:
    """
    Collect the storage SOP classes of pydicom's UID registry.

    :returns: every SOP Class UID under ``1.2.840.10008.5.1.`` whose name
        contains "Storage".
    """
    return frozenset(
        uid
        for uid, (name, kind, *_rest) in UID_REGISTRY.items()
        if kind == "SOP Class" and "Storage" in name and uid.startswith(_STORAGE_ROOT)
    )


#: The storage SOP classes accepted without a profile (§4.4): pydicom's
#: storage classes and those of Appendix A, less the non-patient ones.  The
#: union keeps all 186 classes of the reference even with a pydicom that
#: lacks some of them.
STORAGE_SOP_CLASSES = (
    _registry_storage_classes() | frozenset(FILE_PREFIXES)
) - NON_PATIENT_SOP_CLASSES


def file_prefix(uid: str) -> str:
    """
    Give the file-name prefix of a SOP class (§7.2).

    :param uid: a SOP Class UID, normally the command's Affected SOP Class.
    :returns: its Appendix A code, or ``UNKNOWN``.
    """
    return FILE_PREFIXES.get(uid, UNKNOWN_FILE_PREFIX)


def log_prefix(uid: str) -> str:
    """
    Give the modality code printed in "Received Store Request" (§7.2).

    :param uid: a SOP Class UID.
    :returns: its Appendix A code, or ``OT``.
    """
    return FILE_PREFIXES.get(uid, UNKNOWN_LOG_PREFIX)


def is_known_uid(uid: str) -> bool:
    """
    Tell whether a UID has a name in the UID dictionary (§4.5).

    Promiscuous mode accepts abstract syntaxes for which this is false.
    pydicom's registry stands in for DCMTK's dictionary; it is newer, so a
    class defined after DCMTK 3.6.7 counts as known here.

    :param uid: any UID.
    :returns: whether pydicom's registry or Appendix A names it.
    """
    return uid in UID_REGISTRY or uid in FILE_PREFIXES or uid == VERIFICATION
