"""``--by KEY`` breakdowns (contract section 10): every block of the summary, per group.

A grid key, a ``choice`` or ``fixed`` draw (numbers included) and any text value is split by
value; any other numeric draw into quartiles of the drawn values (over every grid point, so
the groups are the same at each), or by the bin edges given as ``KEY:0,200,400`` (durations
with units: ``pump.age:0d,1y,2y``). Values below the first edge or at or above the last one
make open-ended groups of their own.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from pumpsim.errors import ScenarioError
from pumpsim.model.units import DurationError, parse_duration_h


class BreakdownError(ScenarioError):
    """A ``--by`` option that names no drawn or grid key, or bad edges."""


@dataclass
class ByKey:
    """One breakdown: the key, its table column, and its groups once known."""

    key: str
    column: str
    by_value: bool
    edges: tuple[float, ...] | None = None  # given edges (None: quartiles, or by value)
    values: tuple[Any, ...] = ()  # the groups' values when by value
    is_duration: bool = False
    edges_from_data: bool = False  # quartiles: the top edge belongs to the last group

    @property
    def needs_data(self) -> bool:
        """Quartiles: the edges come from the drawn values (a first pass over the batches)."""
        return not self.by_value and self.edges is None

    def set_quartiles(self, drawn: list[float]) -> None:
        """Edges from the drawn values' quartiles (equal edges merged)."""
        import numpy as np

        if not drawn:
            self.edges = ()
            return
        q = np.quantile(np.asarray(drawn, dtype=np.float64), [0.0, 0.25, 0.5, 0.75, 1.0])
        edges = sorted({float(v) for v in q})
        self.edges = tuple(edges)

    @property
    def groups(self) -> list[dict[str, Any]]:
        """Each group's label for summary.json: ``{"value": v}`` or ``{"range": [lo, hi]}``
        (hi excluded, but the last quartile includes its top; None: open-ended)."""
        if self.by_value:
            return [{"value": v} for v in self.values]
        edges = self.edges or ()
        out: list[dict[str, Any]] = [{"range": [None, edges[0]]}] if edges else []
        out += [{"range": [a, b]} for a, b in itertools.pairwise(edges)]
        if edges:
            out.append({"range": [edges[-1], None]})
        return out

    def group_of(self, value: Any) -> int | None:
        """The group index of one drawn or grid value."""
        if value is None:
            return None
        if self.by_value:
            for j, v in enumerate(self.values):
                if _same(v, value):
                    return j
            return None
        edges = self.edges or ()
        if not edges or not isinstance(value, int | float) or math.isnan(value):
            return None
        if value < edges[0]:
            return 0
        last = len(edges)  # the open group at or above the last edge
        for j in range(len(edges) - 1):
            top = edges[j + 1]
            if value < top or (self.edges_from_data and j == len(edges) - 2 and value == top):
                return j + 1
        return last


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def parse_by(option: str, spec: Any) -> ByKey:
    """One ``--by`` option against the sweep's grid and ``vary`` keys."""
    key, sep, raw_edges = option.partition(":")
    key = key.strip()
    grid_index = spec.grid_keys.index(key) if key in spec.grid_keys else None
    vary = next((v for v in spec.vary if v.path == key or v.column == key), None)
    if grid_index is None and vary is None:
        known = ", ".join([*spec.grid_keys, *(v.path for v in spec.vary)]) or "none"
        raise BreakdownError(
            f"--by {option}: {key!r} is neither drawn (vary) nor a grid key; known: {known}"
        )
    if grid_index is not None:
        values = _unique([p.values[grid_index][1] for p in spec.grid])
        if sep:
            raise BreakdownError(f"--by {option}: a grid key is split by its values, not edges")
        return ByKey(key, key, True, values=values)
    assert vary is not None
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in vary.values)
    if sep:
        if vary.categorical and not numeric:
            raise BreakdownError(f"--by {option}: {key} is not a number; it splits by value")
        edges = _edges(option, raw_edges, vary.dist.is_duration)
        return ByKey(key, vary.column, False, edges=edges, is_duration=vary.dist.is_duration)
    if vary.categorical:
        return ByKey(key, vary.column, True, values=_unique(list(vary.values)))
    return ByKey(key, vary.column, False, is_duration=vary.dist.is_duration, edges_from_data=True)


def _unique(values: list[Any]) -> tuple[Any, ...]:
    """Each value once: numbers in increasing order, anything else as first seen."""
    out: list[Any] = []
    for v in values:
        if not any(_same(v, w) for w in out):
            out.append(v)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in out):
        out.sort()
    return tuple(out)


def _edges(option: str, raw: str, is_duration: bool) -> tuple[float, ...]:
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        raise BreakdownError(f"--by {option}: give bin edges after ':', e.g. KEY:0,200,400")
    edges = []
    for part in parts:
        try:
            edges.append(parse_duration_h(part) if is_duration else float(part))
        except (DurationError, ValueError):
            unit = "a duration with a unit (e.g. 1y)" if is_duration else "a number"
            raise BreakdownError(f"--by {option}: edge {part!r} is not {unit}") from None
        if not math.isfinite(edges[-1]):
            raise BreakdownError(f"--by {option}: edge {part!r} is not finite")
    if any(b <= a for a, b in itertools.pairwise(edges)):
        raise BreakdownError(f"--by {option}: edges must increase")
    return tuple(edges)
