"""Assemble a finished sweep: stream the stored batches, in order, into the tables, the summary,
the risk table and the column descriptions. Same batches, same bytes."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from pumpsim.files import write_output
from pumpsim.studies.sweep.bootstrap import METHOD
from pumpsim.studies.sweep.breakdown import ByKey
from pumpsim.studies.sweep.collect import Collector, by_values
from pumpsim.studies.sweep.columns import (
    FLAG_META,
    cell,
    grid_column,
    is_duration_values,
    kind_of,
    patient_meta,
)
from pumpsim.studies.sweep.hazard_map import hazard_map
from pumpsim.studies.sweep.patient import ALARMS, FLAG_COLUMNS, columns
from pumpsim.studies.sweep.risk import CSV_COLUMNS, risk_block, risk_rows
from pumpsim.studies.sweep.risk_matrix import load_risk_matrix
from pumpsim.studies.sweep.summary import summary_text
from pumpsim.studies.sweep.table import TableWriter, csv_text
from pumpsim.version import __version__

FLAG_TYPES = tuple(m[1] for m in FLAG_META)


@dataclass
class SweepResult:
    """What ``pumpsim.sweep`` returns: the summary, the table's path, and (optionally) rows."""

    summary: dict[str, Any]
    out_dir: str
    table_path: str
    columns: tuple[str, ...]
    patients: list[dict[str, Any]] | None
    first_flag_h: list[list[float]]  # per grid point, sorted: the survival curves
    risk_matrix: Any = None  # the RiskMatrix the risk table used

    @property
    def text(self) -> str:
        """The printed summary."""
        return summary_text(self.summary)


def column_types(spec: Any) -> list[str]:
    """Each patients-table column's type: int, float, str or bool."""
    types: dict[str, str] = {"grid": "int", "patient": "int"}
    for i, key in enumerate(spec.grid_keys):
        vals = [p.values[i][1] for p in spec.grid]
        types[grid_column(spec, key)] = "float" if is_duration_values(vals) else kind_of(vals)
    for v in spec.vary:
        if v.dist.is_duration:
            types[v.column] = "float"
        elif v.categorical:
            types[v.column] = kind_of(list(v.values))
        else:
            types[v.column] = "float"
    out = []
    for col in columns(spec):
        if col in types:
            out.append(types[col])
        elif col.startswith("n_"):
            out.append("int")
        elif col in ("first_abrupt_cause", "first_abrupt_first_alarm"):
            out.append("str")
        elif col == "first_abrupt_alarmed":
            out.append("bool")
        else:
            out.append("float")
    return out


def assemble(
    spec: Any,
    store: Any,
    batches: list[Any],
    out_dir: str,
    parquet: bool,
    keep_rows: bool = False,
    by: list[ByKey] | None = None,
) -> SweepResult:
    """Stream the stored batches, in order, into the tables and the summary."""
    cols = columns(spec)
    types = column_types(spec)
    meta = patient_meta(spec, cols, types)
    by = by or []
    by_values(store, batches, cols, by)
    matrix = spec.risk_matrix or load_risk_matrix()
    collector = Collector(spec, cols, ALARMS, by, hazard_map(), matrix)
    kept: list[dict[str, Any]] | None = [] if keep_rows else None
    patients = TableWriter(
        os.path.join(out_dir, "patients"), cols, types, parquet, [m[2:] for m in meta]
    )
    flags = TableWriter(
        os.path.join(out_dir, "flags"),
        FLAG_COLUMNS,
        FLAG_TYPES,
        parquet,
        [m[2:] for m in FLAG_META],
    )
    durations = {grid_column(spec, k) for k in spec.grid_keys} - set(spec.grid_keys)
    # Only the drawn and grid columns can hold values of another type than their column's.
    drawn = {v.column for v in spec.vary} | {grid_column(spec, k) for k in spec.grid_keys}
    convert = [
        (i, t, c in durations)
        for i, (c, t) in enumerate(zip(cols, types, strict=True))
        if c in drawn
    ]
    with patients, flags:
        for b in batches:
            rows, records, hazards = store.load(b.index)
            collector.add_batch(b.grid, rows, records, hazards)  # the values as drawn
            for row in rows:
                for i, kind, duration in convert:
                    row[i] = cell(row[i], kind, duration)
            patients.write(rows)
            flags.write(records)
            if kept is not None:
                kept.extend(dict(zip(cols, row, strict=True)) for row in rows)
    points = collector.finish()
    risk = risk_block(spec, collector, collector.hazard_rows)
    doc = {
        "sweep": spec.name,
        "seed": spec.seed,
        "patients_per_grid_point": spec.patients,
        "duration_h": spec.duration_h,
        "pumpsim_version": __version__,
        "fingerprint": spec.fingerprint,
        "grid_keys": list(spec.grid_keys),
        "vary": [v.column for v in spec.vary],
        "on_invalid": spec.on_invalid,
        "interval_method": METHOD,
        "by": [b.key for b in by],
        "grid_points": points,
        "risk": risk,
    }
    text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    write_output(os.path.join(out_dir, "summary.json"), text, what="the sweep summary")
    write_output(
        os.path.join(out_dir, "risk.csv"),
        csv_text(CSV_COLUMNS, risk_rows(risk)),
        what="the risk table",
    )
    columns_csv = os.path.join(out_dir, "columns.csv")
    if parquet:
        if os.path.exists(columns_csv):  # beside a CSV table only; Parquet holds its own
            os.unlink(columns_csv)
    else:
        # Both tables' columns: the Parquet files carry theirs as field metadata.
        described = [("patients", *m) for m in meta] + [("flags", *m) for m in FLAG_META]
        write_output(
            columns_csv,
            csv_text(("table", "name", "type", "unit", "description"), described),
            what="the column descriptions",
        )
    # The new tables replaced the old ones in one rename each; a table of the other format (a
    # run before pyarrow was installed, or after) is stale only now that they are in place.
    other = ".csv" if parquet else ".parquet"
    for name in ("patients", "flags"):
        stale = os.path.join(out_dir, name + other)
        if os.path.exists(stale):
            os.unlink(stale)
    first = [sorted(t.first_flag_h) for t in collector.tally]
    return SweepResult(doc, out_dir, patients.path, cols, kept, first, matrix)
