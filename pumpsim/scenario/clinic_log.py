"""Clinic logs (contract section 7): a clinic's CSV export → scenario events and expectations.

One row per clinic event, a header row, units in the column names, an empty cell meaning "not
recorded". UTF-8 with or without a byte-order mark, LF or CRLF, cells quoted as spreadsheets
export them. A date-only cell is 00:00 on the clock of ``start:``; a time without an offset is on
the start's offset. Rows may come in any order (same-instant rows keep file order).

Every recorded measurement becomes an expectation (``residual_expected_ml``,
``residual_withdrawn_ml``, ``alarm_date`` at the row's instant), each with its own result line.

A bad row is invalid input: one ScenarioError naming the CSV file, the row's physical line (the
header is line 1) and the column. The whole file is read and checked before anything is used:
nothing is half-read.

This module reads the file and maps errors about the scenario's ``events``/``expect`` back onto
the row they came from. The columns and their cells are in ``log_columns``, a row's event and
expectations in ``log_rows``; their public names are re-exported here.
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass, field
from typing import Any

from pumpsim.errors import ScenarioError, raise_all
from pumpsim.model.clock import Clock
from pumpsim.scenario.checks import refill_overfills
from pumpsim.scenario.clinic_log_columns import (
    COLUMNS,
    EVENT_KINDS,
    KEY_COLUMN,
    RowOrigin,
)
from pumpsim.scenario.clinic_log_rows import read_row
from pumpsim.scenario.clinic_log_schema import clinic_log_json_schema
from pumpsim.scenario.yamlsafe import read_text_file

__all__ = [
    "COLUMNS",
    "EVENT_KINDS",
    "EXPECTED_RESIDUAL_TOLERANCE_ML",
    "MAX_LOG_BYTES",
    "ClinicLog",
    "RowOrigin",
    "clinic_log_json_schema",
    "parse_clinic_log",
    "read_clinic_log",
]

MAX_LOG_BYTES = 5_000_000

#: The simulated estimate must match a recorded ``residual_expected_ml`` within this (contract 7).
EXPECTED_RESIDUAL_TOLERANCE_ML = 0.05


@dataclass
class ClinicLog:
    """A read clinic log: raw event and expectation mappings, ready to join a scenario's data."""

    file: str
    events: list[dict[str, Any]] = field(default_factory=list)
    expectations: list[dict[str, Any]] = field(default_factory=list)
    origins: list[RowOrigin] = field(default_factory=list)  # one per event
    expect_origins: list[RowOrigin] = field(default_factory=list)  # one per expectation

    def relocate(
        self, exc: ScenarioError, first_event: int, first_expect: int = 0
    ) -> ScenarioError | None:
        """Map an error about ``events[i]``/``expect[i]`` from this log onto its row."""
        path = exc.path
        if len(path) < 2 or path[0] not in ("events", "expect") or not isinstance(path[1], int):
            return None
        if path[0] == "expect":
            i = path[1] - first_expect
            if not 0 <= i < len(self.expect_origins):
                return None
            column = str(path[2]) if len(path) > 2 else None
            return self.expect_origins[i].error(exc.message, column)
        i = path[1] - first_event
        if not 0 <= i < len(self.origins):
            return None
        key = str(path[2]) if len(path) > 2 else None
        column = None if key is None else KEY_COLUMN.get(key, key)
        if len(path) > 3 and path[2] == "therapy":
            column = "flex_steps" if "steps" in path else "dose_mcg_per_day"
        return self.origins[i].error(exc.message, column)

    def set_aside(
        self, data: dict[str, Any], path: tuple[object, ...], first_event: int, first_expect: int
    ) -> None:
        """Drop the event or expectation at ``path`` (one of this log's, already reported) from
        the scenario data and from this log, so that the other rows can be checked too."""
        key, index = path[0], path[1]
        assert isinstance(index, int)
        if key == "events":
            del data["events"][index]
            del self.origins[index - first_event]
        else:
            del data["expect"][index]
            del self.expect_origins[index - first_expect]


def read_clinic_log(
    path: str,
    clock: Clock,
    end_h: float | None,
    *,
    shown: str | None = None,
    reservoir_ml: float | None = None,
) -> ClinicLog:
    """Read and check a whole clinic log. Raises ScenarioError (file, line, column).

    ``reservoir_ml``: the scenario's reservoir, so that a refill larger than the pump holds is
    reported with the other bad rows (a new pump's ``reservoir_ml`` takes over after it)."""
    name = shown or path
    try:  # regular files only (a FIFO is never opened), size cap, UTF-8 with or without BOM
        text = read_text_file(path, limit=MAX_LOG_BYTES)
    except ScenarioError as exc:
        message = exc.message.replace("no such file", "no such clinic log").replace(
            "not a scenario file", "not a clinic log"
        )
        raise ScenarioError(message, file=name, line=exc.line) from None
    return parse_clinic_log(text, name, clock, end_h, reservoir_ml=reservoir_ml)


def parse_clinic_log(
    text: str,
    file: str,
    clock: Clock,
    end_h: float | None,
    *,
    reservoir_ml: float | None = None,
) -> ClinicLog:
    """Parse clinic-log CSV text (see the module docstring).

    Every bad row is reported, in file order (``ScenarioErrors``: up to 50 lines, then ``... and
    N more``); two rows of the same event kind at the same instant are a duplicate naming both
    lines (notes excepted). A file whose first row names none of the required columns is "not a
    clinic log", refused without quoting any of its contents (it may be any file: a credentials
    file named by mistake).
    """
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for cells in reader:
            rows.append((line, cells))
            line = reader.line_num + 1
    except csv.Error:
        # csv's message may quote the file; whatever the file is, its text is not echoed
        raise ScenarioError(
            "unreadable CSV (an unclosed quote or a stray quote character)",
            file=file,
            line=reader.line_num,
        ) from None
    rows = [(n, cells) for n, cells in rows if any(c.strip() for c in cells)]
    if not rows:
        raise ScenarioError("clinic log is empty: expected a header row", file=file, line=1)
    header_line, header = rows[0]
    columns = _header(header, file, header_line)
    parsed: list[tuple[float, int, dict[str, Any] | None, list[dict[str, Any]], RowOrigin]] = []
    errors: list[ScenarioError] = []
    first_of: dict[tuple[str, float], int] = {}  # (event kind, instant) -> line of its first row
    for order, (n, cells) in enumerate(rows[1:]):
        origin = RowOrigin(file, n)
        try:
            if len(cells) > len(columns):
                raise origin.error(
                    f"row has {len(cells)} cells but the header names {len(columns)} columns", None
                )
            row = {c: v.strip() for c, v in zip(columns, cells, strict=False) if v.strip()}
            hours, event, expects = read_row(row, origin, clock, end_h)
        except ScenarioError as exc:
            errors.append(exc)
            continue
        kind = row["event"].lower()
        if kind != "note":
            key = (kind, round(hours * 3600.0, 3))  # same instant: dates to the millisecond
            if key in first_of:
                errors.append(
                    origin.error(
                        f"duplicate {kind} at {clock.label(hours)}: line {first_of[key]} "
                        f"records a {kind} at the same instant (lines {first_of[key]} and {n})",
                        "date",
                    )
                )
                continue
            first_of[key] = n
        parsed.append((hours, order, event, expects, origin))
    parsed.sort(key=lambda r: (r[0], r[1]))
    if errors and reservoir_ml is not None:
        # rows bad in themselves stop the log here: overfilled refills join them (else the
        # device checks after reading report those, with the rest they find)
        errors += _overfilled(parsed, reservoir_ml)
        errors.sort(key=lambda e: e.line or 0)
    raise_all(errors)
    log = ClinicLog(file)
    visited: set[float] = set()  # instants with an event row above (in file order)
    for hours, _, event, expects, origin in parsed:
        instant = round(hours * 3600.0, 3)
        if event is not None:
            visited.add(instant)
            log.events.append(event)
            log.origins.append(origin)
        elif instant in visited:  # a note below a visit of its instant: after what was done
            for exp in expects:
                exp["after_events"] = True
        log.expectations.extend(expects)
        log.expect_origins.extend(origin for _ in expects)
    return log


def _overfilled(parsed: list[Any], size_ml: float) -> list[ScenarioError]:
    """Refills larger than the reservoir in place then (rows in time order)."""

    found = []
    for _, _, event, _, origin in parsed:
        if event is None:
            continue
        if event["type"] == "pump_replacement":
            size_ml = event.get("reservoir_ml", size_ml)
        volume = event.get("volume_ml")
        if event["type"] == "refill" and isinstance(volume, int | float):
            overfill = refill_overfills(volume, size_ml)
            if overfill is not None:
                found.append(origin.error(overfill, "volume_injected_ml"))
    return found


def _header(header: list[str], file: str, line: int) -> list[str]:
    """The header's columns; every unknown or repeated column is reported at once."""
    columns = [h.strip() for h in header]
    if not {"date", "event"} & {c.lower() for c in columns}:
        raise ScenarioError(
            "not a clinic log: its first row names none of the required columns (date, event); "
            "a clinic log is a CSV file with a header row such as date,event,volume_injected_ml",
            file=file,
            line=line,
        )
    errors: list[ScenarioError] = []
    seen: set[str] = set()
    suggested: set[str] = set()  # a typo's did-you-mean already explains its missing column
    for col in columns:
        if col not in COLUMNS:
            close = difflib.get_close_matches(col, list(COLUMNS), n=1, cutoff=0.6)
            suggested.update(close)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(COLUMNS)})"
            errors.append(
                ScenarioError(
                    f"column {col or '(empty)'}: unknown column {col!r}{hint}", file=file, line=line
                )
            )
        elif col in seen:
            errors.append(
                ScenarioError(f"column {col}: appears twice in the header", file=file, line=line)
            )
        seen.add(col)
    for required in ("date", "event"):
        if required not in seen and required not in suggested:
            errors.append(
                ScenarioError(
                    f"column {required}: required column is missing from the header",
                    file=file,
                    line=line,
                )
            )
    raise_all(errors)
    return columns
