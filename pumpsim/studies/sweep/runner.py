"""Run a sweep: plan batches, run the missing ones, store each, assemble the outputs.

The plan depends only on the sweep (grid points, patients, batch size), never on the workers:
batch ``k`` always holds the same patients, so finished batches can be skipped on a re-run and
the assembled files are the same bytes whoever computed which batch.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pumpsim.errors import OutputError, ScenarioError, Terminated
from pumpsim.model.units import HOURS_PER_YEAR
from pumpsim.studies.sweep.assemble import SweepResult, assemble
from pumpsim.studies.sweep.breakdown import parse_by
from pumpsim.studies.sweep.patient import simulate_batch
from pumpsim.studies.sweep.spec import SweepSpec
from pumpsim.studies.sweep.store import BatchStore
from pumpsim.studies.sweep.table import have_pyarrow

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


def default_batch_size(spec: SweepSpec) -> int:
    """Patients per batch: about ``BATCH_PATIENT_YEARS`` patient-years of work at the longest
    duration of the grid, a patient costing at least ``PATIENT_SETUP_YEARS`` (so a batch takes
    seconds whatever the duration)."""
    years = max([spec.duration_h, *(point.duration_h for point in spec.grid)]) / HOURS_PER_YEAR
    per_patient = max(years, PATIENT_SETUP_YEARS)
    return max(1, min(spec.patients, math.ceil(BATCH_PATIENT_YEARS / per_patient)))


def plan_batches(spec: SweepSpec, batch_size: int) -> list[Batch]:
    """Every batch of the sweep, grid point by grid point, in patient order."""
    out = []
    for point in spec.grid:
        for first in range(0, spec.patients, batch_size):
            out.append(Batch(len(out), point.index, first, min(spec.patients, first + batch_size)))
    return out


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


def _count(n: int, noun: str) -> str:
    """``1 batch``, ``3 batches``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith('ch') else 's'}"


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
    progress: bool | str = False,
    parquet: bool | None = None,
    keep_rows: bool = False,
    on_batch: Callable[[int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    by: list[str] | None = None,
    progress_every_s: float = 30.0,
) -> SweepResult:
    """Run (or resume) a sweep into ``out_dir`` and assemble its outputs.

    ``progress``: True draws a bar on stderr (a terminal), ``"lines"`` writes progress lines to
    stderr (off a terminal); ``run.log`` gets the lines either way (at least every 10 % of the
    patients or ``progress_every_s``, whichever is later) and says why a run stopped. ``by``:
    ``--by`` breakdowns (``KEY`` or ``KEY:0,200,400``). ``on_batch(index)`` is called after each
    batch is stored (a progress or test hook). Ctrl-C (or a KeyboardInterrupt from the hook)
    and SIGTERM (the CLI's Terminated) stop the sweep with SweepInterrupted; any other
    exception stops it too and propagates. Either way the workers are ended at once and
    finished batches stay stored. ``warn(line)`` hears of each stored batch found damaged on a
    resume (it is computed again); run.log gets the line too.
    """
    from pumpsim.studies.sweep.dask_endpoint import check_scheduler
    from pumpsim.studies.sweep.executors import (
        DaskExecutor,
        LocalPoolExecutor,
        SerialExecutor,
        default_workers,
    )
    from pumpsim.studies.sweep.progress import Progress, ProgressLines

    by_keys = [parse_by(option, spec) for option in by or ()]  # bad --by: before any patient
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
        f"start {spec.name}: {_count(len(batches), 'batch')} of {size} patients, "
        f"{len(done)} already done; executor {executor.name}, "
        f"{_count(executor.workers, 'worker')}",
    )
    patients_done = sum(b.stop - b.first for b in batches if b.index in done)
    total = spec.patients * len(spec.grid)
    bar = Progress(total, patients_done, enabled=progress is True)
    lines = ProgressLines(
        total,
        patients_done,
        log=lambda line: _log(out_dir, line),
        stream=_to_stderr if progress == "lines" else None,
        every_s=progress_every_s,
    )
    window = max(2, 2 * executor.workers)
    queue = iter(todo)
    inflight: dict[Any, Batch] = {}
    finished = len(done)
    ran: list[tuple[int, Batch]] = []
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
                result = future.result()
                store.save(result)
                ran.append((len(result.rows), b))  # a row per patient simulated (not skipped)
                finished += 1
                bar.update(b.stop - b.first)
                lines.update(b.stop - b.first)
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
            f"stopped after {elapsed:.2f} s: {finished} of {len(batches)} batches done; "
            f"why: {_why(exc)}",
        )
        if isinstance(exc, KeyboardInterrupt | Terminated):
            raise SweepInterrupted(
                finished, len(batches), terminated=isinstance(exc, Terminated)
            ) from None
        raise
    finally:
        if not stopped:
            bar.close()
            lines.close()
            executor.close()
    elapsed = time.monotonic() - started
    computed = sum(n for n, _ in ran)
    skipped = sum(b.stop - b.first for b in todo) - computed
    years = sum(n * spec.grid[b.grid].duration_h for n, b in ran) / HOURS_PER_YEAR
    _log(
        out_dir,
        f"simulated {computed} patients ({years:.1f} patient-years) in {elapsed:.2f} s"
        + (f" = {years / elapsed:.0f} patient-years/s" if elapsed > 0 and computed else "")
        + (f"; {skipped} skipped (invalid draws, on_invalid: skip)" if skipped else ""),
    )
    use_parquet = have_pyarrow() if parquet is None else parquet
    try:
        result = assemble(spec, store, batches, out_dir, use_parquet, keep_rows, by_keys)
    except (KeyboardInterrupt, Terminated, Exception) as exc:
        _log(
            out_dir, f"stopped while writing the outputs (every batch is stored); why: {_why(exc)}"
        )
        raise
    _log(out_dir, f"assembled {result.table_path}, summary.json and risk.csv; finished")
    return result


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _why(exc: BaseException) -> str:
    """Why a run stopped, in one line, for run.log."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C or a signal)"
    if isinstance(exc, Terminated):
        return "terminated (SIGTERM)"
    if isinstance(exc, ScenarioError):
        return f"invalid input: {exc}"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
