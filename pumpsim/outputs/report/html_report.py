"""The educators' report: one self-contained HTML file per scenario.

It holds the scenario in plain words, the timeline with calendar dates, the figure as inline
SVG, a table of the alarms (each with its tone as an embedded WAV, what it means and what to
do) and of the safety flags, the expectations with pass/fail, and a time slider that shows
the pump's state at any moment and sounds each alarm as the cursor crosses it. Nothing is
fetched: no network, no other file. The page reads fully with scripts off (the slider then
stays hidden). Same input, same bytes.

The page layout is ``template.html`` and the teaching text ``guidance.yaml`` (package data).
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from html import escape
from importlib import resources
from string import Template
from typing import Any

from pumpsim.model.clock import Clock
from pumpsim.model.units import format_duration_h
from pumpsim.outputs.report.events import describe
from pumpsim.outputs.report.guidance import alarm_label, device_text, flag_label, guidance
from pumpsim.outputs.report.state import MODES, state_table
from pumpsim.scenario.profiles import load_device_profile
from pumpsim.version import __version__


def _silent(flag: Any) -> bool:
    """A withdrawal-risk flag raised while no critical alarm was sounding."""
    return flag.type == "abrupt_discontinuation" and flag.alarmed is False


def _template() -> Template:
    return Template(
        resources.files("pumpsim.outputs.report").joinpath("template.html").read_text("utf-8")
    )


def _sources(urls: list[str]) -> str:
    items = "".join(f"<li>{escape(u)}</li>" for u in urls)
    return f'<details class="sources"><summary>sources</summary><ul>{items}</ul></details>'


def _svg(fig: Any) -> str:
    from pumpsim.outputs.report.plot import render

    text = render(fig, "svg").decode("utf-8")
    text = text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: inline in HTML
    return re.sub(r"<metadata>.*?</metadata>", "", text, count=1, flags=re.S)


def _wav_uri(priority: str, profile_name: str) -> str:
    return "data:audio/wav;base64," + base64.b64encode(_wav(priority, profile_name)).decode()


@cache
def _wav(priority: str, profile_name: str) -> bytes:
    from pumpsim.outputs.report.tones import tone_pattern, wav_bytes

    return wav_bytes(tone_pattern(load_device_profile(profile_name), priority))


def _overview(result: Any) -> str:
    sc = result.scenario
    th = sc.therapy
    clock = Clock.of(sc.start)
    accuracy = sc.pump.accuracy
    if accuracy == "fit":
        accuracy_text = ", accuracy fitted to the clinic log"
    else:
        accuracy_text = f", accuracy {accuracy:+.0%}" if accuracy else ""
    therapy = (
        f"a flex programme of {th.daily_dose_mcg:g} mcg/day"
        if th.mode == "flex"
        else f"{th.daily_dose_mcg:g} mcg/day, continuous"
    )
    facts = [
        ("simulated", f"{clock.date_time(0)} to {clock.date_time(sc.duration)} "
         f"({format_duration_h(sc.duration)}, {clock.offset_text()})"),
        ("pump", f"{sc.pump.profile}, {sc.pump.reservoir_ml:g} mL reservoir{accuracy_text}"),
        ("drug", f"{sc.drug.name} {sc.drug.concentration_mcg_per_ml:g} mcg/mL"),
        ("programme", therapy),
    ]  # fmt: skip
    factors = list(result.run.setup.risk_factors)
    facts.append(
        (
            "patient",
            "boxed-warning risk factors: " + "; ".join(factors)
            if factors
            else "no boxed-warning risk factor",
        )
    )
    if sc.hazard:
        facts.append(("hazards", ", ".join(sc.hazard)))
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
    plan = "".join(
        f"<li><strong>{escape(Clock.of(sc.start).label(e.at))}</strong>: {escape(describe(e))}</li>"
        for e in sorted(sc.events, key=lambda e: e.at)
    )
    plan_html = (
        f'<p class="plan-head">What the scenario sets up:</p><ul class="plan">{plan}</ul>'
        if plan
        else '<p class="plan-head">No clinic or device event is scheduled.</p>'
    )
    return f'<table class="facts">{rows}</table>{plan_html}'


def _timeline(result: Any, doc: dict[str, Any]) -> str:
    sc = result.scenario
    g = guidance()
    rows: list[tuple[float, int, str, str, str]] = []
    for e in sc.events:
        rows.append((e.at, 0, "event", "clinic / device", describe(e)))
    for a in result.alarms:
        label = alarm_label(a.type)
        prio = a.priority.replace("_", "-")
        rows.append((a.start_h, 1, f"alarm {a.priority}", "pump", f"{prio} alarm: {label}"))
        if a.end_h is not None:
            rows.append((a.end_h, 1, "alarm-end", "pump", f"alarm ends: {label}"))
    scheduled = {(e.type, e.at) for e in sc.events}
    for entry in doc["physical_log"]:
        if (entry["event"], entry["t_h"]) in scheduled:
            continue  # the scenario's own event, already told in plain words
        text = g["physical_events"].get(entry["event"], entry["event"].replace("_", " "))
        extra = entry.get("kind")
        rows.append((entry["t_h"], 2, "body", "body", text + (f" ({extra})" if extra else "")))
    for f in result.flags:
        bits = [b for b in (f.cause and f.cause.replace("_", " "),) if b]
        if f.type == "abrupt_discontinuation":
            bits.append("SILENT: no critical alarm" if f.alarmed is False else "alarm sounding")
        if f.severity:
            bits.append(f"severity {f.severity}")
        text = f"FLAG {flag_label(f.type)}" + (f" ({', '.join(bits)})" if bits else "")
        rows.append((f.start_h, 3, "flag silent" if _silent(f) else "flag", "safety", text))
        if f.end_h is not None and f.end_h != f.start_h:
            rows.append((f.end_h, 3, "flag-end", "safety", f"flag ends: {flag_label(f.type)}"))
    rows.sort(key=lambda r: (r[0], r[1]))
    body = "".join(
        f'<tr class="{cls}"><td class="when">{escape(Clock.of(sc.start).label(t))}</td>'
        f"<td>{escape(who)}</td><td>{escape(text)}</td></tr>"
        for t, _, cls, who, text in rows
    )
    if not rows:
        body = '<tr><td colspan="3">Nothing happened.</td></tr>'
    return (
        '<table class="timeline"><thead><tr><th>when</th><th>who</th><th>what</th></tr>'
        f"</thead><tbody>{body}</tbody></table>"
    )


def _alarm_table(result: Any) -> str:
    sc = result.scenario
    g = guidance()["alarms"]
    names: list[str] = []
    for a in result.alarms:
        if a.type not in names:
            names.append(a.type)
    if not names:
        return "<p>No alarm sounded in this scenario.</p>"
    rows = []
    for name in names:
        recs = [a for a in result.alarms if a.type == name]
        first = recs[0]
        prio = first.priority
        spans = "".join(
            f"<li>{escape(Clock.of(sc.start).label(a.start_h))} to "
            + (
                escape(Clock.of(sc.start).label(a.end_h))
                if a.end_h is not None
                else "the end (still sounding)"
            )
            + f": {a.tone_count(sc.duration)} tones</li>"
            for a in recs
        )
        entry = g.get(name, {"means": "", "todo": "", "sources": []})
        rows.append(
            f'<tr id="alarm-{name}" class="{prio}">'
            f'<td><strong>{escape(alarm_label(name))}</strong><br><span class="prio">'
            f"{escape(prio.replace('_', '-'))}</span><br>{escape(first.tone)}, every "
            f"{escape(format_duration_h(first.tone_interval_h))}<br>"
            f'<audio controls preload="auto" class="tone tone-{prio}" '
            f'src="{_wav_uri(prio, sc.pump.profile)}"></audio>'
            f'<ul class="spans">{spans}</ul></td>'
            f"<td>{escape(device_text(entry['means'], result.run.setup.profile))}</td>"
            f"<td>{escape(device_text(entry['todo'], result.run.setup.profile))}"
            f"{_sources(entry['sources'])}</td></tr>"
        )
    return (
        '<table class="guide"><thead><tr><th>alarm and its tone</th><th>what it means</th>'
        f"<th>what to do</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _flag_table(result: Any, doc: dict[str, Any]) -> str:
    sc = result.scenario
    g = guidance()["flags"]
    doc_flags = doc["flags"]
    if not doc_flags:
        return "<p>No safety flag was raised.</p>"
    rows = []
    for f in doc_flags:
        entry = g.get(f["type"], {"means": "", "todo": "", "sources": []})
        end = "" if f["end_h"] == f["start_h"] else (
            " to " + (Clock.of(sc.start).label(f["end_h"]) if f["end_h"] is not None else "the end")
        )  # fmt: skip
        bits = []
        if f.get("cause"):
            bits.append(f"cause: {f['cause'].replace('_', ' ')}")
        if f["type"] == "abrupt_discontinuation":
            bits.append("SILENT: no critical alarm" if f.get("alarmed") is False else "alarmed")
        if f.get("severity"):
            bits.append(f"severity {f['severity']}")
        course = ""
        if f.get("expected_course"):
            items = "".join(
                f"<li>{escape(s['stage'])} (from {escape(Clock.of(sc.start).label(s['from_h']))}): "
                f"{escape(', '.join(s['signs']))}</li>"
                for s in f["expected_course"]
            )
            course = f'<p class="course">If nothing is done:</p><ul>{items}</ul>'
        silent = " silent" if f.get("alarmed") is False else ""
        rows.append(
            f'<tr class="flag{silent}"><td><strong>{escape(flag_label(f["type"]))}</strong><br>'
            f"{escape(Clock.of(sc.start).label(f['start_h']))}{escape(end)}<br>"
            f"{escape('; '.join(bits))}</td>"
            f"<td>{escape(device_text(entry['means'], result.run.setup.profile))}</td>"
            f"<td>{escape(device_text(entry['todo'], result.run.setup.profile))}{course}"
            f"{_sources(entry['sources'])}</td></tr>"
        )
    return (
        '<table class="guide"><thead><tr><th>safety flag</th><th>what it means</th>'
        f"<th>what to do</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _expectations(doc: dict[str, Any]) -> str:
    outs = doc["expectations"]
    if not outs:
        return "<p>This scenario states no expectations.</p>"
    rows = "".join(
        f'<tr class="{"pass" if o["passed"] else "fail"}"><td>'
        f"{'PASS' if o['passed'] else 'FAIL'}</td><td>{escape(o['text'])}</td>"
        f"<td>{escape(str(o['expected']))}</td><td>{escape(str(o['actual']))}</td></tr>"
        for o in outs
    )
    n_ok = sum(1 for o in outs if o["passed"])
    return (
        f"<p>{n_ok} of {len(outs)} expectations hold.</p>"
        '<table class="expect"><thead><tr><th>result</th><th>expectation</th>'
        f"<th>expected</th><th>simulated</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _slider_data(result: Any, t_axis: dict[str, float]) -> str:
    sc = result.scenario
    data = {
        "duration_h": float(sc.duration),
        "axis": t_axis,
        "modes": [label for _, label in MODES],
        "alarms": [
            {
                "type": a.type,
                "label": alarm_label(a.type),
                "priority": a.priority,
                "start_h": a.start_h,
                "end_h": a.end_h,
            }
            for a in result.alarms
        ],
        "flags": [
            {
                "label": flag_label(f.type) + (" (silent)" if _silent(f) else ""),
                "start_h": f.start_h,
            }
            for f in result.flags
        ],
        "rows": state_table(result),
    }
    text = json.dumps(data, separators=(",", ":"), allow_nan=False, ensure_ascii=True)
    return text.replace("</", "<\\/")


def render_report(result: Any) -> str:
    """The whole report for a result, as HTML text (deterministic)."""
    from pumpsim.outputs.report.plot import figure, time_axis_box, title_lines

    sc = result.scenario
    doc = result.to_dict()
    fig = figure(result)
    svg = _svg(fig)
    t_axis = {k: round(v, 6) for k, v in time_axis_box(fig).items()}
    t_axis.update(t0_h=0.0, t1_h=float(sc.duration))
    description = " ".join(sc.description.split()) or "(no description given)"
    return _template().substitute(
        title=escape(sc.name),
        heading=escape(sc.name),
        description=escape(description),
        overview=_overview(result),
        timeline=_timeline(result, doc),
        figure=svg,
        figure_alt=escape(" ".join(title_lines(result))),
        alarms=_alarm_table(result),
        flags=_flag_table(result, doc),
        expectations=_expectations(doc),
        state_json=_slider_data(result, t_axis),
        version=escape(__version__),
        profile=escape(sc.pump.profile),
    )


def write_report(result: Any, path: str) -> None:
    """Write the report whole or not at all (temporary file, then rename)."""
    from pumpsim.files import write_output

    write_output(path, render_report(result).encode("utf-8"))
