"""Command line: a thin layer over the Python API, one module per subcommand.

Exit codes (``pumpsim.cli.common.EXIT_CODES``): 0 all good, 1 an expectation failed,
2 invalid input (one line naming the file, the key path and the line), 3 an output could not be
written, 4 an internal error, 130 interrupted, 143 terminated. Whatever happens, stderr gets one
line and no traceback, unless ``--debug`` asks for it. Heavy imports happen inside the commands
so that ``pumpsim --help`` stays instant. Each subcommand is a module of this package.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from pumpsim.cli.common import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_TERMINATED,
    HelpFormatter,
    exit_codes_epilog,
    visible,
)
from pumpsim.errors import Terminated
from pumpsim.files import discard_live_temporaries

__all__ = ["COMMANDS", "Terminated", "build_parser", "main"]

#: Subcommands in the order ``pumpsim --help`` lists them (module names in this package). Each
#: module has ``register(subparsers)``, which adds its parser and sets ``func``; the command
#: function returns the exit code and imports heavy libraries inside itself only.
COMMANDS = (
    "run",
    "check",
    "validate",
    "plot",
    "report",
    "tones",
    "replay",
    "schema",
    "sweep",
)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2)."""

    def error(self, message: str) -> NoReturn:
        _say(f"{self.prog}: {message} (see {self.prog} --help)")
        raise SystemExit(EXIT_INVALID)


class _ClosedStream:
    """Stands in for a standard stream whose descriptor was closed at start."""

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        raise OSError(9, f"{self.name} is closed")

    def flush(self) -> None:
        return None


def _say(line: str) -> None:
    """One line on stderr, whatever state stderr is in, its control characters made visible."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        print(visible(" ".join(line.split())), file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for the docs)."""
    parser = _Parser(
        prog="pumpsim",
        description=(
            "Simulate an implantable intrathecal baclofen pump: what the pump believes, what "
            "physically happens, and when the patient is at risk of abrupt withdrawal."
        ),
        epilog=exit_codes_epilog(),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an unexpected error"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"pumpsim.cli.{name}").register(sub)
    for command in sub.choices.values():
        # Every subcommand takes --debug too, and shows its exit codes.
        if not any("--debug" in a.option_strings for a in command._actions):
            command.add_argument(
                "--debug",
                action="store_true",
                default=argparse.SUPPRESS,
                help="show the traceback of an unexpected error",
            )
        if not command.epilog:
            command.epilog = exit_codes_epilog()
        if command.formatter_class is argparse.HelpFormatter:
            command.formatter_class = HelpFormatter
    return parser


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def _silence_stdout() -> None:
    """After stdout failed: point it at /dev/null so the exit-time flush cannot fail again."""
    stream = sys.stdout
    try:
        if stream is not None and stream is sys.__stdout__:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pumpsim`` command. Returns the exit code."""
    if sys.stdout is None:
        sys.stdout = _ClosedStream("standard output")  # type: ignore[assignment]
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    # A file name that is not UTF-8 must not stop the table being printed.
    with contextlib.suppress(AttributeError, ValueError, OSError):
        sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    debug = "--debug" in (sys.argv[1:] if argv is None else list(argv))
    late = _LateSignals(previous is not None)
    code = EXIT_INTERNAL
    try:
        try:
            code = _run(argv, debug)
        finally:
            late.hold()  # from here a signal is noted, never raised (no traceback at exit)
    except (KeyboardInterrupt, Terminated) as exc:  # landed just before the hold
        late.hold()
        late.noted.append(signal.SIGINT if isinstance(exc, KeyboardInterrupt) else signal.SIGTERM)
    _leave_no_temporaries()  # writes a signal cut short leave no .pumpsim-*.tmp
    if late.noted and code not in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        interrupted = late.noted[0] == signal.SIGINT
        _silence_stdout()
        _say("pumpsim: interrupted" if interrupted else "pumpsim: terminated")
        code = EXIT_INTERRUPTED if interrupted else EXIT_TERMINATED
    late.release(previous)
    return code


class _LateSignals:
    """SIGINT and SIGTERM after the command's own handling: noted for the exit code, not raised.

    A signal can land in any instruction; once the command is done (or has failed) the only
    work left is cleaning up, which a raised exception would cut short with a traceback.
    """

    def __init__(self, active: bool) -> None:
        self.active = active
        self.noted: list[int] = []
        self._held: dict[int, Any] = {}

    def _note(self, signum: int, frame: Any) -> None:
        self.noted.append(signum)

    def hold(self) -> None:
        """Note SIGINT and SIGTERM from now on instead of raising."""
        if not self.active:
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.signal(sig, self._note)
            if previous != self._note:
                self._held.setdefault(sig, previous)

    def release(self, sigterm_before: Any) -> None:
        """Put back SIGINT's handler and SIGTERM's from before ``main``."""
        if not self.active:
            return
        if signal.SIGINT in self._held:
            signal.signal(signal.SIGINT, self._held[signal.SIGINT])
        signal.signal(signal.SIGTERM, sigterm_before)


def _leave_no_temporaries() -> None:
    """Remove the temporary files of writes a signal cut short."""
    with contextlib.suppress(OSError):
        discard_live_temporaries()


def _run(argv: Sequence[str] | None, debug: bool) -> int:
    from pumpsim.errors import OutputError, ScenarioError
    from pumpsim.model.profile import ProfileError

    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.version:
            from pumpsim import __version__

            print(f"pumpsim {__version__}")
            code = EXIT_OK
        elif not getattr(args, "command", None):
            parser.print_help()
            code = EXIT_INVALID
        else:
            code = int(args.func(args))
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
        return code
    except SystemExit as exc:  # --help, or a usage error already reported
        if exc.code == EXIT_INVALID:
            from pumpsim.cli.junit import junit_for_refused_command_line

            junit_for_refused_command_line(sys.argv[1:] if argv is None else argv)
        try:
            sys.stdout.flush()
        except OSError as err:
            _silence_stdout()
            _report(f"pumpsim: cannot write to standard output: {err.strerror or err}", debug)
            return EXIT_OUTPUT
        return exc.code if isinstance(exc.code, int) else EXIT_INVALID
    except ScenarioError as exc:
        _report(exc.lines()[0], debug)
        for line in exc.lines()[1:]:  # a clinic log's further bad rows, one line each
            _say(line)
        return EXIT_INVALID
    except OutputError as exc:
        if exc.path == "standard output":
            _silence_stdout()  # the exit-time flush must not fail a second time
        _report(str(exc), debug)
        return exc.exit_code
    except ProfileError as exc:  # a device profile is input too (PUMPSIM_PROFILE_PATH)
        _report(f"pumpsim: device profile {exc}", debug)
        return EXIT_INVALID
    except KeyboardInterrupt:
        _silence_stdout()  # what was half-written is dropped; the exit flush must not block
        _report("pumpsim: interrupted", debug)
        return EXIT_INTERRUPTED
    except Terminated:
        _silence_stdout()
        _report("pumpsim: terminated", debug)
        return EXIT_TERMINATED
    except OSError as exc:  # reading is handled where files are read: this is our output
        _silence_stdout()
        where = exc.filename if isinstance(exc.filename, str) else "standard output"
        _report(f"pumpsim: cannot write to {where}: {exc.strerror or exc}", debug)
        return EXIT_OUTPUT
    except Exception as exc:
        name = type(exc).__name__
        _report(
            f"pumpsim: internal error: {name}: {exc} (please report it; --debug shows the "
            "traceback)",
            debug,
        )
        return EXIT_INTERNAL


def _report(line: str, debug: bool) -> None:
    if debug:
        import traceback

        with contextlib.suppress(OSError, ValueError, AttributeError):
            traceback.print_exc(file=sys.stderr)
    _say(line)
