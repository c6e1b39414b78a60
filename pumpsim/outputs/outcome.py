"""An expectation's verdict, and how people read a list of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """One expectation's verdict."""

    text: str
    passed: bool
    expected: str
    actual: str

    def to_dict(self) -> dict[str, Any]:
        """The result-document form."""
        return {
            "text": self.text,
            "passed": self.passed,
            "expected": self.expected,
            "actual": self.actual,
        }

    def failure_lines(self, indent: str = "  ") -> list[str]:
        """For people: ``FAIL text`` with expected and actual aligned beneath it."""
        pad = indent + " " * len("FAIL ")
        return [
            f"{indent}FAIL {self.text}",
            f"{pad}expected: {self.expected}",
            f"{pad}actual:   {self.actual}",
        ]


def summary_lines(outcomes: list[Outcome]) -> list[str]:
    """``expectations: 4/5 passed``, then every failed one, expected against actual."""
    n_ok = sum(1 for o in outcomes if o.passed)
    lines = [f"expectations: {n_ok}/{len(outcomes)} passed"]
    for o in outcomes:
        if not o.passed:
            lines.extend(o.failure_lines())
    return lines
