"""Helpers shared by the subcommands: exit codes, their help text, scenario file expansion."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

from pumpsim.text import visible

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_OUTPUT = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

#: What each exit code means (the README's table and every subcommand's ``--help``).
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success (every expectation held)",
    EXIT_FAILED: "an expectation failed",
    EXIT_INVALID: "invalid input: a scenario, a file or folder argument, or an output path",
    EXIT_OUTPUT: "an output could not be written (disk full, standard output closed)",
    EXIT_INTERNAL: "internal error (a bug: --debug shows the traceback)",
    EXIT_INTERRUPTED: "interrupted (SIGINT, Ctrl-C)",
    EXIT_TERMINATED: "terminated (SIGTERM)",
}


#: The codes of a command that checks no expectations (it cannot exit 1).
NOTHING_CHECKED = (
    EXIT_OK,
    EXIT_INVALID,
    EXIT_OUTPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
)


def exit_codes_epilog(*codes: int) -> str:
    """The exit-code block of a ``--help`` text (all codes when none are named)."""
    chosen = codes or tuple(EXIT_CODES)
    meaning = dict(EXIT_CODES)
    if EXIT_FAILED not in chosen:  # nothing checked: success is simply success
        meaning[EXIT_OK] = "success"
    lines = ["exit codes:"]
    lines += [f"  {code:<4} {meaning[code]}" for code in chosen]
    return "\n".join(lines)


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, keeping the line breaks of an exit-code block (``exit_codes_epilog``)
    and wrapping every other text as usual."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("exit codes:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def add_command(
    sub: Any, name: str, help: str, description: str | None = None, *, checks: bool = True
) -> argparse.ArgumentParser:
    """Add subcommand ``name`` with its exit-code block in ``--help`` (``checks=False``: a
    command that checks no expectations and so never exits 1)."""
    return sub.add_parser(
        name,
        help=help,
        description=description,
        epilog=exit_codes_epilog() if checks else exit_codes_epilog(*NOTHING_CHECKED),
        formatter_class=HelpFormatter,
    )


def scenario_files(paths: Sequence[str]) -> list[str]:
    """Expand folders into their ``*.yaml``/``*.yml`` entries (sorted); keep files as given,
    each once.

    Entries of a folder are listed, never opened here: a FIFO or a directory named ``*.yaml``
    is kept so that loading it reports it as invalid (without opening a FIFO). Raises
    ScenarioError for a folder that cannot be read or holds no scenario file.
    """
    from pumpsim.errors import ScenarioError

    files: list[str] = []
    for path in paths:
        if not os.path.isdir(path):
            files.append(path)
            continue
        try:
            names = os.listdir(path)
        except OSError as exc:
            raise ScenarioError(f"cannot read folder: {exc.strerror or exc}", file=path) from None
        found = sorted(
            os.path.join(path, name)
            for name in names
            if name.endswith((".yaml", ".yml")) and not name.startswith(".")
        )
        if not found:
            raise ScenarioError("no *.yaml or *.yml scenario files in this folder", file=path)
        files.extend(found)
    # a file named twice (a.yaml a.yaml, or a folder and one of its files) is checked once
    seen: set[str] = set()
    unique = []
    for file in files:
        key = os.path.realpath(file)
        if key not in seen:
            seen.add(key)
            unique.append(file)
    return unique


def emit(text: str, chunk_chars: int = 1 << 14) -> None:
    """Write ``text`` to standard output in pieces, its control characters made visible.

    One huge ``write`` can lose a broken pipe: CPython's buffered writer accepts the first
    part, then drops the rest without raising when the reader has gone. Pieces of 16 KiB make
    every failure surface as an OSError (reported by the CLI as exit 3).
    """
    import sys

    text = visible(text)
    write = sys.stdout.write
    for start in range(0, len(text), chunk_chars):
        write(text[start : start + chunk_chars])


def add_fail_on(parser: argparse.ArgumentParser) -> None:
    """``--fail-on LIST``: strict mode for this run, beside the scenario's own ``fail_on:``."""

    def kinds(text: str) -> list[str]:
        from pumpsim.outputs.findings import parse_fail_on

        try:
            return parse_fail_on(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parser.add_argument(
        "--fail-on",
        metavar="LIST",
        type=kinds,
        default=[],
        help="strict mode: each finding of these kinds (comma-separated: out_of_spec, "
        "silent_flag, discrepancy, any_flag) fails the run like an expectation (exit 1)",
    )
