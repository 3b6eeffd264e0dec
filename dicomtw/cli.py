"""
``dicomtw-storescp``: the drop-in command, running the storage SCP in the
foreground with storescp's command line, messages and exit codes.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

from twisted.logger import globalLogBeginner
from twisted.python import usage

from dicomtw import logs
from dicomtw.logconfig import LogConfigError, apply_file
from dicomtw.logs import stderr_observer
from dicomtw.process import ForkingListener, serve_inetd
from dicomtw.tap import (
    Options,
    build_settings,
    check_output_directory,
    log_start_up,
    makeService,
    tls_context,
    with_tls,
)

PROGRAM = "dicomtw-storescp"


def _print_arguments(arguments: Sequence[str]) -> None:
    # As the reference: empty arguments are counted but not shown.
    quoted = "".join(f"'{argument}' " for argument in arguments if argument)
    sys.stderr.write(
        f"I: calling '{PROGRAM}' with {len(arguments)} arguments: {quoted}\nI: \n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """
    Parse the command line, start listening and run the reactor; exits 1
    with one line on stderr for a bad command line or a start-up failure.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    options = Options()
    try:
        options.parseOptions(arguments)
    except usage.UsageError as error:
        logged = getattr(error, "arguments", None)
        if logged is not None:
            _print_arguments(logged)
        if not getattr(error, "silent", False):
            sys.stderr.write(f"{PROGRAM}: error: {error}\n")
        raise SystemExit(1)
    config = options.config
    if config.inetd:
        _run_inetd(options)
        return
    if config.print_arguments:
        _print_arguments(config.expanded_arguments)
    _begin_logging(config)
    from twisted.internet import reactor

    if config.fork:
        _run_forking(options, reactor)
        return
    try:
        top = makeService(options, reactor)
    except (ValueError, KeyError, IndexError, TypeError) as error:
        # Twisted's endpoint parser reports a bad --listen value this way.
        sys.stderr.write(f"{PROGRAM}: error: bad --listen endpoint: {error!r}\n")
        raise SystemExit(1)
    try:
        top.privilegedStartService()
        top.startService()
    except Exception as error:
        sys.stderr.write(f"E: cannot create network: {error}\n")
        raise SystemExit(1)
    reactor.addSystemEventTrigger("before", "shutdown", top.stopService)
    reactor.run()


def _begin_logging(config: Any) -> None:
    """
    Log to standard error in the reference's format, or as ``-lc`` says.
    """
    if config.log_config is None:
        globalLogBeginner.beginLoggingTo(
            [stderr_observer(config.log_level)], redirectStandardIO=False
        )
        return
    globalLogBeginner.beginLoggingTo([], redirectStandardIO=False)
    try:
        apply_file(config.log_config)
    except LogConfigError as error:
        sys.stderr.write(f"{PROGRAM}: error: --log-config: {error}\n")
        raise SystemExit(1)


def _run_inetd(options: Options) -> None:
    """
    ``--inetd``: one association on standard input, then exit 0.  Standard
    output and error go to the null device, as the reference's do: under
    inetd they are the DICOM connection.
    """
    config = options.config
    from twisted.internet import reactor

    if config.log_config is not None:
        # Under inetd, -lc is the only way to log (standard error is gone).
        _begin_logging(config)
    else:
        logs.set_level(config.log_level)
    settings = build_settings(config, reactor)
    check_output_directory(config)
    tls = tls_context(config)
    serve_inetd(settings, reactor, keep_stderr=False, wrap=lambda f: with_tls(f, tls))
    reactor.run()


def _run_forking(options: Options, reactor: Any) -> None:
    """
    ``--fork``: accept in this process, serve each connection in a child.
    """
    config = options.config
    if config.listen or config.port is None:
        sys.stderr.write(
            f"{PROGRAM}: error: --fork needs the port parameter (not --listen)\n"
        )
        raise SystemExit(1)
    if config.log_config is None:
        logs.set_level(config.log_level)
    check_output_directory(config)
    log_start_up(config)
    tls = tls_context(config)
    try:
        listener = ForkingListener(
            reactor,
            config.port,
            lambda child_reactor: build_settings(config, child_reactor),
            config.output_directory,
            wrap=lambda f: with_tls(f, tls),
        )
    except OSError as error:
        sys.stderr.write(f"E: cannot create network: {error}\n")
        raise SystemExit(1)
    listener.start()
    reactor.addSystemEventTrigger("before", "shutdown", listener.stop)
    reactor.run()


if __name__ == "__main__":  # pragma: no cover
    main()
