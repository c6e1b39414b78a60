"""Mutated scenario files either load or give a ScenarioError; nothing else escapes."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pumpsim
from pumpsim.errors import ScenarioError

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


@st.composite
def mutated(draw):
    lines = BASE.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        op = draw(st.sampled_from(["replace_value", "delete", "duplicate", "truncate"]))
        if op == "delete":
            lines.pop(i)
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "truncate":
            lines[i] = line[: draw(st.integers(0, len(line)))]
        else:
            parts = line.replace("{", " ").replace("}", " ").replace(",", " ").split()
            values = [p for p in parts if not p.endswith(":")]
            if values:
                victim = draw(st.sampled_from(values))
                lines[i] = line.replace(victim, draw(st.sampled_from(TOKENS)), 1)
        if not lines:
            break
    return "\n".join(lines) + "\n"


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
