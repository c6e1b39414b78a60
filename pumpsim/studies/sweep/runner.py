"""Run a sweep: plan batches, run the missing ones, store each, assemble the outputs.

The plan depends only on the sweep (grid points, patients, batch size), never on the workers:
batch ``k`` always holds the same patients, so finished batches can be skipped on a re-run and
the assembled files are the same bytes whoever computed which batch.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pumpsim.errors import OutputError, Terminated
from pumpsim.files import write_output
from pumpsim.model.units import HOURS_PER_YEAR
from pumpsim.studies.sweep.patient import FLAG_COLUMNS, columns, simulate_batch
from pumpsim.studies.sweep.spec import SweepSpec
from pumpsim.studies.sweep.store import BatchStore
from pumpsim.studies.sweep.summary import PointTally, summary_text
from pumpsim.studies.sweep.table import TableWriter, have_pyarrow
from pumpsim.version import __version__

#: Patient-years per batch by default: about half a second of work, so that process and
#: pickling overhead stays well under 5 % and progress and resume stay fine-grained.
BATCH_PATIENT_YEARS = 500.0
#: What one patient costs whatever its duration, in simulated years: setting a patient up
#: (draws, variant, engine) costs about as much as simulating 1.5 years of it (measured: about
#: 1.3 ms a patient plus 0.8 ms a simulated year). Without it a sweep of one-day patients
#: packed 182,500 of them in a batch: minutes of work that Ctrl-C had to wait for.
PATIENT_SETUP_YEARS = 1.5


class SweepInterrupted(Exception):
    """The sweep stopped before every batch was done: Ctrl-C (or a KeyboardInterrupt from the
    batch hook), or SIGTERM (``terminated``)."""

    def __init__(self, done: int, total: int, *, terminated: bool = False) -> None:
        what = "terminated" if terminated else "interrupted"
        super().__init__(f"{what}: {done} of {total} batches done")
        self.done = done
        self.total = total
        self.terminated = terminated


@dataclass(frozen=True)
class Batch:
    """Patients ``first``..``stop - 1`` of grid point ``grid``; number ``index`` in the plan."""

    index: int
    grid: int
    first: int
    stop: int


@dataclass
class SweepResult:
    """What ``pumpsim.sweep`` returns: the summary, the table's path, and (optionally) rows."""

    summary: dict[str, Any]
    out_dir: str
    table_path: str
    columns: tuple[str, ...]
    patients: list[dict[str, Any]] | None
    first_flag_h: list[list[float]]  # per grid point, sorted: the survival curves

    @property
    def text(self) -> str:
        """The printed summary."""
        return summary_text(self.summary)


def default_batch_size(spec: SweepSpec) -> int:
    """Patients per batch: about ``BATCH_PATIENT_YEARS`` patient-years of work, a patient
    costing at least ``PATIENT_SETUP_YEARS`` (so a batch takes seconds whatever the duration)."""
    years = spec.duration_h / HOURS_PER_YEAR
    per_patient = max(years, PATIENT_SETUP_YEARS)
    return max(1, min(spec.patients, math.ceil(BATCH_PATIENT_YEARS / per_patient)))


def plan_batches(spec: SweepSpec, batch_size: int) -> list[Batch]:
    """Every batch of the sweep, grid point by grid point, in patient order."""
    out = []
    for point in spec.grid:
        for first in range(0, spec.patients, batch_size):
            out.append(Batch(len(out), point.index, first, min(spec.patients, first + batch_size)))
    return out


def column_types(spec: SweepSpec) -> list[str]:
    """Each column's type for Parquet: int, float, str or bool."""
    types: dict[str, str] = {"grid": "int", "patient": "int"}
    for i, key in enumerate(spec.grid_keys):
        vals = [p.values[i][1] for p in spec.grid]
        types[key] = _kind(vals)
    for v in spec.vary:
        d = v.dist
        vals = list(d.choices) if d.kind == "choice" else [d.value] if d.kind == "fixed" else [0.0]
        types[v.column] = _kind(vals)
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


FLAG_TYPES = ("int", "int", "float", "float", "str", "bool", "str", "float", "str")


def _kind(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float"
    return "str"


def cell(value: Any, kind: str) -> Any:
    """A value converted to its column's type."""
    if value is None:
        return None
    if kind == "float":
        return float(value)
    if kind == "str" and not isinstance(value, str):
        return json.dumps(value)
    return value


def prepare_out_dir(out_dir: str) -> None:
    """Make the output folder, or refuse it before any work (OutputError, exit 2)."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise OutputError(out_dir, "cannot write the sweep: is not a folder")
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            out_dir, f"cannot write the sweep: {exc.strerror or exc}", exit_code=2
        ) from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise OutputError(out_dir, "cannot write the sweep: folder is not writable")


def _why(exc: BaseException) -> str:
    """Why a sweep stopped, for run.log."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, Terminated):
        return "terminated (SIGTERM)"
    return f"{type(exc).__name__}: {exc}"


def _log(out_dir: str, text: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(os.path.join(out_dir, "run.log"), "a", encoding="utf-8") as fh:
        fh.write(f"{stamp} {text}\n")


def run_sweep(
    spec: SweepSpec,
    out_dir: str,
    *,
    workers: int | None = None,
    dask: Any = None,
    batch_size: int | None = None,
    fresh: bool = False,
    progress: bool = False,
    parquet: bool | None = None,
    keep_rows: bool = False,
    on_batch: Callable[[int], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> SweepResult:
    """Run (or resume) a sweep into ``out_dir`` and assemble its outputs.

    ``on_batch(index)`` is called after each batch is stored (a progress or test hook). Ctrl-C
    (or a KeyboardInterrupt from the hook) stops the sweep with SweepInterrupted; any other
    exception (SIGTERM's included) stops it too and propagates. Either way the workers are
    ended at once and finished batches stay stored. ``warn(line)`` hears of each stored batch
    found damaged on a resume (it is computed again); run.log gets the line too.
    """
    from pumpsim.studies.sweep.dask_endpoint import check_scheduler
    from pumpsim.studies.sweep.executors import (
        DaskExecutor,
        LocalPoolExecutor,
        SerialExecutor,
        default_workers,
    )
    from pumpsim.studies.sweep.progress import Progress

    size = batch_size or default_batch_size(spec)
    if isinstance(dask, str) and dask != "local":
        check_scheduler(dask)  # not a scheduler: exit 2 in seconds, before the folder is touched
    prepare_out_dir(out_dir)
    store = BatchStore(out_dir, spec.fingerprint, size, spec.name)
    store.open(fresh)
    batches = plan_batches(spec, size)
    done, damaged = store.done({b.index: b.stop - b.first for b in batches})
    for index, why in damaged:
        line = f"{store.path(index)}: stored batch {index} is damaged ({why}); computing it again"
        _log(out_dir, line)
        if warn is not None:
            warn(line)
    todo = [b for b in batches if b.index not in done]
    n_workers = workers or default_workers()
    started = time.monotonic()
    if dask is not None:
        executor: Any = DaskExecutor(dask, n_workers)
    elif n_workers == 1 or len(todo) <= 1:
        executor = SerialExecutor()
    else:
        executor = LocalPoolExecutor(min(n_workers, len(todo)))
    _log(
        out_dir,
        f"start {spec.name}: {len(batches)} batches of {size} patients, {len(done)} already done; "
        f"executor {executor.name}, {executor.workers} workers",
    )
    patients_done = sum(b.stop - b.first for b in batches if b.index in done)
    bar = Progress(spec.patients * len(spec.grid), patients_done, enabled=progress)
    window = max(2, 2 * executor.workers)
    queue = iter(todo)
    inflight: dict[Any, Batch] = {}
    finished = len(done)
    stopped = True
    try:

        def fill() -> None:
            while len(inflight) < window:
                b = next(queue, None)
                if b is None:
                    return
                inflight[
                    executor.submit(simulate_batch, spec, b.index, b.grid, b.first, b.stop)
                ] = b

        fill()
        while inflight:
            for future in executor.wait_first(list(inflight)):
                b = inflight.pop(future)
                store.save(future.result())
                finished += 1
                bar.update(b.stop - b.first)
                if on_batch is not None:
                    on_batch(b.index)
            fill()
        stopped = False
    except BaseException as exc:  # Ctrl-C, SIGTERM (the CLI's Terminated), a failing batch
        for future in inflight:
            future.cancel()
        bar.close()
        executor.close(cancel=True)
        elapsed = time.monotonic() - started
        _log(
            out_dir,
            f"stopped after {elapsed:.2f} s ({_why(exc)}): {finished} of {len(batches)} "
            "batches done",
        )
        if isinstance(exc, KeyboardInterrupt | Terminated):
            raise SweepInterrupted(
                finished, len(batches), terminated=isinstance(exc, Terminated)
            ) from None
        raise
    finally:
        if not stopped:
            bar.close()
            executor.close()
    elapsed = time.monotonic() - started
    computed = sum(b.stop - b.first for b in todo)
    years = computed * spec.duration_h / HOURS_PER_YEAR
    _log(
        out_dir,
        f"simulated {computed} patients ({years:.1f} patient-years) in {elapsed:.2f} s"
        + (f" = {years / elapsed:.0f} patient-years/s" if elapsed > 0 and computed else ""),
    )
    use_parquet = have_pyarrow() if parquet is None else parquet
    result = assemble(spec, store, batches, out_dir, use_parquet, keep_rows)
    _log(out_dir, f"assembled {result.table_path} and summary.json")
    return result


def assemble(
    spec: SweepSpec,
    store: BatchStore,
    batches: list[Batch],
    out_dir: str,
    parquet: bool,
    keep_rows: bool = False,
) -> SweepResult:
    """Stream the stored batches, in order, into the tables and the summary."""

    cols = columns(spec)
    types = column_types(spec)
    tallies = [
        PointTally(p.index, p.label(), {k: v for k, v in p.values}, spec.duration_h)
        for p in spec.grid
    ]
    kept: list[dict[str, Any]] | None = [] if keep_rows else None
    patients = TableWriter(os.path.join(out_dir, "patients"), cols, types, parquet)
    flags = TableWriter(os.path.join(out_dir, "flags"), FLAG_COLUMNS, FLAG_TYPES, parquet)
    # Only the drawn and grid columns can hold values of another type than their column's.
    convert = [
        (i, t)
        for i, (c, t) in enumerate(zip(cols, types, strict=True))
        if c in spec.grid_keys or c in {v.column for v in spec.vary}
    ]
    alarm_at = [(i, c[len("n_alarm_") :]) for i, c in enumerate(cols) if c.startswith("n_alarm_")]
    first_at = cols.index("first_abrupt_h")
    with patients, flags:
        for b in batches:
            rows, records = store.load(b.index)
            for row in rows:
                for i, kind in convert:
                    row[i] = cell(row[i], kind)
            patients.write(rows)
            flags.write(records)
            for row in rows:
                tallies[row[0]].add_row(row[first_at], [(name, row[i]) for i, name in alarm_at])
                if kept is not None:
                    kept.append(dict(zip(cols, row, strict=True)))
            for rec in records:
                tallies[rec[0]].add_flag(rec[5], rec[8], rec[4], rec[6], rec[7])
    doc = {
        "sweep": spec.name,
        "seed": spec.seed,
        "patients_per_grid_point": spec.patients,
        "duration_h": spec.duration_h,
        "pumpsim_version": __version__,
        "fingerprint": spec.fingerprint,
        "grid_keys": list(spec.grid_keys),
        "vary": [v.column for v in spec.vary],
        "grid_points": [t.to_dict() for t in tallies],
    }
    text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    write_output(os.path.join(out_dir, "summary.json"), text, what="the sweep summary")
    # The new tables replaced the old ones in one rename each; a table of the other format (a
    # run before pyarrow was installed, or after) is stale only now that they are in place.
    other = ".csv" if parquet else ".parquet"
    for name in ("patients", "flags"):
        stale = os.path.join(out_dir, name + other)
        if os.path.exists(stale):
            os.unlink(stale)
    first = [sorted(t.first_flag_h) for t in tallies]
    return SweepResult(doc, out_dir, patients.path, cols, kept, first)
