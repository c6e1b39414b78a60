"""One patient's draws, checked at every grid point, with ``on_invalid`` applied (contract 10).

A patient is valid only if its draws make a valid scenario at every grid point, so patient
*i* stays the same person across the grid. ``on_invalid: stop`` (the default) makes an invalid
patient an error naming the patient, the grid point, the drawn keys involved and the reason;
``redraw`` draws the patient's ``vary`` values again (attempt *k* from streams of their own,
at every grid point alike) and counts the redraws; ``skip`` leaves the patient out at every grid
point. Clinic and fault streams are never redrawn: only the draws that made the scenario
invalid are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pumpsim.errors import ScenarioError
from pumpsim.model.units import DurationError, parse_duration_h
from pumpsim.scenario.cases import Cases
from pumpsim.scenario.distributions import MAX_REDRAWS, DistributionError
from pumpsim.studies.sweep.streams import PatientStreams
from pumpsim.studies.sweep.vary import VaryKey, yaml_draw

#: The sweep (``spec.SweepSpec``) and a grid point (``spec.GridPoint``) are typed ``Any`` here:
#: the spec module imports this one (its file check draws patient 0).
SweepSpec = Any
GridPoint = Any

ON_INVALID = ("stop", "redraw", "skip")


class InvalidPatient(Exception):
    """A patient's draws make an invalid scenario (or no ``cases`` entry holds)."""

    def __init__(self, patient: int, point: int, keys: list[tuple[str, Any]], reason: str):
        super().__init__(reason)
        self.patient = patient
        self.point = point
        self.keys = keys  # (key path, drawn value) of the keys involved
        self.reason = reason

    def describe(self) -> str:
        """``patient 7 (grid point 1), drawn therapy.dose_mcg_per_day=47.3, is invalid:
        <reason>``."""
        drawn = ", ".join(f"{k}={_show(v)}" for k, v in self.keys)
        return (
            f"patient {self.patient} (grid point {self.point})"
            f"{', drawn ' + drawn + ',' if drawn else ''} is invalid: {self.reason}"
        )


def _show(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class PatientDraw:
    """A valid patient: its scenario at this grid point, its drawn values, and its redraws."""

    scenario: Any
    drawn: list[Any]
    redraws: int


def _comparable(value: Any) -> Any:
    """A grid value as ``cases`` compares it: durations written with units become hours."""
    if isinstance(value, str):
        try:
            return parse_duration_h(value)
        except DurationError:
            return value
    return value


def _error(spec: SweepSpec, key: VaryKey | None, message: str) -> ScenarioError:
    return ScenarioError(
        message,
        file=spec.file,
        path=("vary", key.path) if key else (),
        line=key.line if key else None,
    )


def draw_values(
    spec: SweepSpec, point: GridPoint, patient: int, streams: PatientStreams, attempt: int
) -> tuple[dict[str, Any], list[Any]]:
    """The scenario values (key path -> YAML value) and the raw draws of one attempt.

    Raises InvalidPatient when no ``cases`` entry holds, ScenarioError when a ``within`` draw
    fails 1,000 times (a sweep file error, whatever ``on_invalid`` says).
    """
    values = dict(point.scenario_values)
    seen = {k: _comparable(v) for k, v in point.scenario_values}
    drawn: list[Any] = []
    for key in spec.vary:
        dist = key.dist
        if isinstance(dist, Cases):
            picked = dist.pick(seen)
            if picked is None:
                tested = [(k, seen.get(k)) for k in dist.keys]
                raise InvalidPatient(patient, point.index, tested, f"no case of {key.path} holds")
            dist = picked
        try:
            value = dist.draw(streams(key.stream_of(attempt)))
        except DistributionError as exc:
            raise _error(spec, key, f"patient {patient}: {exc}") from None
        drawn.append(value)
        values[key.path] = yaml_draw(key, value)
        seen[key.path] = value
    return values, drawn


def _involved(spec: SweepSpec, dotted: str, drawn: list[Any]) -> list[tuple[str, Any]]:
    """The drawn keys an error at scenario path ``dotted`` involves (the key itself, else its
    section's keys, else every drawn key)."""
    pairs = [(k.path, v) for k, v in zip(spec.vary, drawn, strict=True)]
    exact = [(k, v) for k, v in pairs if k == dotted or dotted.startswith(k + ".")]
    if exact:
        return exact
    section = dotted.split(".")[0]
    same = [(k, v) for k, v in pairs if k.split(".")[0] == section]
    return same or pairs


def checked_at(
    spec: SweepSpec, point: GridPoint, patient: int, streams: PatientStreams, attempt: int
) -> tuple[Any, list[Any]]:
    """The checked scenario of one attempt at one grid point. Raises InvalidPatient."""
    values, drawn = draw_values(spec, point, patient, streams, attempt)
    try:
        return spec.factory.checked(values), drawn
    except ScenarioError as exc:
        dotted = ".".join(str(p) for p in exc.path)
        reason = f"{dotted + ': ' if dotted else ''}{exc.message}"
        raise InvalidPatient(patient, point.index, _involved(spec, dotted, drawn), reason) from None


def patient_draw(
    spec: SweepSpec, point: GridPoint, patient: int, streams: PatientStreams
) -> PatientDraw | None:
    """The patient's valid draw at ``point`` with ``on_invalid`` applied (None: skipped).

    Raises ScenarioError (naming the sweep file, the ``vary`` key and its line) when the
    patient is invalid under ``stop``, or still invalid after 1,000 redraws.
    """
    last: InvalidPatient | None = None
    for attempt in range(1 if spec.on_invalid == "stop" else MAX_REDRAWS):
        try:
            scenario, drawn = checked_at(spec, point, patient, streams, attempt)
            if spec.on_invalid != "stop":  # valid here; must be valid at every grid point
                for other in spec.check_points:
                    if other != point.index and (
                        spec.grid[other].scenario_values != point.scenario_values
                    ):
                        # fresh streams: the same draws as that grid point makes them
                        fresh = PatientStreams(spec.seed, patient)
                        checked_at(spec, spec.grid[other], patient, fresh, attempt)
            return PatientDraw(scenario, drawn, attempt)
        except InvalidPatient as exc:
            last = exc
            if spec.on_invalid == "skip":
                return None
    assert last is not None
    key = next((k for k in spec.vary if last.keys and k.path == last.keys[0][0]), None)
    if spec.on_invalid == "stop":
        raise _error(spec, key, last.describe())
    raise _error(spec, key, f"{MAX_REDRAWS} redraws in a row were invalid; {last.describe()}")


def first_invalid(spec: SweepSpec, patient: int) -> InvalidPatient | None:
    """Why the patient's first draw is invalid at some grid point (None: valid everywhere);
    for ``pumpsim sweep --check``."""
    for index in spec.check_points:
        try:
            checked_at(spec, spec.grid[index], patient, PatientStreams(spec.seed, patient), 0)
        except InvalidPatient as exc:
            return exc
    return None
