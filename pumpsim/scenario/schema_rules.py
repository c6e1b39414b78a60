"""The rules of the scenario models that span several keys, written as JSON Schema for the
published schema (``pumpsim schema scenario``), beside the validators that enforce them.

Each function here is a model's ``json_schema_extra``: it adds an ``allOf`` of rules to the schema
pydantic generates from the model, so the published schema refuses what the model's own
validator refuses (an expectation without a predicate, a refill without a volume, a kink without
its delivered fraction, a flex day that does not start at 00:00). A key given as ``null`` counts
as absent, as it does for the models.
"""

from __future__ import annotations

from typing import Any

from pumpsim.scenario import grammar

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def present(key: str) -> dict[str, Any]:
    """The key is given and not null."""
    return {"required": [key], "properties": {key: {"not": {"type": "null"}}}}


def absent(key: str) -> dict[str, Any]:
    """The key is left out (or null)."""
    return {"not": present(key)}


def _add(schema: dict[str, Any], *rules: dict[str, Any]) -> None:
    schema.setdefault("allOf", []).extend(rules)


def expectation_rules(
    schema: dict[str, Any],
    model: Any = None,
    *,
    targets: tuple[str, ...],
    predicates: tuple[str, ...],
) -> None:
    """Exactly one target; an alarm or flag takes exactly one predicate and a duration as its
    tolerance; a value or a visit measurement takes ``at:`` and a number (``alarm_date`` none);
    ``cause``, ``alarmed`` and ``severity`` filter flags only (``Expectation._shape``)."""
    timed = {"anyOf": [present("alarm"), present("flag")]}
    _add(
        schema,
        {"oneOf": [present(t) for t in targets]},
        {
            "if": timed,
            "then": {
                "allOf": [
                    {"oneOf": [present(p) for p in predicates]},
                    absent("at"),
                    {
                        "properties": {
                            "tolerance": {
                                "anyOf": [
                                    {"type": "null"},
                                    {"type": "string", "pattern": grammar.DURATION},
                                ]
                            }
                        }
                    },
                ]
            },
            "else": {
                "allOf": [
                    present("at"),
                    *(absent(p) for p in predicates),
                    {"properties": {"tolerance": {"type": ["number", "null"]}}},
                ]
            },
        },
        {"if": present("alarm"), "then": {"allOf": [absent(k) for k in _FLAG_FILTERS]}},
        {"if": present("alarm_date"), "then": absent("tolerance")},
    )


_FLAG_FILTERS = ("cause", "alarmed", "severity")


def refill_rules(schema: dict[str, Any]) -> None:
    """A refill needs ``volume_ml`` unless it is missed (``RefillEvent._volume``)."""
    missed = {"required": ["missed"], "properties": {"missed": {"const": True}}}
    _add(schema, {"anyOf": [present("volume_ml"), missed]})


def catheter_fault_rules(schema: dict[str, Any]) -> None:
    """A kink or a leak needs ``delivered_fraction`` (``CatheterFaultEvent._fraction``)."""
    partial = {"required": ["kind"], "properties": {"kind": {"enum": ["kink", "leak"]}}}
    _add(schema, {"if": partial, "then": present("delivered_fraction")})


def _day() -> dict[str, Any]:
    """A flex day: at least one step, the first at 00:00 (``therapy._check_steps``)."""
    return {"minItems": 1, "prefixItems": [{"properties": {"at": {"pattern": grammar.MIDNIGHT}}}]}


def therapy_rules(schema: dict[str, Any]) -> None:
    """Continuous: a daily dose, no steps. Flex: steps, or ``days`` for all of mon..sun, and no
    daily dose; every day starts at 00:00 (``Therapy._shape``)."""
    flex = {"required": ["mode"], "properties": {"mode": {"const": "flex"}}}
    every_day = {"allOf": [present("days"), {"properties": {"days": {"required": list(WEEKDAYS)}}}]}
    _add(
        schema,
        {
            "if": flex,
            "then": {
                "allOf": [absent("dose_mcg_per_day"), {"anyOf": [present("steps"), every_day]}]
            },
            "else": {"allOf": [present("dose_mcg_per_day"), absent("steps"), absent("days")]},
        },
        {
            "properties": {
                "steps": {"anyOf": [{"type": "null"}, _day()]},
                "days": {"anyOf": [{"type": "null"}, {"additionalProperties": _day()}]},
            }
        },
    )
