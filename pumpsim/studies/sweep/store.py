"""The resume store: finished batches on disk, keyed by the sweep fingerprint and batch index.

Layout of the output folder ``DIR``::

    DIR/sweep.json                       which sweep this folder holds (fingerprint, batch size)
    DIR/batches/<fingerprint>-<size>/batch-000042.json   one finished batch, written atomically
    DIR/patients.parquet | patients.csv, DIR/flags.*, DIR/summary.json, DIR/run.log

A batch file is written to a temporary name and renamed, so a sweep killed at any moment leaves
only whole batches; a re-run skips them. A folder holding another sweep is refused unless the
caller starts fresh.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

from pumpsim.errors import ScenarioError
from pumpsim.files import write_output
from pumpsim.studies.sweep.patient import BatchResult

MANIFEST = "sweep.json"
#: Files a sweep writes in its folder (``fresh`` removes these and nothing else).
OUTPUTS = (
    "patients.parquet",
    "patients.csv",
    "flags.parquet",
    "flags.csv",
    "summary.json",
    "survival.png",
    "risk.png",
    "risk.csv",
    "columns.csv",
    "run.log",
)


class BatchStore:
    """Finished batches of one sweep in one output folder."""

    def __init__(self, out_dir: str, fingerprint: str, batch_size: int, name: str) -> None:
        self.out_dir = out_dir
        self.fingerprint = fingerprint
        self.batch_size = batch_size
        self.name = name
        self.folder = os.path.join(out_dir, "batches", f"{fingerprint[:16]}-{batch_size}")

    def open(self, fresh: bool) -> None:
        """Create the folder, or check that it holds this sweep (``fresh``: start over)."""
        manifest = os.path.join(self.out_dir, MANIFEST)
        if fresh:
            self.clear()
        elif os.path.exists(manifest):
            try:
                with open(manifest, encoding="utf-8") as fh:
                    held = json.load(fh)
            except (OSError, ValueError):
                held = {}
            if held.get("fingerprint") != self.fingerprint:
                raise ScenarioError(
                    f"{self.out_dir} holds results of another sweep "
                    f"({held.get('name', '?')}, fingerprint {str(held.get('fingerprint'))[:12]}); "
                    "the sweep file, its base scenario or pumpsim changed: use --fresh to start "
                    "over, or another --out folder",
                    file=self.out_dir,
                )
        elif os.path.isdir(self.out_dir) and os.listdir(self.out_dir):
            raise ScenarioError(
                "folder is not empty and holds no sweep: choose an empty or new --out folder",
                file=self.out_dir,
            )
        os.makedirs(self.folder, exist_ok=True)
        body = {"name": self.name, "fingerprint": self.fingerprint}
        write_output(manifest, json.dumps(body, indent=2) + "\n", what="the sweep manifest")

    def clear(self) -> None:
        """Remove this sweep's files from the folder (batches, outputs, manifest)."""
        shutil.rmtree(os.path.join(self.out_dir, "batches"), ignore_errors=True)
        for name in (*OUTPUTS, MANIFEST):
            path = os.path.join(self.out_dir, name)
            if os.path.exists(path):
                os.unlink(path)

    def path(self, index: int) -> str:
        """The file of one batch."""
        return os.path.join(self.folder, f"batch-{index:06d}.json")

    def done(self) -> set[int]:
        """Indices of the batches already finished."""
        found = set()
        if not os.path.isdir(self.folder):
            return found
        for name in os.listdir(self.folder):
            if name.startswith("batch-") and name.endswith(".json"):
                found.add(int(name[6:-5]))
        return found

    def save(self, result: BatchResult) -> None:
        """Store one finished batch atomically."""
        body = {
            "index": result.index,
            "rows": result.rows,
            "flags": result.flags,
            "hazards": result.hazards,
        }
        text = json.dumps(body, separators=(",", ":"), allow_nan=False)
        write_output(self.path(result.index), text, what="a finished batch")

    def load(self, index: int) -> tuple[list[list[Any]], list[list[Any]], list[list[Any]]]:
        """The rows, flag records and hazard records of one finished batch."""
        with open(self.path(index), encoding="utf-8") as fh:
            body = json.load(fh)
        return body["rows"], body["flags"], body.get("hazards", [])
