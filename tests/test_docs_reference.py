"""docs/reference.md is generated from the code, complete and current."""

from __future__ import annotations

import argparse
import sys
import typing

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import gen_reference

RENDERED, MISSING = gen_reference.render()


def test_checked_in_reference_is_current():
    current = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert current == RENDERED, "docs/reference.md is stale: run python tools/gen_reference.py"


def test_every_entry_has_a_description():
    assert MISSING == [], (
        "describe these (a field's description= in the schema, an argparse help=, or the data "
        f"tables in tools/gen_reference.py): {MISSING}"
    )


def _models():
    from pydantic import BaseModel

    from pumpsim.scenario import schema

    return [
        m
        for m in vars(schema).values()
        if isinstance(m, type) and issubclass(m, BaseModel) and m.model_fields
    ]


def test_every_schema_key_is_listed():
    for model in _models():
        for name in model.model_fields:
            if name == "type":
                continue
            assert f"`{name}`" in RENDERED or f".{name}`" in RENDERED, (model.__name__, name)


def test_every_event_type_alarm_flag_and_cause_is_listed():
    from pumpsim.model.flags import CAUSES
    from pumpsim.scenario import schema
    from pumpsim.scenario.profiles import load_device_profile

    for model in typing.get_args(typing.get_args(schema.Event)[0]):
        (kind,) = typing.get_args(model.model_fields["type"].annotation)
        assert f"### `{kind}`" in RENDERED
    for alarm in load_device_profile("synchromed-ii").alarms:
        assert f"| `{alarm}` |" in RENDERED
    for flag in typing.get_args(schema.FlagName):
        assert f"| `{flag}` |" in RENDERED
    for cause in CAUSES:
        assert f"| `{cause}` |" in RENDERED


def test_every_profile_parameter_with_its_provenance():
    from pumpsim.scenario.profiles import available_profiles, load_device_profile, load_drug_profile

    for name in available_profiles():
        for key, param in load_device_profile(name).parameters.items():
            row = next(line for line in RENDERED.splitlines() if line.startswith(f"| `{key}` |"))
            if param.assumed:
                assert "*assumed*" in row, key
            else:
                assert "](http" in row, key
    for key in load_drug_profile("baclofen").parameters:
        assert f"| `{key}` |" in RENDERED


def test_every_command_and_option_is_listed():
    from pumpsim.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, cmd in sub.choices.items():
        assert f"### `pumpsim {name}`" in RENDERED
        for action in cmd._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}`" in RENDERED, (name, option)


def test_profile_defaults_are_shown_with_their_tag():
    assert (
        "| `pump.empty_reservoir_alarm_ml` | number ≥ 0, ≤ 1000 | device profile: 0.5 (*assumed*) |"
        in (RENDERED)
    )
    assert "| `risk.csf_half_life` | duration | drug profile: 1.5h |" in RENDERED


def test_new_keys_are_picked_up(monkeypatch):
    """A field added to the schema appears without touching the generator; without any
    description it is reported."""
    from pydantic import Field, create_model

    from pumpsim.scenario import schema

    catheter = create_model(
        "Catheter",
        __base__=schema.CatheterSection,
        tip_level=(str | None, Field(None, description="vertebral level of the tip")),
        brand=(str, "acme"),
    )
    scenario = create_model(
        "ScenarioFile", __base__=schema.ScenarioFile, catheter=(catheter, catheter())
    )
    monkeypatch.setattr(schema, "ScenarioFile", scenario)
    text, missing = gen_reference.render()
    assert "| `catheter.tip_level` | text | — | vertebral level of the tip |" in text
    assert "| `catheter.brand` | text | `acme` | *undocumented* |" in text
    assert "Catheter.brand" in missing


@pytest.mark.parametrize(
    ("model", "field", "text"),
    [
        ("Pump", "age", "duration"),
        ("Pump", "accuracy", "number > -1, ≤ 10 or `fit`"),
        ("ScenarioFile", "name", "text `^[a-z0-9-]+$`"),
        ("Expectation", "severity", "`high` | `moderate`"),
        ("Expectation", "first_within", "[duration, duration]"),
        ("ScenarioFile", "expect", "list of expectation"),
        ("ScenarioFile", "events", "list of event"),
    ],
)
def test_type_text(model, field, text):
    from pumpsim.scenario import schema

    info = getattr(schema, model).model_fields[field]
    assert gen_reference.type_text(info.annotation, info.metadata) == text


def test_check_mode_reports_staleness(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gen_reference, "OUT", tmp_path / "reference.md")
    assert gen_reference.main(["--check"]) == 1
    assert gen_reference.main([]) == 0
    assert gen_reference.main(["--check"]) == 0
