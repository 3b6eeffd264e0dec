"""
Tests for :mod:`dicomtw.options`: storescp's command line, checked against
the texts and rules of the behaviour reference (§1, §2.1, §3.5, §4.7, §13.2).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import io
import itertools
import os
import shutil
import sys
import tempfile
from typing import Any, Callable, Sequence

import pydicom
from hypothesis import given
from hypothesis import strategies as st
from twisted.copyright import version as twisted_version
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

import dicomtw
from dicomtw.config import ServerConfig
from dicomtw.options import (
    EVALUATION_ORDER,
    OPTIONS,
    CommandLineError,
    StoreSCPOptions,
    help_text,
    parse_command_line,
    scan_signed,
    scan_unsigned,
    split_command_file,
    version_text,
)

PORT = "11112"
_SORTS = "--sort-conc-studies, --sort-on-study-uid or --sort-on-patientname"
_EXEC_ON_EOSTUDY_ONLY = f"--exec-on-eostudy only allowed with {_SORTS}"
_RENAME_ONLY = f"--rename-on-eostudy only allowed with {_SORTS}"
_TIMEOUT_ONLY = (
    "--eostudy-timeout only allowed with --sort-conc-studies, "
    "--sort-on-study-uid, --sort-on-patientname, --exec-on-eostudy or "
    "--rename-on-eostudy"
)
_LEVEL_ONLY = (
    "--compression-level only allowed with --write-xfer-deflated or "
    "--write-xfer-same"
)


def temporary_path(case: SynchronousTestCase) -> str:
    """
    A path that does not exist yet, in a directory removed after ``case``.
    """
    directory = tempfile.mkdtemp(prefix="dicomtw-options-")
    case.addCleanup(shutil.rmtree, directory, True)
    return os.path.join(directory, "path")


def parse(*arguments: str) -> ServerConfig:
    """
    Parse ``arguments`` as ``StoreSCPOptions`` does and return the result.
    """
    options = StoreSCPOptions()
    options.parseOptions(list(arguments))
    return options.config


class _ErrorAssertions(SynchronousTestCase):
    """
    Shared assertion for command-line errors.
    """

    def assertRejected(self, arguments: Sequence[str], message: str) -> None:
        """
        Parsing ``arguments`` raises a usage error with exactly ``message``.
        """
        options = StoreSCPOptions()
        error = self.assertRaises(
            usage.UsageError, options.parseOptions, list(arguments)
        )
        self.assertEqual(str(error), message, f"arguments: {arguments}")


class DefaultsTests(SynchronousTestCase):
    """
    A bare port gives the reference program's defaults.
    """

    def test_port_only(self) -> None:
        """
        Only the port and the expanded arguments differ from the defaults.
        """
        self.assertEqual(
            parse(PORT),
            ServerConfig(port=11112, expanded_arguments=(PORT,)),
        )

    def test_reference_defaults(self) -> None:
        """
        The defaults are storescp's: AE title, PDU size, timeouts, levels.
        """
        config = ServerConfig()
        self.assertEqual(
            (
                config.aetitle,
                config.max_pdu,
                config.ts_preference,
                config.socket_timeout,
                config.acse_timeout,
                config.dimse_timeout,
                config.log_level,
                config.output_directory,
                config.filename_extension,
                config.compression_level,
                config.tls_profile,
                config.max_associations,
                config.fsync,
                config.on_duplicate,
            ),
            (
                "STORESCP",
                16384,
                "prefer-uncompr",
                60,
                30,
                None,
                "warn",
                ".",
                "",
                6,
                "profile-bcp195-nd",
                64,
                True,
                "overwrite",
            ),
        )

    def test_frozen(self) -> None:
        """
        The configuration cannot be changed after parsing.
        """
        config = parse(PORT)
        self.assertRaises(dataclasses.FrozenInstanceError, setattr, config, "port", 1)


# (short spelling, long spelling, values, extra arguments, expected fields)
# for every option that dicomtw implements.
IMPLEMENTED: list[
    tuple[str, str, tuple[str, ...], tuple[str, ...], dict[str, object]]
] = [
    ("", "--arguments", (), (), {"print_arguments": True}),
    ("-q", "--quiet", (), (), {"log_level": "fatal"}),
    ("-v", "--verbose", (), (), {"log_level": "info"}),
    ("-d", "--debug", (), (), {"log_level": "debug"}),
    ("-ll", "--log-level", ("trace",), (), {"log_level": "trace"}),
    ("+v", "--verbose-pc", (), ("-v",), {"verbose_pc": True}),
    ("", "--single-process", (), (), {"fork": False}),
    ("+x=", "--prefer-uncompr", (), (), {"ts_preference": "prefer-uncompr"}),
    ("+xe", "--prefer-little", (), (), {"ts_preference": "prefer-little"}),
    ("+xb", "--prefer-big", (), (), {"ts_preference": "prefer-big"}),
    ("+xs", "--prefer-lossless", (), (), {"ts_preference": "prefer-lossless"}),
    ("+xy", "--prefer-jpeg8", (), (), {"ts_preference": "prefer-jpeg8"}),
    ("+xx", "--prefer-jpeg12", (), (), {"ts_preference": "prefer-jpeg12"}),
    ("+xv", "--prefer-j2k-lossless", (), (), {"ts_preference": "prefer-j2k-lossless"}),
    ("+xw", "--prefer-j2k-lossy", (), (), {"ts_preference": "prefer-j2k-lossy"}),
    ("+xt", "--prefer-jls-lossless", (), (), {"ts_preference": "prefer-jls-lossless"}),
    ("+xu", "--prefer-jls-lossy", (), (), {"ts_preference": "prefer-jls-lossy"}),
    ("+xm", "--prefer-mpeg2", (), (), {"ts_preference": "prefer-mpeg2"}),
    ("+xh", "--prefer-mpeg2-high", (), (), {"ts_preference": "prefer-mpeg2-high"}),
    ("+xn", "--prefer-mpeg4", (), (), {"ts_preference": "prefer-mpeg4"}),
    ("+xl", "--prefer-mpeg4-bd", (), (), {"ts_preference": "prefer-mpeg4-bd"}),
    ("+x2", "--prefer-mpeg4-2-2d", (), (), {"ts_preference": "prefer-mpeg4-2-2d"}),
    ("+x3", "--prefer-mpeg4-2-3d", (), (), {"ts_preference": "prefer-mpeg4-2-3d"}),
    ("+xo", "--prefer-mpeg4-2-st", (), (), {"ts_preference": "prefer-mpeg4-2-st"}),
    ("+x4", "--prefer-hevc", (), (), {"ts_preference": "prefer-hevc"}),
    ("+x5", "--prefer-hevc10", (), (), {"ts_preference": "prefer-hevc10"}),
    ("+xr", "--prefer-rle", (), (), {"ts_preference": "prefer-rle"}),
    ("+xd", "--prefer-deflated", (), (), {"ts_preference": "prefer-deflated"}),
    ("+xi", "--implicit", (), (), {"ts_preference": "implicit"}),
    ("+xa", "--accept-all", (), (), {"ts_preference": "accept-all"}),
    ("-ac", "--access-full", (), (), {"access_control": False}),
    ("-ts", "--socket-timeout", ("-1",), (), {"socket_timeout": -1}),
    ("-ta", "--acse-timeout", ("5",), (), {"acse_timeout": 5}),
    ("-td", "--dimse-timeout", ("7",), (), {"dimse_timeout": 7}),
    ("-aet", "--aetitle", ("MY AE",), (), {"aetitle": "MY AE"}),
    ("-pdu", "--max-pdu", ("4097",), (), {"max_pdu": 4097}),
    ("-dhl", "--disable-host-lookup", (), (), {"disable_host_lookup": True}),
    ("", "--refuse", (), (), {"refuse": True}),
    ("", "--reject", (), (), {"reject": True}),
    ("", "--ignore", (), (), {"ignore": True}),
    ("", "--sleep-after", ("3",), (), {"sleep_after": 3}),
    ("", "--sleep-during", ("4",), (), {"sleep_during": 4}),
    ("", "--abort-after", (), (), {"abort_after": True}),
    ("", "--abort-during", (), (), {"abort_during": True}),
    ("-pm", "--promiscuous", (), (), {"promiscuous": True}),
    ("-up", "--uid-padding", (), (), {"uid_padding": True}),
    ("-tls", "--disable-tls", (), (), {"tls": False}),
    ("-od", "--output-directory", ("out///",), (), {"output_directory": "out"}),
    ("-B", "--normal", (), (), {"bit_preserving": False}),
    ("+B", "--bit-preserving", (), (), {"bit_preserving": True}),
    ("+F", "--write-file", (), (), {"write_dataset": False}),
    ("-F", "--write-dataset", (), (), {"write_dataset": True}),
    ("+t=", "--write-xfer-same", (), (), {"write_xfer": "write-xfer-same"}),
    ("+u", "--enable-new-vr", (), (), {"new_vr": True}),
    ("+g=", "--group-length-recalc", (), (), {"group_length": "group-length-recalc"}),
    ("+e", "--length-explicit", (), (), {"length_encoding": "length-explicit"}),
    ("-p", "--padding-off", (), (), {"padding": None}),
    ("-uc", "--retain-un", (), (), {"convert_un": False}),
    ("-uf", "--default-filenames", (), (), {"unique_filenames": False}),
    ("-fe", "--filename-extension", (".dcm",), (), {"filename_extension": ".dcm"}),
    ("", "--listen", ("tcp:0",), (), {"listen": ("tcp:0",)}),
    ("", "--max-associations", ("3",), (), {"max_associations": 3}),
    ("", "--no-fsync", (), (), {"fsync": False}),
    ("", "--on-duplicate", ("overwrite",), (), {"on_duplicate": "overwrite"}),
    ("", "--fork", (), (), {"fork": True}),
    ("-id", "--inetd", (), (), {"inetd": True, "port": None}),
    ("+ac", "--access-control", (), (), {"access_control": True}),
    ("+uf", "--unique-filenames", (), (), {"unique_filenames": True}),
    ("+uc", "--convert-un", (), (), {"convert_un": True}),
    (
        "+cs",
        "--cipher",
        ("TLS_RSA_WITH_AES_128_CBC_SHA",),
        ("+tls", "k", "c"),
        {"tls_ciphers": ("TLS_RSA_WITH_AES_128_CBC_SHA",)},
    ),
    (
        "+crl",
        "--add-crl-file",
        ("r.crl",),
        ("+tls", "k", "c"),
        {"tls_crl_files": ("r.crl",), "tls_crl_check": "leaf"},
    ),
    ("+crv", "--enable-crl-vfy", (), ("+tls", "k", "c"), {"tls_crl_check": "leaf"}),
    ("+cra", "--enable-crl-all", (), ("+tls", "k", "c"), {"tls_crl_check": "all"}),
    ("+dp", "--dhparam", ("dh.pem",), ("+tls", "k", "c"), {"tls_dhparam": "dh.pem"}),
    ("+rs", "--seed", ("seed",), ("+tls", "k", "c"), {"tls_seed": "seed"}),
    (
        "+ws",
        "--write-seed",
        (),
        ("+tls", "k", "c", "+rs", "seed"),
        {"tls_write_seed": "seed"},
    ),
    (
        "+wf",
        "--write-seed-file",
        ("out",),
        ("+tls", "k", "c", "+rs", "seed"),
        {"tls_write_seed": "out"},
    ),
    (
        "+tls",
        "--enable-tls",
        ("k.pem", "c.pem"),
        (),
        {"tls": True, "tls_private_key": "k.pem", "tls_certificate": "c.pem"},
    ),
    ("+ps", "--std-passwd", (), ("+tls", "k", "c"), {"tls_password": None}),
    (
        "+pw",
        "--use-passwd",
        ("secret",),
        ("+tls", "k", "c"),
        {"tls_password": "secret"},
    ),
    ("-pw", "--null-passwd", (), ("+tls", "k", "c"), {"tls_password": ""}),
    ("-pem", "--pem-keys", (), ("+tls", "k", "c"), {"tls_key_format": "pem-keys"}),
    ("-der", "--der-keys", (), ("+tls", "k", "c"), {"tls_key_format": "der-keys"}),
    (
        "+cf",
        "--add-cert-file",
        ("ca.pem",),
        ("+tls", "k", "c"),
        {"tls_cert_files": ("ca.pem",)},
    ),
    (
        "+cd",
        "--add-cert-dir",
        ("certs",),
        ("+tls", "k", "c"),
        {"tls_cert_dirs": ("certs",)},
    ),
    (
        "+py",
        "--profile-bcp195-nd",
        (),
        ("+tls", "k", "c"),
        {"tls_profile": "profile-bcp195-nd"},
    ),
    (
        "+px",
        "--profile-bcp195",
        (),
        ("+tls", "k", "c"),
        {"tls_profile": "profile-bcp195"},
    ),
    (
        "+pz",
        "--profile-bcp195-ex",
        (),
        ("+tls", "k", "c"),
        {"tls_profile": "profile-bcp195-ex"},
    ),
    ("+pa", "--profile-aes", (), ("+tls", "k", "c"), {"tls_profile": "profile-aes"}),
    ("+pn", "--profile-null", (), ("+tls", "k", "c"), {"tls_profile": "profile-null"}),
    (
        "-rc",
        "--require-peer-cert",
        (),
        ("+tls", "k", "c"),
        {"tls_peer_cert": "require-peer-cert"},
    ),
    (
        "-vc",
        "--verify-peer-cert",
        (),
        ("+tls", "k", "c"),
        {"tls_peer_cert": "verify-peer-cert"},
    ),
    (
        "-ic",
        "--ignore-peer-cert",
        (),
        ("+tls", "k", "c"),
        {"tls_peer_cert": "ignore-peer-cert"},
    ),
    ("-u", "--disable-new-vr", (), (), {"new_vr": False}),
    ("+g", "--group-length-create", (), (), {"group_length": "group-length-create"}),
    ("-g", "--group-length-remove", (), (), {"group_length": "group-length-remove"}),
    ("-e", "--length-undefined", (), (), {"length_encoding": "length-undefined"}),
    (
        "-ss",
        "--sort-conc-studies",
        ("PFX",),
        (),
        {"sort": "sort-conc-studies", "sort_prefix": "PFX"},
    ),
    (
        "-su",
        "--sort-on-study-uid",
        ("",),
        (),
        {"sort": "sort-on-study-uid", "sort_prefix": ""},
    ),
    (
        "-sp",
        "--sort-on-patientname",
        (),
        (),
        {"sort": "sort-on-patientname", "sort_prefix": None},
    ),
    ("-tn", "--timenames", (), (), {"timenames": True}),
    (
        "-xf",
        "--config-file",
        ("f.cfg", "Default"),
        (),
        {"config_file": ("f.cfg", "Default")},
    ),
    ("", "--hosts-allow", ("a",), (), {"hosts_allow": "a"}),
    ("", "--hosts-deny", ("d",), (), {"hosts_deny": "d"}),
    (
        "",
        "--allow-calling-ae",
        ("CT@1.2.3.4",),
        (),
        {"allowed_calling_aes": ("CT@1.2.3.4",)},
    ),
    ("-xcr", "--exec-on-reception", ("echo #f",), (), {"exec_on_reception": "echo #f"}),
    ("-xs", "--exec-sync", (), (), {"exec_sync": True}),
    ("+te", "--write-xfer-little", (), (), {"write_xfer": "write-xfer-little"}),
    ("+tb", "--write-xfer-big", (), (), {"write_xfer": "write-xfer-big"}),
    ("+ti", "--write-xfer-implicit", (), (), {"write_xfer": "write-xfer-implicit"}),
    ("+td", "--write-xfer-deflated", (), (), {"write_xfer": "write-xfer-deflated"}),
    ("+cl", "--compression-level", ("9",), ("+td",), {"compression_level": 9}),
    ("+p", "--padding-create", ("256", "16"), (), {"padding": (256, 16)}),
    (
        "-xcs",
        "--exec-on-eostudy",
        ("echo #p",),
        ("-sp",),
        {"exec_on_eostudy": "echo #p"},
    ),
    ("-rns", "--rename-on-eostudy", (), ("-sp",), {"rename_on_eostudy": True}),
    ("-tos", "--eostudy-timeout", ("0x10",), ("-sp",), {"eostudy_timeout": 16}),
]


def _spellings(short: str, long: str) -> list[str]:
    """
    The spellings of an option.
    """
    return [long, short] if short else [long]


class SpellingTests(SynchronousTestCase):
    """
    Every option, in both spellings, lands in the configuration.
    """

    def test_table_covers_every_option(self) -> None:
        """
        The cases here name every option of the table, each once.
        """
        covered = [long for _, long, _, _, _ in IMPLEMENTED]
        covered += ["--help", "--version", "--list-ciphers", "--log-config"]
        self.assertEqual(sorted(covered), sorted(spec.long for spec in OPTIONS))

    def test_short_spellings_match_table(self) -> None:
        """
        The cases use the short spellings of the table.
        """
        shorts = {spec.long: spec.short for spec in OPTIONS}
        for short, long, _, _, _ in IMPLEMENTED:
            self.assertEqual(shorts[long], short, long)

    def test_implemented(self) -> None:
        """
        Each implemented option sets its fields, whichever spelling is used.
        """
        for short, long, values, extra, expected in IMPLEMENTED:
            for spelling in _spellings(short, long):
                config = parse(spelling, *values, *extra, PORT)
                for name, value in expected.items():
                    self.assertEqual(getattr(config, name), value, spelling)

    def test_log_config(self) -> None:
        """
        ``-lc`` and ``--log-config`` accept a file that sets up the root
        logger.
        """
        path = temporary_path(self)
        with open(path, "w") as stream:
            stream.write("# logging\nlog4cplus.rootLogger = INFO, console\n")
        for spelling in ("-lc", "--log-config"):
            self.assertEqual(parse(spelling, path, PORT).log_config, path)

    def test_options_mapping(self) -> None:
        """
        The options object also maps field names to the parsed values.
        """
        options = StoreSCPOptions()
        options.parseOptions(["-aet", "ME", PORT])
        self.assertEqual((options["aetitle"], options["port"]), ("ME", 11112))


class TableTests(SynchronousTestCase):
    """
    The option table is consistent.
    """

    def test_spellings_unique(self) -> None:
        """
        No spelling names two options.
        """
        spellings = [spec.long for spec in OPTIONS]
        spellings += [spec.short for spec in OPTIONS if spec.short]
        self.assertEqual(len(spellings), len(set(spellings)))

    def test_evaluation_order_complete(self) -> None:
        """
        Every option but the exclusive ones is evaluated exactly once.
        """
        names = [name for name in EVALUATION_ORDER if name.startswith("-")]
        expected = {spec.long for spec in OPTIONS}
        expected -= {"--help", "--version", "--list-ciphers"}
        self.assertEqual(sorted(names), sorted(expected))

    def test_blocks_contiguous(self) -> None:
        """
        The members of a block follow each other in the evaluation order.
        """
        blocks = {spec.long: spec.block for spec in OPTIONS}
        seen: list[str] = []
        for name in EVALUATION_ORDER:
            block = blocks.get(name, "")
            if block and (not seen or seen[-1] != block):
                self.assertNotIn(block, seen, name)
                seen.append(block)
            elif not block:
                seen.append("")


class BlockTests(SynchronousTestCase):
    """
    Within a block the rightmost option wins; elsewhere the last value wins.
    """

    def test_transfer_syntax_rightmost(self) -> None:
        """
        ``+xs +xa`` accepts all, ``+xa +xs`` prefers JPEG lossless.
        """
        self.assertEqual(parse("+xs", "+xa", PORT).ts_preference, "accept-all")
        self.assertEqual(parse("+xa", "+xs", PORT).ts_preference, "prefer-lossless")

    def test_three_in_a_block(self) -> None:
        """
        With three members the rightmost still wins, whatever the table order.
        """
        self.assertEqual(
            parse("+xe", "+xa", "+xs", PORT).ts_preference, "prefer-lossless"
        )
        self.assertEqual(
            parse("+xa", "+xs", "+xe", PORT).ts_preference, "prefer-little"
        )
        self.assertEqual(
            parse("+xs", "+xe", "+xs", PORT).ts_preference, "prefer-lossless"
        )

    def test_verbosity_rightmost(self) -> None:
        """
        ``-q -v -d`` is debug, ``-d -v`` is verbose, ``-v -q`` is quiet.
        """
        self.assertEqual(parse("-q", "-v", "-d", PORT).log_level, "debug")
        self.assertEqual(parse("-d", "-v", PORT).log_level, "info")
        self.assertEqual(parse("-v", "-q", PORT).log_level, "fatal")

    def test_overridden_unsupported_option(self) -> None:
        """
        An unsupported option that lost in its block is not refused.
        """
        config = parse("+uf", "-uf", "+B", "-B", "+te", "+t=", PORT)
        self.assertEqual(
            (config.unique_filenames, config.bit_preserving, config.write_xfer),
            (False, False, "write-xfer-same"),
        )

    def test_last_value_wins(self) -> None:
        """
        Repeated options outside blocks keep their last value; only that one
        is checked.
        """
        config = parse("-aet", "A", "-pdu", "100", "-aet", "B", "-pdu", "8192", PORT)
        self.assertEqual((config.aetitle, config.max_pdu), ("B", 8192))
        self.assertEqual(parse("-ll", "bad", "-ll", "debug", PORT).log_level, "debug")

    def test_listen_accumulates(self) -> None:
        """
        ``--listen`` may be repeated; all endpoints are kept, in order.
        """
        config = parse("--listen", "tcp:1", "--listen", "unix:/s", PORT)
        self.assertEqual(config.listen, ("tcp:1", "unix:/s"))

    def test_padding_block(self) -> None:
        """
        ``-p`` after ``+p`` turns padding off, so ``-F`` does not conflict.
        """
        self.assertIsNone(parse("+p", "8", "8", "-p", "-F", PORT).padding)

    def test_sort_rightmost(self) -> None:
        """
        Of several sort options the rightmost decides mode and prefix.
        """
        config = parse("-ss", "A", "-sp", PORT)
        self.assertEqual(
            (config.sort, config.sort_prefix), ("sort-on-patientname", None)
        )
        config = parse("-sp", "-su", "B", PORT)
        self.assertEqual((config.sort, config.sort_prefix), ("sort-on-study-uid", "B"))


# Conflicts between options of different blocks: the groups of arguments,
# and the message, which is the same in every order.
CONFLICTS: list[tuple[list[list[str]], str]] = [
    ([["-tn"], ["+uf"]], "--timenames not allowed with --unique-filenames"),
    (
        [["-ll", "info"], ["-v"]],
        "--log-level not allowed with --verbose, --debug or --quiet",
    ),
    (
        [["-ll", "info"], ["-q"]],
        "--log-level not allowed with --verbose, --debug or --quiet",
    ),
    ([["-lc", "x"], ["-ll", "info"]], "--log-config not allowed with --log-level"),
    (
        [["-lc", "x"], ["-d"]],
        "--log-config not allowed with --verbose, --debug or --quiet",
    ),
    ([["-xf", "f", "p"], ["+xe"]], "--config-file not allowed with --prefer-little"),
    ([["-xf", "f", "p"], ["+xs"]], "--config-file not allowed with --prefer-lossless"),
    ([["-xf", "f", "p"], ["+x5"]], "--config-file not allowed with --prefer-hevc10"),
    ([["-xf", "f", "p"], ["+xd"]], "--config-file not allowed with --prefer-deflated"),
    ([["-xf", "f", "p"], ["+xi"]], "--config-file not allowed with --implicit"),
    ([["-xf", "f", "p"], ["+xa"]], "--config-file not allowed with --accept-all"),
    ([["-xf", "f", "p"], ["-pm"]], "--config-file not allowed with --promiscuous"),
    ([["+te"], ["+xa"]], "--write-xfer-little not allowed with --accept-all"),
    ([["+tb"], ["+B"]], "--write-xfer-big not allowed with --bit-preserving"),
    ([["+ti"], ["+xs"]], "--write-xfer-implicit not allowed with --prefer-lossless"),
    ([["+td"], ["+xr"]], "--write-xfer-deflated not allowed with --prefer-rle"),
    ([["+te"], ["+x4"]], "--write-xfer-little not allowed with --prefer-hevc"),
    ([["+te"], ["+xy"]], "--write-xfer-little not allowed with --prefer-jpeg8"),
    ([["+u"], ["+B"]], "--enable-new-vr not allowed with --bit-preserving"),
    ([["-u"], ["+B"]], "--disable-new-vr not allowed with --bit-preserving"),
    ([["+g="], ["+B"]], "--group-length-recalc not allowed with --bit-preserving"),
    ([["+g"], ["+B"]], "--group-length-create not allowed with --bit-preserving"),
    ([["-g"], ["+B"]], "--group-length-remove not allowed with --bit-preserving"),
    ([["+e"], ["+B"]], "--length-explicit not allowed with --bit-preserving"),
    ([["-e"], ["+B"]], "--length-undefined not allowed with --bit-preserving"),
    ([["+p", "8", "8"], ["+B"]], "--padding-create not allowed with --bit-preserving"),
    ([["+p", "8", "8"], ["-F"]], "--padding-create not allowed with --write-dataset"),
    ([["-ss", "x"], ["+B"]], "--sort-conc-studies not allowed with --bit-preserving"),
    ([["-su", "x"], ["+B"]], "--sort-on-study-uid not allowed with --bit-preserving"),
    ([["-sp"], ["+B"]], "--sort-on-patientname not allowed with --bit-preserving"),
    ([["-xcs", "c"], ["--fork"]], "--exec-on-eostudy not allowed with --fork"),
    ([["-rns"], ["--fork"]], "--rename-on-eostudy not allowed with --fork"),
    (
        [["+cs", "x"], ["+pz"], ["+tls", "k", "c"]],
        "--cipher not allowed with --profile-bcp195-ex",
    ),
    (
        [["+cra"], ["+crv"], ["+tls", "k", "c"]],
        "--enable-crl-all not allowed with --enable-crl-vfy",
    ),
    (
        [["+cl", "5"], ["+te"]],
        _LEVEL_ONLY,
    ),
    ([["+ws"], ["+tls", "k", "c"]], "--write-seed only allowed with --seed"),
    ([["+wf", "f"], ["+tls", "k", "c"]], "--write-seed-file only allowed with --seed"),
]

# Single command lines and their messages (behaviour reference §1.1, §13.2).
ERRORS: list[tuple[list[str], str]] = [
    (["-v"], "Missing parameter port"),
    (["0"], "Invalid parameter value 0 (underflow)"),
    (["70000"], "Invalid parameter value 70000 (overflow)"),
    (["abc"], "Invalid parameter value abc"),
    ([""], "Invalid parameter value "),
    (["-1"], "Invalid parameter value -1 (overflow)"),
    (["0x10"], "Invalid parameter value 0x10 (underflow)"),
    (["-"], "Invalid parameter value -"),
    (["104", "105"], "Too many parameters"),
    (["--bogus", PORT], "Unknown option --bogus"),
    (["+pb", PORT], "Unknown option +pb"),
    (["--profile-basic", PORT], "Unknown option --profile-basic"),
    (["-.5"], "Unknown option -.5"),
    (["--"], "Unknown option --"),
    (["-aet"], "Missing value for option --aetitle"),
    ([PORT, "+p", "8"], "Missing value for option --padding-create"),
    (["+p", "8", PORT], "Missing parameter port"),
    (["-pdu", "100", PORT], "Invalid value for option --max-pdu (underflow: 100)"),
    (["-pdu", "200000", PORT], "Invalid value for option --max-pdu (overflow: 200000)"),
    (["-pdu", "abc", PORT], "Invalid value for option --max-pdu (abc)"),
    (["-pdu", "", PORT], "Invalid value for option --max-pdu"),
    (
        ["-pdu", "0x1000", PORT],
        "Invalid value for option --max-pdu (underflow: 0x1000)",
    ),
    (["-pdu", " -5000", PORT], "Invalid value for option --max-pdu ( -5000)"),
    (
        ["-pdu", "99999999999999999999", PORT],
        "Invalid value for option --max-pdu (overflow: 99999999999999999999)",
    ),
    (["-ts", "-5", PORT], "Invalid value for option --socket-timeout (underflow: -5)"),
    (["-ts", "+ 5", PORT], "Invalid value for option --socket-timeout (+ 5)"),
    (["-ta", "0", PORT], "Invalid value for option --acse-timeout (underflow: 0)"),
    (["-ta", "0x", PORT], "Invalid value for option --acse-timeout (underflow: 0x)"),
    (["-td", "0", PORT], "Invalid value for option --dimse-timeout (underflow: 0)"),
    (["--sleep-after", "-1", PORT], "Invalid value for option --sleep-after (-1)"),
    (["--sleep-during", "x", PORT], "Invalid value for option --sleep-during (x)"),
    (
        ["+cl", "12", PORT],
        "Invalid value for option --compression-level (overflow: 12)",
    ),
    (["+cl", "-1", "+td", PORT], "Invalid value for option --compression-level (-1)"),
    (["+p", "8", "y", PORT], "Invalid value for option --padding-create (y)"),
    (
        ["-ss", "p", "-tos", "-1", PORT],
        "Invalid value for option --eostudy-timeout (underflow: -1)",
    ),
    (["-ll", "bad", PORT], "Invalid log level for --log-level option"),
    (["-ll", "warning", PORT], "Invalid log level for --log-level option"),
    (["-ll", " info", PORT], "Invalid log level for --log-level option"),
    (
        ["-lc", "/nonexistent/log.cfg", PORT],
        "Specified --log-config file does not exist",
    ),
    (["+v", PORT], "--verbose-pc only allowed with verbose mode"),
    (["+v", "-ll", "warn", PORT], "--verbose-pc only allowed with verbose mode"),
    (
        ["-xcs", "c", PORT],
        _EXEC_ON_EOSTUDY_ONLY,
    ),
    (
        ["-rns", PORT],
        _RENAME_ONLY,
    ),
    (
        ["-tos", "5", PORT],
        _TIMEOUT_ONLY,
    ),
    (["+pw", "x", PORT], "--use-passwd only allowed with --enable-tls"),
    (["+ps", PORT], "--std-passwd only allowed with --enable-tls"),
    (["-der", PORT], "--der-keys only allowed with --enable-tls"),
    (["+cf", "x", PORT], "--add-cert-file only allowed with --enable-tls"),
    (["+crl", "x", PORT], "--add-crl-file only allowed with --enable-tls"),
    (["+py", PORT], "--profile-bcp195-nd only allowed with --enable-tls"),
    (["+pa", PORT], "--profile-basic only allowed with --enable-tls"),
    (["+cs", "x", PORT], "--cipher only allowed with --enable-tls"),
    (["+ws", PORT], "--write-seed only allowed with --enable-tls"),
    (
        ["+tls", "k", "c", "-tls", "+pw", "x", PORT],
        "--use-passwd only allowed with --enable-tls",
    ),
    (
        ["--max-associations", "0", PORT],
        "Invalid value for option --max-associations (underflow: 0)",
    ),
    (
        ["--max-associations", "100001", PORT],
        "Invalid value for option --max-associations (overflow: 100001)",
    ),
    (
        ["--on-duplicate", "sometimes", PORT],
        "Invalid value for option --on-duplicate (sometimes)",
    ),
    (["--listen", ""], "Invalid value for option --listen"),
]

# Several mistakes: the reference reports the one it evaluates first.
PRECEDENCE: list[tuple[list[str], str]] = [
    (
        ["-ta", "0", "-td", "0", PORT],
        "Invalid value for option --acse-timeout (underflow: 0)",
    ),
    (
        ["-td", "0", "-ta", "0", PORT],
        "Invalid value for option --acse-timeout (underflow: 0)",
    ),
    (
        ["-ta", "0", "-ts", "-5", PORT],
        "Invalid value for option --socket-timeout (underflow: -5)",
    ),
    (["-ll", "bad", "0"], "Invalid parameter value 0 (underflow)"),
    (["-pdu", "100", "0"], "Invalid parameter value 0 (underflow)"),
    (["-ta", "0", "+v", PORT], "--verbose-pc only allowed with verbose mode"),
    (
        ["+xa", "-xf", "f", "p", "-ta", "0", PORT],
        "Invalid value for option --acse-timeout (underflow: 0)",
    ),
    (
        ["-pdu", "100", "+B", "+u", PORT],
        "Invalid value for option --max-pdu (underflow: 100)",
    ),
    (["+B", "+u", "-u", PORT], "--enable-new-vr not allowed with --bit-preserving"),
    (["+B", "-u", "+u", PORT], "--enable-new-vr not allowed with --bit-preserving"),
    (
        ["+B", "+g", "-g", "+g=", PORT],
        "--group-length-recalc not allowed with --bit-preserving",
    ),
    (
        ["+td", "+te", "+B", PORT],
        "--write-xfer-little not allowed with --bit-preserving",
    ),
    (["+te", "+xa", "+B", PORT], "--write-xfer-little not allowed with --accept-all"),
    (
        ["-F", "+p", "8", "8", "+B", PORT],
        "--padding-create not allowed with --write-dataset",
    ),
    (
        ["-ss", "x", "-sp", "+B", PORT],
        "--sort-conc-studies not allowed with --bit-preserving",
    ),
    (
        ["-rns", "-xcs", "x", PORT],
        _EXEC_ON_EOSTUDY_ONLY,
    ),
    (["-vc", "-ic", PORT], "--ignore-peer-cert only allowed with --enable-tls"),
    (["+py", "+px", PORT], "--profile-bcp195 only allowed with --enable-tls"),
    (["+crl", "x", "-rc", PORT], "--require-peer-cert only allowed with --enable-tls"),
    (["+pn", "+cf", "x", PORT], "--profile-null only allowed with --enable-tls"),
    (["-ic", "+dp", "x", PORT], "--dhparam only allowed with --enable-tls"),
    (
        ["+cl", "x", "+te", PORT],
        _LEVEL_ONLY,
    ),
    (
        ["-tos", "x", "-rns", "-sp", PORT],
        "Invalid value for option --eostudy-timeout (x)",
    ),
    (
        ["-pdu", "100", "+pw", "x", PORT],
        "Invalid value for option --max-pdu (underflow: 100)",
    ),
    (["-h", "-pdu"], "Missing value for option --max-pdu"),
    (["--version", "--bogus"], "Unknown option --bogus"),
    (["--bogus", "@/nonexistent/args"], "Cannot open command file '/nonexistent/args'"),
    (["-tn", "+uf", "-tn", PORT], "--timenames not allowed with --unique-filenames"),
    (
        ["--timenames", "--unique-filenames", PORT],
        "--timenames not allowed with --unique-filenames",
    ),
    (
        ["-xf", "f", "p", "+B", "+u", PORT],
        "--enable-new-vr not allowed with --bit-preserving",
    ),
]


class ErrorTests(_ErrorAssertions):
    """
    Bad command lines give the reference program's messages.
    """

    def test_conflicts_in_every_order(self) -> None:
        """
        A conflict between blocks names the dependent option first, in
        whatever order the options are given.
        """
        for groups, message in CONFLICTS:
            for order in itertools.permutations(groups):
                arguments = [word for group in order for word in group]
                self.assertRejected([*arguments, PORT], message)

    def test_messages(self) -> None:
        """
        Each bad command line gets its message.
        """
        for arguments, message in ERRORS:
            self.assertRejected(arguments, message)

    def test_first_mistake_reported(self) -> None:
        """
        Of several mistakes, the one the reference evaluates first is named.
        """
        for arguments, message in PRECEDENCE:
            self.assertRejected(arguments, message)

    def test_usage_error(self) -> None:
        """
        Errors are Twisted usage errors, as twistd expects.
        """
        self.assertTrue(issubclass(CommandLineError, usage.UsageError))

    def test_inetd_fork_silent(self) -> None:
        """
        ``--inetd --fork`` is refused, silently as the reference's stderr is
        closed by then.
        """
        error = self.assertRaises(
            CommandLineError, parse_command_line, ["--inetd", "--fork"]
        )
        self.assertEqual(
            (str(error), error.silent), ("--inetd not allowed with --fork", True)
        )

    def test_quiet_silences_later_errors(self) -> None:
        """
        Errors after ``-q`` (or ``-ll fatal``/``off``) took effect are silent;
        earlier ones are not.
        """
        for arguments, silent in [
            (["-q", "-pdu", "100", PORT], True),
            (["-ll", "fatal", "-pdu", "100", PORT], True),
            (["-ll", "off", "-pdu", "100", PORT], True),
            (["-ll", "error", "-pdu", "100", PORT], False),
            (["-q", "0"], False),
            (["-q", "--bogus"], False),
            (["+v", "-v", "-q", PORT], True),
            (["-q", "-ll", "info", PORT], False),
        ]:
            error = self.assertRaises(CommandLineError, parse_command_line, arguments)
            self.assertEqual(error.silent, silent, arguments)


class IntegerTests(SynchronousTestCase):
    """
    Integer values are read as C's ``sscanf`` reads them.
    """

    def test_signed_bases(self) -> None:
        """
        ``%li`` knows hexadecimal and octal: ``0x10`` is 16, ``010`` is 8.
        """
        self.assertEqual(parse("-ts", "0x10", PORT).socket_timeout, 16)
        self.assertEqual(parse("-ts", "010", PORT).socket_timeout, 8)
        self.assertEqual(parse("-ts", "0X1f", PORT).socket_timeout, 31)
        self.assertEqual(parse("-ta", "-0x5", "-ta", "  +9", PORT).acse_timeout, 9)

    def test_trailing_garbage(self) -> None:
        """
        Whatever follows a valid number is ignored: ``1.5`` is 1.
        """
        self.assertEqual(parse("-ts", "1.5", PORT).socket_timeout, 1)
        self.assertEqual(parse("-ts", "08", PORT).socket_timeout, 0)
        self.assertEqual(parse("-pdu", "5000x", PORT).max_pdu, 5000)
        self.assertEqual(parse("104x").port, 104)

    def test_unsigned_decimal_only(self) -> None:
        """
        ``%lu`` reads decimal only, so ``010000`` is ten thousand and
        leading blanks and a plus sign are allowed.
        """
        self.assertEqual(parse("-pdu", "010000", PORT).max_pdu, 10000)
        self.assertEqual(parse("-pdu", " +8192", PORT).max_pdu, 8192)
        self.assertEqual(parse(" 104").port, 104)
        self.assertEqual(parse("+104").port, 104)

    def test_saturation(self) -> None:
        """
        Values too large for C saturate: a huge ``-ta`` is accepted.
        """
        self.assertEqual(
            parse("-ta", "99999999999999999999", PORT).acse_timeout, 2**63 - 1
        )
        self.assertEqual(
            parse("--sleep-after", "18446744073709551616", PORT).sleep_after,
            2**64 - 1,
        )

    def test_scanners(self) -> None:
        """
        The scanners return ``None`` where ``sscanf`` matches nothing.
        """
        self.assertEqual(
            [scan_signed(text) for text in ("0x", "0xg", "-0", "\t7", "- 5", "x")],
            [0, 0, 0, 7, None, None],
        )
        self.assertEqual(
            [scan_unsigned(text) for text in ("-5", "0x9", " ", "", "++1")],
            [2**64 - 5, 0, None, None, None],
        )


def _libc_scanner(conversion: bytes, kind: Any) -> Callable[[str], int | None] | None:
    """
    A function calling the C library's ``sscanf`` with one conversion, or
    ``None`` if there is no glibc to compare with.
    """
    name = ctypes.util.find_library("c")
    if name is None or not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(name)

    def scan(text: str) -> int | None:
        """
        What ``sscanf`` reads from ``text``, or ``None`` if nothing.
        """
        value = kind()
        count = libc.sscanf(text.encode("utf-8"), conversion, ctypes.byref(value))
        return value.value if count == 1 else None

    return scan


_SCAN_TEXT = st.text(
    alphabet=" \t\n\v\f\r+-0123456789xXabfgAF.", max_size=24
) | st.from_regex(r"\A[ +-]?(0[xX])?[0-9a-fA-F]{1,22}\Z")


class LibcComparisonTests(SynchronousTestCase):
    """
    The scanners agree with the C library's ``sscanf`` (glibc, on Linux).
    """

    def setUp(self) -> None:
        """
        Find the C library.
        """
        self.signed = _libc_scanner(b"%li", ctypes.c_long)
        self.unsigned = _libc_scanner(b"%lu", ctypes.c_ulong)
        if self.signed is None or self.unsigned is None:
            self.skipTest("no C library to compare with")

    @given(_SCAN_TEXT)
    def test_signed(self, text: str) -> None:
        """
        ``scan_signed`` reads what ``sscanf("%li")`` reads.
        """
        self.assertEqual(scan_signed(text), self.signed(text))  # type: ignore[misc]

    @given(_SCAN_TEXT)
    def test_unsigned(self, text: str) -> None:
        """
        ``scan_unsigned`` reads what ``sscanf("%lu")`` reads.
        """
        self.assertEqual(scan_unsigned(text), self.unsigned(text))  # type: ignore[misc]


class CommandFileTests(_ErrorAssertions):
    """
    ``@file`` arguments are replaced by the file's words.
    """

    def write(self, text: str) -> str:
        """
        Write ``text`` to a new file and return its name.
        """
        path = temporary_path(self)
        with open(path, "w") as stream:
            stream.write(text)
        return path

    def test_quoted_words(self) -> None:
        """
        Double or single quotes group words; runs of blanks are one separator.
        """
        path = self.write('--aetitle "MY AE"\n  -v\t-pdu   8192\r\n')
        config = parse(f"@{path}", PORT)
        self.assertEqual(
            (config.aetitle, config.log_level, config.max_pdu),
            ("MY AE", "info", 8192),
        )
        path = self.write("-aet 'A B'")
        self.assertEqual(parse(f"@{path}", PORT).aetitle, "A B")

    def test_splitting(self) -> None:
        """
        A closing quote ends a word, even an empty one; there are no escapes
        and no comments.
        """
        self.assertEqual(
            split_command_file('ab"cd ef"gh "x\'y" \'\' a\\ b # c\v"open'),
            ["abcd ef", "gh", "x'y", "", "a\\", "b", "#", "c\vopen"],
        )

    def test_empty_word(self) -> None:
        """
        ``""`` in a file is an empty argument, here an empty AE title.
        """
        path = self.write('-aet ""')
        self.assertEqual(parse(f"@{path}", PORT).aetitle, "")

    def test_anywhere(self) -> None:
        """
        Files are expanded before parsing, after the port too, and even
        where an option expects its value.
        """
        path = self.write("-aet X")
        self.assertEqual(parse(PORT, f"@{path}").aetitle, "X")
        self.assertRejected(["-fe", f"@{path}", PORT], "Too many parameters")
        path = self.write("-v")
        self.assertEqual(parse("-fe", f"@{path}", PORT).filename_extension, "-v")

    def test_no_nesting(self) -> None:
        """
        An ``@file`` inside a command file stays a plain word.
        """
        inner = self.write("-v")
        outer = self.write(f"-aet @{inner}")
        self.assertEqual(parse(f"@{outer}", PORT).aetitle, f"@{inner}")
        self.assertRejected(
            [f"@{self.write(f'@{inner}')}", PORT], "Too many parameters"
        )

    def test_missing_file(self) -> None:
        """
        A file that cannot be opened is an error naming it.
        """
        path = os.path.join(temporary_path(self), "none")
        self.assertRejected([f"@{path}", PORT], f"Cannot open command file '{path}'")

    def test_directory_is_empty(self) -> None:
        """
        A directory reads as an empty file.
        """
        path = temporary_path(self)
        os.mkdir(path)
        self.assertEqual(parse(f"@{path}", PORT).port, 11112)

    def test_lone_at(self) -> None:
        """
        ``@`` alone is an ordinary argument.
        """
        self.assertRejected(["@", PORT], "Too many parameters")

    def test_empty_file_alone_shows_help(self) -> None:
        """
        An empty command file as the only argument means no arguments: help.
        """
        self.patch(sys, "stdout", io.StringIO())
        error = self.assertRaises(SystemExit, parse, f"@{self.write('')}")
        self.assertEqual(error.code, 0)


class HelpVersionTests(SynchronousTestCase):
    """
    Help and version texts go to standard output, with exit status 0.
    """

    def shown(self, *arguments: str) -> str:
        """
        What parsing ``arguments`` prints, checking that it exits with 0.
        """
        output = io.StringIO()
        self.patch(sys, "stdout", output)
        error = self.assertRaises(SystemExit, parse, *arguments)
        self.assertEqual(error.code, 0)
        return output.getvalue()

    def test_help(self) -> None:
        """
        ``-h`` and ``--help`` print the usage text, also with parameters.
        """
        for arguments in (["-h"], ["--help"], ["-h", "1", "2"], ["--version", "-h"]):
            self.assertEqual(self.shown(*arguments), help_text())

    def test_no_arguments(self) -> None:
        """
        No arguments at all print the usage text too.
        """
        self.assertEqual(self.shown(), help_text())

    def test_help_lists_every_option(self) -> None:
        """
        The usage text names every option in both spellings, within 79
        columns.
        """
        text = help_text()
        self.assertTrue(text.startswith(f"$dicomtw: storescp v{dicomtw.__version__} $"))
        self.assertIn("usage: storescp [options] [port]\n", text)
        for spec in OPTIONS:
            self.assertIn(f" {spec.long} ", text)
            if spec.short:
                self.assertIn(f" {spec.short} ", text)
        self.assertLessEqual(max(len(line) for line in text.splitlines()), 79)

    def test_version(self) -> None:
        """
        ``--version`` names dicomtw and its libraries, whatever else is
        given.
        """

        text = self.shown("-pdu", "100", "--version", "1", "2")
        self.assertEqual(text, version_text())
        self.assertIn(f"v{dicomtw.__version__}", text)
        self.assertIn(f"- Twisted, Version {twisted_version}\n", text)
        self.assertIn(f"- pydicom, Version {pydicom.__version__}\n", text)
        self.assertIn("External libraries used:\n", text)
        self.assertIn("OpenSSL", text)

    def test_usage_of_options_object(self) -> None:
        """
        ``str()`` of the options object, which twistd prints, is the help.
        """
        self.assertEqual(str(StoreSCPOptions()), help_text())


class ArgumentsTests(SynchronousTestCase):
    """
    ``--arguments`` records the expanded command line with long names.
    """

    def test_expanded(self) -> None:
        """
        Short options become long ones; values and parameters stay as given.
        """
        config = parse("--arguments", "-v", "-aet", "-v", PORT)
        self.assertTrue(config.print_arguments)
        self.assertEqual(
            config.expanded_arguments,
            ("--arguments", "--verbose", "--aetitle", "-v", PORT),
        )

    def test_with_command_file(self) -> None:
        """
        The expansion includes the words of command files.
        """
        path = temporary_path(self)
        with open(path, "w") as stream:
            stream.write('-aet "MY AE" +xa')
        config = parse("--arguments", f"@{path}", PORT)
        self.assertEqual(
            config.expanded_arguments,
            ("--arguments", "--aetitle", "MY AE", "--accept-all", PORT),
        )

    def test_on_error(self) -> None:
        """
        An error after the log set-up carries the arguments to log first; an
        earlier one does not.
        """
        late = self.assertRaises(
            CommandLineError, parse_command_line, ["-pdu", "1", PORT, "--arguments"]
        )
        self.assertEqual(late.arguments, ("--max-pdu", "1", PORT, "--arguments"))
        early = self.assertRaises(
            CommandLineError, parse_command_line, ["0", "--arguments"]
        )
        self.assertIsNone(early.arguments)
        self.assertEqual(parse(PORT).expanded_arguments, (PORT,))


class ValueTests(SynchronousTestCase):
    """
    Values are stored as the reference interprets them.
    """

    def test_log_levels(self) -> None:
        """
        Level names are case-insensitive; ``all`` is trace, ``off`` is kept.
        """
        names = {"Info": "info", "ALL": "trace", "off": "off", "WARN": "warn"}
        for name, level in names.items():
            self.assertEqual(parse("-ll", name, PORT).log_level, level)

    def test_verbose_pc_levels(self) -> None:
        """
        ``+v`` works with every level that shows info messages.
        """
        for level in ("info", "debug", "trace"):
            self.assertTrue(parse("+v", "-ll", level, PORT).verbose_pc)
        self.assertTrue(parse("-d", "+v", PORT).verbose_pc)

    def test_output_directory(self) -> None:
        """
        Trailing separators are removed, a lone one is kept, empty means the
        current directory.
        """
        paths = {"out///": "out", "/": "/", "///": "/", "": ".", "a/b/": "a/b"}
        for path, stored in paths.items():
            self.assertEqual(parse("-od", path, PORT).output_directory, stored)

    def test_empty_strings(self) -> None:
        """
        String options accept the empty string.
        """
        config = parse("-aet", "", "-fe", "", PORT)
        self.assertEqual((config.aetitle, config.filename_extension), ("", ""))

    def test_inetd_ignores_port(self) -> None:
        """
        In inetd mode a port is not needed; if given it is ignored, with a
        warning.
        """
        self.assertIsNone(parse("--inetd").port)
        config = parse("-id", PORT)
        self.assertEqual(
            (config.port, config.warnings),
            (None, ("Parameter port not required in inetd mode",)),
        )


class ListenTests(SynchronousTestCase):
    """
    ``--listen`` adds Twisted endpoints and makes the port optional.
    """

    def test_port_optional(self) -> None:
        """
        With ``--listen`` no port is needed.
        """
        config = parse("--listen", "tcp:11112:interface=127.0.0.1")
        self.assertEqual(
            (config.port, config.listen), (None, ("tcp:11112:interface=127.0.0.1",))
        )

    def test_with_port(self) -> None:
        """
        ``--listen`` and a port can be combined.
        """
        config = parse("--listen", "tcp6:11113", PORT)
        self.assertEqual((config.port, config.listen), (11112, ("tcp6:11113",)))

    def test_port_still_checked(self) -> None:
        """
        A port given along with ``--listen`` is still checked.
        """
        error = self.assertRaises(usage.UsageError, parse, "--listen", "tcp:1", "0")
        self.assertEqual(str(error), "Invalid parameter value 0 (underflow)")


class TwistdTests(SynchronousTestCase):
    """
    The options class works as twistd uses a plugin's options.
    """

    def test_twistd_style(self) -> None:
        """
        ``parseOptions`` with the plugin's arguments fills ``config``.
        """
        directory = temporary_path(self)
        os.mkdir(directory)
        options = StoreSCPOptions()
        options.parseOptions(["-od", directory, "11112"])
        self.assertEqual(options.config.output_directory, directory)
        self.assertEqual(options.config.port, 11112)
        self.assertIsInstance(options, usage.Options)

    def test_sys_argv(self) -> None:
        """
        Without arguments ``parseOptions`` reads ``sys.argv``.
        """
        self.patch(sys, "argv", ["dicomtw-storescp", "-v", PORT])
        options = StoreSCPOptions()
        options.parseOptions()
        self.assertEqual(options.config.log_level, "info")


class DuplicateOptionTests(SynchronousTestCase):
    """
    ``--on-duplicate`` takes all four actions.
    """

    def test_values(self) -> None:
        """
        overwrite, keep, unique and reject are all accepted.
        """
        for value in ("overwrite", "keep", "unique", "reject"):
            self.assertEqual(parse("--on-duplicate", value, PORT).on_duplicate, value)


class ListCiphersTests(SynchronousTestCase):
    """
    ``+cc`` prints the supported cipher suites and exits 0.
    """

    def test_list_ciphers(self) -> None:
        """
        The text names DCMTK's suites under the reference's heading.
        """
        for spelling in ("+cc", "--list-ciphers"):
            error = self.assertRaises(
                SystemExit, StoreSCPOptions().parseOptions, [spelling]
            )
            self.assertEqual(error.code, 0)
