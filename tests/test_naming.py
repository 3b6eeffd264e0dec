"""
Tests for :mod:`dicomtw.naming` and :mod:`dicomtw.sopclasses`: file names
from peer values, and the SOP class tables they use.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from dicomtw.naming import (
    TimeNamer,
    default_file_name,
    safe_join,
    sanitise_uid,
    unique_file_name,
)
from dicomtw.sopclasses import (
    FILE_PREFIXES,
    STORAGE_SOP_CLASSES,
    VERIFICATION,
    file_prefix,
    is_known_uid,
    log_prefix,
)

REFERENCE = "/work/shared/reference/storescp-behaviour.md"

_ROW = re.compile(
    r"^\| (1\.2\.840\.10008\.[0-9.]+) \| \S+ \| `([^`]+)` \| `[^`]+` \| (yes|no) \|$",
    re.MULTILINE,
)

# Appendix A, the classes accepted by default; used when the reference
# document is not at hand.
_ACCEPTED = """
1.2.840.10008.5.1.1.27 1.2.840.10008.5.1.1.29 1.2.840.10008.5.1.1.30
1.2.840.10008.5.1.4.1.1.1 1.2.840.10008.5.1.4.1.1.1.1
1.2.840.10008.5.1.4.1.1.1.1.1 1.2.840.10008.5.1.4.1.1.1.2
1.2.840.10008.5.1.4.1.1.1.2.1 1.2.840.10008.5.1.4.1.1.1.3
1.2.840.10008.5.1.4.1.1.1.3.1 1.2.840.10008.5.1.4.1.1.2
1.2.840.10008.5.1.4.1.1.2.1 1.2.840.10008.5.1.4.1.1.2.2
1.2.840.10008.5.1.4.1.1.3 1.2.840.10008.5.1.4.1.1.3.1 1.2.840.10008.5.1.4.1.1.4
1.2.840.10008.5.1.4.1.1.4.1 1.2.840.10008.5.1.4.1.1.4.2
1.2.840.10008.5.1.4.1.1.4.3 1.2.840.10008.5.1.4.1.1.4.4
1.2.840.10008.5.1.4.1.1.5 1.2.840.10008.5.1.4.1.1.6 1.2.840.10008.5.1.4.1.1.6.1
1.2.840.10008.5.1.4.1.1.6.2 1.2.840.10008.5.1.4.1.1.7
1.2.840.10008.5.1.4.1.1.7.1 1.2.840.10008.5.1.4.1.1.7.2
1.2.840.10008.5.1.4.1.1.7.3 1.2.840.10008.5.1.4.1.1.7.4
1.2.840.10008.5.1.4.1.1.8 1.2.840.10008.5.1.4.1.1.9 1.2.840.10008.5.1.4.1.1.9.1
1.2.840.10008.5.1.4.1.1.9.1.1 1.2.840.10008.5.1.4.1.1.9.1.2
1.2.840.10008.5.1.4.1.1.9.1.3 1.2.840.10008.5.1.4.1.1.9.2.1
1.2.840.10008.5.1.4.1.1.9.3.1 1.2.840.10008.5.1.4.1.1.9.4.1
1.2.840.10008.5.1.4.1.1.9.4.2 1.2.840.10008.5.1.4.1.1.9.5.1
1.2.840.10008.5.1.4.1.1.9.6.1 1.2.840.10008.5.1.4.1.1.9.6.2
1.2.840.10008.5.1.4.1.1.9.7.1 1.2.840.10008.5.1.4.1.1.9.7.2
1.2.840.10008.5.1.4.1.1.9.7.3 1.2.840.10008.5.1.4.1.1.9.7.4
1.2.840.10008.5.1.4.1.1.9.8.1 1.2.840.10008.5.1.4.1.1.10
1.2.840.10008.5.1.4.1.1.11 1.2.840.10008.5.1.4.1.1.11.1
1.2.840.10008.5.1.4.1.1.11.2 1.2.840.10008.5.1.4.1.1.11.3
1.2.840.10008.5.1.4.1.1.11.4 1.2.840.10008.5.1.4.1.1.11.5
1.2.840.10008.5.1.4.1.1.11.6 1.2.840.10008.5.1.4.1.1.11.7
1.2.840.10008.5.1.4.1.1.11.8 1.2.840.10008.5.1.4.1.1.11.9
1.2.840.10008.5.1.4.1.1.11.10 1.2.840.10008.5.1.4.1.1.11.11
1.2.840.10008.5.1.4.1.1.12.1 1.2.840.10008.5.1.4.1.1.12.1.1
1.2.840.10008.5.1.4.1.1.12.2 1.2.840.10008.5.1.4.1.1.12.2.1
1.2.840.10008.5.1.4.1.1.12.3 1.2.840.10008.5.1.4.1.1.13.1.1
1.2.840.10008.5.1.4.1.1.13.1.2 1.2.840.10008.5.1.4.1.1.13.1.3
1.2.840.10008.5.1.4.1.1.13.1.4 1.2.840.10008.5.1.4.1.1.13.1.5
1.2.840.10008.5.1.4.1.1.14.1 1.2.840.10008.5.1.4.1.1.14.2
1.2.840.10008.5.1.4.1.1.20 1.2.840.10008.5.1.4.1.1.30
1.2.840.10008.5.1.4.1.1.66 1.2.840.10008.5.1.4.1.1.66.1
1.2.840.10008.5.1.4.1.1.66.2 1.2.840.10008.5.1.4.1.1.66.3
1.2.840.10008.5.1.4.1.1.66.4 1.2.840.10008.5.1.4.1.1.66.5
1.2.840.10008.5.1.4.1.1.66.6 1.2.840.10008.5.1.4.1.1.67
1.2.840.10008.5.1.4.1.1.68.1 1.2.840.10008.5.1.4.1.1.68.2
1.2.840.10008.5.1.4.1.1.77.1 1.2.840.10008.5.1.4.1.1.77.1.1
1.2.840.10008.5.1.4.1.1.77.1.1.1 1.2.840.10008.5.1.4.1.1.77.1.2
1.2.840.10008.5.1.4.1.1.77.1.2.1 1.2.840.10008.5.1.4.1.1.77.1.3
1.2.840.10008.5.1.4.1.1.77.1.4 1.2.840.10008.5.1.4.1.1.77.1.4.1
1.2.840.10008.5.1.4.1.1.77.1.5.1 1.2.840.10008.5.1.4.1.1.77.1.5.2
1.2.840.10008.5.1.4.1.1.77.1.5.3 1.2.840.10008.5.1.4.1.1.77.1.5.4
1.2.840.10008.5.1.4.1.1.77.1.5.5 1.2.840.10008.5.1.4.1.1.77.1.5.6
1.2.840.10008.5.1.4.1.1.77.1.5.7 1.2.840.10008.5.1.4.1.1.77.1.5.8
1.2.840.10008.5.1.4.1.1.77.1.6 1.2.840.10008.5.1.4.1.1.77.1.7
1.2.840.10008.5.1.4.1.1.77.2 1.2.840.10008.5.1.4.1.1.78.1
1.2.840.10008.5.1.4.1.1.78.2 1.2.840.10008.5.1.4.1.1.78.3
1.2.840.10008.5.1.4.1.1.78.4 1.2.840.10008.5.1.4.1.1.78.5
1.2.840.10008.5.1.4.1.1.78.6 1.2.840.10008.5.1.4.1.1.78.7
1.2.840.10008.5.1.4.1.1.78.8 1.2.840.10008.5.1.4.1.1.79.1
1.2.840.10008.5.1.4.1.1.80.1 1.2.840.10008.5.1.4.1.1.81.1
1.2.840.10008.5.1.4.1.1.82.1 1.2.840.10008.5.1.4.1.1.88.1
1.2.840.10008.5.1.4.1.1.88.2 1.2.840.10008.5.1.4.1.1.88.3
1.2.840.10008.5.1.4.1.1.88.4 1.2.840.10008.5.1.4.1.1.88.11
1.2.840.10008.5.1.4.1.1.88.22 1.2.840.10008.5.1.4.1.1.88.33
1.2.840.10008.5.1.4.1.1.88.34 1.2.840.10008.5.1.4.1.1.88.35
1.2.840.10008.5.1.4.1.1.88.40 1.2.840.10008.5.1.4.1.1.88.50
1.2.840.10008.5.1.4.1.1.88.59 1.2.840.10008.5.1.4.1.1.88.65
1.2.840.10008.5.1.4.1.1.88.67 1.2.840.10008.5.1.4.1.1.88.68
1.2.840.10008.5.1.4.1.1.88.69 1.2.840.10008.5.1.4.1.1.88.70
1.2.840.10008.5.1.4.1.1.88.71 1.2.840.10008.5.1.4.1.1.88.72
1.2.840.10008.5.1.4.1.1.88.73 1.2.840.10008.5.1.4.1.1.88.74
1.2.840.10008.5.1.4.1.1.88.75 1.2.840.10008.5.1.4.1.1.88.76
1.2.840.10008.5.1.4.1.1.90.1 1.2.840.10008.5.1.4.1.1.91.1
1.2.840.10008.5.1.4.1.1.104.1 1.2.840.10008.5.1.4.1.1.104.2
1.2.840.10008.5.1.4.1.1.104.3 1.2.840.10008.5.1.4.1.1.104.4
1.2.840.10008.5.1.4.1.1.104.5 1.2.840.10008.5.1.4.1.1.128
1.2.840.10008.5.1.4.1.1.128.1 1.2.840.10008.5.1.4.1.1.129
1.2.840.10008.5.1.4.1.1.130 1.2.840.10008.5.1.4.1.1.131
1.2.840.10008.5.1.4.1.1.200.2 1.2.840.10008.5.1.4.1.1.200.8
1.2.840.10008.5.1.4.1.1.481.1 1.2.840.10008.5.1.4.1.1.481.2
1.2.840.10008.5.1.4.1.1.481.3 1.2.840.10008.5.1.4.1.1.481.4
1.2.840.10008.5.1.4.1.1.481.5 1.2.840.10008.5.1.4.1.1.481.6
1.2.840.10008.5.1.4.1.1.481.7 1.2.840.10008.5.1.4.1.1.481.8
1.2.840.10008.5.1.4.1.1.481.9 1.2.840.10008.5.1.4.1.1.481.10
1.2.840.10008.5.1.4.1.1.481.11 1.2.840.10008.5.1.4.1.1.481.12
1.2.840.10008.5.1.4.1.1.481.13 1.2.840.10008.5.1.4.1.1.481.14
1.2.840.10008.5.1.4.1.1.481.15 1.2.840.10008.5.1.4.1.1.481.16
1.2.840.10008.5.1.4.1.1.481.17 1.2.840.10008.5.1.4.1.1.481.18
1.2.840.10008.5.1.4.1.1.481.19 1.2.840.10008.5.1.4.1.1.481.20
1.2.840.10008.5.1.4.1.1.481.21 1.2.840.10008.5.1.4.1.1.481.22
1.2.840.10008.5.1.4.1.1.501.1 1.2.840.10008.5.1.4.1.1.501.2.1
1.2.840.10008.5.1.4.1.1.501.2.2 1.2.840.10008.5.1.4.1.1.501.3
1.2.840.10008.5.1.4.1.1.501.4 1.2.840.10008.5.1.4.1.1.501.5
1.2.840.10008.5.1.4.1.1.501.6 1.2.840.10008.5.1.4.1.1.601.1
1.2.840.10008.5.1.4.1.1.601.2 1.2.840.10008.5.1.4.34.1 1.2.840.10008.5.1.4.34.7
1.2.840.10008.5.1.4.34.10
""".split()

# Appendix A, the classes refused by default (§4.4).
_REFUSED = """
1.2.840.10008.5.1.4.1.1.200.1 1.2.840.10008.5.1.4.1.1.200.3
1.2.840.10008.5.1.4.1.1.200.7 1.2.840.10008.5.1.4.38.1 1.2.840.10008.5.1.4.39.1
1.2.840.10008.5.1.4.43.1 1.2.840.10008.5.1.4.44.1 1.2.840.10008.5.1.4.45.1
""".split()


def _appendix_a() -> list[tuple[str, str, bool]] | None:
    """
    Read Appendix A of the behaviour reference, if it is available.

    :returns: (UID, file prefix, accepted by default) rows, or None.
    """
    if not os.path.exists(REFERENCE):
        return None
    with open(REFERENCE, encoding="utf-8") as reference:
        text = reference.read()
    return [(uid, prefix, flag == "yes") for uid, prefix, flag in _ROW.findall(text)]


class SanitiseUidTests(SynchronousTestCase):
    """
    :func:`sanitise_uid` keeps only ``A-Z a-z 0-9 . : @ -`` (§7.3).
    """

    def test_clean_uid_unchanged(self) -> None:
        """
        An ordinary UID passes unchanged and is reported as unchanged.
        """
        self.assertEqual(
            sanitise_uid("1.2.840.10008.5.1"), ("1.2.840.10008.5.1", False)
        )
        self.assertEqual(sanitise_uid("aZ09.:@-"), ("aZ09.:@-", False))

    def test_path_escape(self) -> None:
        """
        Slashes become underscores, as in the reference's own example.
        """
        self.assertEqual(sanitise_uid("1.2/../3"), ("1.2_.._3", True))

    def test_shell_characters(self) -> None:
        """
        Shell metacharacters become underscores, one per character.
        """
        self.assertEqual(
            sanitise_uid("1.2.3;touch${IFS}X"), ("1.2.3_touch__IFS_X", True)
        )

    def test_nul_backslash_and_others(self) -> None:
        """
        NUL, backslash, space and non-ASCII characters are replaced too.
        """
        self.assertEqual(sanitise_uid("1\x002\\3 4\xff"), ("1_2_3_4_", True))

    def test_underscore_is_no_change(self) -> None:
        """
        An underscore stays and does not count as a change.
        """
        self.assertEqual(sanitise_uid("1_2"), ("1_2", False))

    def test_dot_dot_alone(self) -> None:
        """
        ``..`` is made of allowed characters and stays (the prefix makes
        it harmless).
        """
        self.assertEqual(sanitise_uid(".."), ("..", False))

    @given(st.text())
    def test_result_is_always_safe(self, value: str) -> None:
        """
        Whatever the input, the result has the same length and only allowed
        characters, and ``changed`` says whether it differs.
        """
        clean, changed = sanitise_uid(value)
        self.assertEqual(len(clean), len(value))
        self.assertRegex(clean, r"\A[A-Za-z0-9.:@_-]*\Z")
        self.assertEqual(changed, clean != value)


class DefaultFileNameTests(SynchronousTestCase):
    """
    :func:`default_file_name` builds ``<prefix>.<UID><extension>``.
    """

    def test_known_class(self) -> None:
        """
        A known SOP class gives its Appendix A prefix.
        """
        self.assertEqual(
            default_file_name("1.2.840.10008.5.1.4.1.1.2", "1.2.3.4.5.1001"),
            "CT.1.2.3.4.5.1001",
        )
        self.assertEqual(
            default_file_name("1.2.840.10008.5.1.4.1.1.4", "1.2.3.4.5.7001"),
            "MR.1.2.3.4.5.7001",
        )

    def test_unknown_class(self) -> None:
        """
        An unknown SOP class gives ``UNKNOWN``.
        """
        self.assertEqual(
            default_file_name("1.2.3", "1.2.3.4.5.1001"), "UNKNOWN.1.2.3.4.5.1001"
        )

    def test_extension_appended_verbatim(self) -> None:
        """
        The extension is appended without a dot being added.
        """
        self.assertEqual(
            default_file_name("1.2.840.10008.5.1.4.1.1.2", "1.2", ".dcm"), "CT.1.2.dcm"
        )
        self.assertEqual(
            default_file_name("1.2.840.10008.5.1.4.1.1.2", "1.2", "XYZ"), "CT.1.2XYZ"
        )

    def test_instance_uid_is_sanitised(self) -> None:
        """
        The SOP Instance UID is sanitised before use.
        """
        self.assertEqual(
            default_file_name("1.2.840.10008.5.1.4.1.1.2", "1.2/../3"), "CT.1.2_.._3"
        )
        self.assertEqual(
            default_file_name("1.2.840.10008.5.1.4.1.1.2", "..\x00"), "CT..._"
        )

    def test_extension_with_separator(self) -> None:
        """
        An extension containing a separator or NUL is refused.
        """
        for extension in ("/x", "a/b", "x\x00"):
            with self.subTest(extension=extension):
                self.assertRaises(
                    ValueError, default_file_name, "1.2", "1.2", extension
                )


class SafeJoinTests(SynchronousTestCase):
    """
    :func:`safe_join` only produces paths directly inside the directory.
    """

    def setUp(self) -> None:
        """
        Make a scratch directory.
        """
        self.directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.directory)

    def test_plain_name(self) -> None:
        """
        A plain name is joined to the directory as spelt.
        """
        self.assertEqual(
            safe_join(self.directory, "CT.1.2"), os.path.join(self.directory, "CT.1.2")
        )
        self.assertEqual(safe_join("out/", "CT.1"), "out/CT.1")
        self.assertEqual(safe_join(".", "CT...1"), "./CT...1")

    def test_escapes_refused(self) -> None:
        """
        Empty names, ``.``, ``..`` and names with a separator or NUL are
        refused.
        """
        for name in ("", ".", "..", "../x", "a/b", "/etc/passwd", "x\x00y"):
            with self.subTest(name=name):
                self.assertRaises(ValueError, safe_join, self.directory, name)

    def test_symlinked_directory(self) -> None:
        """
        A directory reached through a symbolic link still accepts plain
        names.
        """
        link = os.path.join(self.directory, "link")
        os.mkdir(os.path.join(self.directory, "real"))
        os.symlink("real", link)
        self.assertEqual(safe_join(link, "CT.1"), os.path.join(link, "CT.1"))

    @given(st.text(min_size=1))
    def test_sanitised_names_always_join(self, value: str) -> None:
        """
        A prefix plus any sanitised UID is always accepted and stays inside.
        """
        name = "CT." + sanitise_uid(value)[0]
        path = safe_join(self.directory, name)
        self.assertEqual(os.path.dirname(path), self.directory)


class SopClassTests(SynchronousTestCase):
    """
    The SOP class tables match Appendix A of the behaviour reference.
    """

    def test_accepted_classes(self) -> None:
        """
        All 186 classes accepted by the reference are accepted.
        """
        rows = _appendix_a()
        if rows is None:
            accepted = set(_ACCEPTED)
        else:
            accepted = {uid for uid, _prefix, flag in rows if flag}
            self.assertEqual(accepted, set(_ACCEPTED))
        self.assertEqual(len(accepted), 186)
        self.assertEqual(accepted - STORAGE_SOP_CLASSES, set())

    def test_refused_classes(self) -> None:
        """
        The non-patient classes, Inventory Storage, Verification and
        non-storage classes are not storage classes accepted by default.
        """
        rows = _appendix_a()
        if rows is not None:
            refused = {uid for uid, _prefix, flag in rows if not flag}
            self.assertEqual(refused, set(_REFUSED))
        self.assertEqual(set(_REFUSED) & STORAGE_SOP_CLASSES, set())
        for uid in (
            "1.2.840.10008.5.1.4.1.1.201.1",
            VERIFICATION,
            "1.2.840.10008.5.1.4.1.2.2.1",
            "1.2.840.10008.1.20.1",
        ):
            self.assertNotIn(uid, STORAGE_SOP_CLASSES)

    def test_newer_classes_accepted(self) -> None:
        """
        Storage classes newer than the reference are accepted too.
        """
        self.assertIn("1.2.840.10008.5.1.4.1.1.6.3", STORAGE_SOP_CLASSES)
        self.assertIn("1.2.840.10008.5.1.4.1.1.481.23", STORAGE_SOP_CLASSES)

    def test_file_prefixes(self) -> None:
        """
        ``FILE_PREFIXES`` holds the 194 rows of Appendix A.
        """
        self.assertEqual(len(FILE_PREFIXES), 194)
        rows = _appendix_a()
        if rows is not None:
            self.assertEqual(len(rows), 194)
            self.assertEqual(
                dict(FILE_PREFIXES), {uid: prefix for uid, prefix, _flag in rows}
            )

    def test_prefix_lookups(self) -> None:
        """
        Known classes give their case-sensitive codes; unknown ones give
        ``UNKNOWN`` in file names and ``OT`` in the log.
        """
        self.assertEqual(file_prefix("1.2.840.10008.5.1.4.1.1.88.11"), "SRt")
        self.assertEqual(file_prefix("1.2.840.10008.5.1.4.1.1.200.1"), "PPcd")
        self.assertEqual(file_prefix("1.2.840.10008.5.1.4.34.1"), "RB_d")
        self.assertEqual(file_prefix("1.2.840.10008.5.1.4.1.1.88.70"), "SRi")
        self.assertEqual(file_prefix("1.2.840.10008.5.1.4.1.1.88.75"), "SRi")
        self.assertEqual(file_prefix("1.2.3"), "UNKNOWN")
        self.assertEqual(file_prefix("1.2.840.10008.5.1.4.1.1.6.3"), "UNKNOWN")
        self.assertEqual(log_prefix("1.2.840.10008.5.1.4.1.1.4.1"), "MRe")
        self.assertEqual(log_prefix("1.2.3"), "OT")

    def test_known_uids(self) -> None:
        """
        UIDs in the dictionary are known, others are not (§4.5).
        """
        self.assertTrue(is_known_uid(VERIFICATION))
        self.assertTrue(is_known_uid("1.2.840.10008.5.1.4.38.1"))
        self.assertTrue(is_known_uid("1.2.840.10008.5.1.4.1.2.2.1"))
        self.assertTrue(is_known_uid("1.2.840.10008.1.2.1"))
        self.assertFalse(is_known_uid("1.2.3.4.5"))
        self.assertFalse(is_known_uid("1.2.840.10008.5.1.4.1.1.999"))


class GeneratedNameTests(SynchronousTestCase):
    """
    ``+uf`` and ``-tn`` names (behaviour reference §7.4, §7.5).
    """

    def test_unique(self) -> None:
        """
        Unique names have the reference's shape and never repeat.
        """
        first = unique_file_name("1.2.840.10008.5.1.4.1.1.2", ".dcm")
        second = unique_file_name("1.2.840.10008.5.1.4.1.1.2", ".dcm")
        self.assertRegex(first, r"^CT\.X\.2\.25\.\d+\.dcm$")
        self.assertNotEqual(first, second)

    def test_time_names_in_one_millisecond(self) -> None:
        """
        Same-class objects in one millisecond get serials 0000, 0001, ...;
        interleaved classes reset the serial, so the fourth name repeats
        the first, as in the reference.
        """
        now = time.mktime((2026, 12, 3, 16, 21, 23, 0, 0, -1)) + 0.112
        ct, mr = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4"
        namer = TimeNamer()
        self.assertEqual(
            [namer.name(ct, "", now) for _ in range(3)],
            [
                "20261203162123112.CT",
                "20261203162123112_0000.CT",
                "20261203162123112_0001.CT",
            ],
        )
        namer = TimeNamer()
        self.assertEqual(
            [namer.name(uid, "", now) for uid in (ct, ct, mr, ct)],
            [
                "20261203162123112.CT",
                "20261203162123112_0000.CT",
                "20261203162123112.MR",
                "20261203162123112.CT",
            ],
        )

    def test_time_names_extension_and_new_millisecond(self) -> None:
        """
        ``-fe`` is appended without a dot; a new millisecond starts again
        without a serial.
        """
        now = time.mktime((2026, 12, 3, 16, 21, 24, 0, 0, -1)) + 0.743
        namer = TimeNamer()
        ct = "1.2.840.10008.5.1.4.1.1.2"
        self.assertEqual(namer.name(ct, "XYZ", now), "20261203162124743.CTXYZ")
        self.assertEqual(namer.name(ct, "XYZ", now + 0.001), "20261203162124744.CTXYZ")
