"""``pumpsim sweep`` on the command line: the shipped examples, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from pumpsim.cli import main

SWEEPS = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))
BASE = ROOT / "scenarios" / "steady-state-year.yaml"


def test_there_are_examples_and_a_comparison():
    assert len(SWEEPS) >= 3
    assert any("grid:" in p.read_text() for p in SWEEPS)


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.stem)
def test_shipped_sweeps_run(path: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    code = main(["sweep", str(path), "--out", str(out), "--patients", "3", "--workers", "1"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "per 100 patient-years" in printed and "grid point 0" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["patients_per_grid_point"] == 3
    assert (out / "patients.parquet").exists() or (out / "patients.csv").exists()


def test_plot_is_written(tmp_path: Path, capsys):
    out = tmp_path / "out"
    args = ["sweep", str(SWEEPS[0]), "--out", str(out), "--patients", "4", "--workers", "1"]
    assert main([*args, "--plot", "-q"]) == 0
    png = out / "survival.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out == ""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(text.replace("BASE", str(BASE)), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("name: x\nbase: BASE\npatients: 0\n", ":3: patients:", "whole number"),
        (
            "name: x\nbase: BASE\npatients: 2\nvary:\n  pump.accuracy: {normal: {mean: -3, sd: 0.1}}\n",
            ":5: vary.pump.accuracy:",
            "greater than -1",
        ),
        (
            "name: x\nbase: BASE\npatients: 2\nvary:\n  pump.acuracy: {fixed: 0.1}\n",
            ":5: vary.pump.acuracy:",
            "did you mean 'accuracy'",
        ),
        (
            "name: x\nbase: BASE\npatients: 2\ngrid:\n  pump.reservoir_ml: [20, 30]\n",
            ":5: grid.pump.reservoir_ml:",
            "not a synchromed-ii reservoir",
        ),
        (
            "name: x\nbase: BASE\npatients: 2\nclinic:\n  refill_every: 30\n",
            ":5: clinic.refill_every:",
            "bare number",
        ),
        (
            "name: x\nbase: BASE\npatients: 2\nfaults:\n  catheter: {model: gold}\n",
            ":5: faults.catheter.model:",
            "unknown catheter model",
        ),
        ("name: x\nbase: nowhere.yaml\npatients: 2\n", ":2: base:", "no such scenario file"),
        (
            "name: x\npatients: 2\nscenario:\n  name: y\n  duration: 30d\n"
            "  drug: {concentration_mcg_per_ml: 2000}\n  therapy: {dose_mcg_per_day: 60000}\n",
            ":7: scenario.therapy.dose_mcg_per_day:",
            "programmable range",
        ),
        ("name: x\nbase: BASE\npatients: 2\nwhatever: 1\n", ":4: whatever:", "unknown key"),
    ],
)
def test_bad_sweep_file_is_one_line_exit_2(tmp_path: Path, text: str, where: str, what: str):
    path = write(tmp_path, text)
    proc = subprocess.run(
        [sys.executable, "-m", "pumpsim", "sweep", path, "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(path + where), proc.stderr
    assert what in proc.stderr


def test_bad_base_file_is_named_with_its_line(tmp_path: Path):
    base = tmp_path / "base.yaml"
    base.write_text(BASE.read_text().replace("reservoir_ml: 20", "reservoir_ml: 30"))
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nbase: base.yaml\npatients: 2\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pumpsim", "sweep", str(path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    line = next(i for i, t in enumerate(base.read_text().splitlines(), 1) if "reservoir_ml" in t)
    assert proc.stderr.startswith(f"{base}:{line}: pump.reservoir_ml:"), proc.stderr


def test_changed_sweep_refused_then_fresh(tmp_path: Path, capsys):
    path = write(tmp_path, "name: x\nbase: BASE\npatients: 2\nduration: 30d\n")
    out = str(tmp_path / "o")
    assert main(["sweep", path, "--out", out, "-q", "--workers", "1"]) == 0
    Path(path).write_text(Path(path).read_text().replace("patients: 2", "patients: 3"))
    proc = subprocess.run(
        [sys.executable, "-m", "pumpsim", "sweep", path, "--out", out],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "--fresh" in proc.stderr and proc.stderr.count("\n") == 1
    assert main(["sweep", path, "--out", out, "-q", "--fresh", "--workers", "1"]) == 0
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["patients_per_grid_point"] == 3


def test_bad_options(tmp_path: Path, capsys):
    path = write(tmp_path, "name: x\nbase: BASE\npatients: 2\n")
    assert main(["sweep", path, "--out", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys, pumpsim.cli as c\n"
        "try:\n    c.main(['sweep', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('numpy', 'simpy', 'pydantic', 'pyarrow', 'dask', 'matplotlib')"
        " if m in sys.modules]\nprint(heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().endswith("[]"), proc.stdout


def test_ctrl_c_stops_cleanly_and_the_next_run_resumes(tmp_path: Path):
    import os
    import signal
    import time

    path = write(
        tmp_path,
        "name: x\nbase: BASE\npatients: 400\nduration: 2y\nseed: 5\n"
        "vary:\n  pump.accuracy: {normal: {mean: 0.0, sd: 0.02}}\n"
        "clinic: {refill_every: 57d}\n",
    )
    out = tmp_path / "o"
    cmd = [
        sys.executable,
        "-m",
        "pumpsim",
        "sweep",
        path,
        "--out",
        str(out),
        "--workers",
        "2",
        "--batch-size",
        "10",
        "-q",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True)
    batches = out / "batches"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = list(batches.rglob("batch-*.json")) if batches.exists() else []
        if len(done) >= 2 or proc.poll() is not None:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the sweep finished before it could be interrupted")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.count("\n") == 1 and "resume" in err
    assert not (out / "summary.json").exists()
    assert not list(out.rglob(".pumpsim-*"))  # no temporary file left behind
    kept = len(list(batches.rglob("batch-*.json")))
    assert 0 < kept <= 40
    assert subprocess.run(cmd, check=False).returncode == 0
    whole = tmp_path / "whole"
    assert subprocess.run([*cmd[:6], str(whole), *cmd[7:]], check=False).returncode == 0
    for name in ("summary.json", "patients.csv", "patients.parquet"):
        if (whole / name).exists():
            assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def test_sweep_files_in_the_how_to_run_as_shown():
    """Every sweep file on the how-to page parses where the page puts it: one to save in the
    project folder (``<!-- file: NAME -->``) from there, a shipped one as the shipped file (the
    same keys and values), so a copied example runs (its ``base:`` path included)."""
    import re

    from pumpsim.scenario.yamlsafe import load_yaml_text
    from pumpsim.studies.sweep.spec import parse_sweep

    doc = ROOT / "docs" / "howto-sweep.md"
    text = doc.read_text(encoding="utf-8")
    found = re.findall(r"(<!-- file: (\S+) -->\n)?```yaml\n(name: .*?)```", text, re.S)
    blocks = [(name, block) for _, name, block in found if "\npatients:" in block]
    assert len(blocks) >= 2 and any(name for name, _ in blocks)
    for name, block in blocks:
        if name:  # saved in the project folder, run from there
            where = ROOT / name
        else:  # the shipped file, shown as it is
            where = ROOT / "scenarios" / "sweeps" / f"{block.split()[1]}.yaml"
            shipped = [line.split("#")[0].rstrip() for line in where.read_text().splitlines()]
            body = [line.split("#")[0].rstrip() for line in block.splitlines()]
            assert [b for b in body if b] == [s for s in shipped if s]
        spec = parse_sweep(load_yaml_text(block, str(where)), str(where), {"patients": 2})
        assert spec.patients == 2


def test_closed_stdout_is_one_line_not_a_traceback(tmp_path: Path, monkeypatch, capsys):
    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            raise OSError("no file descriptor")

    path = write(tmp_path, "name: x\nbase: BASE\npatients: 2\nduration: 30d\n")
    monkeypatch.setattr(sys, "stdout", Closed())
    code = main(["sweep", path, "--out", str(tmp_path / "o"), "--workers", "1"])
    assert code == 3  # an output could not be written (the README's exit codes)
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "files in" in err and "are complete" in err
    assert (tmp_path / "o" / "summary.json").exists()
