"""
Tests for ``-lc``: log4cplus property files, with DCMTK's stock
logger.cfg and filelog.cfg.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from twisted.logger import LogLevel
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from dicomtw.logconfig import LogConfigError, configure, pattern_layout
from peers import dcmtk_tool, free_port, requires_dcmtk, run_tool, server_environment

STOCK = Path("/etc/dcmtk")


def event(level: LogLevel = LogLevel.warn, text: str = "hello") -> dict[str, object]:
    return {
        "log_level": level,
        "log_namespace": "dicomtw.protocol.DICOMServerProtocol",
        "log_format": "{text}",
        "text": text,
        "log_time": time.mktime((2026, 12, 3, 16, 21, 23, 0, 0, -1)) + 0.112,
        "assoc": "7",
    }


class LayoutTests(SynchronousTestCase):
    """
    PatternLayout conversions.
    """

    def test_stock_patterns(self) -> None:
        """
        The conversion patterns of the stock files render as log4cplus's.
        """
        self.assertEqual(
            pattern_layout("%D{%Y-%m-%d %H:%M:%S.%q} %5p: %m%n")(event()),
            "2026-12-03 16:21:23.112  WARN: hello\n",
        )
        self.assertEqual(
            pattern_layout("%D{%H:%M:%S} %5p - %-8c{1} - %m%n")(event(LogLevel.error)),
            "16:21:23 ERROR - DICOMServerProtocol - hello\n",
        )
        self.assertEqual(pattern_layout("%p %% %i%n")(event())[:7], "WARN % ")


class ConfigureTests(SynchronousTestCase):
    """
    Appenders, thresholds and levels from property files.
    """

    def setUp(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dicomtw-lc-"))

    def test_file_threshold_and_json(self) -> None:
        """
        A file appender with a threshold writes only events at or above it;
        the JSON appender writes one object per line with the event's
        fields.
        """
        text = f"""
log4cplus.rootLogger = INFO, file, json
log4cplus.appender.file = log4cplus::FileAppender
log4cplus.appender.file.File = {self.directory}/out.log
log4cplus.appender.file.Threshold = WARN
log4cplus.appender.file.layout = log4cplus::PatternLayout
log4cplus.appender.file.layout.ConversionPattern = %p: %m%n
log4cplus.appender.json = dicomtw::JSONAppender
log4cplus.appender.json.File = {self.directory}/out.json
"""
        setup = configure(text)
        self.assertEqual(setup.level, "info")
        for observer in setup.observers:
            observer(event(LogLevel.info, "quiet"))
            observer(event(LogLevel.error, "loud"))
        self.assertEqual((self.directory / "out.log").read_text(), "ERROR: loud\n")
        records = [
            json.loads(line)
            for line in (self.directory / "out.json").read_text().splitlines()
        ]
        self.assertEqual([r["message"] for r in records], ["quiet", "loud"])
        self.assertEqual(records[1]["level"], "ERROR")
        self.assertEqual(records[1]["assoc"], "7")

    def test_rolling_file(self) -> None:
        """
        A rolling file appender rotates at MaxFileSize and keeps
        MaxBackupIndex old files.
        """
        text = f"""
log4cplus.rootLogger = DEBUG, roll
log4cplus.appender.roll = log4cplus::RollingFileAppender
log4cplus.appender.roll.File = {self.directory}/roll.log
log4cplus.appender.roll.MaxFileSize = 1KB
log4cplus.appender.roll.MaxBackupIndex = 2
"""
        [observer] = configure(text).observers
        for number in range(100):
            observer(event(text=f"line {number} " + "x" * 40))
        names = sorted(p.name for p in self.directory.iterdir())
        self.assertEqual(names, ["roll.log", "roll.log.1", "roll.log.2"])

    def test_syslog(self) -> None:
        """
        A SysLogAppender opens syslog with its ident and facility and sends
        each line with the event's priority.
        """
        import syslog

        sent: list[tuple[int, str]] = []
        opened: list[tuple[str, int, int]] = []
        self.patch(syslog, "openlog", lambda *args: opened.append(args))
        self.patch(
            syslog, "syslog", lambda priority, text: sent.append((priority, text))
        )
        text = """
log4cplus.rootLogger = INFO, sys
log4cplus.appender.sys = log4cplus::SysLogAppender
log4cplus.appender.sys.ident = dicomtw
log4cplus.appender.sys.facility = local3
log4cplus.appender.sys.layout = log4cplus::PatternLayout
log4cplus.appender.sys.layout.ConversionPattern = %p %m%n
"""
        [observer] = configure(text).observers
        observer(event(LogLevel.error, "disk full"))
        self.assertEqual(opened, [("dicomtw", syslog.LOG_PID, syslog.LOG_LOCAL3)])
        self.assertEqual(sent, [(syslog.LOG_ERR, "ERROR disk full")])

    def test_errors(self) -> None:
        """
        Files without a root logger, with unknown appenders or levels, are
        refused.
        """
        for text in (
            "log4cplus.appender.a = log4cplus::ConsoleAppender",
            "log4cplus.rootLogger = INFO, missing",
            "log4cplus.rootLogger = LOUD",
            "log4cplus.rootLogger = INFO, a\n"
            "log4cplus.appender.a = log4cplus::NTEventLogAppender",
        ):
            self.assertRaises(LogConfigError, configure, text)


@requires_dcmtk
class StockFileTests(SynchronousTestCase):
    """
    The server logs as DCMTK's stock files say.
    """

    def run_with(self, config: str, *options: str) -> tuple[str, str]:
        if not (STOCK / config).exists():
            raise SkipTest(f"DCMTK's {config} is not installed")
        directory = Path(tempfile.mkdtemp(prefix="dicomtw-lc-"))
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dicomtw",
                "-lc",
                str(STOCK / config),
                "-od",
                str(directory),
                *options,
                str(port),
            ],
            cwd=directory,
            stderr=subprocess.PIPE,
            env=server_environment(),
        )
        try:
            deadline = time.monotonic() + 20
            while run_tool([dcmtk_tool("echoscu"), "127.0.0.1", str(port)]).returncode:
                self.assertLess(time.monotonic(), deadline, "server did not answer")
                time.sleep(0.2)
        finally:
            server.terminate()
            _, stderr = server.communicate(timeout=20)
        log = (directory / "storescp.log").read_text()
        return log, stderr.decode()

    def test_logger_cfg(self) -> None:
        """
        logger.cfg: the file gets debug records with time stamps, the
        console INFO and above.
        """
        log, console = self.run_with("logger.cfg")
        self.assertRegex(
            log, r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} DEBUG: Sta1 \+ Evt5"
        )
        self.assertIn(" INFO: Association Received", log)
        self.assertIn(" INFO: Received Echo Request (MsgID 1)", console)
        self.assertNotIn("DEBUG", console)

    def test_filelog_cfg(self) -> None:
        """
        filelog.cfg: the rolling file gets every record with the logger
        name; the console only errors.
        """
        log, console = self.run_with("filelog.cfg")
        self.assertIn("DEBUG - DICOMServerProtocol - Association Received: ", log)
        self.assertIn(" INFO - ServiceSCP - Received Echo Request (MsgID 1)", log)
        self.assertNotIn("Echo", console)
