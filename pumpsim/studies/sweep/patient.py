"""Simulate one patient of a sweep, and a batch of them: draws, variant, run, one table row.

Everything a patient needs derives from (seed, patient index, stream name), so a patient's row
is the same whichever worker, batch or run computes it. The engine's result is read directly
(alarm and flag histories, the physical log); no result document is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pumpsim.model.engine import Engine
from pumpsim.model.record import RunRecord
from pumpsim.scenario.expect import AlarmName, FlagName
from pumpsim.scenario.resolve import setup_of
from pumpsim.studies.sweep.clinic import AlarmDate, SyntheticClinic
from pumpsim.studies.sweep.columns import grid_column
from pumpsim.studies.sweep.draws import patient_draw
from pumpsim.studies.sweep.hazard_map import hazard_records
from pumpsim.studies.sweep.spec import GridPoint, SweepSpec
from pumpsim.studies.sweep.streams import PatientStreams

ALARMS: tuple[str, ...] = AlarmName.__args__  # type: ignore[attr-defined]
FLAGS: tuple[str, ...] = FlagName.__args__  # type: ignore[attr-defined]
TALLIES = (
    "refills",
    "missed_refills",
    "alarm_visits",
    "pump_replacements",
    "catheter_faults",
    "motor_stalls",
    "pump_faults",
    "pocket_fills",
)
FIRST = (
    "first_abrupt_h",
    "first_abrupt_cause",
    "first_abrupt_alarmed",
    "first_abrupt_first_alarm",
    "first_abrupt_cause_to_flag_h",
)
#: Per-flag records (every abrupt-discontinuation flag): the summary's counts come from these.
FLAG_COLUMNS = (
    "grid",
    "patient",
    "start_h",
    "end_h",
    "cause",
    "alarmed",
    "first_alarm",
    "cause_to_flag_h",
    "severity",
)
#: Where each cause starts: (log, entry) read from the engine's physical log or alarm history.
CAUSE_ONSETS = {
    "catheter": ("physical", "catheter_fault"),
    "motor_stall": ("physical", "motor_stopped"),
    "pump_fault": ("physical", "pump_fault"),
    "reservoir_empty": ("physical", "reservoir_empty"),
    "end_of_service": ("alarm", "eos"),
    "minimum_rate": ("alarm", "empty_reservoir"),
}


def columns(spec: SweepSpec) -> tuple[str, ...]:
    """The patients table's columns, in order."""
    return (
        "grid",
        *(grid_column(spec, k) for k in spec.grid_keys),
        "patient",
        *(v.column for v in spec.vary),
        *(f"n_alarm_{a}" for a in ALARMS),
        *(f"n_flag_{f}" for f in FLAGS),
        *(f"n_{t}" for t in TALLIES),
        *redraw_columns(spec),
        *FIRST,
    )


def redraw_columns(spec: SweepSpec) -> tuple[str, ...]:
    """``n_redraws`` (how often the patient was drawn again) under ``on_invalid: redraw``."""
    return ("n_redraws",) if spec.on_invalid == "redraw" else ()


@dataclass
class BatchResult:
    """The rows and flag records of one batch (plain tuples: cheap to pickle and store)."""

    index: int
    rows: list[tuple[Any, ...]]
    flags: list[tuple[Any, ...]]
    hazards: list[tuple[Any, ...]] = field(default_factory=list)  # hazard_map.RECORD_COLUMNS


def _onset(run: RunRecord, cause: str, before_h: float) -> float | None:
    """When the cause of a flag raised at ``before_h`` began (its last onset by then)."""
    where = CAUSE_ONSETS.get(cause)
    if cause == "reprogramming":
        return before_h
    if where is None:
        return None
    log, name = where
    best = None
    if log == "physical":
        for entry in run.physical_log:
            if entry.t_h > before_h:
                break
            if entry.event == name:
                best = entry.t_h
    else:
        for rec in run.alarms:
            if rec.type == name and rec.start_h <= before_h:
                best = rec.start_h
    return best


def checked_variant(
    spec: SweepSpec, point: GridPoint, patient: int, streams: PatientStreams
) -> tuple[Any, list[Any]] | None:
    """Draw a patient's ``vary:`` values and build its checked scenario (and the draws), with
    ``on_invalid`` applied (None: the patient is skipped; see ``draws.patient_draw``).

    Raises ScenarioError naming the sweep file, the ``vary`` key and its line.
    """
    draw = patient_draw(spec, point, patient, streams)
    return None if draw is None else (draw.scenario, draw.drawn)


def simulate_patient(
    spec: SweepSpec, point: GridPoint, patient: int
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]]] | None:
    """One patient's row, abrupt-discontinuation flag records and hazard records (None: the
    patient is skipped under ``on_invalid: skip``)."""
    streams = PatientStreams(spec.seed, patient)
    draw = patient_draw(spec, point, patient, streams)
    if draw is None:
        return None
    scenario, drawn = draw.scenario, draw.drawn
    setup = setup_of(scenario)
    alarm_date = None
    if point.clinic is not None and point.clinic.book_before_alarm_h is not None:
        alarm_date = AlarmDate(setup)
    clinic = SyntheticClinic(
        point.clinic,
        point.faults,
        streams,
        setup.age_h,
        alarm_after_fill_h=alarm_date,
        initial_ml=scenario.pump.initial_volume_ml,
        pump_accuracy=setup.accuracy,
    )
    run = Engine(setup, clinic=clinic).run()

    alarm_counts = dict.fromkeys(ALARMS, 0)
    for rec in run.alarms:
        alarm_counts[rec.type] += 1
    flag_counts = dict.fromkeys(FLAGS, 0)
    records = []
    for flag in run.flags:
        flag_counts[flag.type] += 1
        if flag.type != "abrupt_discontinuation":
            continue
        onset = _onset(run, flag.cause, flag.start_h)
        records.append(
            (
                point.index,
                patient,
                flag.start_h,
                flag.end_h,
                flag.cause,
                bool(flag.alarmed),
                run.alarm_for(flag),
                None if onset is None else flag.start_h - onset,
                flag.severity,
            )
        )
    tally = clinic.tally
    first = records[0] if records else None
    row = (
        point.index,
        *(v for _, v in point.values),
        patient,
        *drawn,
        *(alarm_counts[a] for a in ALARMS),
        *(flag_counts[f] for f in FLAGS),
        *(getattr(tally, t) for t in TALLIES),
        *((draw.redraws,) if spec.on_invalid == "redraw" else ()),
        *(
            (first[2], first[4], first[5], first[6], first[7])
            if first is not None
            else (None, None, None, None, None)
        ),
    )
    return row, records, hazard_records(run, point.index, patient)


def simulate_batch(spec: SweepSpec, index: int, grid: int, first: int, stop: int) -> BatchResult:
    """Patients ``first``..``stop - 1`` of grid point ``grid`` (batch number ``index``)."""
    point = spec.grid[grid]
    rows, flags, hazards = [], [], []
    for patient in range(first, stop):
        done = simulate_patient(spec, point, patient)
        if done is None:  # skipped (on_invalid: skip)
            continue
        rows.append(done[0])
        flags.extend(done[1])
        hazards.extend(done[2])
    return BatchResult(index, rows, flags, hazards)
