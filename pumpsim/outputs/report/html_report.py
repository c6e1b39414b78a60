"""The educators' report: one self-contained HTML file per scenario.

It holds the scenario in plain words, the figure as inline SVG (its text real text) with a time
slider panel above it, the two sized to fit one projected or laptop screen together, a table of
the alarms (each with its tone as an embedded WAV, what it means and what to do) and of the
safety flags, the timeline in ``pumpsim run``'s words, the expectations with pass/fail, and the
sources. The slider shows the pump's state at any moment, steps between key moments, and Play
sounds each alarm as it repeats (the silence between repeats compressed, and said so); one real
minute plays at the true pace. With ``quiz=True`` Play stops at each alarm and flag start and
asks what it means and what to do. Nothing is fetched: no network, no other file. The page
reads fully with scripts off (the slider then stays hidden) and prints on A4 or Letter. Same
input, same bytes.

The page is ``template.html`` with ``report.css`` and ``report.js`` inlined; the teaching text
is ``guidance.yaml`` (package data).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from functools import cache
from html import escape
from importlib import resources
from string import Template
from typing import Any

from pumpsim.files import write_output
from pumpsim.model.clock import Clock
from pumpsim.model.units import format_duration_h
from pumpsim.outputs.report import tables
from pumpsim.outputs.report.alarm_track import GAP_COMPRESSION, compressed_cycle_s
from pumpsim.outputs.report.guidance import alarm_label
from pumpsim.outputs.report.moments import (
    critical_alarm_from_h,
    is_silent,
    key_moments,
    marker_text,
)
from pumpsim.outputs.report.plot import WIDTH_IN, figure, render, time_axis_box, title_lines
from pumpsim.outputs.report.quiz import questions
from pumpsim.outputs.report.state import MODES, state_table
from pumpsim.outputs.report.tones import tone_pattern, wav_bytes
from pumpsim.scenario.profiles import load_device_profile
from pumpsim.text import visible
from pumpsim.version import __version__

#: How long Play takes to cross the whole scenario (seconds, pauses at alarms excluded).
SWEEP_S = 30.0
#: How long "one real minute" lasts (seconds): the true pace of the tones.
REAL_MINUTE_S = 60.0

#: The quiz figure's width (inches): about the share of a laptop's width left beside the card.
QUIZ_FIGURE_WIDTH_IN = 10.5


def _package_text(name: str) -> str:
    return resources.files("pumpsim.outputs.report").joinpath(name).read_text("utf-8")


def _svg(fig: Any) -> tuple[str, float]:
    """The figure as inline SVG text, and its aspect ratio (width / height)."""
    text = render(fig, "svg").decode("utf-8")
    text = text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: inline in HTML
    text = re.sub(r"<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    size = re.search(r'<svg[^>]*?width="([\d.]+)pt" height="([\d.]+)pt"', text)
    aspect = float(size.group(1)) / float(size.group(2))
    return text, aspect


def _wav_uri(priority: str, profile_name: str) -> str:
    return "data:audio/wav;base64," + base64.b64encode(_wav(priority, profile_name)).decode()


@cache
def _wav(priority: str, profile_name: str) -> bytes:
    return wav_bytes(tone_pattern(load_device_profile(profile_name), priority))


def _hint(result: Any) -> str:
    """What Play does with sound, said plainly (or that there is nothing to hear)."""
    if not result.alarms:
        flags = " That silence is the lesson: see the safety flags." if result.flags else ""
        return escape(
            f"No alarm sounds in this scenario: Play crosses it in {SWEEP_S:g} s in silence.{flags}"
        )
    profile = load_device_profile(result.scenario.pump.profile)
    rhythms = []
    for a in result.alarms:
        tone_s = tone_pattern(profile, a.priority).duration_s
        words = (
            f"the {format_duration_h(a.tone_interval_h)} tone every "
            f"{compressed_cycle_s(tone_s, a.tone_interval_h):.0f} s"
        )
        if words not in rhythms:
            rhythms.append(words)
    return escape(
        f"Play: {SWEEP_S:g} s for the whole scenario, pausing at each alarm to hear it repeat, "
        f"silences compressed (1 min plays as {60 / GAP_COMPRESSION:g} s: {', '.join(rhythms)})."
    )


def _slider_data(result: Any, doc: dict[str, Any], t_axis: dict, quiz: bool) -> str:
    sc = result.scenario
    clock = Clock.of(sc.start)
    profile = load_device_profile(sc.pump.profile)
    moments = key_moments(result)
    alarms = []
    for a in result.alarms:
        tone_s = tone_pattern(profile, a.priority).duration_s
        alarms.append(
            {
                "type": a.type,
                "label": alarm_label(a.type),
                "marker": marker_text("alarm", a.type),
                "priority": a.priority,
                "start_h": a.start_h,
                "end_h": a.end_h,
                "interval_h": a.tone_interval_h,
                "tone_s": tone_s,
                "cycle_s": round(compressed_cycle_s(tone_s, a.tone_interval_h), 6),
            }
        )
    flags = []
    for f, fd in zip(result.flags, doc["flags"], strict=True):
        later = critical_alarm_from_h(fd)
        flags.append(
            {
                "label": marker_text("flag", f.type),
                "start_h": f.start_h,
                "end_h": f.end_h,
                "silent": is_silent(f),
                "alarmed": f.alarmed is True,
                "critical_from_h": later,
                "critical_from": None if later is None else clock.label(later),
            }
        )
    start_wall = clock.wall(0)
    data = {
        "duration_h": float(sc.duration),
        "threshold": float(sc.risk.threshold),
        "start_wall_ms": round((start_wall - datetime(1970, 1, 1)).total_seconds() * 1000),
        "axis": t_axis,
        "modes": [label for _, label in MODES],
        "alarms": alarms,
        "flags": flags,
        "moments": [
            {"t_h": m.t_h, "text": m.label + (" starts" if m.kind == "alarm" else " flag starts")}
            for m in moments
        ],
        "sound": {"sweep_s": SWEEP_S, "real_minute_s": REAL_MINUTE_S},
        "quiz": questions(result) if quiz else None,
        "rows": state_table(result),
    }
    text = json.dumps(data, separators=(",", ":"), allow_nan=False, ensure_ascii=True)
    return text.replace("</", "<\\/")


def render_report(result: Any, quiz: bool = False) -> str:
    """The whole report for a result, as HTML text (deterministic); ``quiz`` adds the quiz."""
    sc = result.scenario
    doc = result.to_dict()
    # The quiz's figure shares the screen's width with its question card: drawn narrower, its
    # text keeps its size on a laptop (contract section 12: 12 px at 1366 wide).
    fig = figure(result, titled=False, width_in=QUIZ_FIGURE_WIDTH_IN if quiz else WIDTH_IN)
    svg, aspect = _svg(fig)
    t_axis = {k: round(v, 6) for k, v in time_axis_box(fig).items()}
    t_axis.update(t0_h=0.0, t1_h=float(sc.duration))
    description = " ".join(sc.description.split()) or "(no description given)"
    sources = tables.Sources()
    audio = {p: _wav_uri(p, sc.pump.profile) for p in {a.priority for a in result.alarms}}
    alarms_html = tables.alarm_table(result, sources, audio)
    flags_html = tables.flag_table(result, doc, sources)
    caption = (
        "Figure: " + " ".join(title_lines(result, 10_000)) + " Panels from the top: when each "
        "alarm and flag starts; the scenario's events; what the pump believes against what is "
        "in the reservoir; the spinal-fluid level with the flagged spans; the alarms as their "
        "tones. Faint dashed lines carry each event down the panels. Keys: P and N for the "
        "previous and next key moment, Space to play or pause."
    )
    page = _template().substitute(
        style=_package_text("report.css"),
        script=_package_text("report.js"),
        title=escape(sc.name),
        heading=escape(sc.name) + (" (quiz)" if quiz else ""),
        description=escape(description),
        overview=tables.overview(result),
        stage_heading="The scenario at a glance" + (": the quiz" if quiz else ""),
        stage_class="quiz" if quiz else "plain",
        hint=_hint(result),
        figure=svg,
        aspect=f"{aspect:.4f}",
        figure_caption=escape(caption),
        alarms=alarms_html,
        flags=flags_html,
        timeline=tables.timeline(result, doc),
        expectations=tables.expectations(doc),
        sources=sources.html(),
        state_json=_slider_data(result, doc, t_axis, quiz),
        version=escape(__version__),
        profile=escape(sc.pump.profile),
    )
    # a lone surrogate in the scenario's text (YAML's "\ud83d") cannot be UTF-8, and a control
    # character (a terminal escape in a description or a log's note) is no HTML: their escapes
    return visible(page.encode("utf-8", "backslashreplace").decode("utf-8"))


def _template() -> Template:
    return Template(_package_text("template.html"))


def write_report(result: Any, path: str, quiz: bool = False) -> None:
    """Write the report whole or not at all (temporary file, then rename)."""
    write_output(path, render_report(result, quiz).encode("utf-8"))
