"""Dependent draws (contract section 10): ``{cases: [{if: {KEY: {below: X}}, draw: DIST}, ...]}``.

The first case whose ``if`` holds gives the distribution to draw from; a case without ``if``
always holds (the default, usually last). ``if`` maps key paths (an earlier ``vary`` key, or a
grid key) to a condition: ``below`` (strictly), ``at_least``, and ``in`` (a list of values);
several conditions on one key, or several keys, must all hold. Durations carry units and are
compared in hours, like the drawn values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pumpsim.model.units import DurationError, parse_duration_h
from pumpsim.scenario.distributions import Distribution, DistributionError, parse_distribution

TESTS = ("below", "at_least", "in")


@dataclass(frozen=True)
class Condition:
    """One key's test: ``below <`` , ``>= at_least``, ``in`` a set of values."""

    key: str
    below: float | None = None
    at_least: float | None = None
    among: tuple[Any, ...] | None = None

    def holds(self, value: Any) -> bool:
        """Whether ``value`` (a draw, hours for a duration) passes every test given."""
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if self.below is not None and not (number and value < self.below):
            return False
        if self.at_least is not None and not (number and value >= self.at_least):
            return False
        return self.among is None or any(_same(value, v) for v in self.among)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


@dataclass(frozen=True)
class Case:
    """One case: the conditions (all must hold; none: always) and its distribution."""

    conditions: tuple[Condition, ...]
    dist: Distribution


@dataclass(frozen=True)
class Cases:
    """A draw that depends on earlier keys: the first case that holds decides."""

    cases: tuple[Case, ...]
    kind: str = "cases"

    @property
    def is_duration(self) -> bool:
        """Whether the draws are durations (hours): every case agrees, checked when read."""
        return self.cases[0].dist.is_duration

    @property
    def keys(self) -> tuple[str, ...]:
        """The key paths the cases test, in order of first mention."""
        seen: dict[str, None] = {}
        for case in self.cases:
            for cond in case.conditions:
                seen.setdefault(cond.key)
        return tuple(seen)

    @property
    def dists(self) -> tuple[Distribution, ...]:
        """Every case's distribution."""
        return tuple(c.dist for c in self.cases)

    def pick(self, values: dict[str, Any]) -> Distribution | None:
        """The distribution of the first case whose conditions hold for ``values``."""
        for case in self.cases:
            if all(c.holds(values.get(c.key)) for c in case.conditions):
                return case.dist
        return None


def _threshold(raw: Any, path: tuple[object, ...]) -> Any:
    """A condition value: a number, a duration (hours), or (for ``in``) any plain value."""
    if isinstance(raw, str):
        try:
            return parse_duration_h(raw)
        except DurationError:
            return raw
    if isinstance(raw, dict | list) or raw is None:
        raise DistributionError(f"{raw!r} is not a value to compare with", path)
    return raw


def _condition(key: Any, raw: Any, path: tuple[object, ...]) -> Condition:
    if not isinstance(key, str) or not key:
        raise DistributionError("if takes key paths such as therapy.dose_mcg_per_day", path)
    if not isinstance(raw, dict) or not raw:
        raise DistributionError(f"a condition is a mapping of {', '.join(TESTS)}", path)
    found: dict[str, Any] = {}
    for test, value in raw.items():
        where = (*path, test)
        if test not in TESTS:
            raise DistributionError(f"unknown test {test!r}; if takes {', '.join(TESTS)}", where)
        if test == "in":
            if not isinstance(value, list) or not value:
                raise DistributionError("in takes a non-empty list of values", where)
            found["among"] = tuple(_threshold(v, (*where, i)) for i, v in enumerate(value))
            continue
        number = _threshold(value, where)
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise DistributionError(f"{test} takes a number or a duration", where)
        found[test] = float(number)
    return Condition(key, **found)


def parse_cases(spec: Any) -> Cases:
    """Read ``{cases: [...]}``. Raises DistributionError with the key path inside ``spec``."""
    if not isinstance(spec, dict) or set(spec) != {"cases"}:
        raise DistributionError("a dependent draw is {cases: [{if: ..., draw: ...}, ...]}")
    raw = spec["cases"]
    if not isinstance(raw, list) or not raw:
        raise DistributionError("cases takes a non-empty list", ("cases",))
    cases = []
    for i, item in enumerate(raw):
        path: tuple[object, ...] = ("cases", i)
        if not isinstance(item, dict) or "draw" not in item:
            raise DistributionError("a case is {if: {KEY: {below: X}}, draw: DIST}", path)
        unknown = [k for k in item if k not in ("if", "draw")]
        if unknown:
            raise DistributionError(f"unknown key {unknown[0]!r}; a case takes if, draw", path)
        conditions: list[Condition] = []
        test = item.get("if")
        if test is not None:
            if not isinstance(test, dict) or not test:
                raise DistributionError("if is a mapping: key path -> condition", (*path, "if"))
            for key, cond in test.items():
                conditions.append(_condition(key, cond, (*path, "if", key)))
        try:
            dist = parse_distribution(item["draw"])
        except DistributionError as exc:
            raise DistributionError(str(exc), (*path, "draw", *exc.path)) from None
        cases.append(Case(tuple(conditions), dist))
    if len({c.dist.is_duration for c in cases}) > 1:
        raise DistributionError("every case draws a duration, or none does", ("cases",))
    return Cases(tuple(cases))
