"""The HTML report in a real browser: headless Chromium loads it and the scripts run.

Checked on every shipped scenario: no console error, the slider panel is shown, dragging the
slider changes the displayed state to the right values, the cursor moves over the figure.
On one scenario: the play button advances time and sounds the alarm it crosses, and a
screenshot is not blank. Skipped (with the reason) only where no Chromium is installed;
``.ci/run`` installs it.
"""

from __future__ import annotations

import io
import json

import pytest
from cdp import find_chromium
from conftest import SCENARIOS, shipped_scenarios

import pumpsim
from pumpsim.outputs.report.html_report import alarm_label, render_report
from pumpsim.outputs.report.state import MODES, state_table

EXE = find_chromium()
pytestmark = pytest.mark.skipif(
    EXE is None,
    reason=(
        "no Chromium on PATH, or not a POSIX system (apt-get install chromium; .ci/run "
        "installs it when apt works)"
    ),
)
FILES = shipped_scenarios()


@pytest.fixture
def browser(chromium):
    chromium.call("Emulation.clearDeviceMetricsOverride")
    chromium.events.clear()
    return chromium


def _report(path, folder):
    result = pumpsim.simulate(pumpsim.load_scenario(str(path)))
    out = folder / f"{path.stem}.html"
    out.write_text(render_report(result), encoding="utf-8")
    return result, out


def _state(b):
    return b.evaluate(
        "(function(){var o={};['when','est','true','mode','cath','ratio','alarms','flags']"
        ".forEach(function(k){o[k]=document.getElementById('st-'+k).textContent;});"
        "o.left=document.getElementById('cursor').style.left;"
        "o.hidden=document.getElementById('slider-panel').hidden;"
        "o.max=Number(document.getElementById('slider').max);return o;})()"
    )


def _drag_to(b, index):
    b.evaluate(
        f"(function(){{var s=document.getElementById('slider');s.value='{index}';"
        "s.dispatchEvent(new Event('input'));})()"
    )


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_report_runs_in_chromium(browser, tmp_path, path):
    result, out = _report(path, tmp_path)
    browser.events.clear()
    browser.load(out.as_uri())
    rows = state_table(result)
    n = len(rows["t_h"])
    first = _state(browser)
    assert first["hidden"] is False and first["max"] == n - 1
    assert first["when"] == rows["when"][0]
    # drag to the row with the most going on, and to the last row: the state follows
    busiest = max(range(n), key=lambda i: (len(rows["alarms"][i]) + len(rows["flags"][i]), i))
    for i in (busiest, n - 1):
        _drag_to(browser, i)
        s = _state(browser)
        assert s["when"] == rows["when"][i]
        assert s["est"] == f"{rows['est'][i]:.2f} mL"
        assert s["true"] == f"{rows['true'][i]:.2f} mL"
        assert s["mode"] == MODES[rows["mode"][i]][1]
        sounding = [result.alarms[k] for k in rows["alarms"][i]]
        names = [f"{alarm_label(a.type)} ({a.priority.replace('_', '-')})" for a in sounding]
        assert s["alarms"] == (", ".join(names) if names else "none")
        assert (s["flags"] == "none") == (not rows["flags"][i])
    assert s["left"] != first["left"], "the cursor did not move"
    assert browser.errors() == []


def test_play_sounds_the_alarm_it_crosses_and_screenshot_is_not_blank(browser, tmp_path):
    import matplotlib.image as mpimg

    result, out = _report(SCENARIOS / "missed-refill.yaml", tmp_path)
    browser.events.clear()
    browser.load(out.as_uri())
    rows = state_table(result)
    low = next(a for a in result.alarms if a.type == "low_reservoir")
    # start just before the low-reservoir alarm (90 d) and play: the non-critical tone sounds
    just_before = max(i for i, t in enumerate(rows["t_h"]) if t < low.start_h - 6)
    _drag_to(browser, just_before)
    browser.evaluate(
        "window.__played=[];HTMLMediaElement.prototype.play=function(){"
        "window.__played.push(this.className);return Promise.resolve();};"
        "document.getElementById('play').click();"
    )
    browser.evaluate("new Promise(function(r){setTimeout(r,1500);})")
    played = browser.evaluate("window.__played")
    moved = browser.evaluate("Number(document.getElementById('slider').value)")
    assert moved > just_before
    assert any("tone-non_critical" in c for c in played), played
    browser.evaluate("document.getElementById('play').click()")  # pause
    png = browser.screenshot()
    img = mpimg.imread(io.BytesIO(png))
    assert img.shape[0] > 500 and img.shape[1] > 1000
    assert float(img[..., :3].std()) > 0.05, "the screenshot is blank"
    assert browser.errors() == []


def test_report_reads_with_scripts_off_and_prints_without_controls(browser, tmp_path):
    _, out = _report(SCENARIOS / "catheter-disconnection.yaml", tmp_path)
    browser.events.clear()
    browser.call("Emulation.setScriptExecutionDisabled", value=True)
    try:
        browser.load(out.as_uri())
        seen = browser.call(
            "Runtime.evaluate",
            expression=(
                "JSON.stringify({panel: document.getElementById('slider-panel').offsetParent,"
                "tables: document.querySelectorAll('table').length,"
                "svg: document.querySelector('.figure svg').getBoundingClientRect().height,"
                "audio: document.querySelectorAll('audio').length,"
                "text: document.body.innerText.indexOf('SILENT: no critical alarm') >= 0})"
            ),
            returnByValue=True,
        )
    finally:
        browser.call("Emulation.setScriptExecutionDisabled", value=False)
    # evaluation still works from the protocol while page scripts are off
    state = json.loads(seen["result"]["value"])
    assert state["panel"] is None  # the slider stays hidden without scripts
    assert state["tables"] >= 4 and state["svg"] > 300 and state["text"]
    # printing hides the slider and the audio controls
    browser.load(out.as_uri())
    browser.call("Emulation.setEmulatedMedia", media="print")
    try:
        hidden = browser.evaluate(
            "[getComputedStyle(document.getElementById('slider-panel')).display,"
            "getComputedStyle(document.getElementById('cursor')).display]"
        )
    finally:
        browser.call("Emulation.setEmulatedMedia", media="")
    assert hidden == ["none", "none"]
    assert browser.errors() == []
