"""Write docs/reference.md from the code: one source for every key, value and command.

    python tools/gen_reference.py          # rewrite docs/reference.md
    python tools/gen_reference.py --check  # exit 1 when the checked-in page is stale

What is introspected, so that new keys, commands and parameters appear without editing this file:

* scenario keys, therapy, events and expectations: the pydantic models of
  ``pumpsim/scenario/schema.py`` (type, default, constraints; the description comes from the
  field's ``description=``, else an attribute docstring in the schema, else ``FIELD_NOTES`` here);
  a default the schema leaves to the device or drug profile shows the profile's value;
* device and drug profiles: every shipped ``pumpsim/profiles/*.yaml`` (every parameter with its
  value, unit, and source or *assumed* tag; the alarm table);
* flags and causes: ``FlagName`` in the schema and ``CAUSES`` in ``pumpsim/model/flags.py``;
* the result document: the keys that the scenario library's runs actually produce;
* the command line: ``pumpsim.cli.build_parser()`` (every subcommand and option).

What cannot be introspected (what a result field or a log event means, when an alarm is raised)
lives in the data tables below, once. An entry with no description is written as
*undocumented* and fails ``tests/test_docs_reference.py``.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import sys
import typing
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from types import NoneType, UnionType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "reference.md"
UNDOCUMENTED = "*undocumented*"

# ---------------------------------------------------------------------------------------------
# Descriptions that the code cannot give (one table each). Keys: "Model.field" for the schema,
# a dotted path for the result document, the name for alarms, flags, causes and log events.
# ---------------------------------------------------------------------------------------------
FIELD_NOTES: dict[str, str] = {
    "ScenarioFile.name": "scenario id (lower-case letters, digits, hyphens)",
    "ScenarioFile.description": "for people: what happens and why it matters",
    "ScenarioFile.duration": "simulated span",
    "ScenarioFile.seed": "the one seed every random draw derives from; recorded in the result",
    "ScenarioFile.start": "calendar date-time of t = 0 (flex steps and dates follow it), with a "
    "UTC offset or an IANA time zone after one space (`2025-01-06T08:00 Europe/Paris`: dates are "
    "local time there; the pump keeps the offset in force at the start)",
    "ScenarioFile.hazard": "IDs from the hazard catalogue ([hazards.md](hazards.md))",
    "ScenarioFile.pump": "the implanted pump at t = 0",
    "ScenarioFile.drug": "the drug in the reservoir and catheter at t = 0",
    "ScenarioFile.catheter": "the catheter between pump and tip",
    "ScenarioFile.patient": "boxed-warning risk factors and initial state",
    "ScenarioFile.therapy": "the programme at t = 0 (see [Therapy](#therapy-programme))",
    "ScenarioFile.risk": "abrupt-discontinuation detector settings",
    "ScenarioFile.events": "what happens, in any order; sorted by `at` (ties keep file order); "
    "see [Events](#events)",
    "ScenarioFile.expect": "what should happen; see [Expectations](#expectations)",
    "Pump.profile": "device profile shipped in the package (see [Device profiles]"
    "(#device-profiles))",
    "Pump.reservoir_ml": "reservoir size; one of the profile's `reservoir_sizes_ml`",
    "Pump.initial_volume_ml": "volume at t = 0, estimate = truth (default: full)",
    "Pump.age": "time since implant at t = 0 (battery longevity counts from implant)",
    "Pump.accuracy": "actual/programmed − 1 (0.25 = over-infuses 25 %); beyond the profile's "
    "`accuracy_spec_fraction` it models a faulty pump",
    "Pump.low_reservoir_alarm_ml": "estimate at which the low-reservoir alarm sounds",
    "Pump.empty_reservoir_alarm_ml": "estimate at which the empty-reservoir alarm sounds and "
    "the pump drops to minimum rate; below the low-reservoir level",
    "Pump.min_rate_ml_per_day": "flow in minimum-rate mode",
    "Pump.critical_tone_interval": "repeat interval of a critical alarm's tone (*extension*)",
    "Pump.battery": "battery overrides",
    "BatterySection.eri_at": "scenario instant (from t = 0, not implant) of the elective "
    "replacement indicator (default: the longevity model)",
    "BatterySection.eos_after_eri": "ERI → end of service",
    "Drug.name": "drug data file",
    "Drug.concentration_mcg_per_ml": "drug concentration in the reservoir and catheter at t = 0",
    "CatheterSection.volume_ml": "dead volume between pump and tip (plug flow: old drug comes "
    "out first)",
    "Patient.injury_level": "vertebral level of spinal cord injury (C1–S5), or null; T6 or "
    "above is a boxed-warning risk factor",
    "Patient.communication_difficulty": "boxed-warning risk factor",
    "Patient.prior_withdrawal": "boxed-warning risk factor",
    "Patient.established": "CSF levels start at the programme's steady state (else at zero)",
    "Risk.csf_half_life": "CSF elimination half-life of both levels",
    "Risk.threshold": "actual/expected CSF ratio below which the withdrawal flag is raised",
    "Risk.max_daily_reduction": "largest cut of the daily dose against the dose 24 h earlier",
    "Therapy.mode": "`continuous` (one daily dose) or `flex` (steps repeating daily or weekly)",
    "Therapy.dose_mcg_per_day": "daily dose (continuous mode)",
    "Therapy.steps": "flex steps for every day that `days` does not name",
    "Therapy.days": "flex steps per weekday (`mon`..`sun`), overriding `steps`",
    "Therapy.ptm": "patient therapy manager limits (optional)",
    "FlexStep.at": 'time of day the step starts (`"HH:MM"`; the first at `"00:00"`, strictly '
    "increasing; each runs until the next, the last until midnight)",
    "FlexStep.dose_mcg_per_hour": "hourly dose during the step",
    "Ptm.dose_mcg": "dose of one patient-requested bolus",
    "Ptm.lockout": "shortest time between two granted boluses",
    "Ptm.max_per_day": "granted boluses in any 24 h window (rolling, not per calendar day)",
    "Ptm.duration": "how long one bolus infuses (default: the profile's `ptm_bolus_duration`)",
    "_Event.at": "instant of the event on the scenario clock",
    "RefillEvent.type": "`refill`",
    "RefillEvent.volume_ml": "volume injected (required unless `missed`); the estimate is set "
    "to it",
    "RefillEvent.concentration_mcg_per_ml": "concentration of the new drug (default: unchanged)",
    "RefillEvent.missed": "the visit did not happen: nothing changes, it is logged",
    "RefillEvent.pocket_fraction": "share of the injection that goes into the pocket "
    "(overdose risk)",
    "RefillEvent.bridge_bolus": "push the catheter's old drug out at the programmed dose first",
    "RefillEvent.update_pump_concentration": "the pump keeps the dose and recomputes its rate "
    "for the new concentration",
    "RefillEvent.therapy": "a new programme set at the visit",
    "ReprogramEvent.therapy": "the new programme from this instant",
    "BolusEvent.dose_mcg": "clinician bolus on top of the programme",
    "BolusEvent.duration": "how long the bolus infuses (the part in a stall or stop is lost)",
    "CatheterFaultEvent.kind": "what went wrong; occlusion and kink hold drug back in the "
    "reservoir, the others send it elsewhere",
    "CatheterFaultEvent.delivered_fraction": "share of the pump's output reaching the "
    "intrathecal space (default 0; required for kink and leak)",
    "CatheterFaultEvent.duration": "how long the fault lasts (default: until `catheter_repair`)",
    "MriEvent.duration": "the scan: the motor stalls",
    "MriEvent.recovery_delay": "further stall after the scan",
    "MotorStallEvent.duration": "how long the motor stops (default: for good)",
    "PumpFaultEvent.kind": "which internal fault",
    "PumpReplacementEvent.reservoir_ml": "reservoir of the new pump (default: same size)",
    "PumpReplacementEvent.volume_ml": "volume the new pump is filled with (current drug)",
    "PumpReplacementEvent.accuracy": "accuracy of the new pump (*extension*)",
    "Expectation.alarm": "target: an alarm by name",
    "Expectation.flag": "target: a flag by type",
    "Expectation.reservoir_estimated_ml": "target: the pump's estimate at `at` (mL)",
    "Expectation.reservoir_true_ml": "target: the true reservoir at `at` (mL)",
    "Expectation.csf_ratio": "target: actual/expected CSF level at `at`",
    "Expectation.delivered_intrathecal_mcg": "target: drug delivered intrathecally by `at`",
    "Expectation.programmed_mcg": "target: drug the programme asked for by `at`",
    "Expectation.cause": "filter flags by cause",
    "Expectation.alarmed": "filter flags: a critical alarm was (true) or was not (false) "
    "sounding when raised",
    "Expectation.severity": "filter flags by severity",
    "Expectation.first_at": "predicate: the first occurrence starts then (± `tolerance`)",
    "Expectation.first_within": "predicate: the first occurrence starts in `[earliest, latest]`",
    "Expectation.never": "predicate: no occurrence at all",
    "Expectation.count": "predicate: exactly this many occurrences",
    "Expectation.duration": "predicate: the first occurrence lasts this long (± `tolerance`)",
    "Expectation.at": "the instant a value target is read (after every event at that instant)",
    "Expectation.tolerance": "a duration for times (default 1min); a number in the target's "
    "unit for values (default 1e-6)",
    # keys that other branches add (issues #10, #11, #12); unused until they land
    "ScenarioFile.clinic_log": "CSV clinic log whose rows are appended to `events` (path relative "
    "to the scenario file; see [Replay](howto-replay.md))",
    "RefillEvent.accuracy": "accuracy of the pump from this refill on (a replay's fitted accuracy)",
    "Expectation.residual_expected_ml": "target: the simulated estimate at a visit matches the "
    "recorded expected residual (clinic logs)",
    "Expectation.residual_withdrawn_ml": "target: the simulated true residual at a visit "
    "matches the recorded withdrawn residual (clinic logs)",
    "Expectation.alarm_date": "target: the programmer's projected low-reservoir alarm date at a "
    "visit (clinic logs)",
    "Expectation.source": "where the expectation came from (e.g. a clinic-log row)",
}

ALARM_NOTES: dict[str, tuple[str, str]] = {
    "low_reservoir": ("estimate ≤ low-reservoir level", "a refill or new pump lifts it above"),
    "empty_reservoir": ("estimate ≤ empty-reservoir level", "a refill or new pump lifts it above"),
    "motor_stall": ("the motor stops (stall, MRI)", "the motor turns again"),
    "eri": ("the battery reaches its replacement indicator", "pump replacement"),
    "eos": (
        "ERI + `eos_after_eri`, always (ERI comes by `hard_stop_life` − `eos_after_eri`)",
        "pump replacement",
    ),
    "low_battery_reset": ("`pump_fault` of that kind", "pump replacement"),
    "critical_memory_error": ("`pump_fault` of that kind", "pump replacement"),
}

RESPONSE_NOTES: dict[str, str] = {
    "none": "none",
    "minimum_rate": "minimum-rate mode (programme kept, not delivered)",
    "no_flow": "no flow; the estimate is not debited",
    "stop": "delivery stops",
}

FLAG_NOTES: dict[str, tuple[str, str]] = {
    "abrupt_discontinuation": (
        "actual/expected CSF level falls below `risk.threshold`; or a reprogramming cuts the "
        "daily dose by more than `risk.max_daily_reduction` (cause `reprogramming`, an instant)",
        "the ratio rises back above the threshold",
    ),
    "overdose_risk": (
        "actual/expected rises above `1 + risk.threshold`; or a refill puts drug in the pocket",
        "the ratio falls back; a pocket fill after the profile's `pocket_fill_watch` (or at once)",
    ),
    "refill_discrepancy": (
        "|withdrawn − expected residual| above the profile's `refill_discrepancy_ml` for the "
        "reservoir size",
        "at once (an instant)",
    ),
    "refill_due_after_empty": (
        "at t = 0 or a refill, the next booked refill falls on a calendar day after the "
        "projected empty-reservoir alarm",
        "at that visit",
    ),
}

CAUSE_NOTES: dict[str, str] = {
    "reservoir_empty": "the true reservoir is empty (the pump may not know)",
    "minimum_rate": "the pump is in minimum-rate mode after its empty-reservoir alarm",
    "catheter": "a catheter fault holds drug back or sends it elsewhere",
    "motor_stall": "the motor stopped (stall, MRI)",
    "end_of_service": "the battery is exhausted and the pump has stopped",
    "pump_fault": (
        "an internal pump fault stopped or slowed delivery (a low-battery reset's minimum-rate "
        "mode, a critical memory error's stop)"
    ),
    "catheter_transit": "the drug at the catheter tip differs from what the pump believes "
    "(after a concentration change)",
    "concentration_mismatch": "the reservoir's drug differs from what the pump believes",
    "reprogramming": "a programmed cut larger than `risk.max_daily_reduction`",
    "under_infusion": "the pump delivers far below its programme (*extension*)",
    "pocket_fill": "a refill put drug into the pocket (overdose)",
    "over_infusion": "the pump delivers far above its programme (overdose)",
    "more_than_expected": "refill: more left than expected (under-delivery)",
    "less_than_expected": "refill: less left than expected (over-infusion)",
    "other": "none of the above",
}

RESULT_FIELDS: dict[str, str] = {
    "scenario": "the scenario's `name`",
    "seed": "the scenario's `seed`",
    "duration_h": "simulated span (h)",
    "pumpsim_version": "the version that produced the document",
    "alarms": "every alarm occurrence, in order of raising",
    "alarms[].type": "alarm name (see [Alarms](#alarms))",
    "alarms[].priority": "`critical` or `non_critical`",
    "alarms[].start_h": "raised (h from the start)",
    "alarms[].end_h": "cleared (h), or null while still sounding at the end",
    "alarms[].tone": "the tone pattern",
    "alarms[].tone_interval_h": "repeat interval of the tone (h)",
    "alarms[].tone_count": "how many times the tone sounded",
    "flags": "every safety flag, in order of raising",
    "flags[].type": "flag type (see [Flags](#flags))",
    "flags[].start_h": "raised (h)",
    "flags[].end_h": "ended (h), equal to `start_h` for an instant, null if still open",
    "flags[].cause": "why (see [Causes](#causes))",
    "flags[].alarmed": "a critical alarm was sounding when the flag was raised",
    "flags[].day": (
        "reprogramming on a weekday programme: the calendar day (ISO date) whose dose fell "
        "by more than `max_daily_reduction`"
    ),
    "flags[].severity": "`high` with a boxed-warning risk factor, else `moderate`",
    "flags[].ratio_threshold": "the threshold the CSF ratio crossed",
    "flags[].time_to_critical_alarm_h": "withdrawal: time from the flag to the first critical "
    "alarm while it was open (0 if alarmed, null if none sounded)",
    "flags[].risk_factors": "withdrawal: the patient's boxed-warning risk factors",
    "flags[].expected_course": "withdrawal: the label's stages (`stage`, `from_h`, `to_h`, "
    "`signs`) in absolute hours",
    "flags[].daily_dose_before_mcg": "reprogramming: the daily dose 24 h earlier",
    "flags[].daily_dose_after_mcg": "reprogramming: the new daily dose",
    "flags[].reduction": "reprogramming: the cut as a fraction",
    "flags[].discrepancy_ml": "refill discrepancy: withdrawn − expected residual",
    "flags[].limit_ml": "refill discrepancy: the profile's limit",
    "flags[].interpretation": "refill discrepancy: what it suggests",
    "flags[].pocket_ml": "pocket fill: volume in the pocket",
    "flags[].pocket_mcg": "pocket fill: drug in the pocket",
    "flags[].refill_at_h": "refill due after empty: the booked visit",
    "flags[].projected_empty_alarm_h": "refill due after empty: the projected alarm",
    "refills": "every refill visit, missed or not",
    "refills[].at_h": "the visit (h)",
    "refills[].missed": "the visit did not happen",
    "refills[].expected_residual_ml": "what the programmer expected (the estimate)",
    "refills[].actual_residual_ml": "what was withdrawn (the truth)",
    "refills[].discrepancy_ml": "actual − expected",
    "refills[].volume_ml": "volume injected",
    "refills[].concentration_mcg_per_ml": "concentration injected",
    "refills[].pocket_ml": "volume that went into the pocket",
    "totals": "where every mL and mcg went",
    "totals.programmed_mcg": "drug the programme and requested boluses asked for",
    "totals.delivered_intrathecal_mcg": "drug that reached the intrathecal space",
    "totals.delivered_elsewhere_mcg": "drug that left the catheter elsewhere (leak, disconnection)",
    "totals.pocket_mcg": "drug injected into the pocket",
    "totals.withdrawn_mcg": "drug withdrawn at refills and replacements",
    "totals.injected_mcg": "drug injected into reservoirs",
    "totals.pumped_programmed_ml": "volume the motor was told to move",
    "totals.left_reservoir_ml": "volume that truly left the reservoir",
    "totals.delivered_intrathecal_ml": "volume that reached the intrathecal space",
    "totals.delivered_elsewhere_ml": "volume that left elsewhere",
    "totals.pocket_ml": "volume injected into the pocket",
    "totals.withdrawn_ml": "volume withdrawn",
    "totals.injected_ml": "volume injected",
    "expectations": "each expectation's verdict",
    "expectations[].text": "the expectation in words",
    "expectations[].passed": "whether it held",
    "expectations[].expected": "what was expected",
    "expectations[].actual": "what happened",
    "passed": "every expectation held (true when there are none)",
    "hazard": "the scenario's hazard IDs (*extension*)",
    "device_profile": "the device profile's name (*extension*)",
    "final": "state at the end (*extension*)",
    "final.reservoir_estimated_ml": "the pump's estimate",
    "final.reservoir_true_ml": "the true reservoir",
    "final.catheter_ml": "volume in the catheter",
    "final.catheter_mcg": "drug in the catheter",
    "final.reservoir_mcg": "drug in the reservoir",
    "pump_log": "the pump's own records (see [Log events](#log-events)) (*extension*)",
    "physical_log": "what physically happened and the pump cannot see (*extension*)",
    "series": "columns, one row per engine event: the state just after it (*extension*)",
    "series.t_h": "instant (h)",
    "series.estimated_ml": "the pump's estimate",
    "series.true_ml": "the true reservoir",
    "series.programmed_ml_per_day": "flow the motor is told to move",
    "series.delivered_mcg_per_day": "drug reaching the intrathecal space",
    "series.csf_expected": "CSF level the programme should give (relative index)",
    "series.csf_actual": "CSF level from what truly arrives (relative index)",
    "engine_events": "how many events the engine handled (*extension*)",
    "notes": "remarks on the run, e.g. an accuracy beyond the specification models a faulty "
    "pump (*extension*; only when there are any)",
    # keys that other branches add (calendar dates, issue #11); unused until they land
    "start_at": "the scenario start as an ISO date-time",
    "end_at": "the end of the run as an ISO date-time",
    "time_zone": "the IANA time zone of `start:` (only when it names one): every ISO date-time "
    "is local time there, with the offset in force then",
    "alarms[].start_at": "`start_h` as an ISO date-time",
    "alarms[].end_at": "`end_h` as an ISO date-time (null while still sounding)",
    "flags[].start_at": "`start_h` as an ISO date-time",
    "flags[].end_at": "`end_h` as an ISO date-time",
    "flags[].refill_at": "refill due after empty: the booked visit as an ISO date-time",
    "flags[].projected_empty_alarm_at": "refill due after empty: the projected alarm as an ISO "
    "date-time",
    "refills[].at": "the visit as an ISO date-time",
    # pump: {accuracy: fit} (issue #11)
    "refills[].slack_h": "`pumpsim replay --slack`: the longest delay of this visit (whole hours) "
    "that raises no abrupt-discontinuation flag before it; null: at least until the next visit",
    "refills[].fitted_accuracy": "the accuracy fitted to the interval that ends at this refill",
    "refills[].accuracy_basis": "`measured`, `lower_bound` (a zero residual only bounds it) or "
    "`not_measured`",
    "refills[].accuracy_lower_bound": "the bound a zero withdrawn residual sets",
    "refills[].accuracy_out_of_spec": "the fitted accuracy is beyond the profile's specification",
    "refills[].accuracy_spec_fraction": "the profile's accuracy specification",
    "refills[].interval_start_h": "start of the fitted interval (h)",
    "refills[].interval_programmed_ml": "volume the programme should have moved in the interval",
    "refills[].interval_delivered_ml": "volume that truly left the reservoir in the interval",
    "refills[].empty_at_h": "when the reconstructed reservoir ran dry in the interval (h)",
    "refills[].empty_at": "`empty_at_h` as an ISO date-time",
    "refills[].interval_start_at": "`interval_start_h` as an ISO date-time",
}

LOG_EVENTS: dict[str, str] = {
    "pump_log:alarm_raised": "an alarm starts sounding",
    "pump_log:alarm_cleared": "an alarm stops",
    "pump_log:refill": "a refill: residual withdrawn, new drug injected",
    "pump_log:refill_missed": "a booked refill did not happen",
    "pump_log:programme_change": "a new programme (reprogramming, refill, replacement)",
    "pump_log:clinician_bolus_started": "a clinician bolus starts",
    "pump_log:clinician_bolus_ended": "a clinician bolus ends",
    "pump_log:ptm_bolus_started": "a patient-requested bolus is granted",
    "pump_log:ptm_bolus_ended": "a patient-requested bolus ends",
    "pump_log:ptm_refused": (
        "a patient request is refused, with the reason: `no_ptm_programmed`, `lockout`, "
        "`daily_limit`, or `pump_not_delivering` (a stall, minimum-rate mode or EOS: the "
        "request is not granted, so the expected CSF level does not count it either)"
    ),
    "pump_log:bridge_bolus_started": "a bridge bolus pushes the catheter's old drug out",
    "pump_log:bridge_bolus_complete": "the catheter holds only the new drug",
    "pump_log:pump_replacement": "a new pump is implanted",
    "physical_log:catheter_fault": "a catheter fault starts (the pump cannot see it)",
    "physical_log:catheter_fault_ended": "a catheter fault with a duration ends",
    "physical_log:catheter_repair": "every catheter fault is repaired",
    "physical_log:concentration_change": "the reservoir now holds another concentration (refill)",
    "physical_log:catheter_front": "a new concentration reaches the catheter tip",
    "physical_log:pump_accuracy": "the pump's true accuracy changes (a replay's fitted interval)",
    "physical_log:motor_stopped": "the motor stops (stall, MRI, EOS)",
    "physical_log:motor_turning": "the motor turns again",
    "physical_log:pocket_fill": "drug injected into the pocket",
    "physical_log:pump_fault": "an internal pump fault",
    "physical_log:reservoir_empty": "the true reservoir runs dry",
    "physical_log:battery_eri": "the battery reaches its replacement indicator",
}

_UNIT_SUFFIXES = (
    ("_ml_per_day", "mL/day"),
    ("_mcg_per_ml", "mcg/mL"),
    ("_mcg_per_day", "mcg/day"),
    ("_mcg_per_hour", "mcg/h"),
    ("_per_year", "per patient-year"),
    ("_per_refill", "per refill"),
    ("_fraction", "fraction"),
    ("_ml", "mL"),
    ("_mcg", "mcg"),
    ("_h", "h"),
)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return _doc(str(text)).replace("|", "\\|")


def _doc(text: str | None) -> str:
    """A docstring as one Markdown line (reStructuredText ``code`` becomes `code`)."""
    return " ".join((text or "").split()).replace("``", "`")


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    header = list(header)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def _link(source: str) -> str:
    """A source as a Markdown link (the address) plus any note after it."""
    m = re.match(r"(https?://\S+)(.*)", source.strip())
    if not m:
        return source
    url, rest = m.group(1), m.group(2).strip()
    host = re.sub(r"^https?://(www\.)?", "", url).split("/")[0]
    return f"[{host}]({url})" + (f" {rest}" if rest else "")


def _provenance(param: Any) -> str:
    if param.assumed:
        return f"*assumed*: {param.assumed}"
    return "; ".join(_link(s) for s in str(param.source).split(" ; "))


def _value_text(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


def _unit(name: str, value: Any) -> str:
    if isinstance(value, str) and re.fullmatch(r"[\d.]+\s*(y|w|d|h|min|s)", value.strip()):
        return "duration"
    for suffix, unit in _UNIT_SUFFIXES:
        if name.endswith(suffix):
            return unit
    return ""


def _schema_docstrings() -> dict[str, str]:
    """Attribute docs in the schema source: ``#:`` lines above a field, or a string below it.

    Read from every module whose models ``pumpsim.scenario.schema`` holds or re-exports.
    """
    from pumpsim.scenario import schema

    modules = {schema.__name__}
    modules.update(
        m.__module__
        for m in vars(schema).values()
        if isinstance(m, type) and m.__module__.startswith("pumpsim.scenario.")
    )
    found: dict[str, str] = {}
    for name in sorted(modules):
        found.update(_docstrings_in(inspect.getsource(sys.modules[name])))
    return found


def _docstrings_in(source: str) -> dict[str, str]:
    found: dict[str, str] = {}
    lines = source.splitlines()
    tree = ast.parse(source)
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for node in cls.body:  # ``#: comment`` lines just above a field (Sphinx style)
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                k, comment = node.lineno - 2, []
                while k >= 0 and lines[k].strip().startswith("#:"):
                    comment.insert(0, lines[k].strip()[2:].strip())
                    k -= 1
                if comment:
                    found[f"{cls.name}.{node.target.id}"] = " ".join(comment)
        for a, b in zip(cls.body, cls.body[1:], strict=False):
            if (
                isinstance(a, ast.AnnAssign)
                and isinstance(a.target, ast.Name)
                and isinstance(b, ast.Expr)
                and isinstance(b.value, ast.Constant)
                and isinstance(b.value.value, str)
            ):
                found[f"{cls.name}.{a.target.id}"] = " ".join(b.value.value.split())
    return found


class Gen:
    """Collects undocumented entries while rendering."""

    def __init__(self) -> None:
        from pumpsim.scenario.profiles import load_device_profile, load_drug_profile

        self.missing: list[str] = []
        self.docstrings = _schema_docstrings()
        self.device = load_device_profile("synchromed-ii")
        self.drug = load_drug_profile("baclofen")

    def note(self, table: dict[str, Any], key: str, index: int | None = None) -> Any:
        """A description from a data table, or *undocumented* (and remembered)."""
        if key in table:
            return table[key] if index is None else table[key][index]
        self.missing.append(key)
        return UNDOCUMENTED

    # -- schema -----------------------------------------------------------------------------
    def describe(self, model: type, name: str) -> str:
        """Field description: ``description=``, else an attribute docstring, else FIELD_NOTES."""
        info = model.model_fields[name]
        if info.description:
            return info.description
        for klass in model.__mro__:
            key = f"{klass.__name__}.{name}"
            if key in self.docstrings:
                return self.docstrings[key]
            if key in FIELD_NOTES:
                return FIELD_NOTES[key]
        self.missing.append(f"{model.__name__}.{name}")
        return UNDOCUMENTED

    def default(self, model: type, name: str) -> str:
        from pydantic import BaseModel
        from pydantic_core import PydanticUndefined

        from pumpsim.model.units import format_duration_h

        info = model.model_fields[name]
        value = info.default
        if value is PydanticUndefined:
            return "required" if info.is_required() else "—"
        if value is None:
            for profile, label in ((self.device, "device profile"), (self.drug, "drug profile")):
                param = profile.parameters.get(name)
                if param is not None:
                    tag = " (*assumed*)" if param.assumed else ""
                    return f"{label}: {_value_text(param.value)}{tag}"
            return "—"
        if isinstance(value, BaseModel):
            return "see below"
        if _is_duration(info.annotation, info.metadata):
            return format_duration_h(value)
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, datetime):
            return value.isoformat()
        if value == "":
            return '`""`'
        if isinstance(value, (list, dict, tuple)) and not value:
            return "`[]`" if isinstance(value, list) else "`{}`"
        return f"`{_value_text(value)}`"

    def key_rows(self, model: type, prefix: str = "", flatten: bool = True) -> list[list[str]]:
        """Rows (key, type, default, meaning) for every field, nested models flattened."""
        from pydantic import BaseModel

        rows = []
        for name, info in model.model_fields.items():
            if name == "type" and typing.get_origin(info.annotation) is typing.Literal:
                continue
            path = f"{prefix}{name}"
            rows.append(
                [
                    f"`{path}`",
                    type_text(info.annotation, info.metadata),
                    self.default(model, name),
                    self.describe(model, name),
                ]
            )
            inner = _model_of(info.annotation)
            if flatten and inner is not None and issubclass(inner, BaseModel):
                if inner.__name__ in ("Therapy",):
                    continue
                rows += self.key_rows(inner, f"{path}.", flatten)
        return rows


def _time_kind(items: Iterable[Any]) -> str | None:
    """``duration`` or ``instant`` when a validator reads a time with its unit (by its name)."""
    for item in items:
        name = getattr(getattr(item, "func", None), "__name__", "")
        if "instant" in name:
            return "instant"
        if "duration" in name:
            return "duration"
    return None


def _is_duration(annotation: Any, metadata: list[Any]) -> bool:
    return _time_kind(_all_metadata(annotation, metadata)) is not None


def _all_metadata(annotation: Any, metadata: list[Any]) -> list[Any]:
    found = list(metadata)
    stack = [annotation]
    while stack:
        ann = stack.pop()
        if typing.get_origin(ann) is typing.Annotated:
            found += list(ann.__metadata__)
            stack.append(typing.get_args(ann)[0])
        elif typing.get_origin(ann) in (typing.Union, UnionType):
            stack += list(typing.get_args(ann))
    return found


def _model_of(annotation: Any) -> type | None:
    """The pydantic model a field holds (through Optional), if any."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, UnionType):
        models = [a for a in typing.get_args(annotation) if a is not NoneType]
        if len(models) == 1:
            return _model_of(models[0])
    return None


def _constraints(items: list[Any]) -> list[str]:
    out = []
    for item in items:
        inner = getattr(item, "metadata", None)
        if isinstance(inner, list):  # a Field(...) inside Annotated carries its own constraints
            out += _constraints(inner)
            continue
        for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(item, attr, None)
            if value is not None and type(item).__name__.lower() == attr:
                out.append(f"{sign} {_value_text(value)}")
        pattern = getattr(item, "pattern", None)
        if pattern:
            out.append(f"`{pattern}`")
    return out


def type_text(annotation: Any, metadata: list[Any] | None = None) -> str:
    """A readable type: ``duration``, ``number > 0``, ``list of expectation``, ``a | b``."""
    from pydantic import BaseModel

    metadata = list(metadata or [])
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return type_text(base, metadata + list(extra))
    kind = _time_kind(metadata)
    if kind == "duration":
        return "duration"
    if kind == "instant":
        return "duration or date"
    if origin in (typing.Union, UnionType):
        parts = [a for a in typing.get_args(annotation) if a is not NoneType]
        models = [p for p in parts if isinstance(p, type) and issubclass(p, BaseModel)]
        if len(models) > 2:
            return "event"
        texts = [type_text(p, metadata) for p in parts]
        return " or ".join(dict.fromkeys(texts))
    if origin is typing.Literal:
        return " | ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation)
        return f"list of {type_text(item)}"
    if origin is tuple:
        items = typing.get_args(annotation)
        return "[" + ", ".join(type_text(i) for i in items) + "]"
    if origin is dict:
        key, value = typing.get_args(annotation)
        return f"map of {type_text(key)} to {type_text(value)}"
    if annotation is Any:
        return "any value"
    names = {
        float: "number",
        int: "integer",
        str: "text",
        bool: "boolean",
        datetime: "ISO date-time",
    }
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        base = annotation.__name__.lower().removesuffix("section")
        if base == "flexstep":
            base = "flex step"
        return base
    base = names.get(annotation, getattr(annotation, "__name__", str(annotation)))
    bits = _constraints(metadata)
    return base + (" " + ", ".join(bits) if bits else "")


# ---------------------------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------------------------
def section_durations() -> list[str]:
    from pumpsim.model.units import _UNIT_HOURS

    units = ", ".join(f"`{u}`" for u in _UNIT_HOURS)
    return [
        "## Durations and instants",
        "",
        f"Strings with units: {units} (a year is the Julian year, 365.25 d), combinable "
        "(`2d6h30min`), or ISO 8601 (`P90DT6H`; months are refused as ambiguous). A bare number "
        'is an error. Times of day in flex steps are `"HH:MM"`. In the result document every '
        "time is in hours from the scenario start (`*_h` keys).",
        "",
    ]


def section_scenario(g: Gen) -> list[str]:
    from pumpsim.scenario import schema

    out = ["## Scenario keys", ""]
    out += [_doc(schema.ScenarioFile.__doc__), ""]
    out += _table(("key", "type", "default", "meaning"), g.key_rows(schema.ScenarioFile))
    out += ["", "### Therapy (programme)", ""]
    out += [_doc(schema.Therapy.__doc__), ""]
    rows = g.key_rows(schema.Therapy, "therapy.", flatten=False)
    rows += g.key_rows(schema.FlexStep, "therapy.steps[].")
    rows += g.key_rows(schema.Ptm, "therapy.ptm.")
    out += _table(("key", "type", "default", "meaning"), rows)
    limit = g.device.flex_max_steps_per_day
    lo, hi = g.device.flow_rate_min_ml_per_day, g.device.flow_rate_max_ml_per_day
    out += [
        "",
        f"At most {limit} steps a day (`flex_max_steps_per_day`). Every programmed rate (dose ÷ "
        f"the pump's concentration) must lie in the profile's programmable range ({lo:g}–"
        f"{hi:g} mL/day) or be zero. The daily dose of a flex programme is its day's total (for "
        "per-weekday lists, the mean over the week).",
        "",
    ]
    return out


def section_events(g: Gen) -> list[str]:
    from pumpsim.scenario import schema

    out = ["## Events", "", "Every event has `at` (duration or instant) and `type`.", ""]
    union = typing.get_args(typing.get_args(schema.Event)[0])
    for model in union:
        (kind,) = typing.get_args(model.model_fields["type"].annotation)
        out += [f"### `{kind}`", "", _doc(model.__doc__), ""]
        rows = [r for r in g.key_rows(model, flatten=False) if r[0] != "`at`"]
        if rows:
            out += _table(("key", "type", "default", "meaning"), rows)
        else:
            out.append("No other keys.")
        out.append("")
    return out


def section_expectations(g: Gen) -> list[str]:
    from pumpsim.scenario import schema

    out = ["## Expectations", "", _doc(schema.Expectation.__doc__), ""]
    out += _table(("key", "type", "default", "meaning"), g.key_rows(schema.Expectation))
    out += [
        "",
        "Alarm and flag targets take exactly one of `first_at`, `first_within`, `never`, "
        "`count`, `duration`; value targets take `at` and `tolerance`. `pumpsim check` exits 0 "
        "when every expectation holds, 1 when one fails, 2 when a scenario is invalid.",
        "",
    ]
    return out


def _is_parameter_table(entries: Any) -> bool:
    return (
        isinstance(entries, dict)
        and bool(entries)
        and all(isinstance(e, dict) and "value" in e for e in entries.values())
    )


def section_profiles(g: Gen) -> list[str]:
    import yaml

    from pumpsim.scenario.profiles import Parameter, load_device_profile

    out = ["## Device profiles", ""]
    out += [
        "Shipped in `pumpsim/profiles/`; see [Add a device profile](howto-device-profile.md). "
        "Every parameter section of the profile file is listed.",
        "",
    ]
    for path in sorted((ROOT / "pumpsim" / "profiles").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "alarms" not in raw:
            continue
        name = raw["name"]
        prof = load_device_profile(name)
        out += [f"### `{name}`", "", raw.get("description", ""), ""]
        for section, entries in raw.items():
            if not _is_parameter_table(entries):
                continue
            if section != "parameters":
                out += [f"#### `{section}` of `{name}`", ""]
            rows = []
            for key, e in entries.items():
                value = e["value"]
                param = Parameter(value, e.get("source"), e.get("assumed"))
                rows.append([f"`{key}`", _value_text(value), _unit(key, value), _provenance(param)])
            out += _table(("parameter", "value", "unit", "source or *assumed*"), rows)
            out.append("")
        out += [f"#### Alarms of `{name}`", ""]
        rows = []
        for alarm, spec in prof.alarms.items():
            rows.append(
                [
                    f"`{alarm}`",
                    spec.priority.replace("_", "-"),
                    g.note(ALARM_NOTES, alarm, 0),
                    g.note(ALARM_NOTES, alarm, 1),
                    g.note(RESPONSE_NOTES, spec.response),
                    spec.meaning,
                    _link(raw["alarms"][alarm].get("source", "")),
                ]
            )
        header = ("alarm", "priority", "raised when", "cleared when", "pump response", "meaning")
        out += _table((*header, "source"), rows)
        out.append("")
    interval = _value_text(g.device.parameters["critical_tone_interval"].value)
    out += [
        "### Alarms",
        "",
        f"The alarm table above is the device's (`synchromed-ii`). Tones: non-critical "
        f"{g.device.noncritical_tone} every `noncritical_tone_interval`; critical "
        f"{g.device.critical_tone} every `critical_tone_interval` ({interval}). The first tone "
        "sounds when the alarm is raised; a tone due exactly when it clears does not sound, "
        "and one due exactly at the end of the run does (the run's last instant is inside "
        "it). Tones are derived from the alarm intervals, never simulated.",
        "",
    ]
    return out


def section_drugs() -> list[str]:
    import yaml

    from pumpsim.scenario.profiles import load_drug_profile

    out = ["## Drug data", ""]
    for path in sorted((ROOT / "pumpsim" / "profiles").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "alarms" in raw or "withdrawal_course" not in raw:
            continue
        drug = load_drug_profile(raw["name"])
        out += [f"### `{drug.name}`", ""]
        rows = [
            [f"`{k}`", _value_text(p.value), _unit(k, p.value), _provenance(p)]
            for k, p in drug.parameters.items()
        ]
        out += _table(("parameter", "value", "unit", "source or *assumed*"), rows)
        out += ["", "Expected course of abrupt withdrawal (hours from the flag):", ""]
        rows = [
            [
                s["stage"],
                s["from_h"],
                "—" if s.get("to_h") is None else s["to_h"],
                ", ".join(s["signs"]),
                _link(s.get("source", "")),
            ]
            for s in drug.withdrawal_course
        ]
        out += _table(("stage", "from h", "to h", "signs", "source"), rows)
        out.append("")
    return out


def section_clinic_log() -> list[str]:
    """The clinic-log columns (``pumpsim.scenario.clinic_log``)."""
    import importlib

    try:
        log = importlib.import_module("pumpsim.scenario.clinic_log")
    except ImportError:
        return []
    columns = getattr(log, "COLUMNS", None)
    if not columns:
        return []
    out = [
        "## Clinic logs",
        "",
        "A scenario's `clinic_log:` names a CSV file (UTF-8, a header row, units in the column "
        "names, an empty cell meaning not recorded) whose rows become events and, for every "
        "recorded measurement, expectations. See [Replay a patient's refill history]"
        "(howto-replay.md).",
        "",
    ]
    out += _table(("column", "meaning"), [[f"`{c}`", m] for c, m in columns.items()])
    out.append("")
    return out


def section_flags(g: Gen) -> list[str]:
    from pumpsim.model.flags import CAUSES
    from pumpsim.scenario import schema

    out = ["## Flags", ""]
    out += [
        "pumpsim's safety signals. Every flag has `type`, `start_h`, `end_h`, `cause`, `alarmed` "
        "and `severity`, plus details (see [Result document](#result-document)).",
        "",
    ]
    rows = [
        [f"`{name}`", g.note(FLAG_NOTES, name, 0), g.note(FLAG_NOTES, name, 1)]
        for name in typing.get_args(schema.FlagName)
    ]
    out += _table(("type", "raised when", "ends"), rows)
    out += ["", "### Causes", ""]
    out += _table(("cause", "meaning"), [[f"`{c}`", g.note(CAUSE_NOTES, c)] for c in CAUSES])
    out += [
        "",
        "`severity` (withdrawal flags): `high` with any boxed-warning risk factor (injury at T6 "
        "or above, communication difficulty, prior withdrawal), else `moderate`.",
        "",
    ]
    return out


def _result_docs() -> list[dict[str, Any]]:
    import pumpsim

    docs = []
    for path in sorted((ROOT / "scenarios").rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"^therapy\s*:", text, re.M) and re.search(r"^name\s*:", text, re.M):
            docs.append(pumpsim.simulate(pumpsim.load_scenario(path)).to_dict())
    return docs


def _json_type(values: list[Any]) -> str:
    names = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "text",
        list: "list",
        dict: "object",
        NoneType: "null",
    }
    kinds = [names.get(type(v), type(v).__name__) for v in values]
    if "integer" in kinds and "number" in kinds:
        kinds = [k for k in kinds if k != "integer"]
    return " or ".join(dict.fromkeys(sorted(kinds, key=lambda k: k == "null")))


def section_result(g: Gen) -> list[str]:
    docs = _result_docs()
    seen: dict[str, list[Any]] = {}
    events: dict[str, dict[str, None]] = {}
    for doc in docs:
        for key, value in doc.items():
            seen.setdefault(key, []).append(value)
            if key.endswith("_log"):
                for entry in value:
                    keys = events.setdefault(f"{key}:{entry['event']}", {})
                    skip = ("t_h", "at", "event")  # every entry has its instant and its name
                    keys.update(dict.fromkeys(k for k in entry if k not in skip))
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, dict):
                        for k, v in item.items():
                            seen.setdefault(f"{key}[].{k}", []).append(v)
            elif isinstance(value, dict):
                for k, v in value.items():
                    seen.setdefault(f"{key}.{k}", []).append(v[0] if key == "series" else v)
    out = [
        "## Result document",
        "",
        "`pumpsim run FILE --json OUT` writes this document (`Result.to_dict()` in Python). Times "
        "are hours from the start. The same input gives the same bytes; the file is written to a "
        "temporary file and renamed, so it is whole or absent. The keys below are those the "
        "scenario library's runs produce; *extension* marks keys beyond the contract.",
        "",
    ]
    first = {k: i for i, k in enumerate(seen)}
    tops = [k for k in seen if re.split(r"[.\[]", k)[0] == k]

    def place(key: str) -> tuple[int, bool, int]:
        root = re.split(r"[.\[]", key)[0]
        return (tops.index(root), key != root, first[key])

    rows = [
        [f"`{k}`", _json_type(seen[k]), g.note(RESULT_FIELDS, k)] for k in sorted(seen, key=place)
    ]
    out += _table(("key", "type", "meaning"), rows)
    out += ["", "### Log events", ""]
    out += [
        "Each entry of `pump_log` and `physical_log` has `t_h`, `event` and the details below.",
        "",
    ]
    rows = [
        [
            key.split(":")[0],
            f"`{key.split(':')[1]}`",
            ", ".join(f"`{k}`" for k in keys) or "—",
            g.note(LOG_EVENTS, key),
        ]
        for key, keys in sorted(events.items())
    ]
    out += _table(("log", "event", "details", "meaning"), rows)
    out += [
        "",
        "In Python, `Result.run.trajectory.at(t_h)` evaluates the estimate, the true volume, "
        "both CSF levels and their ratio exactly at any instant, and "
        "`pumpsim.outputs.notebook.sample(result, times)` does so for an array of instants; "
        "`Result.to_frame()`, `alarms_frame()` and `flags_frame()` give pandas frames indexed "
        "by calendar date (see [Use pumpsim from Python and Jupyter](howto-python.md)).",
        "",
    ]
    return out


def section_cli(g: Gen) -> list[str]:
    import argparse

    os.environ["COLUMNS"] = "100"
    from pumpsim.cli import build_parser

    parser = build_parser()
    out = ["## Command line", "", parser.description or "", ""]
    out += ["```text", parser.format_usage().strip(), "```", ""]
    if parser.epilog:
        out += [parser.epilog, ""]
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {c.dest: c.help for sub in subs for c in sub._choices_actions}
    for sub in subs:
        for name, cmd in sub.choices.items():
            summary = helps.get(name) or UNDOCUMENTED
            out += [f"### `pumpsim {name}`", "", summary[:1].upper() + summary[1:] + ".", ""]
            out += ["```text", cmd.format_usage().strip(), "```", ""]
            rows = []
            for action in cmd._actions:
                if isinstance(action, argparse._HelpAction):
                    continue
                if action.option_strings:
                    flags = ", ".join(f"`{o}`" for o in action.option_strings)
                    if action.nargs != 0:
                        flags += f" `{action.metavar or action.dest.upper()}`"
                else:
                    flags = f"`{action.metavar or action.dest}`"
                    if action.nargs in ("+", "*"):
                        flags += " ..."
                plain = action.default in (None, False, argparse.SUPPRESS)
                default = "—" if plain or not action.option_strings else f"`{action.default}`"
                if not action.help:
                    g.missing.append(f"pumpsim {name} {flags}: argparse help")
                rows.append([flags, default, action.help or UNDOCUMENTED])
            out += _table(("argument", "default", "meaning"), rows)
            out.append("")
    return out


def render() -> tuple[str, list[str]]:
    """The page, and the entries that have no description."""
    g = Gen()
    lines = [
        "# Reference",
        "",
        "<!-- Generated by tools/gen_reference.py from the schema, the profiles, the flags, "
        "the result of every library scenario and the CLI parser. Do not edit: run "
        "`python tools/gen_reference.py`. -->",
        "",
        "Everything a scenario can say, everything the device profile assumes, and everything "
        "a run reports. This page is generated from the code (a test fails when it is stale). "
        "Units are in key names; *assumed* marks a value the public record does not give.",
        "",
    ]
    for part in (
        section_durations(),
        section_scenario(g),
        section_events(g),
        section_expectations(g),
        section_clinic_log(),
        section_profiles(g),
        section_drugs(),
        section_flags(g),
        section_result(g),
        section_cli(g),
    ):
        lines += part
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n", sorted(set(g.missing))


def main(argv: list[str] | None = None) -> int:
    """Write (or check) docs/reference.md."""
    args = sys.argv[1:] if argv is None else argv
    os.environ.pop("PUMPSIM_PROFILE_PATH", None)  # document the shipped profiles only
    text, missing = render()
    for key in missing:
        print(f"undocumented: {key}", file=sys.stderr)
    if "--check" in args:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print("docs/reference.md is stale: run python tools/gen_reference.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
