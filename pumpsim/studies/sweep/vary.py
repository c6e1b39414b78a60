"""The ``vary:`` section of a sweep file: per-patient draws, plain or dependent (``cases:``).

Keys are drawn in file order; a ``cases:`` draw may test an earlier ``vary`` key or a scenario
grid key. Each key draws from its own stream (``vary:<path>``; a redrawn patient's attempt
``k`` uses ``vary:<path>#redraw<k>``), so adding a key never changes another key's draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pumpsim.errors import ScenarioError
from pumpsim.scenario.cases import Cases, parse_cases
from pumpsim.scenario.distributions import Distribution, DistributionError, parse_distribution
from pumpsim.studies.sweep.variants import yaml_value

#: Sections of a sweep file that are not scenario keys (a grid key there changes the sweep).
SWEEP_SECTIONS = ("clinic", "faults")


@dataclass(frozen=True)
class VaryKey:
    """One ``vary:`` entry: the scenario key path, its distribution and its column name."""

    path: str
    dist: Distribution | Cases
    line: int | None = None  # in the sweep file, for messages

    @property
    def column(self) -> str:
        """The patients-table column: the key path, with ``_h`` when the draw is a duration."""
        return f"{self.path}_h" if self.dist.is_duration else self.path

    @property
    def stream(self) -> str:
        """The name of this draw's random stream (first attempt)."""
        return f"vary:{self.path}"

    def stream_of(self, attempt: int) -> str:
        """The stream of attempt ``attempt`` (0: the first draw; k: the k-th redraw)."""
        return self.stream if attempt == 0 else f"{self.stream}#redraw{attempt}"

    @property
    def values(self) -> tuple[Any, ...]:
        """Every value a choice or fixed draw can give (for column types), else ``(0.0,)``."""
        dists = self.dist.dists if isinstance(self.dist, Cases) else (self.dist,)
        out: list[Any] = []
        for d in dists:
            out.extend(
                d.choices if d.kind == "choice" else [d.value] if d.kind == "fixed" else [0.0]
            )
        return tuple(out)

    @property
    def categorical(self) -> bool:
        """Whether every way to draw this key is a ``choice`` or ``fixed`` (split by value)."""
        dists = self.dist.dists if isinstance(self.dist, Cases) else (self.dist,)
        return all(d.kind in ("choice", "fixed") for d in dists)


def yaml_draw(key: VaryKey, value: Any) -> Any:
    """A drawn value as YAML would give it (durations as a string with a unit)."""
    return yaml_value(value, key.dist.is_duration)


def parse_vary(
    raw: Any,
    grid_keys: tuple[str, ...],
    fail: Callable[[str, tuple[object, ...]], ScenarioError],
    line_of: Callable[[tuple[object, ...]], int | None],
) -> tuple[VaryKey, ...]:
    """Check the ``vary:`` mapping. ``fail(message, path)`` makes the located error."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise fail("vary is a mapping: scenario key path -> distribution", ("vary",))
    scenario_grid = {k for k in grid_keys if k.split(".")[0] not in SWEEP_SECTIONS}
    out: list[VaryKey] = []
    for key, spec in raw.items():
        if not isinstance(key, str) or key.split(".")[0] in SWEEP_SECTIONS:
            raise fail("vary takes scenario key paths such as pump.accuracy", ("vary", key))
        try:
            dist: Distribution | Cases = (
                parse_cases(spec)
                if isinstance(spec, dict) and "cases" in spec
                else parse_distribution(spec)
            )
        except DistributionError as exc:
            raise fail(str(exc), ("vary", key, *exc.path)) from None
        if isinstance(dist, Cases):
            earlier = {k.path for k in out}
            for i, case in enumerate(dist.cases):
                for cond in case.conditions:
                    if cond.key not in earlier and cond.key not in scenario_grid:
                        where = ("vary", key, "cases", i, "if", cond.key)
                        raise fail(
                            f"{cond.key} is not drawn before {key} (keys are drawn in file "
                            "order) nor a scenario grid key",
                            where,
                        )
        out.append(VaryKey(key, dist, line_of(("vary", key))))
    return tuple(out)
