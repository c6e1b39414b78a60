"""Text from a scenario, a clinic log, a profile or a file name reaches the terminal as text:
its control characters are made visible, so no escape sequence clears the screen, retitles the
window or hides a line (contract section 13)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import SCENARIOS

from pumpsim.cli import main
from pumpsim.cli.common import visible

#: What an attacker writes: clear the screen, retitle the window, a one-byte CSI, a bell, a
#: carriage return that hides what came before, a right-to-left override.
HOSTILE_YAML = r"\e[2J\e]0;owned\a\x9b31m\r\u202eevil"
STEERING = ("\x1b", "\x07", "\x9b", "\r", "\u202e")

SCENARIO = f"""\
name: escapes
description: "{HOSTILE_YAML}"
duration: 30d
pump: {{reservoir_ml: 20}}
drug: {{concentration_mcg_per_ml: 2000}}
therapy: {{dose_mcg_per_day: 400}}
expect:
  - {{alarm: low_reservoir, never: true}}
"""


def _clean(text: str) -> None:
    for char in STEERING:
        assert char not in text, repr(text)


def test_visible_escapes_what_steers_a_terminal_and_keeps_the_rest():
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("\x07\x9b\x7f\r") == "\\x07\\x9b\\x7f\\x0d"
    assert visible("\u202eabc\u2066") == "\\u202eabc\\u2066"
    assert visible("line 1\n\tline 2 café 🙂") == "line 1\n\tline 2 café 🙂"


def test_run_shows_a_hostile_description_as_text(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pumpsim", "run", str(path)], capture_output=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")
    _clean(out)
    assert "escapes: \\x1b[2J\\x1b]0;owned\\x07\\x9b31m \\u202eevil" in out  # the CR: a space


def test_check_and_validate_show_hostile_file_names_as_text(tmp_path, capsys):
    folder = tmp_path / "suite"
    folder.mkdir()
    hostile = folder / "\x1b]0;owned\x07.yaml"
    hostile.write_text(SCENARIO, encoding="utf-8")
    (folder / "\x1b[2Jbroken.yaml").write_text("name: [\n", encoding="utf-8")
    assert main(["check", str(folder)]) == 2
    out, err = capsys.readouterr()
    _clean(out + err)
    assert "\\x1b]0;owned\\x07.yaml" in out and "\\x1b[2Jbroken.yaml" in err
    assert main(["validate", str(folder)]) == 2
    out, err = capsys.readouterr()
    _clean(out + err)
    assert "ok  " in out and "\\x1b[2Jbroken.yaml" in err


def test_error_lines_show_control_characters_as_text(capsys, tmp_path):
    missing = str(tmp_path / "\x1b[2J\u202egone.yaml")
    assert main(["run", missing]) == 2
    err = capsys.readouterr().err
    _clean(err)
    assert "\\x1b[2J\\u202egone.yaml" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("column", ["note", "residual_withdrawn_ml"])
def test_replay_shows_hostile_clinic_log_cells_as_text(tmp_path, column):
    scenario = (SCENARIOS / "replay" / "clean-history.yaml").read_text(encoding="utf-8")
    rows = (SCENARIOS / "replay" / "patient-a17-clean.csv").read_text(encoding="utf-8")
    header, first, *rest = rows.splitlines()
    cells = first.split(",")
    cells[header.split(",").index(column)] = "\x1b]0;owned\x07\x1b[2J7.2"
    log = tmp_path / "patient-a17-clean.csv"
    log.write_text("\n".join([header, ",".join(cells), *rest]) + "\n", encoding="utf-8")
    path = tmp_path / "replay.yaml"
    path.write_text(scenario, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pumpsim", "replay", str(path)], capture_output=True, timeout=120
    )
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    _clean(out + err)
    if column == "note":  # free text, never parsed: the replay runs
        assert proc.returncode == 0, err
    else:
        assert proc.returncode == 2 and len(err.strip().splitlines()) == 1, err


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_on_a_real_terminal_nothing_steers_it(tmp_path):
    """The bytes a terminal receives (a pty, as a user's shell gives) hold no ESC or BEL."""
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    leader, follower = os.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pumpsim", "run", str(path)],
            stdout=follower,
            stderr=follower,
            stdin=subprocess.DEVNULL,
        )
        os.close(follower)
        received = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other side closed
                break
            if not chunk:
                break
            received += chunk
        assert proc.wait(120) == 0
    finally:
        os.close(leader)
    assert received and b"\x1b" not in received and b"\x07" not in received
    assert b"\xc2\x9b" not in received and "\u202e".encode() not in received


def test_tones_show_a_profiles_tone_label_as_text(tmp_path, monkeypatch, capsys):
    from conftest import ROOT

    from pumpsim.scenario.profiles import load_device_profile

    shipped = (ROOT / "pumpsim" / "profiles" / "synchromed-ii.yaml").read_text(encoding="utf-8")
    text = shipped.replace("name: synchromed-ii", "name: loud", 1).replace(
        "value: 3-second two-tone", 'value: "\\e]0;owned\\a3-second two-tone"', 1
    )
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "loud.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("PUMPSIM_PROFILE_PATH", str(folder))
    load_device_profile.cache_clear()
    try:
        assert main(["tones", "--profile", "loud", "--out", str(tmp_path / "t")]) == 0
    finally:
        load_device_profile.cache_clear()
    out = capsys.readouterr().out
    _clean(out)
    assert "\\x1b]0;owned\\x073-second two-tone" in out


def test_a_description_with_control_characters_gives_xml_svg_and_clean_html(tmp_path, capsys):
    # Review C, B1: ESC and BEL reached the SVG raw (not XML: browsers refuse the figure) and
    # the report's HTML.
    import xml.etree.ElementTree as ET

    scenario = tmp_path / "esc.yaml"
    scenario.write_text(
        'name: esc\ndescription: "desc \\x1b]0;pwned\\x07 \\x1b[2J clear \\u202e rtl"\n'
        "duration: 100d\ndrug: {concentration_mcg_per_ml: 2000}\ntherapy: {dose_mcg_per_day: 400}\n",
        encoding="utf-8",
    )
    svg, html = tmp_path / "f.svg", tmp_path / "r.html"
    assert main(["plot", str(scenario), "-o", str(svg)]) == 0
    assert main(["report", str(scenario), "-o", str(html)]) == 0
    capsys.readouterr()
    ET.parse(svg)  # well-formed XML
    for path in (svg, html):
        text = path.read_text(encoding="utf-8")
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "\\x1b]0;pwned\\x07" in text
