"""``--junit FILE`` that CI can trust (contract section 11): always written, never stale.

``run``, ``check`` and ``replay`` write their JUnit XML through ``JUnitReport``: the path is
checked before any work, and whatever ends the command, the file holds its outcome. Invalid input
(or an internal error, an interrupt, a failed write of another output) is one ``<error>`` test case
naming the file; an old report is never left in place to be read as this run's.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from types import TracebackType
from typing import Any


class JUnitReport:
    """The JUnit file of one command: ``with JUnitReport(path, files) as junit: ...``.

    Inside, ``junit.write(suite)`` writes the suite's report. When the block ends by an exception
    before that, an error report naming ``files`` is written instead (then the exception goes
    on). With ``path`` None this does nothing.
    """

    def __init__(self, path: str | None, files: Sequence[str]) -> None:
        from pumpsim.files import check_output_path

        self.path = path
        self.files = list(files)
        self.written = False
        if path:
            check_output_path(path, "the JUnit XML")  # before any work: a bad path is exit 2

    def write(self, suite: Any) -> None:
        """Write a ``Suite``'s JUnit XML (whole or not at all)."""
        if not self.path:
            return
        from pumpsim.files import write_output

        write_output(self.path, suite.junit_xml(), what="the JUnit XML")
        self.written = True

    def guard(self, inputs: Sequence[str]) -> None:
        """Refuse (exit 2) a JUnit path that is one of the command's inputs; the error report
        is then not written either (it would replace the input)."""
        if not self.path:
            return
        from pumpsim.errors import OutputError
        from pumpsim.files import refuse_overwriting_inputs

        try:
            refuse_overwriting_inputs({"the JUnit XML": self.path}, list(inputs))
        except OutputError:
            self.path = None
            raise

    def __enter__(self) -> JUnitReport:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or not self.path or self.written:
            return
        from pumpsim.outputs.suite import Entry, Suite

        message, internal = error_text(exc)
        names = self.files or ["(no scenario file)"]
        suite = Suite([Entry(path=p, error=message, internal=internal) for p in names])
        try:
            self.write(suite)
        except OSError:
            # the report cannot be written: at least no old report may pass for this run's. Only
            # a regular file is removed: never a device, a pipe or the user's symbolic link.
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(self.path).st_mode):
                    os.unlink(self.path)


def error_text(exc: BaseException) -> tuple[str, bool]:
    """What an error case says about an exception, and whether it is a bug in pumpsim."""
    from pumpsim.errors import OutputError, ScenarioError

    if isinstance(exc, ScenarioError):
        return str(exc), False
    if isinstance(exc, OutputError):
        return str(exc), False
    if isinstance(exc, KeyboardInterrupt):
        return "pumpsim: interrupted", False
    if type(exc).__name__ == "Terminated":
        return "pumpsim: terminated", False
    if isinstance(exc, OSError):
        return f"pumpsim: cannot write an output: {exc.strerror or exc}", False
    return f"pumpsim: internal error: {type(exc).__name__}: {exc}", True


#: The commands whose ``--junit`` report is always written.
JUNIT_COMMANDS = ("run", "check", "replay")


def junit_for_refused_command_line(argv: Sequence[str]) -> None:
    """A command line argparse refused (an unknown option, a bad ``--fail-on``) still leaves
    its ``--junit`` report: one error case, so no old report passes for this run's."""
    args = list(argv)
    command = next((a for a in args if not a.startswith("-")), None)
    if command not in JUNIT_COMMANDS:
        return
    path = None
    for i, arg in enumerate(args):
        if arg == "--junit" and i + 1 < len(args):
            path = args[i + 1]
        elif arg.startswith("--junit="):
            path = arg.split("=", 1)[1]
    if not path:
        return
    # an argument that names an existing file may be an input: never written over
    others = [a for i, a in enumerate(args) if i and args[i - 1] != "--junit" and a != command]
    for arg in others:
        with contextlib.suppress(OSError, ValueError):
            if os.path.samefile(arg, path):
                return
    from pumpsim.errors import OutputError, ScenarioError

    with (
        contextlib.suppress(OutputError, ScenarioError, OSError),
        JUnitReport(path, ["(command line)"]),
    ):
        raise ScenarioError(
            f"pumpsim {command}: the command line was refused (the reason is on standard error)"
        )
