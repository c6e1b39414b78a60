"""Mutated scenario files either load or give a ScenarioError; nothing else escapes."""

import contextlib
import copy
import io
import json
import math
import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pumpsim
from pumpsim.cli import main
from pumpsim.errors import ScenarioError
from pumpsim.scenario.build import parse_key_path

BASE = """\
name: fuzz
duration: 40d
start: 2026-03-01T06:00:00
pump: {reservoir_ml: 20, accuracy: 0.1, battery: {eri_at: 30d}}
drug: {concentration_mcg_per_ml: 2000}
catheter: {volume_ml: 0.2}
patient: {injury_level: T4, established: true}
therapy:
  mode: flex
  steps:
    - {at: "00:00", dose_mcg_per_hour: 10}
    - {at: "08:00", dose_mcg_per_hour: 20}
  ptm: {dose_mcg: 20, lockout: 3h, max_per_day: 4}
risk: {csf_half_life: 2h, threshold: 0.4}
events:
  - {at: 10d, type: refill, volume_ml: 15, concentration_mcg_per_ml: 1000, bridge_bolus: true}
  - {at: 12d, type: catheter_fault, kind: leak, delivered_fraction: 0.3, duration: 2d}
  - {at: 20d, type: mri, duration: 1h, recovery_delay: 2h}
  - {at: 21d, type: ptm_bolus}
  - {at: 25d, type: pump_fault, kind: low_battery_reset}
  - {at: 26d, type: pump_replacement, volume_ml: 20}
expect:
  - {alarm: low_reservoir, never: true}
  - {reservoir_true_ml: 10, at: 30d, tolerance: 20}
"""
TOKENS = [
    "",
    "-1",
    "0",
    "1e999",
    "null",
    "[",
    "{",
    "]",
    "!!binary eA==",
    "0x10",
    "~",
    "yes",
    "2026-02-30",
    "&a",
    "*b",
    "1d",
    "P",
    "nan",
    ".inf",
    "-.inf",
    "'08:00'",
    "99:99",
    "T6",
    "Z9",
    "40",
    "0.0001",
    "flex",
    "kink",
    "refill",
    "1000000d",
    "1e-300",
    "[1, 2]",
    "{a: 1}",
    ":",
    "- x",
    "#",
    "\t",
]


def mutate_lines(draw, lines, edits, first, replace_value):
    """Apply ``edits`` random line edits (delete, duplicate, truncate or ``replace_value``) to
    ``lines`` from index ``first`` on; the mutated text."""
    for _ in range(edits):
        if len(lines) <= first:
            break
        i = draw(st.integers(first, len(lines) - 1))
        line = lines[i]
        op = draw(st.sampled_from(["replace_value", "delete", "duplicate", "truncate"]))
        if op == "delete":
            lines.pop(i)
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "truncate":
            lines[i] = line[: draw(st.integers(0, len(line)))]
        else:
            lines[i] = replace_value(line)
    return "\n".join(lines) + "\n"


@st.composite
def mutated(draw):
    def replace_value(line):
        parts = line.replace("{", " ").replace("}", " ").replace(",", " ").split()
        values = [p for p in parts if not p.endswith(":")]
        if not values:
            return line
        return line.replace(draw(st.sampled_from(values)), draw(st.sampled_from(TOKENS)), 1)

    return mutate_lines(draw, BASE.splitlines(), draw(st.integers(1, 4)), 0, replace_value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_input_never_crashes(text):
    try:
        scenario = pumpsim.load_scenario_text(text, "fuzz.yaml")
    except ScenarioError as exc:
        message = str(exc)
        assert message.startswith("fuzz.yaml") and "\n" not in message
        return
    pumpsim.simulate(scenario).to_json()


# --- Mappings through the public builder and through the CLI (issue #10) ----------------------


BASE_MAP = {
    "name": "fuzz-map",
    "duration": "40d",
    "pump": {"reservoir_ml": 20, "accuracy": 0.05, "battery": {"eri_at": "35d"}},
    "drug": {"concentration_mcg_per_ml": 2000},
    "catheter": {"volume_ml": 0.1},
    "patient": {"injury_level": "T4"},
    "therapy": {
        "dose_mcg_per_day": 400,
        "ptm": {"dose_mcg": 20, "lockout": "3h", "max_per_day": 3},
    },
    "risk": {"threshold": 0.5},
    "events": [
        {"at": "10d", "type": "refill", "volume_ml": 18, "concentration_mcg_per_ml": 1000},
        {"at": "5d", "type": "bolus", "dose_mcg": 50, "duration": "1h"},
        {"at": "12d", "type": "catheter_fault", "kind": "leak", "delivered_fraction": 0.5},
        {"at": "15d", "type": "mri", "duration": "1h", "recovery_delay": "30min"},
        {"at": "16d", "type": "ptm_bolus"},
        {"at": "20d", "type": "pump_replacement", "volume_ml": 20, "accuracy": 0.2},
        {"at": "25d", "type": "reprogram", "therapy": {"dose_mcg_per_day": 300}},
    ],
    "expect": [{"alarm": "low_reservoir", "never": True}],
}
KEYS = [
    "duration",
    "seed",
    "start",
    "pump.reservoir_ml",
    "pump.initial_volume_ml",
    "pump.accuracy",
    "pump.age",
    "pump.low_reservoir_alarm_ml",
    "pump.empty_reservoir_alarm_ml",
    "pump.min_rate_ml_per_day",
    "pump.critical_tone_interval",
    "pump.battery.eri_at",
    "pump.battery.eos_after_eri",
    "drug.concentration_mcg_per_ml",
    "catheter.volume_ml",
    "patient.injury_level",
    "therapy.dose_mcg_per_day",
    "therapy.mode",
    "therapy.ptm.lockout",
    "therapy.ptm.max_per_day",
    "therapy.ptm.duration",
    "risk.threshold",
    "risk.csf_half_life",
    "events[0].at",
    "events[0].volume_ml",
    "events[0].concentration_mcg_per_ml",
    "events[0].update_pump_concentration",
    "events[0].missed",
    "events[1].dose_mcg",
    "events[1].duration",
    "events[2].delivered_fraction",
    "events[2].kind",
    "events[3].duration",
    "events[5].reservoir_ml",
    "events[5].accuracy",
    "events[6].therapy.dose_mcg_per_day",
    "expect[0].never",
]
VALUES = st.one_of(
    st.sampled_from(
        [
            0,
            -1,
            1,
            0.5,
            1.0,
            1.01,
            2,
            10,
            20,
            40,
            400,
            2000,
            1e308,
            -1e308,
            2**64,
            2**200,
            1e-300,
            True,
            False,
            None,
            "",
            "0s",
            "1h",
            "90d",
            "1000000000y",
            "P1D",
            "-3d",
            "x",
            "T6",
            "flex",
            "kink",
            "leak",
            "2026-02-30",
            [],
            {},
            [1],
            {"a": 1},
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.text(max_size=6),
)


def merged(changes):
    data = copy.deepcopy(BASE_MAP)
    for key, value in changes.items():
        path = parse_key_path(key)
        node = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return data


DURATION_KEYS = (
    "at",
    "duration",
    "age",
    "eri_at",
    "eos_after_eri",
    "lockout",
    "csf_half_life",
    "critical_tone_interval",
    "start",
)


def plausible(key):
    """Values a user might well write for this key (about half of them valid)."""
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "start":
        return st.sampled_from(["2026-03-01T06:00:00", "2025-12-31", "2026-02-30"])
    if leaf in DURATION_KEYS:
        return st.sampled_from(["30min", "1h", "2d", "5d", "11d", "30d", "39d", "2y"])
    if leaf in ("missed", "update_pump_concentration", "never"):
        return st.booleans()
    if leaf == "mode":
        return st.sampled_from(["continuous", "flex"])
    if leaf == "kind":
        return st.sampled_from(["occlusion", "kink", "leak", "fracture"])
    if leaf == "injury_level":
        return st.sampled_from(["C5", "T4", "L1", None])
    if leaf in ("seed", "max_per_day"):
        return st.integers(0, 10)
    if leaf in ("accuracy", "threshold", "delivered_fraction"):
        return st.floats(-0.5, 1.0)
    return st.floats(0.0, 3000.0) | st.sampled_from([20, 40, 2, 0.5, 500, 1000])


@st.composite
def change_sets(draw):
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique=True))
    return {k: draw(plausible(k) if draw(st.booleans()) else VALUES) for k in keys}


def _outcome(build):
    try:
        return build(), None
    except ScenarioError as exc:
        message = str(exc)
        assert "\n" not in message and "Traceback" not in message
        return None, exc


BASE_SCENARIO = pumpsim.Scenario.from_dict(BASE_MAP)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(change_sets())
def test_builder_and_variants_agree_and_never_crash(changes):
    full, full_error = _outcome(lambda: pumpsim.Scenario.from_dict(merged(changes), source="m"))
    cheap, cheap_error = _outcome(lambda: BASE_SCENARIO.with_values(changes))
    if full_error is not None:
        assert str(full_error).startswith("m")
    # The cheap variant checks exactly what the full build checks.
    assert (full is None) == (cheap is None), (full_error, cheap_error)
    if full is None:
        return
    assert full.checked and cheap.checked
    doc = pumpsim.simulate(full).to_json()  # no inf/NaN: json refuses them
    assert doc == pumpsim.simulate(cheap).to_json()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(change_sets())
def test_cli_on_fuzzed_files_gives_a_clear_exit(changes):
    text = yaml.safe_dump(merged(changes), allow_unicode=True)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "fuzz.yaml")
        out = os.path.join(folder, "out.json")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        err, std = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
            code = main(["run", "-q", path, "--json", out])
        message = err.getvalue()
        assert code in (0, 1, 2), message
        if code == 2:
            assert message.startswith(path) and len(message.strip().splitlines()) == 1, message
            assert not os.path.exists(out)
        else:
            assert message == ""
            with open(out, encoding="utf-8") as fh:
                json.load(fh)
        assert sorted(os.listdir(folder)) == (
            ["fuzz.yaml"] if code == 2 else ["fuzz.yaml", "out.json"]
        )


ANY_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
    st.binary(max_size=4),
    st.datetimes(),
)
ANY_VALUE = st.recursive(
    ANY_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.one_of(st.text(max_size=4), st.integers()), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([*KEYS, "name", "events", "therapy", "pump", "expect", "hazard", "events[0]"]),
    ANY_VALUE,
)
def test_any_python_value_anywhere_is_a_scenario_error_or_runs(key, value):
    """Arbitrary Python values (bytes, datetimes, nested containers) at any key."""
    full, _ = _outcome(lambda: pumpsim.Scenario.from_dict(merged({key: value})))
    if full is not None:
        pumpsim.simulate(full).to_json()
    _outcome(lambda: BASE_SCENARIO.with_values({key: value}))


# --- device profiles on PUMPSIM_PROFILE_PATH ----------------------------------------------------

_SHIPPED_PROFILE = (
    Path(__file__).resolve().parent.parent / "pumpsim" / "profiles" / "synchromed-ii.yaml"
).read_text(encoding="utf-8")
_PROFILE_LINES = _SHIPPED_PROFILE.replace("name: synchromed-ii", "name: fuzz-pump").splitlines()
_PROFILE_TOKENS = [
    *TOKENS,
    "!!python/object:os.system [x]",
    "!!python/name:os.system",
    "0s",
    "-1h",
    "1" * 400 + "d",
    "P" + "9" * 60 + "X",
    ".NaN",
    "{}",
    "[]",
    "critical",
    "explode",
]


@st.composite
def mutated_profile(draw):
    def replace_value(line):
        if ":" not in line:
            return line
        return f"{line.partition(':')[0]}: {draw(st.sampled_from(_PROFILE_TOKENS))}"

    # the first line (the name) stays: it is the file's
    return mutate_lines(draw, list(_PROFILE_LINES), draw(st.integers(1, 3)), 1, replace_value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_profile())
def test_a_mutated_device_profile_loads_or_is_invalid_input_naming_it(text):
    """Whatever a profile file holds: a profile the model can run, or ProfileFileError naming
    the file (never a KeyError, a ZeroDivisionError or a YAML constructor error)."""
    from pumpsim.scenario.profiles import ProfileFileError, ProfileNotFound, load_device_profile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "fuzz-pump.yaml")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        old = os.environ.get("PUMPSIM_PROFILE_PATH")
        os.environ["PUMPSIM_PROFILE_PATH"] = folder
        load_device_profile.cache_clear()
        try:
            try:
                load_device_profile("fuzz-pump")
            except ProfileFileError as exc:
                assert str(exc).startswith(path) and "\n" not in str(exc), str(exc)
                return
            except ProfileNotFound:
                return  # e.g. the alarm table was cut: not a device profile
            scenario = BASE.replace("pump: {", "pump: {profile: fuzz-pump, ", 1)
            try:
                loaded = pumpsim.load_scenario_text(scenario, "fuzz.yaml")
            except ScenarioError as exc:
                assert "\n" not in str(exc)
                return
            pumpsim.simulate(loaded).to_json()
        finally:
            if old is None:
                os.environ.pop("PUMPSIM_PROFILE_PATH", None)
            else:
                os.environ["PUMPSIM_PROFILE_PATH"] = old
            load_device_profile.cache_clear()


# --- durations --------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet="0123456789.PTYWDHMSywdhmins -", min_size=0, max_size=40),
    st.integers(0, 3000),
)
def test_any_duration_text_is_finite_hours_or_a_duration_error_at_once(text, repeat):
    """Linear time: the text repeated thousands of times is still answered in a blink."""
    import time

    from pumpsim.model.units import DurationError, parse_duration_h

    for candidate in (text, text * repeat, "P" + text * repeat + "X"):
        start = time.perf_counter()
        try:
            hours = parse_duration_h(candidate)
        except DurationError as exc:
            assert len(str(exc)) < 400
        else:
            assert math.isfinite(hours) and hours >= 0
        assert time.perf_counter() - start < 0.5
