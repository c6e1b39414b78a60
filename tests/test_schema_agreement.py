"""One definition of validity (contract section 11): the published JSON Schemas accept what
``pumpsim validate`` accepts, and refuse what it refuses, wherever a JSON Schema can say it.

Every shipped scenario, every clinic log in the repository and a set of invalid files go through
both ``pumpsim validate`` and a JSON Schema validator with format checking (jsonschema's
Draft 2020-12 validator with its format checker, as check-jsonschema runs it); the verdicts must be
the same. YAML is read as the tool reads it, dates written back as text the way check-jsonschema
does; a clinic-log row is an object of its cells (``""`` for an empty one), as csv.DictReader
gives it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from pumpsim.cli import main
from pumpsim.errors import ScenarioError
from pumpsim.model.units import DurationError, parse_duration_h
from pumpsim.scenario import grammar
from pumpsim.scenario.clinic_log import clinic_log_json_schema
from pumpsim.scenario.dates import InstantError, calendar_value
from pumpsim.scenario.schema import scenario_json_schema
from pumpsim.scenario.yamlsafe import load_yaml_text

ROOT = Path(__file__).resolve().parent.parent


def validator(schema: dict) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


SCENARIO_SCHEMA = validator(scenario_json_schema())
ROW_SCHEMA = validator(clinic_log_json_schema())


def as_json(value):
    """What check-jsonschema hands the validator: YAML timestamps as ISO text."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def schema_accepts_scenario(text: str) -> bool:
    try:
        data = load_yaml_text(text, "s.yaml").data
    except ScenarioError:
        return False  # not YAML at all: no validator gets as far as the schema
    return SCENARIO_SCHEMA.is_valid(as_json(data))


def schema_accepts_log(text: str) -> bool:
    rows = list(csv.DictReader(io.StringIO(text)))
    return all(ROW_SCHEMA.is_valid({k: v for k, v in r.items() if k is not None}) for r in rows)


def tool_accepts(tmp_path: Path, scenario: str, log: str | None = None) -> bool:
    (tmp_path / "s.yaml").write_text(scenario, encoding="utf-8")
    if log is not None:
        (tmp_path / "log.csv").write_text(log, encoding="utf-8")
    code = main(["validate", str(tmp_path / "s.yaml")])
    assert code in (0, 2)
    return code == 0


# -- scenarios ----------------------------------------------------------------------------------

SHIPPED = sorted(p for p in [*ROOT.glob("scenarios/*.yaml"), *ROOT.glob("scenarios/replay/*.yaml")])

BASE = """\
name: agree
duration: 100d
drug: {concentration_mcg_per_ml: 2000}
therapy: {dose_mcg_per_day: 400}
"""

VALID_SCENARIOS = {
    "date-only start": BASE + "start: 2025-01-06\n",
    "its own default start": BASE + "start: 2026-01-01T00:00:00\n",
    "start without seconds": BASE + "start: 2025-01-06T08:00\n",
    "start with a space": BASE + "start: '2025-01-06 08:00'\n",
    "start with an offset": BASE + "start: 2025-01-06T08:00+01:00\n",
    "start Z": BASE + "start: 2025-01-06T08:00Z\n",
    "start in a zone": BASE + "start: 2025-01-06T08:00 Europe/Paris\n",
    "date in a zone": BASE + "start: 2025-01-06 America/New_York\n",
    "leap day": BASE + "start: 2024-02-29\n",
    "iso weeks": BASE.replace("100d", "P2W"),
    "iso days and hours": BASE.replace("100d", "P90DT6H"),
    "compact parts": BASE.replace("100d", "2d 6h 30min"),
    "calendar instant": BASE + "events: [{at: 2026-02-01T09:30, type: catheter_repair}]\n",
    "exponent with a dot": BASE.replace("2000", "2.0e+3"),
    "flex days": BASE.replace(
        "therapy: {dose_mcg_per_day: 400}",
        "therapy:\n  mode: flex\n  days:\n"
        + "".join(
            f"    {d}: [{{at: '00:00', dose_mcg_per_hour: 10}}, {{at: '8:00', dose_mcg_per_hour: 20}}]\n"
            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        ),
    ),
    "missed refill without volume": BASE + "events: [{at: 50d, type: refill, missed: true}]\n",
    "leak with its fraction": BASE
    + "events: [{at: 5d, type: catheter_fault, kind: leak, delivered_fraction: 0.5}]\n",
    "expectations of every shape": BASE + "expect:\n"
    "  - {alarm: low_reservoir, first_at: 90d, tolerance: 1min}\n"
    "  - {flag: abrupt_discontinuation, never: true, cause: minimum_rate}\n"
    "  - {flag: abrupt_discontinuation, first_within: [2026-03-01, 95d]}\n"
    "  - {alarm: empty_reservoir, count: 1, never: null}\n"
    "  - {reservoir_estimated_ml: 10, at: 50d, tolerance: 0.01}\n"
    "  - {residual_expected_ml: 10, at: 50d}\n"
    "  - {alarm_date: 2026-04-01, at: 2026-01-05}\n",
    "injury level written loosely": BASE + "patient: {injury_level: t-4}\n",
    "null keys": BASE + "pump: {initial_volume_ml: null}\nclinic_log: null\n",
}

INVALID_SCENARIOS = {
    "months": BASE.replace("100d", "P18M"),
    "years": BASE.replace("100d", "P1Y"),
    "bare number duration": BASE.replace("100d", "100"),
    "zero duration": BASE.replace("100d", "0d"),
    "empty iso": BASE.replace("100d", "PT"),
    "first_at soon": BASE + "expect: [{alarm: low_reservoir, first_at: soon}]\n",
    "impossible date": BASE + "expect: [{alarm: low_reservoir, first_at: '2026-02-30'}]\n",
    "not a leap year": BASE + "start: '2025-02-29'\n",
    "hour 24": BASE + "start: '2025-01-06T24:00'\n",
    "offset minutes 60": BASE + "start: '2025-01-06T08:00+01:60'\n",
    "zone and offset": BASE + "start: 2025-01-06T08:00+01:00 Europe/Paris\n",
    "unknown zone": BASE + "start: 2025-01-06 Mars/Olympus\n",
    "two spaces before the zone": BASE + "start: 2025-01-06  Europe/Paris\n",
    "no predicate": BASE + "expect: [{alarm: low_reservoir}]\n",
    "two predicates": BASE + "expect: [{alarm: low_reservoir, never: true, count: 0}]\n",
    "two targets": BASE + "expect: [{alarm: low_reservoir, flag: overdose_risk, never: true}]\n",
    "value without at": BASE + "expect: [{reservoir_true_ml: 3}]\n",
    "value with a predicate": BASE + "expect: [{reservoir_true_ml: 3, at: 5d, never: true}]\n",
    "alarm with a cause": BASE + "expect: [{alarm: eri, never: true, cause: catheter}]\n",
    "alarm tolerance as a number": BASE + "expect: [{alarm: eri, first_at: 5d, tolerance: 5}]\n",
    "alarm date with a tolerance": BASE
    + "expect: [{alarm_date: 2026-04-01, at: 5d, tolerance: 1}]\n",
    "alarm date as a date-time": BASE + "expect: [{alarm_date: '2026-04-01T00:00', at: 5d}]\n",
    "refill without volume": BASE + "events: [{at: 50d, type: refill}]\n",
    "kink without fraction": BASE + "events: [{at: 5d, type: catheter_fault, kind: kink}]\n",
    "unknown event type": BASE + "events: [{at: 5d, type: explosion}]\n",
    "flex without steps": BASE.replace("{dose_mcg_per_day: 400}", "{mode: flex}"),
    "flex with a daily dose": BASE.replace(
        "{dose_mcg_per_day: 400}",
        "{mode: flex, dose_mcg_per_day: 400, steps: [{at: '00:00', dose_mcg_per_hour: 1}]}",
    ),
    "flex day not from midnight": BASE.replace(
        "{dose_mcg_per_day: 400}", "{mode: flex, steps: [{at: '01:00', dose_mcg_per_hour: 1}]}"
    ),
    "step at 24:00": BASE.replace(
        "{dose_mcg_per_day: 400}",
        "{mode: flex, steps: [{at: '00:00', dose_mcg_per_hour: 1}, "
        "{at: '24:00', dose_mcg_per_hour: 2}]}",
    ),
    "continuous with steps": BASE.replace(
        "{dose_mcg_per_day: 400}",
        "{dose_mcg_per_day: 400, steps: [{at: '00:00', dose_mcg_per_hour: 1}]}",
    ),
    "flex days missing sunday": BASE.replace(
        "therapy: {dose_mcg_per_day: 400}",
        "therapy:\n  mode: flex\n  days:\n"
        + "".join(
            f"    {d}: [{{at: '00:00', dose_mcg_per_hour: 10}}]\n"
            for d in ("mon", "tue", "wed", "thu", "fri", "sat")
        ),
    ),
    "name in capitals": BASE.replace("name: agree", "name: Agree"),
    "quoted number": BASE.replace("2000", "'2000'"),
    "quoted boolean": BASE + "patient: {prior_withdrawal: 'true'}\n",
    "number for a boolean": BASE + "patient: {prior_withdrawal: 1}\n",
    "quoted seed": BASE + "seed: '3'\n",
    "negative volume": BASE + "pump: {initial_volume_ml: -1}\n",
    "threshold of one": BASE + "risk: {threshold: 1}\n",
    "injury level X9": BASE + "patient: {injury_level: X9}\n",
    "unknown key": BASE + "pumpp: {reservoir_ml: 20}\n",
    "missing drug": BASE.replace("drug: {concentration_mcg_per_ml: 2000}\n", ""),
    "blank clinic log": BASE + "clinic_log: '  '\n",
    "accuracy as text": BASE + "pump: {accuracy: '0.1'}\n",
    "an exponent YAML 1.1 reads as text": BASE.replace("2000", "2e3"),
}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_scenario_is_valid_for_both(path, capsys):
    text = path.read_text(encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    capsys.readouterr()
    assert schema_accepts_scenario(text)


@pytest.mark.parametrize("name", sorted(VALID_SCENARIOS))
def test_valid_scenarios_agree(tmp_path, capsys, name):
    text = VALID_SCENARIOS[name]
    assert tool_accepts(tmp_path, text), capsys.readouterr().err
    assert schema_accepts_scenario(text)


@pytest.mark.parametrize("name", sorted(INVALID_SCENARIOS))
def test_invalid_scenarios_agree(tmp_path, capsys, name):
    text = INVALID_SCENARIOS[name]
    assert not tool_accepts(tmp_path, text)
    capsys.readouterr()
    assert not schema_accepts_scenario(text)


# -- clinic logs --------------------------------------------------------------------------------

WRAPPER = """\
name: wrapper
duration: 100y
start: 2000-01-01
pump: {reservoir_ml: 40}
drug: {concentration_mcg_per_ml: 2000}
therapy: {dose_mcg_per_day: 400}
clinic_log: log.csv
"""
HEADER = (
    "date,event,residual_expected_ml,residual_withdrawn_ml,volume_injected_ml,"
    "concentration_mcg_per_ml,bridge_bolus,pocket_fraction,dose_mcg_per_day,mode,flex_steps,"
    "alarm_date,dose_mcg,duration,kind,delivered_fraction,recovery_delay,reservoir_ml,note\n"
)


def row(**cells: str) -> str:
    columns = HEADER.strip().split(",")
    return ",".join(cells.get(c, "") for c in columns) + "\n"


VALID_LOGS = {
    "capitalised event and padded cells": HEADER
    + row(date="2026-04-03", event="Refill", volume_injected_ml=" 20 ", alarm_date=" ")
    + row(date=" 2026-06-22 ", event="MISSED_REFILL"),
    "every kind of row": HEADER
    + row(
        date="2026-01-10",
        event="refill",
        volume_injected_ml="20",
        concentration_mcg_per_ml="3000",
        bridge_bolus="Yes",
        pocket_fraction="0.1",
        dose_mcg_per_day="300",
        mode="continuous",
    )
    + row(date="2026-01-11", event="reprogram", flex_steps="00:00=10; 8:00=30;")
    + row(date="2026-01-12", event="reprogram", mode="FLEX", flex_steps="0:00=50")
    + row(date="2026-01-13T10:30", event="bolus", dose_mcg="50", duration="2h")
    + row(date="2026-01-14", event="catheter_fault", kind="Kink", delivered_fraction="1")
    + row(date="2026-01-15", event="catheter_repair")
    + row(date="2026-01-16", event="mri", duration="1h", recovery_delay="0min")
    + row(date="2026-01-17", event="motor_stall", duration="30min")
    + row(date="2026-01-18", event="pump_replacement", volume_injected_ml="40", reservoir_ml="40")
    + row(date="2026-01-19", event="note", residual_expected_ml="12.5", note='"any, text"'),
}
INVALID_LOGS = {
    "impossible date": HEADER + row(date="2026-02-30", event="catheter_repair"),
    "hour 25": HEADER + row(date="2026-01-01T25:00", event="catheter_repair"),
    "unknown event": HEADER + row(date="2026-01-02", event="refil", volume_injected_ml="20"),
    "negative residual": HEADER
    + row(date="2026-01-02", event="refill", volume_injected_ml="20", residual_withdrawn_ml="-1"),
    "text for a number": HEADER + row(date="2026-01-02", event="refill", volume_injected_ml="abc"),
    "exponent": HEADER + row(date="2026-01-02", event="refill", volume_injected_ml="2e1"),
    "refill without volume": HEADER + row(date="2026-01-02", event="refill"),
    "bolus without duration": HEADER + row(date="2026-01-02", event="bolus", dose_mcg="5"),
    "zero bolus": HEADER + row(date="2026-01-02", event="bolus", dose_mcg="0", duration="1h"),
    "kink without fraction": HEADER + row(date="2026-01-02", event="catheter_fault", kind="kink"),
    "unknown fault kind": HEADER + row(date="2026-01-02", event="catheter_fault", kind="knot"),
    "fraction above one": HEADER
    + row(date="2026-01-02", event="refill", volume_injected_ml="20", pocket_fraction="1.5"),
    "reprogram without a programme": HEADER + row(date="2026-01-02", event="reprogram"),
    "flex with a daily dose": HEADER
    + row(
        date="2026-01-02",
        event="reprogram",
        mode="flex",
        dose_mcg_per_day="300",
        flex_steps="00:00=10",
    ),
    "continuous with steps": HEADER
    + row(date="2026-01-02", event="reprogram", mode="continuous", flex_steps="00:00=10"),
    "flex not from midnight": HEADER
    + row(date="2026-01-02", event="reprogram", flex_steps="01:00=10"),
    "bridge bolus maybe": HEADER
    + row(date="2026-01-02", event="refill", volume_injected_ml="20", bridge_bolus="maybe"),
    "alarm date not a leap day": HEADER
    + row(date="2026-01-02", event="refill", volume_injected_ml="20", alarm_date="2026-02-29"),
    "column not for this row": HEADER
    + row(date="2026-01-02", event="refill", volume_injected_ml="20", dose_mcg="5"),
    "bare number duration": HEADER + row(date="2026-01-02", event="motor_stall", duration="10"),
    "months": HEADER + row(date="2026-01-02", event="motor_stall", duration="P1M"),
    "missing date": HEADER + row(event="catheter_repair"),
    "unknown column": "date,event,volume\n2026-01-02,catheter_repair,\n",
}


@pytest.mark.parametrize("path", sorted(ROOT.glob("scenarios/**/*.csv")), ids=lambda p: p.name)
def test_every_shipped_log_is_valid_for_both(tmp_path, capsys, path):
    text = path.read_text(encoding="utf-8")
    assert tool_accepts(tmp_path, WRAPPER, text), capsys.readouterr().err
    assert schema_accepts_log(text)


@pytest.mark.parametrize("name", sorted(VALID_LOGS))
def test_valid_logs_agree(tmp_path, capsys, name):
    assert tool_accepts(tmp_path, WRAPPER, VALID_LOGS[name]), capsys.readouterr().err
    assert schema_accepts_log(VALID_LOGS[name])


@pytest.mark.parametrize("name", sorted(INVALID_LOGS))
def test_invalid_logs_agree(tmp_path, capsys, name):
    assert not tool_accepts(tmp_path, WRAPPER, INVALID_LOGS[name])
    capsys.readouterr()
    assert not schema_accepts_log(INVALID_LOGS[name])


def test_the_agreement_set_is_large_enough():
    n_valid = len(SHIPPED) + len(VALID_SCENARIOS) + len(VALID_LOGS) + 3
    n_invalid = len(INVALID_SCENARIOS) + len(INVALID_LOGS)
    assert n_valid >= 20 and n_invalid >= 20


def test_the_published_schemas_are_what_the_command_prints(capsys):
    assert main(["schema", "scenario"]) == 0
    assert json.loads(capsys.readouterr().out) == scenario_json_schema()
    assert main(["schema", "clinic-log"]) == 0
    assert json.loads(capsys.readouterr().out) == clinic_log_json_schema()


# -- the text forms: the reader and the pattern on generated strings ----------------------------

_DURATION_TEXT = st.one_of(
    st.from_regex(re.compile(grammar.DURATION), fullmatch=True),
    st.text(alphabet="0123456789.PTWDHMSYdhminswy -", max_size=12),
)


@settings(max_examples=400, deadline=None)
@given(_DURATION_TEXT)
def test_the_duration_pattern_is_the_reader(text):
    try:
        parse_duration_h(text)
        read = True
    except DurationError:
        read = False
    assert read == bool(re.match(grammar.DURATION, text)), text


_CALENDAR_TEXT = st.one_of(
    st.from_regex(re.compile(grammar.CALENDAR_VALUE), fullmatch=True),
    st.from_regex(re.compile(grammar.CALENDAR_SHAPE), fullmatch=True),
)


@settings(max_examples=400, deadline=None)
@given(_CALENDAR_TEXT)
def test_the_calendar_pattern_is_the_reader(text):
    try:
        read = calendar_value(text) is not None
    except InstantError:
        read = False
    assert read == bool(re.match(grammar.CALENDAR_VALUE, text)), text


@pytest.mark.parametrize(
    ("text", "ok"),
    [("2024-02-29", True), ("2000-02-29", True), ("1900-02-29", False), ("2025-02-29", False),
     ("2026-04-31", False), ("2026-12-31", True), ("0000-01-01", False), ("0001-01-01", True)],
)  # fmt: skip
def test_calendar_dates_by_hand(text, ok):
    assert bool(re.match(grammar.CALENDAR_VALUE, text)) is ok
