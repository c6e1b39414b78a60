"""Feed the stored batches, in order, into everything the summary needs.

Per grid point: the bootstrap accumulator (per-patient column sums, plain and resampled), the
cause x first-alarm table and the timing figures (``PointTally``), and the hazard severity
spread for the risk table. A grid point's summary entry is made as soon as its last batch is
in, and its resampled sums are then let go (grid point 0's stay, for the paired comparisons):
memory stays flat in the number of patients and of grid points, except the first-flag times
kept for the survival figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pumpsim.model.units import HOURS_PER_YEAR
from pumpsim.studies.sweep.bootstrap import Accumulator, Weights
from pumpsim.studies.sweep.breakdown import ByKey
from pumpsim.studies.sweep.hazard_map import HazardMap
from pumpsim.studies.sweep.metrics import Layout, PatientFacts, core_values, vector
from pumpsim.studies.sweep.risk import hazard_rows
from pumpsim.studies.sweep.risk_matrix import RiskMatrix
from pumpsim.studies.sweep.summary import build_point, drop_empty_groups
from pumpsim.studies.sweep.sums import Sums


@dataclass
class PointTally:
    """What a grid point needs besides the column sums: causes, timings, severities."""

    patients_flagged: int = 0
    high_severity: int = 0
    redraws: int = 0
    redrawn_patients: int = 0
    cause_alarm: dict[str, dict[str, int]] = field(default_factory=dict)
    cause_to_flag_h: list[float] = field(default_factory=list)
    first_flag_h: list[float] = field(default_factory=list)
    #: hazard -> severity category -> occurrences; flag type seen per hazard
    severity: dict[str, dict[str, int]] = field(default_factory=dict)
    hazard_flags: dict[str, set[str]] = field(default_factory=dict)
    unmapped: dict[str, int] = field(default_factory=dict)

    def add_flag(self, record: Sequence[Any]) -> None:
        """One abrupt-discontinuation flag record (``patient.FLAG_COLUMNS``)."""
        cause, first_alarm, to_flag, severity = record[4], record[6], record[7], record[8]
        if severity == "high":
            self.high_severity += 1
        row = self.cause_alarm.setdefault(cause, {})
        row[first_alarm] = row.get(first_alarm, 0) + 1
        if to_flag is not None:
            self.cause_to_flag_h.append(to_flag)


class Collector:
    """Everything the summary reads, fed batch by batch in plan order."""

    def __init__(
        self,
        spec: Any,
        columns: Sequence[str],
        alarms: Sequence[str],
        by: Sequence[ByKey],
        hazards: HazardMap,
        matrix: RiskMatrix,
    ) -> None:
        self.spec = spec
        self.columns = {c: i for i, c in enumerate(columns)}
        self.by = list(by)
        self.hazards = hazards
        self.matrix = matrix
        mapped = sorted({rule[3] for rule in hazards.rules}, key=_hazard_order(hazards))
        self.layout = Layout.make(alarms, mapped, [(b.key, len(b.groups)) for b in self.by])
        self.weights = Weights(spec.seed, spec.patients, len(spec.grid))
        self.acc: list[Accumulator | None] = [None] * len(spec.grid)
        self.tally = [PointTally() for _ in spec.grid]
        self.entries: list[dict[str, Any] | None] = [None] * len(spec.grid)
        self.hazard_rows: list[list[dict[str, Any]]] = [[] for _ in spec.grid]
        self._current = -1
        self._base: Sums | None = None
        self._group_base: dict[tuple[str, int], Sums] = {}
        self._by_col = [self.columns[b.column] for b in self.by]
        self._first_col = self.columns["first_abrupt_h"]
        self._redraw_col = self.columns.get("n_redraws")

    def _acc(self, grid: int) -> Accumulator:
        acc = self.acc[grid]
        if acc is None:
            acc = self.acc[grid] = Accumulator(self.weights, self.layout.width)
        return acc

    def add_batch(
        self,
        grid: int,
        rows: Sequence[Sequence[Any]],
        flags: Sequence[Sequence[Any]],
        hazards: Sequence[Sequence[Any]],
    ) -> None:
        """One stored batch of grid point ``grid`` (rows in patient order, with their flag and
        hazard records). Batches come grid point by grid point."""
        if grid != self._current:
            if self._current >= 0:
                self._finish_point(self._current)
            self._current = grid
        by_patient: dict[tuple[int, int], list[Sequence[Any]]] = {}
        for rec in flags:
            by_patient.setdefault((rec[0], rec[1]), []).append(rec)
        haz_by_patient: dict[tuple[int, int], list[Sequence[Any]]] = {}
        for rec in hazards:
            haz_by_patient.setdefault((rec[0], rec[1]), []).append(rec)
        patient_col = self.columns["patient"]
        for row in rows:
            grid, patient = row[0], row[patient_col]
            recs = by_patient.get((grid, patient), [])
            tally = self.tally[grid]
            for rec in recs:
                tally.add_flag(rec)
            first = row[self._first_col]
            if first is not None:
                tally.patients_flagged += 1
                tally.first_flag_h.append(first)
            if self._redraw_col is not None and row[self._redraw_col]:
                tally.redraws += row[self._redraw_col]
                tally.redrawn_patients += 1
            facts = PatientFacts(
                core_values(row, self.columns, self.layout.alarms, recs),
                self._hazards(tally, haz_by_patient.get((grid, patient), [])),
                [b.group_of(row[c]) for b, c in zip(self.by, self._by_col, strict=True)],
            )
            self._acc(grid).add(patient, vector(self.layout, facts))

    def _hazards(
        self, tally: PointTally, records: Sequence[Sequence[Any]]
    ) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for _, _, flag, cause, kind, alarmed, severity in records:
            hazard = self.hazards.hazard_of(flag, cause, kind)
            if hazard is None:
                label = f"{flag}:{cause}" + (f":{kind}" if kind else "")
                tally.unmapped[label] = tally.unmapped.get(label, 0) + 1
                continue
            n, detected = out.get(hazard, (0, 0))
            out[hazard] = (n + 1, detected + (1 if alarmed else 0))
            category = self.matrix.s_category(flag, severity) or "ungraded"
            spread = tally.severity.setdefault(hazard, {})
            spread[category] = spread.get(category, 0) + 1
            tally.hazard_flags.setdefault(hazard, set()).add(flag)
        return out

    def _finish_point(self, grid: int) -> None:
        point = self.spec.grid[grid]
        acc = self._acc(grid).finish()
        sums = Sums(acc, self.layout.index, point.duration_h / HOURS_PER_YEAR)
        self.entries[grid] = build_point(
            self.spec,
            point,
            sums,
            self._base,
            self.tally[grid],
            self.by,
            self._group_base,
            self.layout.alarms,
        )
        self.hazard_rows[grid] = hazard_rows(sums, self.layout.hazards)
        if self._base is None:
            self._base = sums
        else:
            self.acc[grid] = None  # its entry is made: let the resampled sums go

    def finish(self) -> list[dict[str, Any]]:
        """Every grid point's summary entry (after the last batch)."""
        for grid in range(len(self.spec.grid)):
            if self.entries[grid] is None:
                self._finish_point(grid)
        entries = [e for e in self.entries if e is not None]
        drop_empty_groups(entries)
        return entries


def _hazard_order(hazards: HazardMap) -> Any:
    order = {h.id: i for i, h in enumerate(hazards.hazards)}
    return lambda hid: order.get(hid, len(order))


def by_values(store: Any, batches: Sequence[Any], columns: Sequence[str], by: Sequence[ByKey]):
    """For quartile breakdowns: every drawn value of those keys (a first pass)."""
    wanted = [(b, list(columns).index(b.column)) for b in by if b.needs_data]
    if not wanted:
        return
    values: list[list[float]] = [[] for _ in wanted]
    for batch in batches:
        rows = store.load(batch.index)[0]
        for (_, col), out in zip(wanted, values, strict=True):
            out.extend(float(r[col]) for r in rows if isinstance(r[col], int | float))
    for (b, _), drawn in zip(wanted, values, strict=True):
        b.set_quartiles(drawn)
