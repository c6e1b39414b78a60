"""The story the report and the figure tell (contract section 12): labelled markers at each
alarm and flag start, "silent at onset; critical alarm from DATE", one vocabulary with
``pumpsim run``, the quiz's questions, and everything escaped. Hand-checked on shipped
scenarios; the browser side is in test_report_room.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from functools import cache

import pytest
from conftest import ROOT, SCENARIOS, run, scenario_text

import pumpsim
from pumpsim.cli import main
from pumpsim.outputs.report.guidance import guidance
from pumpsim.outputs.report.html_report import render_report


@cache
def _result(stem: str):
    return pumpsim.simulate(pumpsim.load_scenario(str(SCENARIOS / f"{stem}.yaml")))


def _static(html: str) -> str:
    """The page without its scripts (what reads and prints with scripts off)."""
    return re.sub(r"<script.*?</script>", "", html, flags=re.S)


def _laid_out(result, **kw):
    from pumpsim.outputs.report.plot import figure, render

    fig = figure(result, **kw)
    render(fig, "png")
    return fig


def test_each_alarm_start_and_flag_start_is_a_labelled_marker_across_the_panels():
    from pumpsim.outputs.report.plot import panel

    r = _result("over-infusion-silent-empty")
    fig = _laid_out(r)
    strip = panel(fig, "moments")
    labels = [t.get_text() for t in strip.texts]
    assert labels == ["withdrawal risk: silent", "low-reservoir alarm", "empty-reservoir alarm"]
    days = {t.get_text(): t.xy[0] for t in strip.texts}
    epoch = days["low-reservoir alarm"] - 152  # the low-reservoir alarm starts on day 152
    assert days["empty-reservoir alarm"] - epoch == pytest.approx(158)
    for name in ("events", "reservoir", "csf", "alarms"):  # a line down every panel
        xs = {round(line.get_xdata()[0], 6) for line in panel(fig, name).lines if
              len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]}  # fmt: skip
        for label, x in days.items():
            assert round(x, 6) in xs, (name, label)
    # the silent flag's label is bold and black: the pump says nothing
    silent = next(t for t in strip.texts if t.get_text().endswith("silent"))
    assert silent.get_fontweight() == "bold" and silent.get_color() == "#000000"


def test_other_markers_lines_pass_behind_a_label_not_through_its_words():
    # Review D9: "refill booked too late" was struck through by the low-reservoir line.
    from matplotlib.colors import to_rgba

    from pumpsim.outputs.report.plot import panel

    fig = _laid_out(
        pumpsim.simulate(pumpsim.load_scenario(str(SCENARIOS / "replay" / "missed-then-late.yaml")))
    )
    strip = panel(fig, "moments")
    assert len(strip.texts) >= 4
    lines_z = max(line.get_zorder() for line in strip.lines)
    for label in strip.texts:
        box = label.get_bbox_patch()
        assert box is not None and box.get_facecolor() == to_rgba("white"), label.get_text()
        assert label.get_zorder() > lines_z


def test_marker_labels_never_overlap_and_stay_inside_the_window():
    from types import SimpleNamespace

    from pumpsim.outputs.report.panels import Frame, moment_lanes

    w = Frame(0.0, 100.0, 0.0, 14.0)
    moments = [SimpleNamespace(t_h=t, label=label) for t, label in (
        (1.0, "withdrawal risk: silent"), (2.0, "low-reservoir alarm"), (3.0, "ERI alarm"),
        (50.0, "empty-reservoir alarm"), (99.0, "withdrawal risk: alarmed"), (99.5, "EOS alarm"),
    )]  # fmt: skip
    placed = moment_lanes(moments, w)
    spans: dict[int, list[tuple[float, float]]] = {}
    for m, (lane, left) in zip(moments, placed, strict=True):
        width = (len(m.label) + 3) * 0.56 * 11 / 72 / (14 * 0.9)
        x = w.fraction(m.t_h)
        lo, hi = (x - width, x) if left else (x, x + width)
        assert lo >= 0 and hi <= 1, m.label
        for a, b in spans.get(lane, []):
            assert hi < a or lo > b, (m.label, lane)
        spans.setdefault(lane, []).append((lo, hi))
    assert placed[3][0] == 0  # a label far from the others goes back to the first lane
    assert max(lane for lane, _ in placed) == 2  # three close together need three lanes


def test_a_flag_silent_at_onset_then_alarmed_says_both():
    from pumpsim.model.clock import Clock
    from pumpsim.outputs.report.tables import silence_text

    r = _result("over-infusion-silent-empty")
    html = render_report(r)
    said = "silent at onset; critical alarm from 2026-06-08 00:00 (158d)"
    assert _static(html).count(said) == 2  # the flag table and the timeline
    data = json.loads(re.search(r'id="state-data">(.*?)</script>', html, re.S).group(1))
    assert data["flags"][0]["critical_from"] == "2026-06-08 00:00 (158d)"
    assert data["flags"][0]["critical_from_h"] == 158 * 24.0 and data["flags"][0]["silent"]
    clock = Clock.of(r.scenario.start)
    assert silence_text(r.to_dict()["flags"][0], clock) == said
    # a flag that stays silent, and one alarmed at onset, say so
    assert "SILENT: no critical alarm" in render_report(_result("catheter-disconnection"))
    missed = _static(render_report(_result("missed-refill")))
    assert "alarmed, severity high" in missed and "silent at onset" not in missed


def test_the_timeline_speaks_the_words_of_pumpsim_run(capsys):
    html = render_report(_result("catheter-disconnection"))
    rows = re.findall(r'<td class="who">(.*?)</td><td>(.*?)</td>', html)
    assert ("[body]", "Catheter disconnection, until repaired. The pump cannot detect it.") in rows
    assert ("[body]", "The catheter is repaired.") in rows
    assert {who for who, _ in rows} == {"[body]", "FLAG"}
    assert "clinic / device" not in html
    # the same split as `pumpsim run`'s own timeline
    assert main(["run", str(SCENARIOS / "catheter-disconnection.yaml")]) == 0
    printed = capsys.readouterr().out
    assert "[body] catheter fault (kind=disconnection" in printed
    refills = re.findall(r'<td class="who">(.*?)</td><td>Refill with',
                         render_report(_result("refill-on-time")))  # fmt: skip
    assert refills and set(refills) == {"pump"}


def test_quiz_questions_come_from_the_guidance_and_are_the_same_every_time():
    from pumpsim.outputs.report.quiz import questions

    r = _result("missed-refill")
    stops = questions(r)
    assert [s["t_h"] for s in stops] == [90 * 24.0, 97.5 * 24.0, pytest.approx(2341.568, abs=1e-3)]
    g = guidance()
    own = [("alarms", "low_reservoir"), ("alarms", "empty_reservoir"),
           ("flags", "abrupt_discontinuation")]  # fmt: skip
    pool = {part: {" ".join(e["quiz"][part].split()) for sec in ("alarms", "flags")
                   for e in g[sec].values()} for part in ("means", "todo")}  # fmt: skip
    for stop, (section, name) in zip(stops, own, strict=True):
        assert [q["ask"] for q in stop["questions"]] == ["What does it mean?", "What do you do?"]
        for q, part in zip(stop["questions"], ("means", "todo"), strict=True):
            right = " ".join(g[section][name]["quiz"][part].split())
            assert q["choices"][q["answer"]] == right
            assert len(set(q["choices"])) == 4 and set(q["choices"]) <= pool[part]
            assert q["explanation"] == " ".join(g[section][name][part].split())
    assert questions(r) == stops
    assert stops[0]["prompt"] == (
        "2026-04-01 00:00 (90d): the low-reservoir alarm starts (non-critical: 1-second single "
        "tone, every 1h)."
    )


def test_every_alarm_and_flag_has_a_marker_and_quiz_answers():
    g = guidance()
    for section in ("alarms", "flags"):
        for name, entry in g[section].items():
            assert entry["marker"] and entry["quiz"]["means"] and entry["quiz"]["todo"], name
    answers = [
        e["quiz"][p] for s in ("alarms", "flags") for e in g[s].values() for p in ("means", "todo")
    ]
    assert len(answers) == len(set(answers))  # no two choices read the same


def test_line_colours_have_3_to_1_contrast_on_white():
    from pumpsim.outputs.report.events import EVENT_KINDS
    from pumpsim.outputs.report.panels import LINE_COLOURS

    def luminance(colour: str) -> float:
        c = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    for colour in [*LINE_COLOURS, *(k.color for k in EVENT_KINDS if k.color.startswith("#"))]:
        assert 1.05 / (luminance(colour) + 0.05) >= 3.0, colour
    css = (ROOT / "pumpsim/outputs/report/report.css").read_text(encoding="utf-8")
    assert "--noncritical: #a55f00" in css  # the page's amber matches the figure's


HOSTILE = "<script>alert(1)</script> & \"q\" 'a' </style> $\\frac$ ]]> <!-- x"


def test_html_and_svg_escape_everything(tmp_path):
    text = scenario_text(
        duration="40d", reservoir=20, extra="events:\n  - {at: 1d, type: refill, volume_ml: 5}\n"
    )
    r = run(text.replace("name: t", f"name: t\ndescription: {json.dumps(HOSTILE)}"))
    for quiz in (False, True):
        html = render_report(r, quiz=quiz)
        assert "<script>alert" not in html and "</style> $" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#x27;a&#x27;" in html
        assert html.count("<script") == 2 and html.count("</script>") == 2
        svg = re.search(r"<svg.*</svg>", html, re.S).group(0)
        ET.fromstring(svg)  # well-formed: nothing leaked into the markup
    out = tmp_path / "f.svg"
    assert main(["plot", "-o", str(out), _write(tmp_path, text, HOSTILE)]) == 0
    ET.fromstring(out.read_bytes())  # well-formed
    assert b"<script" not in out.read_bytes()
    assert b"&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in out.read_bytes()  # shown, as text


def _write(folder, text: str, description: str) -> str:
    path = folder / "s.yaml"
    path.write_text(text.replace("name: t", f"name: t\ndescription: {json.dumps(description)}"),
                    encoding="utf-8")  # fmt: skip
    return str(path)


def test_matplotlib_warnings_never_reach_stderr(tmp_path):
    # issue 21: a glyph the font lacks, and an unwritable HOME (matplotlib's config folder)
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPL", "XDG_"))}
    env.update(PYTHONPATH=str(ROOT), HOME=str(home))
    glyphs = _write(tmp_path, scenario_text(duration="5d"), "患者 \U0001f600 ✓ résumé")
    # a YAML escape of a surrogate pair reads as two lone surrogates: no font draws those
    lone = tmp_path / "lone.yaml"
    lone.write_text(
        scenario_text(duration="5d").replace(
            "name: t", 'name: t\ndescription: "a \\ud83d\\ude00 b"'
        )
    )
    for path in (glyphs, str(lone)):
        for argv in (["plot", path, "-o", str(tmp_path / "f.svg")],
                     ["report", path, "-o", str(tmp_path / "r.html")]):  # fmt: skip
            proc = subprocess.run([sys.executable, "-m", "pumpsim", *argv], env=env,
                                  capture_output=True, text=True, timeout=300)  # fmt: skip
            assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "a \\ud83d\\ude00 b" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_report_hint_says_how_play_sounds_or_that_nothing_sounds():
    quiet = render_report(_result("catheter-disconnection"))
    assert "No alarm sounds in this scenario: Play crosses it in 30 s in silence." in quiet
    loud = render_report(_result("missed-refill"))
    assert "1 min plays as 0.1 s: the 1h tone every 7 s, the 10min tone every 4 s" in loud
    assert loud.count("representative tone") >= 3  # beside each audio and the panel's buttons


def test_quiz_report_is_deterministic_small_and_written_by_the_cli(tmp_path, capsys):
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    for out in (a, b):
        path = str(SCENARIOS / "over-infusion-silent-empty.yaml")
        assert main(["report", path, "-o", str(out), "--quiz"]) == 0
    assert a.read_bytes() == b.read_bytes() and a.stat().st_size < 3_000_000
    data = json.loads(re.search(rb'id="state-data">(.*?)</script>', a.read_bytes(), re.S).group(1))
    assert [len(s["questions"]) for s in data["quiz"]] == [2, 2, 2]
    assert b"(quiz)</h1>" in a.read_bytes()


def test_the_figure_shows_the_catheter_faults_a_fault_stream_drew():
    from pumpsim.outputs.report.plot import panel

    r = _result("fault-streams-one-patient")
    assert not any(e.type == "catheter_fault" for e in r.scenario.events)
    spans = r.run.catheter_faults
    assert spans  # drawn by the fault streams, in the run's record only
    events = panel(_laid_out(r), "events")
    rows = [t.get_text() for t in events.get_yticklabels()]
    assert rows == ["refill", "catheter fault", "catheter repair"]
    faults = next(line for line in events.lines if line.get_marker() == "D")
    assert len(faults.get_xdata()) == len(spans)
