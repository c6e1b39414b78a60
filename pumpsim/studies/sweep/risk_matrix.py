"""The risk-acceptability matrix of the risk table (contract section 10).

A YAML file: probability categories (per patient-year, highest first, each ``at_least`` a
bound), severity categories (least severe first) with the category of each flag the table
counts, and the level (``acceptable``, ``alarp``, ``unacceptable``) of every severity x
probability cell. The shipped default is ``pumpsim/profiles/risk-matrix.yaml``, every bound
marked *assumed*; ``risk_matrix: FILE`` in a sweep file replaces it. Errors name the file, the
key path and the line.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

from pumpsim.errors import ScenarioError
from pumpsim.scenario.yamlsafe import load_yaml_file, load_yaml_text

LEVELS = ("acceptable", "alarp", "unacceptable")
ESTIMATES = ("rate", "upper_95ci")
SHIPPED = "risk-matrix.yaml"


@dataclass(frozen=True)
class Category:
    """One probability or severity category."""

    id: str
    name: str
    at_least: float = 0.0  # probability categories: the lower bound per patient-year


@dataclass(frozen=True)
class RiskMatrix:
    """A checked matrix."""

    name: str
    file: str
    estimate: str  # "rate" or "upper_95ci"
    harm: tuple[tuple[str, float], ...]  # (flag, P2: probability the flag leads to harm)
    probability: tuple[Category, ...]  # highest first
    severity: tuple[Category, ...]  # least severe first
    flag_severity: tuple[tuple[str, str | None, str], ...]  # (flag, flag severity, S id)
    levels: tuple[tuple[str, tuple[str, ...]], ...]  # (S id, level per P id, lowest P first)

    def p_category(self, per_patient_year: float) -> Category:
        """The probability category of a rate."""
        for cat in self.probability:
            if per_patient_year >= cat.at_least:
                return cat
        return self.probability[-1]

    def harm_given(self, flag: str) -> float:
        """P2 of one flag type (1 when the matrix gives none)."""
        return dict(self.harm).get(flag, 1.0)

    def s_category(self, flag: str, severity: str | None) -> str | None:
        """The severity category of one flag (None: the matrix does not grade it)."""
        for rule_flag, rule_severity, category in self.flag_severity:
            if rule_flag == flag and rule_severity in (None, severity):
                return category
        return None

    def s_rank(self, category: str) -> int:
        """Position of a severity category from the least severe."""
        return [c.id for c in self.severity].index(category)

    def level(self, p_category: str, s_category: str) -> str:
        """The level of one cell."""
        row = dict(self.levels)[s_category]
        ascending = [c.id for c in reversed(self.probability)]
        return row[ascending.index(p_category)]


def load_risk_matrix(path: str | None = None) -> RiskMatrix:
    """Read and check a matrix file (None: the shipped default)."""
    if path is None:
        text = resources.files("pumpsim.profiles").joinpath(SHIPPED).read_text("utf-8")
        file = f"pumpsim/profiles/{SHIPPED}"
        located = load_yaml_text(text, file)
    else:
        located, file = load_yaml_file(path)
    return parse_risk_matrix(located, file)


def parse_risk_matrix(located: Any, file: str) -> RiskMatrix:
    """Check parsed matrix YAML (a ``LocatedYaml``)."""
    data = located.data

    def fail(message: str, path: tuple[object, ...] = ()) -> ScenarioError:
        return ScenarioError(message, file=file, path=path, line=located.line_of(path))

    def mapping(value: Any, path: tuple[object, ...], keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise fail(f"a mapping with {', '.join(keys)}", path)
        for key in value:
            if key not in keys:
                raise fail(f"unknown key {key!r}; takes {', '.join(keys)}", (*path, key))
        return value

    top = mapping(data, (), ("name", "probability", "severity", "levels"))
    name = top.get("name", "risk matrix")
    if not isinstance(name, str):
        raise fail("name is text", ("name",))
    prob = mapping(
        top.get("probability"),
        ("probability",),
        ("per", "from", "harm_given_flag", "categories"),
    )
    if prob.get("per", "patient_year") != "patient_year":
        raise fail("per: patient_year is the one unit a sweep estimates", ("probability", "per"))
    estimate = prob.get("from", "rate")
    if estimate not in ESTIMATES:
        raise fail(f"from is one of {', '.join(ESTIMATES)}", ("probability", "from"))
    harm = []
    raw_harm = prob.get("harm_given_flag") or {}
    if not isinstance(raw_harm, dict):
        raise fail("harm_given_flag maps flag types to a probability", ("probability",))
    for flag, p2 in raw_harm.items():
        where_p2: tuple[object, ...] = ("probability", "harm_given_flag", flag)
        if isinstance(p2, bool) or not isinstance(p2, int | float) or not 0 < p2 <= 1:
            raise fail("a probability above 0 and at most 1", where_p2)
        harm.append((str(flag), float(p2)))
    p_cats = _categories(prob.get("categories"), ("probability", "categories"), fail, True)
    bounds = [c.at_least for c in p_cats]
    if any(b >= a for a, b in itertools.pairwise(bounds)) or bounds[-1] != 0:
        raise fail(
            "categories go from the highest bound down, and the last is at_least: 0",
            ("probability", "categories"),
        )
    sev = mapping(top.get("severity"), ("severity",), ("categories", "flags", "assumed"))
    s_cats = _categories(sev.get("categories"), ("severity", "categories"), fail, False)
    s_ids = [c.id for c in s_cats]
    rules: list[tuple[str, str | None, str]] = []
    flags = sev.get("flags")
    if not isinstance(flags, dict) or not flags:
        raise fail("flags maps each flag type to a severity category", ("severity", "flags"))
    for flag, value in flags.items():
        where: tuple[object, ...] = ("severity", "flags", flag)
        graded = value if isinstance(value, dict) else {None: value}
        for level, category in graded.items():
            if category not in s_ids:
                raise fail(f"{category!r} is not a severity category ({', '.join(s_ids)})", where)
            rules.append((str(flag), None if level is None else str(level), category))
    levels = mapping(top.get("levels"), ("levels",), (*s_ids, "assumed"))
    rows = []
    for s_id in s_ids:
        row = levels.get(s_id)
        if not isinstance(row, list) or len(row) != len(p_cats):
            raise fail(f"one level per probability category ({len(p_cats)})", ("levels", s_id))
        for i, level in enumerate(row):
            if level not in LEVELS:
                raise fail(f"a level is one of {', '.join(LEVELS)}", ("levels", s_id, i))
        rows.append((s_id, tuple(row)))
    return RiskMatrix(name, file, estimate, tuple(harm), p_cats, s_cats, tuple(rules), tuple(rows))


def _categories(raw: Any, path: tuple[object, ...], fail: Any, bounded: bool) -> tuple:
    if not isinstance(raw, list) or len(raw) < 2:
        raise fail("categories is a list of at least two {id, name, ...}", path)
    keys = ("id", "name", "at_least", "assumed", "source", "meaning")
    out, seen = [], set()
    for i, item in enumerate(raw):
        where = (*path, i)
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise fail("a category is a mapping with an id and a name", where)
        for key in item:
            if key not in keys:
                raise fail(f"unknown key {key!r}; takes {', '.join(keys)}", (*where, key))
        if item["id"] in seen:
            raise fail(f"category {item['id']} is given twice", where)
        seen.add(item["id"])
        bound = item.get("at_least", 0.0)
        if bounded:
            if isinstance(bound, bool) or not isinstance(bound, int | float):
                raise fail("at_least is a number of occurrences per patient-year", where)
            if not math.isfinite(bound) or bound < 0:
                raise fail("at_least is a finite number >= 0", (*where, "at_least"))
            if "assumed" not in item and "source" not in item:
                raise fail("give each bound its source or an assumed: note", where)
        out.append(Category(item["id"], str(item.get("name", item["id"])), float(bound)))
    return tuple(out)
