"""What ``pumpsim replay`` prints and writes besides the visit table: the slack of each visit and
the alarms and flags a what-if makes appear or disappear (contract section 11)."""

from __future__ import annotations

import json
from typing import Any

from pumpsim.model.clock import Clock
from pumpsim.model.engine import Engine
from pumpsim.model.units import format_duration_h
from pumpsim.outputs.outcome import summary_lines
from pumpsim.outputs.result import Result
from pumpsim.scenario.resolve import clock_notes

#: Refill records of two runs closer than this are the same visit.
_SAME_H = 1e-6


def slack_cells(slacks: list[Any]) -> dict[float, str]:
    """The SLACK column of the visit table: ``1621 h (67d 13h)``, ``>= next visit``, or ``0
    (flag before this visit)``, by the visit's instant."""
    cells: dict[float, str] = {}
    for s in slacks:
        if s.late:
            cells[s.t_h] = "0 (flag before this visit)"
        elif s.slack_h is None:
            cells[s.t_h] = ">= next visit"
        else:
            cells[s.t_h] = f"{s.slack_h} h ({format_duration_h(float(s.slack_h))})"
    return cells


def json_with_slack(result: Any, slacks: list[Any] | None) -> str:
    """The result document as JSON, with ``slack_h`` on each refill that happened (whole hours,
    or null for ``>= next visit``), written as ``Result.to_json`` writes it."""
    doc = result.to_dict()
    for rec in doc["refills"] if slacks is not None else ():
        if rec["missed"]:
            continue
        match = next((s for s in slacks if abs(s.t_h - rec["at_h"]) <= _SAME_H), None)
        if match is not None:
            rec["slack_h"] = match.slack_h
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def changed_result(scenario: Any, setup: Any) -> Any:
    """The Result of a changed history (a what-if's Setup), with no expectations of its own: the
    recorded measurements describe the history that happened."""
    bare = scenario.with_values({"expect": [], "fail_on": []})
    return Result(run=Engine(setup).run(), scenario=bare, outcomes=[], notes=clock_notes(bare))


def what_if_text(result: Any, said: list[str], diffs: list[Any], recorded: Any) -> str:
    """The what-if block: the changes made, then what appears and disappears against the
    recorded history (``+`` only in the changed history, ``-`` only in the recorded one), then
    the recorded history's own verdicts (they decide the exit code)."""
    clock = Clock.of(result.run.setup.start)
    lines = ["", "WHAT IF (on the reconstructed history; recorded measurements not checked):"]
    lines += [f"  {text}" for text in said]
    lines.append("against the recorded history:")
    if not diffs:
        lines.append("  no alarm or flag appears or disappears")
    for d in diffs:
        mark = "+" if d.appears else "-"
        verb = "appears" if d.appears else "disappears"
        lines.append(f"  {mark} {clock.label(d.happening.t_h)}  {d.happening.text}  {verb}")
    lines += ["", "recorded history:", *summary_lines(recorded.outcomes)]
    return "\n".join(lines) + "\n"
