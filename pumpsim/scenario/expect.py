"""Expectations (contract section 5): what a scenario says should happen, and what it names.

An expectation names exactly one target (an alarm, a flag, a value read at an instant, or a
clinic measurement at a visit) and how to judge it. ``pumpsim.outputs.verdicts`` evaluates
them against a run.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from pumpsim.model.profile import ALARM_NAMES
from pumpsim.scenario import grammar
from pumpsim.scenario.quantities import (
    Boolean,
    Duration,
    InstantH,
    Integer,
    Number,
    Strict,
    read_duration_h,
)
from pumpsim.scenario.schema_rules import expectation_rules

#: An alarm's name (``model/profile.py``'s ALARM_NAMES, one list for every layer).
AlarmName = Literal[ALARM_NAMES]  # type: ignore[valid-type]
FlagName = Literal[
    "abrupt_discontinuation", "overdose_risk", "refill_discrepancy", "refill_due_after_empty"
]
VALUE_TARGETS = (
    "reservoir_estimated_ml",
    "reservoir_true_ml",
    "csf_ratio",
    "delivered_intrathecal_mcg",
    "programmed_mcg",
)
#: Clinic measurements at a visit (contract section 7): read from the refill (or the pump) at ``at``
VISIT_TARGETS = ("residual_expected_ml", "residual_withdrawn_ml", "alarm_date")


#: Strict mode (contract section 11): findings that fail a run like expectations.
FAIL_ON_KINDS = ("out_of_spec", "silent_flag", "discrepancy", "any_flag")
FailOn = Literal["out_of_spec", "silent_flag", "discrepancy", "any_flag"]

#: Everything an expectation can be about, and the predicates of an alarm or flag expectation.
TARGETS = ("alarm", "flag", *VALUE_TARGETS, *VISIT_TARGETS)
PREDICATES = ("first_at", "first_within", "never", "count", "duration")


def _calendar_day(value: Any) -> Any:
    """``alarm_date`` is a calendar day (``2026-03-27``), not a date-time or a number."""
    if isinstance(value, datetime) or not isinstance(value, date | str):
        raise ValueError(f"{value!r} is not a calendar date such as 2026-03-27")
    if isinstance(value, str):
        if not _DAY.match(value):
            raise ValueError(f"{value!r} is not a calendar date such as 2026-03-27")
        return date.fromisoformat(value)
    return value


_DAY = re.compile(f"^{grammar.DATE}$")
CalendarDay = Annotated[
    date,
    BeforeValidator(_calendar_day),
    WithJsonSchema({"type": "string", "pattern": f"^{grammar.DATE}$"}),
]


class Expectation(Strict):
    """One expectation (contract section 5). Exactly one target: alarm, flag or a value."""

    model_config = ConfigDict(
        json_schema_extra=partial(expectation_rules, targets=TARGETS, predicates=PREDICATES)
    )

    alarm: AlarmName | None = None
    flag: FlagName | None = None
    reservoir_estimated_ml: Number | None = None
    reservoir_true_ml: Number | None = None
    csf_ratio: Number | None = None
    delivered_intrathecal_mcg: Number | None = None
    programmed_mcg: Number | None = None
    residual_expected_ml: Number | None = None
    residual_withdrawn_ml: Number | None = None
    alarm_date: CalendarDay | None = None
    # filters (flags)
    cause: str | None = None
    alarmed: Boolean | None = None
    severity: Literal["high", "moderate"] | None = None
    # predicates
    first_at: InstantH | None = None
    first_within: tuple[InstantH, InstantH] | None = None
    never: Boolean | None = None
    count: Integer | None = Field(None, ge=0)
    duration: Duration | None = None
    at: InstantH | None = None
    tolerance: Number | str | None = None
    #: where the expectation comes from (``patient.csv:4``), shown in its result line
    source: str | None = None
    #: read after the events at its instant (a clinic log's note below a refill of the same
    #: instant interrogates the refilled pump); default: a residual at a refill is the one the
    #: refill found
    after_events: Boolean | None = None

    @field_validator("tolerance")
    @classmethod
    def _tolerance_not_negative(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise ValueError(f"a tolerance is at least 0, not {value!r}")
        return value

    @model_validator(mode="after")
    def _shape(self) -> Expectation:
        names = TARGETS
        targets = [k for k in names if getattr(self, k) is not None]
        if len(targets) != 1:
            raise ValueError("an expectation names exactly one of " + ", ".join(names))
        target = targets[0]
        if target in VALUE_TARGETS or target in VISIT_TARGETS:
            if self.at is None:
                raise ValueError(f"{target} needs at: (the instant to read it)")
            if any(
                getattr(self, k) is not None
                for k in ("first_at", "first_within", "never", "count", "duration")
            ):
                raise ValueError(f"{target} takes at: and tolerance:, not alarm/flag predicates")
            if isinstance(self.tolerance, str):
                raise ValueError(f"the tolerance of {target} is a number in its unit")
            if target == "alarm_date" and self.tolerance is not None:
                raise ValueError("alarm_date is a calendar day: it takes no tolerance")
        else:
            preds = [
                k
                for k in ("first_at", "first_within", "never", "count", "duration")
                if getattr(self, k) is not None
            ]
            if len(preds) != 1:
                raise ValueError(
                    f"{'an' if target[0] in 'aeiou' else 'a'} {target} expectation takes exactly "
                    "one of first_at, first_within, never, "
                    "count, duration"
                )
            if self.at is not None:
                raise ValueError("at: belongs to value expectations")
            if self.first_within is not None and self.first_within[0] > self.first_within[1]:
                raise ValueError("first_within: [earliest, latest] must be in order")
            if self.tolerance is not None and not isinstance(self.tolerance, str):
                raise ValueError("the tolerance of a time is a duration, e.g. '1min'")
            if self.tolerance is not None:
                read_duration_h(self.tolerance)
        if self.alarm is not None and any(
            getattr(self, k) is not None for k in ("cause", "alarmed", "severity")
        ):
            raise ValueError("cause, alarmed and severity filter flags, not alarms")
        return self

    @property
    def target(self) -> str:
        """The name of the thing this expectation is about."""
        for key in ("alarm", "flag", *VALUE_TARGETS, *VISIT_TARGETS):
            if getattr(self, key) is not None:
                return key
        raise AssertionError("validated expectation without a target")

    @property
    def tolerance_h(self) -> float:
        """Time tolerance in hours (alarm/flag expectations); default one minute."""
        if isinstance(self.tolerance, str):
            return read_duration_h(self.tolerance)
        return 1.0 / 60.0

    @property
    def tolerance_value(self) -> float:
        """Value tolerance in the target's own unit; default 1e-6."""
        return 1e-6 if self.tolerance is None else float(self.tolerance)
