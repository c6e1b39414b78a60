"""The teaching text (package data ``guidance.yaml``): names, meanings and actions.

For every alarm and safety flag: a readable label, what it means, what to do, and the public
sources of both (from the project's domain notes). Reports and figures read it; no teaching
sentence lives in code.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from pumpsim.model.units import format_duration_h


@cache
def guidance() -> dict[str, Any]:
    """The whole teaching text: ``alarms``, ``flags`` and ``physical_events`` sections."""
    text = resources.files("pumpsim.outputs.report").joinpath("guidance.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def device_text(text: str, profile: Any) -> str:
    """A teaching sentence with the device's own numbers filled in from its profile (the text
    never restates a device number): ``{eos_after_eri}`` and ``{discrepancy_limits}``."""
    limits = " or ".join(
        f"{limit:g} mL ({size:g} mL pump)"
        for size, limit in sorted(profile.refill_discrepancy_ml.items())
    )
    return text.replace("{eos_after_eri}", format_duration_h(profile.eos_after_eri_h)).replace(
        "{discrepancy_limits}", limits
    )


def alarm_label(name: str) -> str:
    """The readable name of an alarm (``eri`` -> ``ERI (replace soon)``)."""
    entry = guidance()["alarms"].get(name)
    return entry["label"] if entry else name.replace("_", " ")


def flag_label(name: str) -> str:
    """The readable name of a safety flag."""
    entry = guidance()["flags"].get(name)
    return entry["label"] if entry else name.replace("_", " ")
