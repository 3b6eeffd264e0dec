"""
UIDs dicomtw names in code: transfer syntaxes, its own implementation
identity, and the preference lists of the reference's ``+x`` options.
"""

from __future__ import annotations

import sys

from dicomtw import __version__

VERIFICATION = "1.2.840.10008.1.1"

IMPLICIT_LITTLE = "1.2.840.10008.1.2"
EXPLICIT_LITTLE = "1.2.840.10008.1.2.1"
DEFLATED_LITTLE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BIG = "1.2.840.10008.1.2.2"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"
JPEG_LS_LOSSY = "1.2.840.10008.1.2.4.81"
JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
JPEG_2000 = "1.2.840.10008.1.2.4.91"
MPEG2_MAIN = "1.2.840.10008.1.2.4.100"
MPEG2_HIGH = "1.2.840.10008.1.2.4.101"
MPEG4_HP41 = "1.2.840.10008.1.2.4.102"
MPEG4_HP41_BD = "1.2.840.10008.1.2.4.103"
MPEG4_HP42_2D = "1.2.840.10008.1.2.4.104"
MPEG4_HP42_3D = "1.2.840.10008.1.2.4.105"
MPEG4_HP42_STEREO = "1.2.840.10008.1.2.4.106"
HEVC_MAIN = "1.2.840.10008.1.2.4.107"
HEVC_MAIN10 = "1.2.840.10008.1.2.4.108"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"

#: dicomtw's Implementation Class UID: a 2.25 UUID-derived UID, made once
#: with ``pydicom.uid.generate_uid(prefix=None, entropy_srcs=["dicomtw"])``.
IMPLEMENTATION_CLASS_UID = "2.25.5176894921393935939292587234577280682"
IMPLEMENTATION_VERSION_NAME = ("DICOMTW_" + __version__.replace(".", ""))[:16]

if sys.byteorder == "little":
    EXPLICIT_LOCAL, EXPLICIT_OPPOSITE = EXPLICIT_LITTLE, EXPLICIT_BIG
else:  # pragma: no cover - no big-endian CI machine
    EXPLICIT_LOCAL, EXPLICIT_OPPOSITE = EXPLICIT_BIG, EXPLICIT_LITTLE

_UNCOMPRESSED_TAIL = (EXPLICIT_LITTLE, EXPLICIT_BIG, IMPLICIT_LITTLE)

#: Behaviour reference §4.3: the SCP's transfer syntax preference list for
#: each option of the ``+x`` block, most preferred first.
PREFERENCE_LISTS: dict[str, tuple[str, ...]] = {
    "prefer-uncompr": (EXPLICIT_LOCAL, EXPLICIT_OPPOSITE, IMPLICIT_LITTLE),
    "prefer-little": _UNCOMPRESSED_TAIL,
    "prefer-big": (EXPLICIT_BIG, EXPLICIT_LITTLE, IMPLICIT_LITTLE),
    "prefer-lossless": (JPEG_LOSSLESS_SV1, *_UNCOMPRESSED_TAIL),
    "prefer-jpeg8": (JPEG_BASELINE, *_UNCOMPRESSED_TAIL),
    "prefer-jpeg12": (JPEG_EXTENDED, *_UNCOMPRESSED_TAIL),
    "prefer-j2k-lossless": (JPEG_2000_LOSSLESS, *_UNCOMPRESSED_TAIL),
    "prefer-j2k-lossy": (JPEG_2000, *_UNCOMPRESSED_TAIL),
    "prefer-jls-lossless": (JPEG_LS_LOSSLESS, *_UNCOMPRESSED_TAIL),
    "prefer-jls-lossy": (JPEG_LS_LOSSY, *_UNCOMPRESSED_TAIL),
    "prefer-mpeg2": (MPEG2_MAIN, *_UNCOMPRESSED_TAIL),
    "prefer-mpeg2-high": (MPEG2_HIGH, *_UNCOMPRESSED_TAIL),
    "prefer-mpeg4": (MPEG4_HP41, *_UNCOMPRESSED_TAIL),
    "prefer-mpeg4-bd": (MPEG4_HP41_BD, *_UNCOMPRESSED_TAIL),
    "prefer-mpeg4-2-2d": (MPEG4_HP42_2D, *_UNCOMPRESSED_TAIL),
    "prefer-mpeg4-2-3d": (MPEG4_HP42_3D, *_UNCOMPRESSED_TAIL),
    "prefer-mpeg4-2-st": (MPEG4_HP42_STEREO, *_UNCOMPRESSED_TAIL),
    "prefer-hevc": (HEVC_MAIN, *_UNCOMPRESSED_TAIL),
    "prefer-hevc10": (HEVC_MAIN10, *_UNCOMPRESSED_TAIL),
    "prefer-rle": (RLE_LOSSLESS, *_UNCOMPRESSED_TAIL),
    "prefer-deflated": (DEFLATED_LITTLE, *_UNCOMPRESSED_TAIL),
    "implicit": (IMPLICIT_LITTLE,),
    "accept-all": (
        JPEG_2000,
        JPEG_2000_LOSSLESS,
        JPEG_EXTENDED,
        JPEG_BASELINE,
        JPEG_LOSSLESS_SV1,
        JPEG_LS_LOSSY,
        JPEG_LS_LOSSLESS,
        RLE_LOSSLESS,
        MPEG2_MAIN,
        MPEG2_HIGH,
        MPEG4_HP41,
        MPEG4_HP41_BD,
        MPEG4_HP42_2D,
        MPEG4_HP42_3D,
        MPEG4_HP42_STEREO,
        HEVC_MAIN,
        HEVC_MAIN10,
        DEFLATED_LITTLE,
        EXPLICIT_LOCAL,
        EXPLICIT_OPPOSITE,
        IMPLICIT_LITTLE,
    ),
}

#: Transfer syntaxes whose data sets are not encapsulated: the scanner can
#: walk them and conversions can re-encode them.
NATIVE = frozenset({IMPLICIT_LITTLE, EXPLICIT_LITTLE, EXPLICIT_BIG, DEFLATED_LITTLE})
