"""The resume store: finished batches on disk, keyed by the sweep fingerprint and batch index.

Layout of the output folder ``DIR``::

    DIR/sweep.json                       which sweep this folder holds (fingerprint, batch size)
    DIR/batches/<fingerprint>-<size>/batch-000042.json   one finished batch, written atomically
    DIR/patients.parquet | patients.csv, DIR/flags.*, DIR/summary.json, DIR/run.log

A batch file is written to a temporary name and renamed, so a sweep killed at any moment leaves
only whole batches; a re-run skips them. Its first line holds the SHA-256 of the rest, and a
re-run checks every stored batch against it (and its patient count) before trusting it: a
damaged, truncated or emptied batch is computed again, never assembled. A folder holding
another sweep is refused unless the caller starts fresh.
"""

from __future__ import annotations

import contextlib
import hashlib
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

    def stored(self) -> set[int]:
        """Indices of the batch files in the folder (not yet checked)."""
        found: set[int] = set()
        if not os.path.isdir(self.folder):
            return found
        for name in os.listdir(self.folder):
            number = name[6:-5]
            if name.startswith("batch-") and name.endswith(".json") and number.isdigit():
                found.add(int(number))
        return found

    def done(self, patients: dict[int, int]) -> tuple[set[int], list[tuple[int, str]]]:
        """The finished batches among ``patients`` ({index: patients in it}) that are intact,
        and (index, what is wrong) for each damaged one, whose file is removed."""
        good, damaged = set(), []
        for index in sorted(self.stored() & set(patients)):
            why = self._damage(index, patients[index])
            if why is None:
                good.add(index)
            else:
                damaged.append((index, why))
                self.discard(index)
        return good, damaged

    def discard(self, index: int) -> None:
        """Remove one batch file (a damaged one, to be computed again)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(index))

    def save(self, result: BatchResult) -> None:
        """Store one finished batch atomically, its checksum on the first line."""
        body = {
            "index": result.index,
            "rows": result.rows,
            "flags": result.flags,
            "hazards": result.hazards,
        }
        payload = json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")
        header = json.dumps({"sha256": hashlib.sha256(payload).hexdigest()}).encode("ascii")
        write_output(self.path(result.index), header + b"\n" + payload, what="a finished batch")

    def _read(self, index: int) -> tuple[dict[str, Any] | None, str | None]:
        """(body, None) of an intact batch file, or (None, what is wrong with it)."""
        try:
            with open(self.path(index), "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            return None, f"cannot be read: {exc.strerror or exc}"
        head, newline, payload = raw.partition(b"\n")
        try:
            expected = json.loads(head)["sha256"] if newline else None
        except (ValueError, TypeError, KeyError):
            expected = None
        if not isinstance(expected, str):
            return None, "no checksum line (empty, cut short, or not a batch file)"
        if hashlib.sha256(payload).hexdigest() != expected:
            return None, "checksum mismatch (changed or cut short)"
        try:
            body = json.loads(payload)
        except ValueError:
            return None, "not JSON"
        if not isinstance(body, dict) or body.get("index") != index:
            return None, "holds another batch"
        if not all(isinstance(body.get(key), list) for key in ("rows", "flags", "hazards")):
            return None, "no rows"
        return body, None

    def _damage(self, index: int, patients: int) -> str | None:
        body, why = self._read(index)
        if body is not None and len(body["rows"]) != patients:
            return f"{len(body['rows'])} patients instead of {patients}"
        return why

    def load(self, index: int) -> tuple[list[list[Any]], list[list[Any]], list[list[Any]]]:
        """The rows, flag records and hazard records of one finished batch (checked again as
        it is read)."""
        body, why = self._read(index)
        if body is None:
            self.discard(index)
            raise ScenarioError(
                f"batch {index} was damaged after the run checked it ({why}); it is removed: "
                "run the same command again to compute it again",
                file=self.path(index),
            )
        return body["rows"], body["flags"], body["hazards"]
