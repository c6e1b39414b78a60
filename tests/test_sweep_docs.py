"""The how-to's worked answer (docs/howto-sweep.md) runs as shown, at a smaller size: the
shipped sweep file, the command's options and the blocks the page reads from its outputs."""

from __future__ import annotations

import json
import re

from conftest import ROOT

from pumpsim.cli import main

QUESTION = ROOT / "scenarios" / "sweeps" / "withdrawal-question.yaml"
HOWTO = ROOT / "docs" / "howto-sweep.md"


def test_the_page_shows_the_shipped_sweep_file():
    shipped = QUESTION.read_text(encoding="utf-8")
    body = "\n".join(line for line in shipped.splitlines() if not line.startswith("#"))
    page = HOWTO.read_text(encoding="utf-8")
    shown = re.search(r"```yaml\n(name: withdrawal-question\n.*?)```", page, re.S).group(1)
    assert shown.strip() == body.strip()
    assert "pumpsim sweep scenarios/sweeps/withdrawal-question.yaml --out runs/question" in page
    assert "--by therapy.dose_mcg_per_day --plot" in page
    for image in ("img/sweep-withdrawal-question.png", "img/sweep-withdrawal-question-risk.png"):
        assert image in page and (ROOT / "docs" / image).stat().st_size > 10_000


def test_the_worked_answer_runs_at_a_smaller_size(tmp_path, capsys):
    out = tmp_path / "question"
    args = ["sweep", str(QUESTION), "--out", str(out), "--patients", "30", "--workers", "2"]
    assert main([*args, "--by", "therapy.dose_mcg_per_day", "--plot"]) == 0
    printed = capsys.readouterr().out
    assert "vs grid point 0:" in printed and "by therapy.dose_mcg_per_day:" in printed
    assert "risk table (pumpsim-default" in printed
    doc = json.loads((out / "summary.json").read_text())
    assert len(doc["grid_points"]) == 8 and doc["on_invalid"] == "redraw"
    for point in doc["grid_points"]:
        assert len(point["by"]["therapy.dose_mcg_per_day"]) == 4
        assert "redraws" in point
    assert (out / "risk.csv").read_text().startswith("grid_point,hazard,title")
    assert (out / "survival.png").exists() and (out / "survival-risk.png").exists()
