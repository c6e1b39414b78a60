"""Sweeps under stress: signals to the process or its group, a killed parent, damaged batches,
Dask endpoints that are not schedulers, failed writes. One line, the right exit code, no worker
left behind, no temporary file, and a folder the next run resumes to the same bytes."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT

from pumpsim.errors import OutputError
from pumpsim.studies.sweep.dask_endpoint import ExecutorError, check_scheduler, host_and_port
from pumpsim.studies.sweep.runner import (
    BATCH_PATIENT_YEARS,
    PATIENT_SETUP_YEARS,
    default_batch_size,
    run_sweep,
)
from pumpsim.studies.sweep.spec import load_sweep
from pumpsim.studies.sweep.store import BatchStore

BASE = ROOT / "scenarios" / "steady-state-year.yaml"
#: A sweep of several seconds on two workers, in many small batches (so that signals land
#: while batches run and some are already stored).
SLOW = f"""\
name: robust
base: {BASE}
patients: 1500
seed: 11
duration: 2y
vary:
  pump.accuracy: {{normal: {{mean: 0.01, sd: 0.03}}}}
  therapy.dose_mcg_per_day: {{lognormal: {{median: 400, sigma: 0.3}}}}
clinic:
  refill_every: {{normal: {{mean: 57d, sd: 15d}}}}
  late_by: {{exponential: {{mean: 3d}}}}
faults:
  catheter: {{rate_per_year: 0.3}}
"""
SMALL = SLOW.replace("patients: 1500", "patients: 40")
BATCH = "20"


def _sweep_file(folder: Path, text: str = SLOW) -> str:
    path = folder / "robust.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _outputs(folder: Path) -> dict[str, bytes]:
    names = ("patients.csv", "patients.parquet", "flags.csv", "flags.parquet", "summary.json")
    return {n: (folder / n).read_bytes() for n in names if (folder / n).exists()}


def _command(sweep: str, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "pumpsim", "sweep", sweep, "--out", str(out),
        "--batch-size", BATCH, "-q", *extra,
    ]  # fmt: skip


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for_batches(proc: subprocess.Popen, out: Path, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(out.glob("batches/*/batch-*.json"))) >= count:
            return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> tuple[str, dict[str, bytes]]:
    """The sweep file and the outputs of one uninterrupted run."""
    folder = tmp_path_factory.mktemp("whole")
    sweep = _sweep_file(folder)
    subprocess.run([*_command(sweep, folder / "out"), "--workers", "2"], check=True, timeout=300)
    return sweep, _outputs(folder / "out")


@pytest.mark.parametrize(
    ("sig", "to_group", "code", "word"),
    [
        (signal.SIGTERM, True, 143, "terminated"),
        (signal.SIGINT, True, 130, "interrupted"),
        (signal.SIGTERM, False, 143, "terminated"),
        (signal.SIGKILL, False, -signal.SIGKILL, None),
    ],
    ids=["sigterm-to-group", "ctrl-c-to-group", "sigterm-to-main", "sigkill-to-main"],
)
def test_a_signal_stops_the_sweep_at_once_and_it_resumes(
    tmp_path, whole, sig, to_group, code, word
):
    sweep, expected = whole
    out = tmp_path / "out"
    cmd = [*_command(sweep, out), "--workers", "2"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True)
    _wait_for_batches(proc, out, 2)
    workers = _children(proc.pid)
    if proc.poll() is not None:
        pytest.skip("the sweep finished before the signal")
    assert workers, "the pool has workers"
    sent = time.monotonic()
    (os.killpg if to_group else os.kill)(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 5, "the main process stops within 5 s"
    assert proc.returncode == code, err
    deadline = sent + 5
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if _alive(w)], "every worker is gone within 5 s"
    if word is None:
        assert err == ""
    else:
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert word in err and "run the same command again to resume" in err, err
        assert not list(out.rglob(".pumpsim-*")), "no temporary file"
    assert not (out / "summary.json").exists()
    assert list(out.glob("batches/*/batch-*.json")), "finished batches are kept"
    resumed = subprocess.run([*cmd[:-2], "--workers", "1"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr == ""  # a batch cut short by SIGKILL was never renamed into place
    assert not list(out.rglob(".pumpsim-*"))  # a killed run's temporary goes on the next write
    assert _outputs(out) == expected


@pytest.mark.skipif(
    not (
        sys.platform.startswith("linux") and __import__("importlib").util.find_spec("distributed")
    ),
    reason="needs dask.distributed (the dask extra) on Linux",
)
def test_ctrl_c_under_dask_local_is_one_line_and_leaves_no_worker(tmp_path, whole):
    sweep, expected = whole
    out = tmp_path / "out"
    cmd = [*_command(sweep, out), "--dask", "local", "--workers", "2"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True)
    _wait_for_batches(proc, out, 2)
    if proc.poll() is not None:
        pytest.skip("the sweep finished before the signal")
    family = _children(proc.pid)
    family += [g for c in family for g in _children(c)]
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 5
    assert proc.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    deadline = sent + 5
    while any(_alive(p) for p in family) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in family if _alive(p)]
    assert not list(out.rglob(".pumpsim-*"))
    assert subprocess.run([*cmd[:-4], "--workers", "1"], timeout=300).returncode == 0
    assert _outputs(out) == expected


# --- batches sized by work ------------------------------------------------------------------


@pytest.mark.parametrize(("duration", "most"), [("1d", 334), ("30d", 334), ("5y", 100)])
def test_a_batch_is_seconds_of_work_whatever_the_duration(tmp_path, duration, most):
    text = SLOW.replace("duration: 2y", f"duration: {duration}").replace(
        "patients: 1500", "patients: 1000000"
    )
    spec = load_sweep(_sweep_file(tmp_path, text), None)
    size = default_batch_size(spec)
    assert size == most
    years = max(spec.duration_h / 8766.0, PATIENT_SETUP_YEARS)
    assert size * years <= BATCH_PATIENT_YEARS + years


def test_one_day_patients_batch_in_well_under_ten_seconds(tmp_path):
    text = SLOW.replace("duration: 2y", "duration: 1d").replace("patients: 1500", "patients: 5000")
    spec = load_sweep(_sweep_file(tmp_path, text), None)
    from pumpsim.studies.sweep.patient import simulate_batch

    start = time.perf_counter()
    simulate_batch(spec, 0, 0, 0, default_batch_size(spec))
    assert time.perf_counter() - start < 10  # the old size (all 5000) took about 7 s here


# --- batches checked on resume ----------------------------------------------------------------


def _damage(path: Path, how: str) -> None:
    raw = path.read_bytes()
    if how == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif how == "emptied":
        path.write_bytes(b"")
    elif how == "flipped":
        i = len(raw) - 10
        path.write_bytes(raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1 :])
    elif how == "rows-removed":  # valid JSON, fewer patients, old checksum
        head, _, body = raw.partition(b"\n")
        doc = json.loads(body)
        doc["rows"] = doc["rows"][:-1]
        path.write_bytes(head + b"\n" + json.dumps(doc, separators=(",", ":")).encode())
    elif how == "rows-removed-rehashed":  # someone fixed the checksum up too
        import hashlib

        doc = json.loads(raw.partition(b"\n")[2])
        doc["rows"] = doc["rows"][:-1]
        body = json.dumps(doc, separators=(",", ":")).encode()
        head = json.dumps({"sha256": hashlib.sha256(body).hexdigest()}).encode()
        path.write_bytes(head + b"\n" + body)
    elif how == "old-format":  # a batch without its checksum line (round 2)
        path.write_bytes(raw.partition(b"\n")[2])
    elif how == "another-batch":
        other = sorted(path.parent.glob("batch-*.json"))[0]
        path.write_bytes(other.read_bytes())
    else:
        raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    [
        "truncated",
        "emptied",
        "flipped",
        "rows-removed",
        "rows-removed-rehashed",
        "old-format",
        "another-batch",
    ],
)
def test_a_damaged_batch_is_computed_again_with_a_line_saying_so(tmp_path, how):
    sweep = _sweep_file(tmp_path, SMALL)
    spec = load_sweep(sweep, None)
    clean = tmp_path / "clean"
    run_sweep(spec, str(clean), workers=1, batch_size=10, parquet=False)
    out = tmp_path / "out"
    run_sweep(spec, str(out), workers=1, batch_size=10, parquet=False)
    victim = sorted(out.glob("batches/*/batch-*.json"))[2]
    _damage(victim, how)
    (out / "summary.json").unlink()
    heard: list[str] = []
    run_sweep(spec, str(out), workers=1, batch_size=10, parquet=False, warn=heard.append)
    assert len(heard) == 1 and "batch 2 is damaged" in heard[0] and "computing it again" in heard[0]
    assert str(victim) in heard[0]
    assert "batch 2 is damaged" in (out / "run.log").read_text()
    assert _outputs(out) == _outputs(clean)
    heard.clear()
    run_sweep(spec, str(out), workers=1, batch_size=10, parquet=False, warn=heard.append)
    assert heard == []  # the new batch is whole


def test_a_truncated_batch_does_not_break_the_command(tmp_path):
    sweep = _sweep_file(tmp_path, SMALL)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pumpsim", "sweep", sweep, "--out", str(out), "--batch-size", "10"]
    assert subprocess.run([*cmd, "-q", "--workers", "1"], timeout=300).returncode == 0
    first = _outputs(out)
    batch = sorted(out.glob("batches/*/batch-*.json"))[0]
    batch.write_bytes(batch.read_bytes()[:100])
    proc = subprocess.run([*cmd, "--workers", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"{batch}: stored batch 0 is damaged (checksum mismatch (changed or cut short)); "
        "computing it again"
    ]
    assert _outputs(out) == first
    quiet = subprocess.run([*cmd, "-q", "--workers", "1"], capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_a_stray_file_in_the_batch_folder_is_ignored(tmp_path):
    store = BatchStore(str(tmp_path), "f" * 64, 10, "x")
    store.open(fresh=False)
    for name in ("batch-abc.json", "batch-.json", "notes.txt"):
        Path(store.folder, name).write_text("x")
    assert store.stored() == set()


# --- --dask endpoints that are not schedulers ------------------------------------------------


@contextlib.contextmanager
def _server(kind: str):
    """A local endpoint: an HTTP server, a socket that never answers, or a liar."""
    if kind == "http":
        httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), http.server.BaseHTTPRequestHandler
        )
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"tcp://127.0.0.1:{httpd.server_address[1]}"
        finally:
            httpd.shutdown()
            httpd.server_close()
        return
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                held.append(conn)
                if kind == "huge-length":  # 3 EiB, as an HTTP reply read as a length once was
                    conn.sendall((3 << 60).to_bytes(8, "little") + b"x" * 100)
                elif kind == "http-reply":
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for conn in held:
            conn.close()


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("http", "nothing came back"),
        ("silent", "nothing came back"),
        ("huge-length", "not a Dask message"),
        ("http-reply", "not a Dask message"),
    ],
)
def test_dask_at_something_else_is_exit_2_within_30_seconds(tmp_path, kind, words):
    sweep = _sweep_file(tmp_path, SMALL)
    with _server(kind) as address:
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "pumpsim", "sweep", sweep, "--out", str(tmp_path / "o"),
             "--dask", address],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert time.monotonic() - start < 30
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr
    assert lines[0].startswith(f"--dask {address}: not a Dask scheduler") and words in lines[0]
    assert not (tmp_path / "o").exists()  # refused before the folder was made


def test_dask_at_a_closed_port_or_a_bad_address_is_refused_at_once(tmp_path):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    for address, words in [
        (f"tcp://127.0.0.1:{port}", "cannot connect"),
        ("tcp://127.0.0.1:99999", "out of range"),
        ("tcp://127.0.0.1:http", "not a number"),
        ("tcp://:8786", "no host"),
    ]:
        start = time.monotonic()
        with pytest.raises(ExecutorError, match=words):
            check_scheduler(address)
        assert time.monotonic() - start < 6


def test_dask_addresses_are_read_like_dask_reads_them():
    assert host_and_port("tcp://10.0.0.1:8786") == ("10.0.0.1", 8786)
    assert host_and_port("10.0.0.1") == ("10.0.0.1", 8786)
    assert host_and_port("tcp://[::1]:9000") == ("::1", 9000)
    assert host_and_port("tls://host:8786") is None  # left to Dask


def test_a_real_scheduler_passes_the_probe():
    distributed = pytest.importorskip("distributed")
    import asyncio

    async def probe() -> None:
        async with distributed.Scheduler(
            host="127.0.0.1", port=0, dashboard_address=None, protocol="tcp"
        ) as scheduler:
            await asyncio.to_thread(check_scheduler, scheduler.address)

    asyncio.run(probe())


# --- exit codes of the sweep's writes --------------------------------------------------------


def test_a_write_that_fails_once_work_began_is_exit_3(tmp_path):
    sweep = _sweep_file(tmp_path, SMALL)
    out = tmp_path / "out"

    def small_files() -> None:  # a file-size limit: every write past 4 KiB fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    proc = subprocess.run(
        [sys.executable, "-m", "pumpsim", "sweep", sweep, "--out", str(out), "--workers", "1"],
        capture_output=True, text=True, timeout=300, preexec_fn=small_files,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "File too large" in lines[0] and str(out) in lines[0]
    assert not list(out.rglob(".pumpsim-*"))


@pytest.mark.parametrize("where", ["a-file", "under-a-file", "missing-parent-unmakeable"])
def test_an_output_folder_refused_before_work_is_exit_2(tmp_path, where):
    sweep = _sweep_file(tmp_path, SMALL)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    out = {
        "a-file": blocker,
        "under-a-file": blocker / "out",
        "missing-parent-unmakeable": Path("/proc/self/nothing/out"),
    }[where]
    proc = subprocess.run(
        [sys.executable, "-m", "pumpsim", "sweep", sweep, "--out", str(out), "--workers", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and str(out) in proc.stderr
    with pytest.raises(OutputError) as caught:
        run_sweep(load_sweep(sweep, None), str(out), workers=1)
    assert caught.value.exit_code == 2
