"""Outputs and the process: safe writing, closed or full stdout, signals, exit codes, --debug."""

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest
from conftest import SCENARIOS

import pumpsim
from pumpsim.cli import build_parser, main
from pumpsim.errors import OutputError
from pumpsim.files import remove_stale_temporaries, write_output

MISSED = str(SCENARIOS / "missed-refill.yaml")


def cli(args, timeout=120, **kw):
    return subprocess.run(
        [sys.executable, "-m", "pumpsim", *args], capture_output=True, timeout=timeout, **kw
    )


def one_line(err: bytes | str) -> str:
    text = err.decode() if isinstance(err, bytes) else err
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


@pytest.fixture
def noisy(write_yaml):
    """A scenario whose timeline is far larger than a pipe buffer (about 1 MB)."""
    events = "".join(
        f"  - {{at: {d}h, type: mri, duration: 1h, recovery_delay: 1h}}\n"
        for d in range(3, 8000, 4)
    )
    return write_yaml(
        "name: noisy\nduration: 340d\npump: {reservoir_ml: 40}\n"
        "drug: {concentration_mcg_per_ml: 2000}\ntherapy: {dose_mcg_per_day: 100}\n"
        "events:\n" + events,
        "noisy.yaml",
    )


# --- writing files -----------------------------------------------------------------------


def test_symlink_is_followed_and_its_target_written(tmp_path):
    target = tmp_path / "real.json"
    link = tmp_path / "link.json"
    os.symlink(target.name, link)
    assert main(["run", "-q", MISSED, "--json", str(link)]) == 0
    assert link.is_symlink() and json.loads(target.read_text())["scenario"] == "missed-refill"


def test_fifo_output_is_written_directly(tmp_path):
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    got = {}

    def reader():
        with open(fifo, "rb") as fh:
            got["data"] = fh.read()

    thread = threading.Thread(target=reader)
    thread.start()
    assert main(["run", "-q", MISSED, "--json", str(fifo)]) == 0
    thread.join(30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a FIFO, never replaced
    assert json.loads(got["data"])["scenario"] == "missed-refill"
    assert not list(tmp_path.glob(".pumpsim-*"))


def test_device_output_is_written_not_replaced():
    assert main(["run", "-q", MISSED, "--json", "/dev/null"]) == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_full_device_is_exit_3(capsys):
    assert main(["run", "-q", MISSED, "--json", "/dev/full"]) == 3
    assert "No space left" in one_line(capsys.readouterr().err)


def test_missing_folder_or_directory_is_exit_2_before_any_work(capsys, tmp_path):
    assert main(["run", MISSED, "--json", str(tmp_path / "no" / "r.json")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "does not exist" in one_line(err)
    assert main(["check", MISSED, "--junit", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "is a directory" in one_line(err)


def test_new_files_honour_the_umask_existing_keep_their_mode(tmp_path):
    new = tmp_path / "new.json"
    code = f"import os; os.umask(0o027); from pumpsim.cli import main; raise SystemExit(main(['run', '-q', {MISSED!r}, '--json', {str(new)!r}]))"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o640
    old = tmp_path / "old.json"
    old.write_text("x")
    os.chmod(old, 0o604)
    write_output(str(old), "{}")
    assert stat.S_IMODE(os.stat(old).st_mode) == 0o604 and old.read_text() == "{}"


def test_stale_temporaries_are_removed_live_ones_kept(tmp_path):
    stale = tmp_path / ".pumpsim-999999999-abc.tmp"  # no such process
    live = tmp_path / f".pumpsim-{os.getppid()}-abc.tmp"
    other = tmp_path / ".pumpsim-notes.tmp"
    for p in (stale, live, other):
        p.write_text("partial")
    write_output(str(tmp_path / "r.json"), "{}")
    assert not stale.exists() and live.exists() and other.exists()
    assert remove_stale_temporaries(str(tmp_path)) == []


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failed_or_interrupted_write_leaves_nothing(tmp_path, monkeypatch, failure):
    out = tmp_path / "r.json"
    out.write_text("previous")

    def broken(fd):
        raise failure

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OutputError if isinstance(failure, OSError) else KeyboardInterrupt) as info:
        write_output(str(out), "{}")
    if isinstance(failure, OSError):
        assert info.value.exit_code == 3
    assert out.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_stdout_full_is_one_line_exit_3():
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "pumpsim", "run", MISSED],
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    assert proc.returncode == 3
    assert "No space left" in one_line(proc.stderr)


def test_stdout_closed_is_one_line_exit_3():
    proc = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -m pumpsim run "{MISSED}" >&-'],
        stderr=subprocess.PIPE,
        timeout=120,
    )
    assert proc.returncode == 3
    assert "standard output" in one_line(proc.stderr)


def test_closed_pipe_is_one_line(noisy):
    proc = subprocess.Popen(
        [sys.executable, "-m", "pumpsim", "run", noisy],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.readline()
    proc.stdout.close()  # the reader goes away mid-output
    err = proc.stderr.read()
    assert proc.wait(120) == 3
    assert "Broken pipe" in one_line(err)


@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_signal_mid_run(tmp_path, noisy, sig, code, word):
    out = tmp_path / "r.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pumpsim", "run", noisy, "--json", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.readline()  # it is running; the full pipe now holds it mid-output
    proc.send_signal(sig)
    err = proc.stderr.read()
    proc.stdout.close()
    assert proc.wait(120) == code
    assert word in one_line(err)
    assert not list(tmp_path.glob(".pumpsim-*"))


SIGTERM_TRIES = 10


def test_sigterm_during_a_write_never_leaves_a_temporary(tmp_path, noisy):
    """SIGTERM at ten moments of writing a 6 MB result: as the temporary file appears (inside
    its creation), while it fills, at the rename, after it. Never a .pumpsim-*.tmp left, never
    a partial result, at most one line on stderr."""
    for attempt in range(SIGTERM_TRIES):
        folder = tmp_path / f"try{attempt}"
        folder.mkdir()
        out = folder / "r.json"
        proc = subprocess.Popen(
            [sys.executable, "-m", "pumpsim", "run", "-q", noisy, "--json", str(out)],
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if any(p.name.startswith(".pumpsim-") for p in folder.iterdir()):
                break
            time.sleep(0.0002)
        time.sleep(attempt * 0.004)  # 0 ms (at creation) .. 36 ms (after the rename)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        err = proc.stderr.read().decode()
        code = proc.wait(60)
        left = [p.name for p in folder.iterdir() if p.name != "r.json"]
        assert not left, (attempt, code, left, err)
        assert code in (0, 143, -signal.SIGTERM), (attempt, code, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
        if code == 143:
            assert "terminated" in err
        if out.exists():
            assert json.loads(out.read_text())["scenario"] == "noisy"


def test_signal_while_waiting_for_a_fifo_reader(tmp_path):
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pumpsim", "run", "-q", MISSED, "--json", str(fifo)],
        stderr=subprocess.PIPE,
    )
    wchan = f"/proc/{proc.pid}/wchan"
    for _ in range(1200):  # wait until it blocks opening the FIFO (no reader yet)
        with open(wchan) as fh:
            if "partner" in fh.read() or proc.poll() is not None:
                break
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    err = proc.stderr.read()
    assert proc.wait(120) == 143
    assert "terminated" in one_line(err)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


# --- exit codes, --debug, help ------------------------------------------------------------


def test_run_exits_1_when_an_expectation_fails(write_yaml, capsys):
    failing = (
        (SCENARIOS / "missed-refill.yaml").read_text().replace("first_at: 90d,", "first_at: 91d,")
    )
    assert main(["run", "-q", write_yaml(failing)]) == 1
    assert main(["run", "-q", MISSED]) == 0


def test_internal_error_is_one_line_and_debug_shows_the_traceback(monkeypatch, capsys):
    def boom(scenario):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr("pumpsim.outputs.api.simulate", boom)
    assert main(["run", MISSED]) == 4
    line = one_line(capsys.readouterr().err)
    assert "internal error: ZeroDivisionError" in line and "--debug" in line
    for argv in (["--debug", "run", MISSED], ["run", MISSED, "--debug"]):
        assert main(argv) == 4
        err = capsys.readouterr().err
        assert "Traceback" in err and "ZeroDivisionError" in err.strip().splitlines()[-1]


def test_usage_errors_are_one_line(capsys):
    assert main(["run"]) == 2
    assert "the following arguments are required" in one_line(capsys.readouterr().err)
    assert main(["frobnicate"]) == 2
    one_line(capsys.readouterr().err)


def test_every_subcommand_help_shows_exit_codes():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert "exit codes:" in parser.format_help()
    for name, command in sub.choices.items():
        text = command.format_help()
        assert "exit codes:" in text and "  2    invalid input" in text, name
        assert "--debug" in text, name


def test_simulate_result_notes_a_faulty_pump():
    sc = pumpsim.load_scenario(str(SCENARIOS / "over-infusion-silent-empty.yaml"))
    doc = pumpsim.simulate(sc).to_dict()
    assert doc["notes"] == [
        "pump.accuracy +25.0% is beyond the synchromed-ii specification (±14.5%): "
        "this scenario models a faulty pump"
    ]
    assert "notes" not in pumpsim.simulate(sc.with_values({"pump.accuracy": 0.145})).to_dict()


def test_nul_in_a_path_is_invalid_input(capsys):
    assert main(["run", "-q", MISSED, "--json", "a\0b.json"]) == 2
    assert "null" in one_line(capsys.readouterr().err)
    with pytest.raises(pumpsim.ScenarioError, match="null"):
        pumpsim.load_scenario("a\0b.yaml")
