"""Run many scenarios: a pass/fail table, a hazard traceability matrix, JUnit XML."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from pumpsim.errors import ScenarioError
from pumpsim.outputs.api import simulate
from pumpsim.outputs.findings import apply_fail_on
from pumpsim.scenario.checked import load_scenario


@dataclass(frozen=True)
class Hazard:
    """One entry of the hazard catalogue."""

    id: str
    hazard_class: str
    title: str
    cause: str
    pump_response: str
    flagged: str


@cache
def hazard_catalogue() -> dict[str, Hazard]:
    """The project's hazard catalogue (package data; documented in docs/hazards.md)."""
    raw = yaml.safe_load(
        resources.files("pumpsim.profiles").joinpath("hazards.yaml").read_text("utf-8")
    )
    out = {}
    for cls in raw["classes"]:
        for h in cls["hazards"]:
            out[h["id"]] = Hazard(
                h["id"], cls["name"], h["title"], h["cause"], h["pump_response"], h["flagged"]
            )
    return out


#: Characters XML 1.0 cannot hold at all (control characters, lone surrogates from undecodable
#: file names): written as visible ``\\xNN`` escapes so the JUnit file stays well-formed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def escape(text: str) -> str:
    """XML character data for any text (as ``xml.sax.saxutils.escape``, whose module pulls in
    ``urllib.request`` and would cost every run a few milliseconds)."""
    return _xml_safe(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoteattr(text: str) -> str:
    """An XML attribute value, quoted, for any text (as ``xml.sax.saxutils.quoteattr``)."""
    value = escape(text).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    return '"' + value.replace('"', "&quot;") + '"'


@dataclass
class Entry:
    """One scenario file's outcome."""

    path: str
    name: str | None = None
    hazards: list[str] = field(default_factory=list)
    error: str | None = None
    result: Any = None
    seconds: float = 0.0
    internal: bool = False  # the error is a bug in pumpsim, not bad input

    @property
    def verdict(self) -> str:
        """PASS, FAIL, INVALID or ERROR (an internal error while simulating this file)."""
        if self.error is not None:
            return "ERROR" if self.internal else "INVALID"
        return "PASS" if self.result.passed else "FAIL"


@dataclass
class Suite:
    """The outcome of running a set of scenario files."""

    entries: list[Entry]

    def exit_code(self) -> int:
        """4 if pumpsim failed on a file (a bug), else 2 if any file is invalid, else 1 if any
        expectation failed, else 0. The other files are run and reported either way."""
        if any(e.internal for e in self.entries):
            return 4
        if any(e.error for e in self.entries):
            return 2
        return 1 if any(e.verdict == "FAIL" for e in self.entries) else 0

    def error_lines(self) -> list[str]:
        """One line per invalid file."""
        return [e.error for e in self.entries if e.error]

    def table_text(self) -> str:
        """The pass/fail table, with expected against actual for every failed expectation."""
        width = max([len(e.path) for e in self.entries] + [8])
        lines = [f"{'SCENARIO'.ljust(width)}  RESULT   EXPECTATIONS"]
        for e in self.entries:
            if e.error:
                lines.append(f"{e.path.ljust(width)}  {e.verdict:<7}  see below")
                continue
            outs = e.result.outcomes
            n_ok = sum(1 for o in outs if o.passed)
            lines.append(f"{e.path.ljust(width)}  {e.verdict:<7}  {n_ok}/{len(outs)}")
            for o in outs:
                if not o.passed:
                    lines.extend(o.failure_lines("    "))
        n = len(self.entries)
        n_pass = sum(1 for e in self.entries if e.verdict == "PASS")
        n_fail = sum(1 for e in self.entries if e.verdict == "FAIL")
        n_bad = n - n_pass - n_fail
        summary = f"{n_pass} passed, {n_fail} failed" + (f", {n_bad} invalid" if n_bad else "")
        lines.append(summary)
        return "\n".join(lines) + "\n"

    def matrix_text(self) -> str:
        """Hazard → scenarios → verdict, for every hazard in the catalogue."""
        catalogue = hazard_catalogue()
        by_hazard: dict[str, list[Entry]] = {h: [] for h in catalogue}
        unknown: list[tuple[str, Entry]] = []
        for e in self.entries:
            for h in e.hazards:
                if h in by_hazard:
                    by_hazard[h].append(e)
                else:
                    unknown.append((h, e))
        lines = [
            "",
            "HAZARD TRACEABILITY",
            f"{'HAZARD':<9}  {'CLASS':<18}  {'VERDICT':<9}  SCENARIOS",
        ]
        for hid, hz in catalogue.items():
            es = by_hazard[hid]
            if not es:
                verdict = "UNCOVERED"
            elif all(e.verdict == "PASS" for e in es):
                verdict = "PASS"
            else:
                verdict = "FAIL"
            names = ", ".join(e.name or e.path for e in es) or "-"
            lines.append(f"{hid:<9}  {hz.hazard_class:<18}  {verdict:<9}  {names}")
        for hid, e in unknown:
            lines.append(
                f"{hid:<9}  {'(not in catalogue)':<18}  {'UNKNOWN':<9}  {e.name or e.path}"
            )
        return "\n".join(lines) + "\n"

    def junit_xml(self) -> str:
        """JUnit XML: one test case per expectation (a clinic log's every recorded residual and
        alarm date is its own case), grouped by scenario file in ``classname``.

        A scenario without expectations is one case (it ran); an invalid file is one case with an
        error. Hazard IDs are properties of each case.
        """
        cases: list[list[str]] = []
        n_fail = n_err = 0
        total_s = sum(e.seconds for e in self.entries)
        for e in self.entries:
            classname = quoteattr(e.path)
            props = []
            if e.hazards:
                props.append("    <properties>")
                props.extend(
                    f'      <property name="hazard" value={quoteattr(h)}/>' for h in e.hazards
                )
                props.append("    </properties>")
            if e.error:
                n_err += 1
                name = quoteattr(e.name or e.path)
                cases.append(
                    [
                        f'  <testcase classname={classname} name={name} time="0.000">',
                        f"    <error message={quoteattr(e.error)}/>",
                        "  </testcase>",
                    ]
                )
                continue
            outcomes = e.result.outcomes
            if not outcomes:
                name = quoteattr(f"{e.name}: runs")
                cases.append(
                    [
                        f'  <testcase classname={classname} name={name} time="{e.seconds:.3f}">',
                        *props,
                        "  </testcase>",
                    ]
                )
                continue
            share = e.seconds / len(outcomes)
            for o in outcomes:
                name = quoteattr(f"{e.name}: {o.text}")
                case = [f'  <testcase classname={classname} name={name} time="{share:.3f}">']
                if not o.passed:
                    n_fail += 1
                    detail = f"{o.text}: expected {o.expected}, actual {o.actual}"
                    case.append(
                        f"    <failure message={quoteattr(o.text)}>{escape(detail)}</failure>"
                    )
                case.extend(props)
                case.append("  </testcase>")
                cases.append(case)
        out = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<testsuite name="pumpsim" tests="{len(cases)}" failures="{n_fail}" '
            f'errors="{n_err}" time="{total_s:.3f}">',
        ]
        for case in cases:
            out.extend(case)
        out.append("</testsuite>")
        return "\n".join(out) + "\n"


def run_one(path: str, fail_on: list[str] | None = None) -> Entry:
    """Load, simulate and check one scenario file (with ``fail_on``: strict mode too)."""
    entry = Entry(path=path)
    t0 = time.perf_counter()
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        entry.error = str(exc)
        return entry
    entry.name = scenario.name
    entry.hazards = list(scenario.hazard)
    try:
        entry.result = simulate(scenario)
        if fail_on:
            apply_fail_on(entry.result, fail_on)
    except ScenarioError as exc:
        entry.error = str(exc)
    except Exception as exc:  # a bug: report it for this file and go on with the others
        entry.error = (
            f"{path}: pumpsim: internal error: {type(exc).__name__}: {exc} (please report it)"
        )
        entry.internal = True
    entry.seconds = time.perf_counter() - t0
    return entry


def run_suite(paths: list[str], fail_on: list[str] | None = None) -> Suite:
    """Run every scenario file, in the order given (``fail_on``: strict mode for each)."""
    return Suite([run_one(p, fail_on) for p in paths])
