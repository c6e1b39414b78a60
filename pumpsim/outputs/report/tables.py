"""The report's tables: the scenario's facts, the alarms and flags with their guidance, the
timeline and the expectations. Static HTML (they read with scripts off and print), every text
escaped, each table with a caption; sources are cited by number and listed once at the end.

The timeline speaks ``pumpsim run``'s words: ``pump`` for what the pump logs, ``[body]`` for what
the pump cannot see, ``FLAG`` for the safety flags.
"""

from __future__ import annotations

from html import escape
from typing import Any

from pumpsim.model.clock import Clock
from pumpsim.model.units import format_duration_h
from pumpsim.outputs.report.events import describe
from pumpsim.outputs.report.guidance import alarm_label, device_text, flag_label, guidance
from pumpsim.outputs.report.moments import critical_alarm_from_h
from pumpsim.scenario.resolve import clock_notes

_LOG_KEYS = frozenset({"t_h", "at", "event"})
_NO_ENTRY = {"means": "", "todo": "", "sources": []}


class Sources:
    """The public sources the page cites, numbered in order of first citation."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def cite(self, urls: list[str]) -> str:
        """Links to the numbered sources of one table cell."""
        refs = []
        for url in urls:
            if url not in self.urls:
                self.urls.append(url)
            n = self.urls.index(url) + 1
            refs.append(f'<a href="#source-{n}">[{n}]</a>')
        return f'<p class="cite">sources: {" ".join(refs)}</p>' if refs else ""

    def html(self) -> str:
        """The numbered list of every source cited (printed with the page)."""
        items = "".join(
            f'<li id="source-{i}">{escape(url)}</li>' for i, url in enumerate(self.urls, start=1)
        )
        return f'<ol class="sources">{items}</ol>' if items else "<p>No source is cited.</p>"


def silence_text(flag_doc: dict[str, Any], clock: Clock) -> str | None:
    """How a withdrawal-risk flag began: ``SILENT: no critical alarm``, ``silent at onset;
    critical alarm from DATE`` (a critical alarm started later during it) or ``alarmed``."""
    if flag_doc.get("type") != "abrupt_discontinuation" or flag_doc.get("alarmed") is None:
        return None
    if flag_doc["alarmed"]:
        return "alarmed"
    later = critical_alarm_from_h(flag_doc)
    if later is not None:
        return f"silent at onset; critical alarm from {clock.label(later)}"
    return "SILENT: no critical alarm"


def overview(result: Any) -> str:
    """The scenario in plain words: its facts and its scheduled events."""
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
    facts.extend(("clock", note) for note in clock_notes(sc))  # the pump's clock and local time
    if sc.hazard:
        facts.append(("hazards", ", ".join(sc.hazard)))
    rows = "".join(
        f'<tr><th scope="row">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in facts
    )
    plan = "".join(
        f"<li><strong>{escape(clock.label(e.at))}</strong>: {escape(describe(e))}</li>"
        for e in sorted(sc.events, key=lambda e: e.at)
    )
    plan_html = (
        f'<p class="plan-head">What the scenario sets up:</p><ul class="plan">{plan}</ul>'
        if plan
        else '<p class="plan-head">No clinic or device event is scheduled.</p>'
    )
    return (
        '<table class="facts"><caption>The scenario</caption>'
        f"<tbody>{rows}</tbody></table>{plan_html}"
    )


def _who(event: Any, doc: dict[str, Any]) -> str:
    """``pump`` when the pump logs the scheduled event (a refill, a reprogramming), else
    ``[body]``: the pump's log and the body's log of the run decide, as in ``pumpsim run``."""
    for entry in doc["pump_log"]:
        if entry["t_h"] == event.at and not entry["event"].startswith("alarm_"):
            return "pump"
    return "[body]"


def physical_text(entry: dict[str, Any], g: dict[str, Any]) -> str:
    """One physical-log entry in plain words, with its details (the guidance's line for the
    event, its braces filled from the entry); an event the guidance lacks is named as logged."""
    template = g["physical_events"].get(entry["event"])
    if template is None:
        details = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in _LOG_KEYS)
        name = entry["event"].replace("_", " ")
        return f"{name} ({details})" if details else name
    fields = {
        k: "unknown" if v is None else v.replace("_", " ") if isinstance(v, str) else v
        for k, v in entry.items()
    }
    try:
        return " ".join(template.format_map(fields).split())
    except (KeyError, ValueError, TypeError):  # a detail missing or not a number
        return " ".join(template.split("{")[0].split()).rstrip(":( ")


def timeline(result: Any, doc: dict[str, Any]) -> str:
    """Every event, alarm and flag with its calendar date, in ``pumpsim run``'s words."""
    sc = result.scenario
    clock = Clock.of(sc.start)
    g = guidance()
    rows: list[tuple[float, int, str, str, str]] = []
    for e in sc.events:
        rows.append((e.at, 0, "event", _who(e, doc), describe(e)))
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
        rows.append((entry["t_h"], 2, "body", "[body]", physical_text(entry, g)))
    for f in doc["flags"]:
        bits = [b for b in (f.get("cause") and f["cause"].replace("_", " "),) if b]
        silence = silence_text(f, clock)
        if silence:
            bits.append(silence)
        if f.get("severity"):
            bits.append(f"severity {f['severity']}")
        text = f"{flag_label(f['type'])}" + (f" ({', '.join(bits)})" if bits else "")
        silent = " silent" if f.get("alarmed") is False else ""
        rows.append((f["start_h"], 3, "flag" + silent, "FLAG", text))
        if f["end_h"] is not None and f["end_h"] != f["start_h"]:
            rows.append((f["end_h"], 3, "flag-end", "FLAG", f"flag ends: {flag_label(f['type'])}"))
    rows.sort(key=lambda r: (r[0], r[1]))
    body = "".join(
        f'<tr class="{cls}"><td class="when">{escape(clock.label(t))}</td>'
        f'<td class="who">{escape(who)}</td><td>{escape(text)}</td></tr>'
        for t, _, cls, who, text in rows
    )
    if not rows:
        body = '<tr><td colspan="3">Nothing happened.</td></tr>'
    return (
        '<table class="timeline reflow"><caption>Everything that happened, in time order: '
        "<b>pump</b> what the pump logs, <b>[body]</b> what the pump cannot see, <b>FLAG</b> "
        "the simulator's safety flags</caption>"
        '<thead><tr><th scope="col">when</th><th scope="col">who</th><th scope="col">what</th>'
        f"</tr></thead><tbody>{body}</tbody></table>"
    )


def alarm_table(result: Any, sources: Sources, audio: dict[str, str]) -> str:
    """Each alarm that sounded: its tone (playable), when, what it means, what to do."""
    sc = result.scenario
    clock = Clock.of(sc.start)
    g = guidance()["alarms"]
    profile = result.run.setup.profile
    names: list[str] = []
    for a in result.alarms:
        if a.type not in names:
            names.append(a.type)
    if not names:
        return (
            '<p class="no-alarm">No alarm sounded in this scenario: nothing to hear. Whatever '
            "happened, the pump did not tell anyone.</p>"
        )
    rows = []
    for name in names:
        recs = [a for a in result.alarms if a.type == name]
        first = recs[0]
        prio = first.priority
        spans = "".join(
            f"<li>{escape(clock.label(a.start_h))} to "
            + (escape(clock.label(a.end_h)) if a.end_h is not None else "the end (still sounding)")
            + f": {a.tone_count(sc.duration)} tones</li>"
            for a in recs
        )
        entry = g.get(name, _NO_ENTRY)
        label = alarm_label(name)
        player = (
            f'<audio controls preload="auto" class="tone tone-{prio}" '
            f'aria-label="{escape(prio.replace("_", "-"))} alarm tone, representative: '
            f'{escape(label)}" src="{audio[prio]}"></audio>'
            '<span class="representative">representative tone</span>'
        )
        rows.append(
            f'<tr id="alarm-{escape(name)}" class="{prio}">'
            f'<td data-label="alarm and its tone"><strong>{escape(label)}</strong><br>'
            f'<span class="prio">{escape(prio.replace("_", "-"))}</span><br>'
            f"{escape(first.tone)}, every {escape(format_duration_h(first.tone_interval_h))}<br>"
            f'<span class="player">{player}</span><ul class="spans">{spans}</ul></td>'
            f'<td data-label="what it means">'
            f"{escape(device_text(entry['means'], profile))}</td>"
            f'<td data-label="what to do">{escape(device_text(entry["todo"], profile))}'
            f"{sources.cite(entry['sources'])}</td></tr>"
        )
    return (
        '<table class="guide reflow"><caption>Each alarm that sounded, with its tone '
        "(representative: the real device's pitches are not public)</caption>"
        '<thead><tr><th scope="col">alarm and its tone</th><th scope="col">what it means</th>'
        f'<th scope="col">what to do</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def flag_table(result: Any, doc: dict[str, Any], sources: Sources) -> str:
    """Each safety flag: when, how it began, what it means, what to do, what follows."""
    clock = Clock.of(result.scenario.start)
    g = guidance()["flags"]
    profile = result.run.setup.profile
    if not doc["flags"]:
        return "<p>No safety flag was raised.</p>"
    rows = []
    for f in doc["flags"]:
        entry = g.get(f["type"], _NO_ENTRY)
        end = "" if f["end_h"] == f["start_h"] else (
            " to " + (clock.label(f["end_h"]) if f["end_h"] is not None else "the end")
        )  # fmt: skip
        bits = []
        if f.get("cause"):
            bits.append(f"cause: {f['cause'].replace('_', ' ')}")
        silence = silence_text(f, clock)
        if silence:
            bits.append(silence)
        if f.get("severity"):
            bits.append(f"severity {f['severity']}")
        course = ""
        if f.get("expected_course"):
            items = "".join(
                f"<li>{escape(s['stage'])} (from {escape(clock.label(s['from_h']))}): "
                f"{escape(', '.join(s['signs']))}</li>"
                for s in f["expected_course"]
            )
            course = f'<p class="course">If nothing is done:</p><ul>{items}</ul>'
        silent = " silent" if f.get("alarmed") is False else ""
        rows.append(
            f'<tr class="flag{silent}"><td data-label="safety flag">'
            f"<strong>{escape(flag_label(f['type']))}</strong><br>"
            f"{escape(clock.label(f['start_h']))}{escape(end)}<br>"
            f"{escape('; '.join(bits))}</td>"
            f'<td data-label="what it means">'
            f"{escape(device_text(entry['means'], profile))}</td>"
            f'<td data-label="what to do">{escape(device_text(entry["todo"], profile))}'
            f"{course}{sources.cite(entry['sources'])}</td></tr>"
        )
    return (
        '<table class="guide reflow"><caption>Each safety flag the simulator raised (the pump '
        "itself shows none of them)</caption>"
        '<thead><tr><th scope="col">safety flag</th><th scope="col">what it means</th>'
        f'<th scope="col">what to do</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def expectations(doc: dict[str, Any]) -> str:
    """The scenario's expectations with pass or fail."""
    outs = doc["expectations"]
    if not outs:
        return "<p>This scenario states no expectations.</p>"
    rows = "".join(
        f'<tr class="{"pass" if o["passed"] else "fail"}"><td data-label="result">'
        f'{"PASS" if o["passed"] else "FAIL"}</td><td data-label="expectation">'
        f'{escape(o["text"])}</td><td data-label="expected">{escape(str(o["expected"]))}</td>'
        f'<td data-label="simulated">{escape(str(o["actual"]))}</td></tr>'
        for o in outs
    )
    n_ok = sum(1 for o in outs if o["passed"])
    return (
        f'<table class="expect reflow"><caption>{n_ok} of {len(outs)} expectations hold</caption>'
        '<thead><tr><th scope="col">result</th><th scope="col">expectation</th>'
        '<th scope="col">expected</th><th scope="col">simulated</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
