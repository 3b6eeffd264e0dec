"""
``dicomtw-storescp``: the drop-in command, running the storage SCP in the
foreground with storescp's command line, messages and exit codes.
"""

from __future__ import annotations

import sys
from typing import Sequence

from twisted.logger import globalLogBeginner
from twisted.python import usage

from dicomtw.logs import stderr_observer
from dicomtw.tap import Options, StartupError, makeService

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
    if config.print_arguments:
        _print_arguments(config.expanded_arguments)
    globalLogBeginner.beginLoggingTo(
        [stderr_observer(config.log_level)], redirectStandardIO=False
    )
    from twisted.internet import reactor

    try:
        top = makeService(options, reactor)
    except StartupError:
        raise
    try:
        top.privilegedStartService()
        top.startService()
    except Exception as error:
        sys.stderr.write(f"E: cannot create network: {error}\n")
        raise SystemExit(1)
    reactor.addSystemEventTrigger("before", "shutdown", top.stopService)
    reactor.run()


if __name__ == "__main__":  # pragma: no cover
    main()
