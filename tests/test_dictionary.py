"""
Tests for dicomtw.dictionary: pydicom's registries, loaded without pydicom,
and DCMTK-format dictionaries from DCMDICTPATH.
"""

from __future__ import annotations

import os
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from dicomtw import dictionary
from dicomtw.scanner import _name

TAG = 0x00580099  # not in the DICOM dictionary


class DictionaryTests(SynchronousTestCase):
    """
    Built-in entries and DCMDICTPATH files.
    """

    def test_builtin(self) -> None:
        """
        VRs, sequences and names of public tags come from pydicom's
        dictionary, and private VRs from its private dictionary.
        """
        self.assertEqual(dictionary.SINGLE_VRS[0x00100030], b"DA")
        self.assertIn(0x00082218, dictionary.SEQUENCE_TAGS)
        self.assertEqual(dictionary.keyword(0x00100010), "PatientName")
        self.assertEqual(
            dictionary.PRIVATE_VRS[(0x0019, "1.2.840.113681", 0x10)], b"ST"
        )

    def test_dcmdictpath(self) -> None:
        """
        Files in DCMDICTPATH add public and private entries, with names for
        messages; unreadable ones are reported.
        """
        directory = tempfile.mkdtemp(prefix="dicomtw-dic-")
        path = os.path.join(directory, "extra.dic")
        with open(path, "w") as stream:
            stream.write(
                "# test dictionary\n"
                "(0058,0099)\tSQ\tTestSequence\t1\tDICOMTW\n"
                '(0029,"DICOMTW TEST",11)\tUS\tTestCount\t1\tPrivateTag\n'
                "(60xx,0099)\tUS\tTestRepeating\t1\tDICOMTW\n"
            )
        self.addCleanup(dictionary.SINGLE_VRS.pop, TAG, None)
        self.addCleanup(dictionary.SEQUENCE_TAGS.discard, TAG)
        self.addCleanup(dictionary.EXTRA_NAMES.pop, TAG, None)
        self.addCleanup(
            dictionary.PRIVATE_VRS.pop, (0x0029, "DICOMTW TEST", 0x11), None
        )
        loaded, failed = dictionary.load_dictionary_path(
            f"{path}{os.pathsep}{directory}/missing.dic"
        )
        self.assertEqual((loaded, failed), ([path], [f"{directory}/missing.dic"]))
        self.assertEqual(dictionary.SINGLE_VRS[TAG], b"SQ")
        self.assertIn(TAG, dictionary.SEQUENCE_TAGS)
        self.assertEqual(dictionary.PRIVATE_VRS[(0x0029, "DICOMTW TEST", 0x11)], b"US")
        self.assertEqual(_name(TAG), "(0058,0099) TestSequence")
