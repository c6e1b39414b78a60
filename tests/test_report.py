"""The educators' HTML report: self-contained, deterministic, complete without scripts."""

from __future__ import annotations

import base64
import io
import json
import re
import wave
from html.parser import HTMLParser
from typing import get_args

import pytest
from conftest import SCENARIOS, run, scenario_text, shipped_scenarios

import pumpsim
from pumpsim.cli import main
from pumpsim.outputs.report.guidance import guidance
from pumpsim.outputs.report.html_report import render_report
from pumpsim.outputs.report.state import catheter_spans, state_table
from pumpsim.scenario.profiles import load_device_profile
from pumpsim.scenario.schema import AlarmName, FlagName


@pytest.fixture(scope="module")
def missed():
    result = pumpsim.simulate(pumpsim.load_scenario(str(SCENARIOS / "missed-refill.yaml")))
    return result, render_report(result)


class _Tags(HTMLParser):
    """Collects every tag's attributes, and checks that table tags are balanced."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.depth = {"table": 0, "tr": 0, "td": 0, "script": 0, "svg": 0}

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in self.depth:
            self.depth[tag] += 1

    def handle_endtag(self, tag):
        if tag in self.depth:
            self.depth[tag] -= 1


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    p.close()
    return p


def test_report_is_self_contained(missed):
    _, html = missed
    p = _parse(html)
    assert all(v == 0 for v in p.depth.values()), p.depth
    for tag, attrs in p.tags:
        assert tag not in ("link", "iframe", "object", "embed", "img"), tag
        for key in ("src", "href"):
            value = attrs.get(key)
            if value is not None and tag != "a":
                assert value.startswith("data:"), (tag, key, value[:60])
        if tag == "script":
            assert "src" not in attrs
    assert "@import" not in html and "url(http" not in html and "<svg" in html
    assert html.count("<svg") == 1 and "<?xml" not in html and "<!DOCTYPE svg" not in html


def test_every_alarm_has_a_playable_wav_beside_it(missed):
    result, html = missed
    p = _parse(html)
    audios = [a for t, a in p.tags if t == "audio"]
    assert len(audios) == len({a.type for a in result.alarms}) == 2
    durations = []
    for attrs in audios:
        assert "controls" in attrs
        head, data = attrs["src"].split(",", 1)
        assert head == "data:audio/wav;base64"
        with wave.open(io.BytesIO(base64.b64decode(data))) as w:
            durations.append(w.getnframes() / w.getframerate())
    assert sorted(durations) == [1.0, 3.0]  # non-critical then critical
    # each audio sits in its alarm's row
    for name in ("low_reservoir", "empty_reservoir"):
        row = re.search(rf'<tr id="alarm-{name}".*?</tr>', html, re.S).group(0)
        assert "<audio" in row


def test_report_reads_fully_with_scripts_off(missed):
    result, html = missed
    # the slider panel is hidden until the script shows it; everything else is static HTML
    assert re.search(r'<section id="slider-panel" hidden', html)
    for heading in ("Alarms: what you hear", "Safety flags", "Timeline", "Expectations"):
        assert heading in html
    # calendar dates with the offset beside them
    assert "2026-04-08 12:00 (97d 12h)" in html  # empty-reservoir alarm
    assert "2026-04-01 00:00 (90d)" in html  # low-reservoir alarm
    # what it means and what to do, from the package data
    g = guidance()
    assert g["alarms"]["empty_reservoir"]["todo"].split(".")[0] in html
    assert "return of baseline spasticity" in html
    # the expectations with pass/fail
    assert html.count('<td data-label="result">PASS</td>') == len(result.outcomes)
    assert "FAIL" not in html
    # the scenario in plain words: its description and its events
    assert "The patient misses the day-85 refill" in html
    assert "Refill visit missed" in html
    assert (
        "<li><strong>2026-03-27 00:00 (85d)</strong>: Refill visit missed: nothing is withdrawn "
        "or injected.</li>"
    ) in html


def test_report_is_deterministic_and_written_whole(tmp_path, capsys):
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    for out in (a, b):
        assert main(["report", str(SCENARIOS / "eri-ignored-until-eos.yaml"), "-o", str(out)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert not list(tmp_path.glob(".pumpsim-*"))
    assert oct(a.stat().st_mode & 0o777) == oct(0o644)


def test_report_bad_input_is_one_line_exit_2(tmp_path, capsys, write_yaml):
    path = write_yaml("name: Bad Name\nduration: 10d\ndrug: {concentration_mcg_per_ml: 2000}\n"
                      "therapy: {dose_mcg_per_day: 100}\n")  # fmt: skip
    out = tmp_path / "r.html"
    assert main(["report", path, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "name" in err and "Traceback" not in err
    assert not out.exists()


def test_report_unwritable_output_is_one_line(tmp_path, capsys):
    out = tmp_path / "missing-folder" / "r.html"
    assert main(["report", str(SCENARIOS / "missed-refill.yaml"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write the report" in err


def test_failed_expectation_shows_fail():
    r = run(
        scenario_text(duration="10d", extra="expect:\n  - {alarm: low_reservoir, first_at: 5d}\n")
    )
    html = render_report(r)
    assert '<td data-label="result">FAIL</td>' in html and "0 of 1 expectations hold" in html


def test_silent_withdrawal_flag_is_called_silent():
    r = pumpsim.simulate(pumpsim.load_scenario(str(SCENARIOS / "catheter-disconnection.yaml")))
    html = render_report(r)
    assert 'class="flag silent"' in html and "SILENT: no critical alarm" in html
    assert "No alarm sounded" in html
    assert "Catheter disconnection, until repaired. The pump cannot detect it." in html
    assert "the catheter fails" not in html  # the body's echo of a scheduled event is not repeated
    assert '<tr class="flag silent"><td class="when">2026-01-13 01:30 (12d 1h 30min)' in html


def test_timeline_tells_what_the_body_did_unscheduled():
    r = pumpsim.simulate(pumpsim.load_scenario(str(SCENARIOS / "pocket-fill.yaml")))
    html = render_report(r)
    assert "the reservoir is truly empty (the pump&#x27;s estimate may disagree)" in html


def test_guidance_covers_every_alarm_and_flag_with_sources():
    g = guidance()
    names = set(get_args(AlarmName)) | set(load_device_profile("synchromed-ii").alarms)
    for section, keys in (("alarms", names), ("flags", set(get_args(FlagName)))):
        for key in keys:
            entry = g[section][key]
            assert entry["means"] and entry["todo"] and entry["label"], key
            assert entry["sources"] and all(s.startswith("http") for s in entry["sources"]), key


# Publishers a report may cite to students: manufacturers, regulators, clinics, universities,
# and libraries or indexes of labels and journals. A new source's publisher is added here on
# purpose, after someone has looked at it (review D5: a drug-shop page and an unrecognised
# mirror had slipped into the guidance).
RECOGNISED_PUBLISHERS = (
    # the manufacturer; regulators (US, Australia, Singapore, Hong Kong)
    *("medtronic.com", "fda.gov", "tga.gov.au", "hsa.gov.sg", "mdd.gov.hk"),
    # the Institute for Safe Medication Practices; clinics; a university; PubMed
    *("ismp.org", "gillettechildrens.org", "southshoreneurologic.com", "wisc.edu", "nih.gov"),
    # a drug-label library, a journal index, a university library catalogue
    *("medlibrary.org", "metajournal.com", "bib-bvb.de"),
)


def test_guidance_cites_only_recognised_publishers():
    from urllib.parse import urlsplit

    g = guidance()
    for section in ("alarms", "flags"):
        for key, entry in g[section].items():
            for url in entry["sources"]:
                host = urlsplit(url).hostname or ""
                assert any(host == p or host.endswith("." + p) for p in RECOGNISED_PUBLISHERS), (
                    section,
                    key,
                    url,
                )


def test_state_table_hand_checked(missed):
    result, html = missed
    rows = state_table(result)
    t = rows["t_h"]
    assert t == sorted(t) and t[0] == 0.0 and t[-1] == 110 * 24
    # every alarm and flag boundary is a row
    for rec in [*result.alarms, *result.flags]:
        assert round(rec.start_h, 6) in t
    i = t.index(97.5 * 24)  # the empty-reservoir alarm: minimum-rate mode from this instant
    assert rows["mode"][i] == 2 and rows["mode"][i - 1] == 3
    assert rows["est"][i] == 0.5 and rows["when"][i] == "2026-04-08 12:00 (97d 12h)"
    assert rows["alarms"][i] == [0, 1] and rows["alarms"][i - 1] == [0]
    j = t.index(90 * 24)
    assert rows["est"][j] == 2.0 and rows["alarms"][j] == [0] and rows["alarms"][j - 1] == []
    assert rows["ratio"][0] == 1.0 and rows["ratio"][-1] < 0.5
    assert rows["flags"][-1] == [0] and rows["flags"][0] == []
    # embedded as JSON in the page
    blob = re.search(r'<script type="application/json" id="state-data">(.*?)</script>', html, re.S)
    data = json.loads(blob.group(1))
    assert data["rows"]["t_h"] == t and data["alarms"][1]["priority"] == "critical"
    assert 0 < data["axis"]["x0"] < data["axis"]["x1"] < 1


def test_catheter_spans_end_at_repair_or_duration():
    r = run(
        scenario_text(
            duration="30d",
            extra="""
            events:
              - {at: 2d, type: catheter_fault, kind: kink, delivered_fraction: 0.5, duration: 1d}
              - {at: 5d, type: catheter_fault, kind: disconnection}
              - {at: 8d, type: catheter_repair}
              - {at: 20d, type: catheter_fault, kind: leak, delivered_fraction: 0.2}
            """,
        )
    )
    assert catheter_spans(r) == [
        (48.0, 72.0, "kink"),
        (120.0, 192.0, "disconnection"),
        (480.0, float("inf"), "leak"),
    ]
    rows = state_table(r)
    k = rows["t_h"].index(120.0)
    assert rows["cath"][k] == "disconnection" and rows["cath"][rows["t_h"].index(192.0)] == ""
    assert rows["cath"][-1] == "leak"


@pytest.mark.parametrize("path", shipped_scenarios(), ids=lambda p: p.stem)
def test_report_on_every_shipped_scenario(path):
    result = pumpsim.simulate(pumpsim.load_scenario(str(path)))
    html = render_report(result)
    p = _parse(html)
    assert all(v == 0 for v in p.depth.values()), p.depth
    assert len(html) < 2_000_000


def test_howto_report_figures_exist_and_commands_parse():
    from conftest import ROOT

    from pumpsim.cli import build_parser

    text = (ROOT / "docs" / "howto-report.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]+\]\((img/[^)]+)\)", text)
    assert len(images) == 7
    for rel in images:
        data = (ROOT / "docs" / rel).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", rel
    for name in ("report-projector.png", "report-laptop-quiz.png", "report-phone.png"):
        assert f"(img/{name})" in text  # the three screen sizes, made by test_report_room.py
    for scenario in ("missed-refill", "catheter-disconnection", "eri-ignored-until-eos"):
        assert (SCENARIOS / f"{scenario}.yaml").exists()
    commands = [
        line.split()[1:]
        for block in re.findall(r"```sh\n(.*?)```", text, re.S)
        for line in block.splitlines()
        if line.startswith("pumpsim ")
    ]
    assert len(commands) == 8
    for argv in commands:
        build_parser().parse_args(argv)  # every command shown exists with these options


def test_report_bytes_do_not_depend_on_the_process(tmp_path):
    import os
    import subprocess
    import sys

    from conftest import ROOT

    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"r{seed}.html"
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED=seed)
        cmd = [sys.executable, "-m", "pumpsim", "report", str(SCENARIOS / "pocket-fill.yaml")]
        subprocess.run([*cmd, "-o", str(out)], env=env, check=True, capture_output=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_every_event_kind_in_plain_words():
    from pumpsim.outputs.report.events import describe, kind_of

    r = run(
        scenario_text(
            duration="60d",
            extra="""
            events:
              - {at: 5d, type: refill, volume_ml: 18, concentration_mcg_per_ml: 1000, bridge_bolus: true}
              - {at: 10d, type: refill, volume_ml: 20, missed: true}
              - {at: 15d, type: reprogram, therapy: {mode: flex, steps: [{at: "00:00", dose_mcg_per_hour: 10}]}}
              - {at: 20d, type: bolus, dose_mcg: 50, duration: 1h}
              - {at: 25d, type: catheter_fault, kind: kink, delivered_fraction: 0.5, duration: 2d}
              - {at: 27d, type: catheter_repair}
              - {at: 30d, type: mri, duration: 1h, recovery_delay: 30min}
              - {at: 35d, type: motor_stall, duration: 2h}
              - {at: 40d, type: pump_fault, kind: critical_memory_error}
              - {at: 45d, type: pump_replacement, volume_ml: 20}
              - {at: 46d, type: refill, volume_ml: 20, pocket_fraction: 0.1, update_pump_concentration: false}
            """,
        )
    )
    got = [(kind_of(e).label, describe(e)) for e in r.scenario.events]
    assert got == [
        ("refill", "Refill with 18 mL at 1000 mcg/mL with a bridge bolus."),
        ("missed refill", "Refill visit missed: nothing is withdrawn or injected."),
        ("reprogramming", "Reprogrammed to a flex programme of 240 mcg/day."),
        ("clinician bolus", "Clinician bolus of 50 mcg over 1h."),
        (
            "catheter fault",
            "Catheter kink, 50% of the flow still reaches the spinal fluid, for 2d. "
            "The pump cannot detect it.",
        ),
        ("catheter repair", "The catheter is repaired."),
        (
            "MRI (motor stops)",
            "MRI scan: the magnet stops the motor for 1h, and it takes another 30min to restart.",
        ),
        ("motor stall", "The motor stalls for 2h."),
        ("pump fault", "Pump fault: critical memory error."),
        ("pump replacement", "The pump is replaced (new battery), filled with 20 mL."),
        (
            "refill",
            "Refill with 20 mL (10% injected into the pocket by mistake).",
        ),
    ]


def test_teaching_text_takes_the_device_numbers_from_the_profile():
    from types import SimpleNamespace

    from pumpsim.outputs.report.guidance import device_text, guidance

    other = SimpleNamespace(eos_after_eri_h=60 * 24.0, refill_discrepancy_ml={10.0: 0.5})
    eri = device_text(guidance()["alarms"]["eri"]["means"], other)
    assert "60d later" in eri and "90" not in eri
    flag = device_text(guidance()["flags"]["refill_discrepancy"]["means"], other)
    assert "more than 0.5 mL (10 mL pump)" in flag
    for section in ("alarms", "flags"):  # no placeholder is left unfilled
        for entry in guidance()[section].values():
            for key in ("means", "todo"):
                assert "{" not in device_text(entry.get(key, ""), other)


def test_the_report_shows_the_five_catheter_faults_of_a_fault_stream():
    """The fault streams draw five catheter faults the scenario does not list: the report's
    slider reads them from the run's record (issue 17: it once found none)."""
    import itertools

    r = pumpsim.simulate(pumpsim.load_scenario(SCENARIOS / "fault-streams-one-patient.yaml"))
    spans = r.run.catheter_faults
    assert len(spans) == 5 and not any(e.type == "catheter_fault" for e in r.scenario.events)
    cols = state_table(r)
    # each fault is a run of rows whose catheter column names its kind, from its start
    runs = [kind for kind, _ in itertools.groupby(cols["cath"]) if kind]
    assert runs == [s.kind for s in spans]
    for span in spans:
        i = cols["t_h"].index(round(span.start_h, 6))
        assert cols["cath"][i] == span.kind


def _physical_events_logged() -> dict[str, dict]:
    """One physical-log entry of each kind the shipped scenarios and replays log."""
    seen: dict[str, dict] = {}
    for path in [*shipped_scenarios(), *sorted((SCENARIOS / "replay").glob("*.yaml"))]:
        doc = pumpsim.simulate(pumpsim.load_scenario(str(path))).to_dict()
        for entry in doc["physical_log"]:
            seen.setdefault(entry["event"], entry)
    return seen


def test_every_body_line_says_what_happened_with_its_values():
    # Review D3: a replay's "[body] pump accuracy" line had no values, a refill's new
    # concentration was told as reaching the catheter tip, and the tip's as "catheter front".
    import sys

    from pumpsim.outputs.report.tables import physical_text

    sys.path.insert(0, str(SCENARIOS.parent / "tools"))
    import gen_reference

    g = guidance()
    documented = {k.split(":")[1] for k in gen_reference.LOG_EVENTS if k.startswith("physical")}
    assert documented == set(g["physical_events"])
    for name, entry in _physical_events_logged().items():
        text = physical_text(entry, g)
        assert "{" not in text and "_" not in text, (name, text)
    accuracy = {
        "t_h": 1.0,
        "event": "pump_accuracy",
        "from_accuracy": 0.04167,
        "to_accuracy": 0.039,
    }
    assert physical_text(accuracy, g).startswith(
        "the pump's true accuracy is now +3.9% (it was +4.2%)"
    )
    change = {
        "t_h": 1.0,
        "event": "concentration_change",
        "from_mcg_per_ml": 500.0,
        "to_mcg_per_ml": 2000.0,
    }
    assert physical_text(change, g).startswith("the reservoir now holds 2000 mcg/mL (it held 500)")
    front = {
        "t_h": 1.0,
        "event": "catheter_front",
        "from_mcg_per_ml": None,
        "to_mcg_per_ml": 2000.0,
    }
    assert "reaches the catheter tip: 2000 mcg/mL" in physical_text(front, g)
    pocket = {"t_h": 1.0, "event": "pocket_fill", "pocket_ml": 10.0, "pocket_mcg": 20000.0}
    assert physical_text(pocket, g).startswith("10 mL (20000 mcg) of drug goes into the pocket")
    # an event the guidance does not know is named with its details, never dropped
    odd = {"t_h": 1.0, "at": "x", "event": "new_thing", "size_ml": 3}
    assert physical_text(odd, g) == "new thing (size_ml=3)"
    # a template whose detail is missing keeps its plain words
    assert physical_text({"t_h": 1.0, "event": "pump_fault"}, g) == "the pump's electronics fail"
    html = render_report(
        pumpsim.simulate(pumpsim.load_scenario(str(SCENARIOS / "replay" / "missed-then-late.yaml")))
    )
    assert "the pump&#x27;s true accuracy is now +3.9% (it was +4.2%)" in html
