"""``pumpsim sweep FILE --check``: draw and validate every patient, simulate none.

A patient is invalid when its first draw makes an invalid scenario at some grid point (what
``on_invalid`` then does is the sweep's choice). The report counts them and groups the reasons
by the keys involved and the scenario key that was refused, with one example each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pumpsim.studies.sweep.draws import first_invalid

#: Reason groups shown at most (the rest are counted in one line).
MAX_REASONS = 20


@dataclass
class CheckReport:
    """How many patients would be invalid, and why."""

    name: str
    file: str
    patients: int
    grid_points: int
    on_invalid: str
    invalid: int = 0
    reasons: dict[str, list[Any]] = field(default_factory=dict)  # group -> [count, example]

    def add(self, group: str, example: str) -> None:
        """One invalid patient."""
        self.invalid += 1
        entry = self.reasons.setdefault(group, [0, example])
        entry[0] += 1

    def text(self) -> str:
        """The printed report."""
        what = {
            "stop": "the sweep stops at the first one (on_invalid: stop)",
            "redraw": "each is drawn again until valid (on_invalid: redraw)",
            "skip": "each is left out at every grid point (on_invalid: skip)",
        }[self.on_invalid]
        lines = [
            f"{self.file}: {self.invalid} of {self.patients} patients would be invalid "
            f"(drawn at {self.grid_points} grid point{'s' if self.grid_points != 1 else ''}); "
            + (what if self.invalid else "every patient can be simulated")
        ]
        ranked = sorted(self.reasons.items(), key=lambda kv: (-kv[1][0], kv[0]))
        for group, (count, example) in ranked[:MAX_REASONS]:
            lines.append(f"  {count} x {group}: e.g. {example}")
        if len(ranked) > MAX_REASONS:
            rest = sum(v[0] for _, v in ranked[MAX_REASONS:])
            lines.append(f"  ... and {rest} more in {len(ranked) - MAX_REASONS} other groups")
        return "\n".join(lines) + "\n"


_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")


def check_sweep(spec: Any) -> CheckReport:
    """Draw and validate every patient of the sweep (no simulation)."""
    report = CheckReport(spec.name, spec.file, spec.patients, len(spec.grid), spec.on_invalid)
    for patient in range(spec.patients):
        found = first_invalid(spec, patient)
        if found is None:
            continue
        keys = ", ".join(k for k, _ in found.keys) or "no drawn key"
        refused = found.reason.split(":", 1)[0] if ":" in found.reason else ""
        shape = _NUMBER.sub("N", found.reason)
        group = keys if refused == keys else f"{keys} ({refused or shape})"
        report.add(group, found.describe())
    return report
