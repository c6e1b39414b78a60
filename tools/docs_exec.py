"""Run every command and code block in README.md and docs/*.md, and compare the shown output.

    python tools/docs_exec.py                 # run every page; exit 1 when a page lies
    python tools/docs_exec.py docs/tutorial.md
    python tools/docs_exec.py --update        # rewrite the shown output in place (review the diff)

The conventions (also in docs/index.md, "Writing docs that run"):

* ```` ```sh ```` with ``$ `` lines: each ``$ command`` runs in ``bash`` and the lines after it, up
  to the next ``$``, are its shown output (stdout and stderr, as a terminal shows them). A command
  that should fail ends with a comment naming its exit code, ``$ pumpsim check bad.yaml  # exit 1``;
  any other non-zero exit fails the page. A shown-output line ``...`` stands for any lines.
  A ```` ```sh ```` block without ``$`` lines runs each line as a command and shows no output.
* ```` ```python ```` runs in one namespace per page (its printed output is not compared).
* ```` ```pycon ```` is an interactive session: ``>>>``/``...`` lines run in the page's namespace
  and the lines after them are the shown output (the value of an expression is echoed).
* ``<!-- file: NAME -->`` just before a block writes the block to ``NAME`` in the page's working
  folder, so a later command or Python block can use it.
* ``<!-- skip: reason -->`` just before a block: not run (install commands, clusters, commands
  that land from another branch); the harness counts skipped blocks and prints the reasons.
* ``<!-- requires: pandas -->`` just before a block: run only when that optional module is
  installed (otherwise counted as skipped).

Each page gets one temporary working folder in which the repository's ``scenarios/``, ``docs/``
and ``benchmarks/`` are reachable (symbolic links), ``pumpsim``, ``python``, ``python3`` and
``pytest`` run this tree's code, and ``COLUMNS=100`` fixes the width of ``--help``. Before
comparison both sides are normalised: the pumpsim version, the working folder and the repository
path, decimal seconds (timings) and floats with seven or more decimals (six significant digits).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SHELL_LANGS = ("sh", "shell", "bash", "console")
COMMAND_TIMEOUT_S = 600
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<ticks>`{3,})(?P<info>[^`]*)$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*(?P<key>[a-z-]+)\s*(?::\s*(?P<value>.*?))?\s*-->\s*$")
_EXIT = re.compile(r"#\s*exit(?:\s+code)?\s+(?P<code>\d+)\s*$")
_INSTALLERS = re.compile(r"^\s*(?:python3?\s+-m\s+)?(?:pip3?|apt-get|apt|conda)\s+install\b")


def pages() -> list[Path]:
    """README.md and every docs/*.md, in a stable order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


# -- parsing ------------------------------------------------------------------------------------
@dataclass
class Block:
    """One fenced block: its language, body lines and the directives in front of it."""

    lang: str
    open_line: int  # index of the opening fence in the page's lines
    close_line: int  # index of the closing fence
    indent: str
    body: list[str]
    directives: dict[str, str]

    @property
    def where(self) -> str:
        """1-based line number of the opening fence, for messages."""
        return str(self.open_line + 1)


def parse_blocks(lines: list[str]) -> list[Block]:
    """Every fenced block of a Markdown page, with the HTML-comment directives before it."""
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        ticks, indent = m.group("ticks"), m.group("indent")
        lang = m.group("info").strip().split(" ")[0].lower() if m.group("info").strip() else ""
        j = i + 1
        while j < len(lines) and not re.match(rf"^\s*{ticks}`*\s*$", lines[j]):
            j += 1
        body = [
            line[len(indent) :] if line.startswith(indent) else line for line in lines[i + 1 : j]
        ]
        blocks.append(Block(lang, i, j, indent, body, _directives_before(lines, i)))
        i = j + 1
    return blocks


def _directives_before(lines: list[str], fence: int) -> dict[str, str]:
    found: dict[str, str] = {}
    k = fence - 1
    while k >= 0 and not lines[k].strip():
        k -= 1
    while k >= 0:
        m = _DIRECTIVE.match(lines[k])
        if not m:
            break
        found.setdefault(m.group("key"), (m.group("value") or "").strip())
        k -= 1
    return found


@dataclass
class Command:
    """One ``$`` command of a shell block and the output shown under it."""

    text: str
    exit_code: int
    shown: list[str]
    first: int  # index in the block body of the command's first line
    end: int  # index just past its shown output


def parse_shell(body: list[str]) -> list[Command]:
    """Split a shell block into commands and their shown output."""
    prompts = [i for i, line in enumerate(body) if line.startswith("$ ") or line == "$"]
    if not prompts:
        out = []
        for i, line in enumerate(body):
            if line.strip() and not line.lstrip().startswith("#"):
                out.append(Command(line.strip(), _exit_code(line), [], i, i + 1))
        return out
    cmds = []
    for n, start in enumerate(prompts):
        stop = prompts[n + 1] if n + 1 < len(prompts) else len(body)
        text_lines = [body[start][2:]]
        k = start + 1
        while text_lines[-1].rstrip().endswith("\\") and k < stop:
            text_lines.append(body[k].removeprefix("> "))
            k += 1
        text = "\n".join(text_lines)
        cmds.append(Command(text, _exit_code(text), body[k:stop], start, stop))
    return cmds


def _exit_code(command: str) -> int:
    m = _EXIT.search(command)
    return int(m.group("code")) if m else 0


@dataclass
class Example:
    """One ``>>>`` statement of a pycon block and its shown output."""

    source: list[str]
    shown: list[str]
    first: int
    end: int


def parse_pycon(body: list[str]) -> list[Example]:
    """Split an interactive session into statements and their shown output."""
    examples = []
    i = 0
    while i < len(body):
        if not body[i].startswith(">>>"):
            i += 1
            continue
        first = i
        source = [body[i][4:]]
        i += 1
        while i < len(body) and body[i].startswith("..."):
            source.append(body[i][4:])
            i += 1
        shown_start = i
        while i < len(body) and not body[i].startswith(">>>"):
            i += 1
        shown = body[shown_start:i]
        while shown and not shown[-1].strip():
            shown.pop()
        examples.append(Example(source, shown, first, shown_start + len(shown)))
    return examples


# -- comparison ---------------------------------------------------------------------------------
def normalise(text: str, workdir: str | None = None) -> str:
    """Remove what legitimately differs between runs: versions, paths, timings, float noise."""
    from pumpsim import __version__

    for folder in filter(None, (workdir, workdir and os.path.realpath(workdir))):
        text = text.replace(folder + os.sep, "").replace(folder, ".")
    text = text.replace(str(ROOT), "<ROOT>")
    text = re.sub(rf"(?<![\d.]){re.escape(__version__)}(?![\d.])", "<VERSION>", text)
    text = re.sub(r"(?<![\w.])\d+\.\d+ ?(?:ms|s|sec|seconds)\b", "<SECONDS>", text)
    text = re.sub(
        r"-?\d+\.\d{7,}(?:[eE][-+]?\d+)?", lambda m: format(float(m.group()), ".6g"), text
    )
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def matches(shown: list[str], actual: str, workdir: str | None = None) -> bool:
    """Whether the actual output is what the page shows (a line ``...`` stands for any lines)."""
    want = normalise("\n".join(shown), workdir).split("\n") if shown else []
    got = normalise(actual, workdir)
    pattern = ""
    for line in want:
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += re.escape(line) + r"\n"
    return re.fullmatch(pattern, got + "\n" if got else "") is not None


def _shown_form(actual: str, workdir: str) -> list[str]:
    """The actual output as the page should show it (working-folder paths made relative)."""
    for folder in (workdir, os.path.realpath(workdir)):
        actual = actual.replace(folder + os.sep, "")
    lines = [line.rstrip() for line in actual.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


# -- running ------------------------------------------------------------------------------------
@dataclass
class PageReport:
    """What happened on one page."""

    page: str
    run: int = 0
    skipped: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    updated: int = 0

    @property
    def ok(self) -> bool:
        """Every block ran and printed what the page shows."""
        return not self.failures and not self.mismatches


@contextlib.contextmanager
def workspace() -> Iterator[tuple[str, dict[str, str]]]:
    """A temporary working folder (the repository's example folders linked in) and its env."""
    work = tempfile.mkdtemp(prefix="pumpsim-docs-")
    tools = tempfile.mkdtemp(prefix="pumpsim-docs-bin-")
    try:
        for name in ("scenarios", "docs", "benchmarks"):
            os.symlink(ROOT / name, os.path.join(work, name))
        wrappers = {
            "pumpsim": '-m pumpsim "$@"',
            "python": '"$@"',
            "python3": '"$@"',
            "pytest": '-m pytest "$@"',
        }
        for name, args in wrappers.items():
            path = os.path.join(tools, name)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(f'#!/bin/sh\nexec "{sys.executable}" {args}\n')
            os.chmod(path, 0o755)
        env = dict(os.environ)
        env.update(
            PATH=tools + os.pathsep + env.get("PATH", ""),
            PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
            COLUMNS="100",
            MPLBACKEND="Agg",
            PYTHONHASHSEED="0",
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.pop("PYTEST_ADDOPTS", None)
        env.pop("PUMPSIM_PROFILE_PATH", None)
        # pytest prints its short summary untruncated when it sees a CI: the page shows what a
        # reader's terminal shows, so the commands run as outside CI.
        for name in ("CI", "BUILD_NUMBER"):
            env.pop(name, None)
        yield work, env
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(tools, ignore_errors=True)


def run_command(command: str, work: str, env: dict[str, str]) -> tuple[int, str]:
    """Run one shell command in the working folder; (exit code, stdout and stderr together)."""
    proc = subprocess.run(
        ["bash", "-c", command],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )
    return proc.returncode, proc.stdout


@contextlib.contextmanager
def _inside(work: str, env: dict[str, str]) -> Iterator[None]:
    """Run in-process code as if from the working folder (cwd, import path, plot backend)."""
    old_cwd, old_path, old_backend = os.getcwd(), list(sys.path), os.environ.get("MPLBACKEND")
    os.chdir(work)
    sys.path.insert(0, str(ROOT))
    os.environ["MPLBACKEND"] = "Agg"
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        if old_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = old_backend


def _exec_echo(source: str, namespace: dict) -> None:
    """Run one interactive statement: an expression's value is echoed as the REPL would."""
    code = compile(source, "<pycon>", "single")
    exec(code, namespace)


def run_page(path: Path, update: bool = False) -> PageReport:
    """Run every block of one page; with ``update`` rewrite shown output that differs."""
    lines = path.read_text(encoding="utf-8").split("\n")
    rel = os.path.relpath(path, ROOT)
    report = PageReport(rel)
    edits: list[tuple[Block, list[str]]] = []
    namespace: dict = {"__name__": "__docs__"}
    with workspace() as (work, env):
        for block in parse_blocks(lines):
            where = f"{rel}:{block.where}"
            runnable = block.lang in (*SHELL_LANGS, "python", "pycon") or "file" in block.directives
            if not runnable:
                continue
            if "skip" in block.directives:
                report.skipped.append(f"{where}: {block.directives['skip'] or 'no reason given'}")
                continue
            missing = [
                name
                for name in block.directives.get("requires", "").replace(",", " ").split()
                if importlib.util.find_spec(name) is None
            ]
            if missing:
                report.skipped.append(f"{where}: needs {', '.join(missing)} (not installed)")
                continue
            report.run += 1
            if "file" in block.directives:
                target = Path(work, block.directives["file"])
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text("\n".join(block.body) + "\n", encoding="utf-8")
                continue
            if block.lang in SHELL_LANGS:
                new_body = _run_shell(block, where, work, env, report)
            elif block.lang == "python":
                new_body = None
                try:
                    with _inside(work, env), contextlib.redirect_stdout(io.StringIO()):
                        exec(compile("\n".join(block.body), where, "exec"), namespace)
                except Exception:
                    report.failures.append(f"{where}: the Python block raised\n{_tb()}")
            else:
                new_body = _run_pycon(block, where, work, env, namespace, report)
            if new_body is not None:
                edits.append((block, new_body))
    _reset_display_options()
    if update and edits:
        for block, body in sorted(edits, key=lambda e: -e[0].open_line):
            lines[block.open_line + 1 : block.close_line] = [
                (block.indent + line) if line else line for line in body
            ]
        path.write_text("\n".join(lines), encoding="utf-8")
        report.updated = len(edits)
    return report


def _reset_display_options() -> None:
    """A page's pandas display options must not leak into the next page."""
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pandas.reset_option("display.width")
            pandas.reset_option("display.max_columns")


def _tb() -> str:
    return "".join(traceback.format_exc(limit=-3)).rstrip()


def _run_shell(
    block: Block, where: str, work: str, env: dict[str, str], report: PageReport
) -> list[str] | None:
    body = list(block.body)
    changed = False
    commands = parse_shell(block.body)
    prompted = any(line.startswith("$") for line in block.body)
    results = []
    for cmd in commands:
        if _INSTALLERS.match(cmd.text):
            report.failures.append(
                f"{where}: `{cmd.text}` installs software; mark the block "
                "<!-- skip: installs ... --> instead of running it"
            )
            results.append(None)
            continue
        try:
            code, out = run_command(cmd.text, work, env)
        except subprocess.TimeoutExpired:
            report.failures.append(f"{where}: `{cmd.text}` took over {COMMAND_TIMEOUT_S} s")
            results.append(None)
            continue
        results.append(out)
        if code != cmd.exit_code:
            report.failures.append(
                f"{where}: `{cmd.text}` exited {code}, the page says {cmd.exit_code}\n{out}"
            )
        if prompted and not matches(cmd.shown, out, work):
            report.mismatches.append(
                f"{where}: `{cmd.text}` printed something else than the page shows\n"
                + _diff(cmd.shown, out, work)
            )
            changed = True
    if not (prompted and changed):
        return None
    for cmd, out in reversed(list(zip(commands, results, strict=True))):
        if out is None or matches(cmd.shown, out, work):
            continue
        body[cmd.end - len(cmd.shown) : cmd.end] = _shown_form(out, work)
    return body


def _run_pycon(
    block: Block, where: str, work: str, env: dict[str, str], namespace: dict, report: PageReport
) -> list[str] | None:
    body = list(block.body)
    outputs = []
    changed = False
    for ex in parse_pycon(block.body):
        buffer = io.StringIO()
        try:
            with _inside(work, env), contextlib.redirect_stdout(buffer):
                _exec_echo("\n".join(ex.source) + "\n", namespace)
        except Exception:
            report.failures.append(f"{where}: `{ex.source[0]}` raised\n{_tb()}")
            outputs.append(None)
            continue
        out = buffer.getvalue()
        outputs.append(out)
        if not matches(ex.shown, out, work):
            report.mismatches.append(
                f"{where}: `{ex.source[0]}` printed something else than the page shows\n"
                + _diff(ex.shown, out, work)
            )
            changed = True
    if not changed:
        return None
    for ex, out in reversed(list(zip(parse_pycon(block.body), outputs, strict=True))):
        if out is None or matches(ex.shown, out, work):
            continue
        body[ex.end - len(ex.shown) : ex.end] = _shown_form(out, work)
    return body


def _diff(shown: list[str], actual: str, work: str) -> str:
    want = normalise("\n".join(shown), work).split("\n")
    got = normalise(actual, work).split("\n")
    return "\n".join(
        difflib.unified_diff(want, got, "shown on the page", "printed", lineterm="", n=2)
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: run pages, print a summary, exit 1 when any page lies."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", help="pages to run (default: README.md and docs/*.md)")
    parser.add_argument("--update", action="store_true", help="rewrite shown output in place")
    args = parser.parse_args(argv)
    targets = [Path(p).resolve() for p in args.pages] or pages()
    total_run = total_skipped = failed = 0
    for path in targets:
        report = run_page(path, update=args.update)
        total_run += report.run
        total_skipped += len(report.skipped)
        for line in report.skipped:
            print(f"skipped  {line}")
        for failure in report.failures:
            print(f"FAILED   {failure}")
        if report.updated:
            print(f"updated  {report.page}: {report.updated} block(s) rewritten")
        else:
            for mismatch in report.mismatches:
                print(f"DIFFERS  {mismatch}")
        failed += bool(report.failures) or (bool(report.mismatches) and not args.update)
    print(
        f"{len(targets)} page(s): {total_run} block(s) run, {total_skipped} skipped, "
        f"{failed} page(s) with failures"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
