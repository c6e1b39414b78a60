"""Monte Carlo fleet sweeps (contract section 8): ``pumpsim sweep`` and ``pumpsim.sweep``.

Modules: ``spec`` (the sweep file), ``distributions``, ``streams`` (seeded per patient and
stream), ``faults`` and ``clinic`` (fault streams and the synthetic clinic on the engine's
clinic hook), ``variants`` (checked scenario variants), ``patient`` (one patient, one batch),
``executors`` (serial, local processes, Dask), ``store`` (resume), ``table`` and ``summary``
(outputs), ``runner`` (all of it), ``plot``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import types
from typing import Any


def sweep(
    sweep_file: str,
    out: str | None = None,
    *,
    workers: int | None = None,
    dask: Any = None,
    batch_size: int | None = None,
    fresh: bool = False,
    patients: int | None = None,
    parquet: bool | None = None,
    progress: bool = False,
    on_batch: Any = None,
    by: list[str] | None = None,
) -> Any:
    """Run (or resume) a sweep file and return a ``SweepResult``.

    ``result.patients`` is the per-patient table (a list of column -> value mappings, in
    grid-point then patient order) and ``result.summary`` the summary document. ``out`` is the
    output folder (default: a temporary folder, removed afterwards). ``workers`` defaults to
    the core count; ``dask`` is ``"local"``, a scheduler address or a ``dask.distributed.Client``;
    ``patients`` overrides the sweep file's count; ``by`` lists breakdowns (``"KEY"`` or
    ``"KEY:0,200,400"``, as ``--by``). Raises ScenarioError for bad input and
    ``SweepInterrupted`` when stopped (re-run to resume).
    """
    from pumpsim.studies.sweep.runner import run_sweep
    from pumpsim.studies.sweep.spec import load_sweep

    overrides = {"patients": patients} if patients is not None else None
    spec = load_sweep(sweep_file, overrides)
    kwargs = {
        "workers": workers,
        "dask": dask,
        "batch_size": batch_size,
        "fresh": fresh,
        "parquet": parquet,
        "progress": progress,
        "keep_rows": True,
        "on_batch": on_batch,
        "by": by,
    }
    if out is not None:
        return run_sweep(spec, out, **kwargs)
    with tempfile.TemporaryDirectory(prefix="pumpsim-sweep-") as tmp:
        return run_sweep(spec, os.path.join(tmp, "out"), **kwargs)


__all__ = ["sweep"]


class _CallableModule(types.ModuleType):
    """This package is also the function ``pumpsim.sweep(file, out)``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
