"""Device profiles on PUMPSIM_PROFILE_PATH are data: hostile ones are invalid input, never a hang.

Every case is one line on stderr naming the profile file (and the key), exit 2: YAML tags, NaN
and infinities, zero or negative intervals, missing keys, wrong types. FIFOs and directories on
the path are passed over without being opened; an unrelated broken file does not break others.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT

from pumpsim.cli import main
from pumpsim.errors import ScenarioError
from pumpsim.model.profile import ProfileError
from pumpsim.scenario.profiles import (
    ProfileFileError,
    ProfileNotFound,
    available_profiles,
    load_device_profile,
    load_drug_profile,
)

SHIPPED = (ROOT / "pumpsim" / "profiles" / "synchromed-ii.yaml").read_text(encoding="utf-8")
ACME = SHIPPED.replace("name: synchromed-ii", "name: acme", 1)
SCENARIO = """\
name: acme-run
duration: 60d
pump: {profile: acme, reservoir_ml: 20}
drug: {concentration_mcg_per_ml: 2000}
therapy: {dose_mcg_per_day: 1000}
"""


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A profile folder on PUMPSIM_PROFILE_PATH (caches cleared before and after)."""
    path = tmp_path / "profiles"
    path.mkdir()
    monkeypatch.setenv("PUMPSIM_PROFILE_PATH", str(path))
    load_device_profile.cache_clear()
    load_drug_profile.cache_clear()
    yield path
    load_device_profile.cache_clear()
    load_drug_profile.cache_clear()


def _scenario(tmp_path, text=SCENARIO):
    path = tmp_path / "acme-run.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def _one_line(capsys, argv, code=2):
    got = main(argv)
    err = capsys.readouterr().err
    assert got == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _sub(old: str, new: str) -> str:
    assert old in ACME, old
    return ACME.replace(old, new, 1)


CASES = [
    # (id, profile text, key path in the message, words)
    (
        "python-object-tag",
        _sub("description: SynchroMed", "description: !!python/object:os.system [echo] #"),
        "description",
        "not allowed",
    ),
    (
        "nan-low-reservoir-alarm",
        _sub("value: 2.0\n", "value: .nan\n"),
        "parameters.low_reservoir_alarm_ml.value",
        "NaN and infinities",
    ),
    (
        "infinite-flow-max",
        _sub("value: 24.0\n", "value: .inf\n"),
        "parameters.flow_rate_max_ml_per_day.value",
        "NaN and infinities",
    ),
    (
        "zero-critical-tone-interval",
        _sub("value: 10min\n    assumed: the repeat", "value: 0s\n    assumed: the repeat"),
        "parameters.critical_tone_interval.value",
        "positive duration",
    ),
    (
        "negative-noncritical-tone-interval",
        _sub("value: 1h\n", "value: -1h\n"),
        "parameters.noncritical_tone_interval.value",
        "negative duration",
    ),
    (
        "bare-number-interval",
        _sub("value: 90d\n", "value: 90\n"),
        "parameters.eos_after_eri.value",
        "give a unit",
    ),
    (
        "zero-tone-pulse",
        _sub("value: 0.25s\n", "value: 0s\n"),
        "parameters.critical_tone_pulse.value",
        "positive duration",
    ),
    (
        "alarm-without-priority",
        _sub("  low_reservoir:\n    priority: non_critical\n", "  low_reservoir:\n"),
        "alarms.low_reservoir",
        "has no priority",
    ),
    (
        "alarm-unknown-response",
        _sub("response: no_flow", "response: explode"),
        "alarms.motor_stall.response",
        "unknown response 'explode'",
    ),
    (
        "alarm-missing",
        re.sub(r"  eos:\n(    .*\n)+", "", ACME, count=1),
        "alarms",
        "missing alarm eos",
    ),
    (
        "parameter-missing",
        re.sub(r"  pocket_fill_watch:\n(    .*\n)+", "", ACME, count=1),
        "parameters",
        "missing parameter pocket_fill_watch",
    ),
    (
        "parameter-without-value",
        _sub("  flex_max_steps_per_day:\n    value: 13\n", "  flex_max_steps_per_day:\n"),
        "parameters.flex_max_steps_per_day",
        "has no value",
    ),
    (
        "text-for-a-number",
        _sub("value: 0.145\n", "value: lots\n"),
        "parameters.accuracy_spec_fraction.value",
        "not a number",
    ),
    (
        "flow-range-upside-down",
        _sub("value: 0.048\n", "value: 30.0\n"),
        "parameters.flow_rate_min_ml_per_day.value",
        "must be below flow_rate_max_ml_per_day",
    ),
    (
        "name-not-the-file-name",
        ACME.replace("name: acme", "name: other", 1),
        "name",
        "must be the file's name",
    ),
    (
        "negative-fault-rate",
        _sub("value: 0.0026\n", "value: -0.0026\n"),
        "fault_parameters.motor_stall_rate_per_year.value",
        "must be >= 0",
    ),
    (
        "yaml-syntax-error",
        _sub("alarms:\n", "alarms: [\n"),
        None,
        "YAML syntax error",
    ),
    ("a-list-not-a-mapping", "- name: acme\n- alarms: {}\n", None, "is a mapping"),
    ("empty", "# nothing\n", None, "file is empty"),
]


@pytest.mark.parametrize(
    ("text", "key", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_hostile_profile_is_invalid_input_naming_the_file_and_key(
    capsys, tmp_path, folder, text, key, words
):
    profile = folder / "acme.yaml"
    profile.write_text(text, encoding="utf-8")
    scenario = _scenario(tmp_path)
    for command in ("validate", "run", "check"):
        line = _one_line(capsys, [command, scenario]) if command != "check" else None
        if command == "check":
            assert main([command, scenario]) == 2
            line = capsys.readouterr().err.strip().splitlines()[-1]
        assert line.startswith(f"{profile}:"), line
        assert words in line, line
        if key is not None:
            assert f": {key}: " in line, line
    with pytest.raises(ProfileFileError) as caught:
        load_device_profile("acme")
    assert isinstance(caught.value, ScenarioError) and isinstance(caught.value, ProfileError)
    assert caught.value.file == str(profile)


def test_the_error_line_is_the_line_of_the_key(capsys, tmp_path, folder):
    text = _sub("value: 2.0\n", "value: .nan\n")
    (folder / "acme.yaml").write_text(text, encoding="utf-8")
    line = _one_line(capsys, ["validate", _scenario(tmp_path)])
    assert line.startswith(f"{folder / 'acme.yaml'}:{_line_of(text, 'value: .nan')}:"), line


def test_tones_and_report_refuse_a_zero_tone_interval(capsys, tmp_path, folder):
    text = _sub("value: 10min\n    assumed: the repeat", "value: 0s\n    assumed: the repeat")
    (folder / "acme.yaml").write_text(text, encoding="utf-8")
    line = _one_line(capsys, ["tones", "--profile", "acme", "--out", str(tmp_path / "t")])
    assert "critical_tone_interval" in line and str(folder / "acme.yaml") in line
    report = str(tmp_path / "r.html")
    line = _one_line(capsys, ["report", _scenario(tmp_path), "-o", report])
    assert "critical_tone_interval" in line and not os.path.exists(report)


def test_a_good_profile_loads_beside_broken_files_fifos_and_directories(capsys, tmp_path, folder):
    (folder / "acme.yaml").write_text(ACME, encoding="utf-8")
    (folder / "broken.yaml").write_text("name: [\n", encoding="utf-8")
    (folder / "evil.yaml").write_text("a: !!python/object:os.system [x]\n", encoding="utf-8")
    (folder / "binary.yaml").write_bytes(b"\x00\xff" * 10)
    (folder / "notes.yaml").write_text("- just a list\n", encoding="utf-8")
    os.mkfifo(folder / "fifo.yaml")
    (folder / "dir.yaml").mkdir()
    os.symlink("/dev/zero", folder / "zero.yaml")
    assert available_profiles() == ["acme", "synchromed-ii"]
    assert load_device_profile("acme").name == "acme"
    assert main(["validate", _scenario(tmp_path)]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_special_files_named_like_a_profile_are_passed_over_unopened(tmp_path, kind):
    """In a child process, so that a FIFO opened by mistake would show as a timeout."""
    folder = tmp_path / "profiles"
    folder.mkdir()
    target = folder / "acme.yaml"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    else:
        os.symlink("/dev/zero", target)
    scenario = _scenario(tmp_path)
    env = {**os.environ, "PUMPSIM_PROFILE_PATH": str(folder), "PYTHONPATH": str(ROOT)}
    for argv in (["validate", scenario], ["tones", "--profile", "acme", "--out", str(tmp_path)]):
        proc = subprocess.run(
            [sys.executable, "-m", "pumpsim", *argv],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert "acme" in lines[0] and (
            "unknown device profile" in lines[0] or "no profile" in lines[0]
        )
        assert "write" not in lines[0], lines[0]  # a read problem is never a write problem


def test_a_profile_that_cannot_be_read_is_a_read_problem(capsys, tmp_path, folder, monkeypatch):
    profile = folder / "acme.yaml"
    profile.write_text(ACME, encoding="utf-8")
    real_open = os.open

    def denied(file, *args, **kwargs):
        if str(file) == str(profile):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    line = _one_line(capsys, ["validate", _scenario(tmp_path)])
    assert line.startswith(str(profile)) and "cannot read file: permission denied" in line
    with_faults = SCENARIO + "faults: {motor_stall: {rate_per_year: 0.1}}\n"
    line = _one_line(capsys, ["run", _scenario(tmp_path, with_faults)])
    assert line.startswith(str(profile)) and "permission denied" in line and "write" not in line
    with pytest.raises(ProfileFileError, match="permission denied"):
        load_device_profile("acme")


def test_a_profile_larger_than_a_megabyte_is_refused_unparsed(capsys, tmp_path, folder):
    (folder / "acme.yaml").write_bytes(ACME.encode() + b"#" * 1_100_000)
    line = _one_line(capsys, ["validate", _scenario(tmp_path)])
    assert line.startswith(str(folder / "acme.yaml")) and "larger than" in line


@pytest.mark.parametrize("name", ["../profiles/acme", "/etc/acme", ".acme", ""])
def test_a_profile_name_is_a_name_never_a_path(folder, name):
    (folder / "acme.yaml").write_text(ACME, encoding="utf-8")
    with pytest.raises(ProfileNotFound):
        load_device_profile(name)


def test_a_drug_profile_on_the_path_is_checked_too(folder):
    shipped = (ROOT / "pumpsim" / "profiles" / "baclofen.yaml").read_text(encoding="utf-8")
    (folder / "baclofen.yaml").write_text(
        shipped.replace("value: 1.5h", "value: 0h", 1), encoding="utf-8"
    )
    with pytest.raises(ProfileFileError, match=r"csf_half_life.value: '0h' must be a positive"):
        load_drug_profile("baclofen")


def test_the_shipped_profiles_pass_their_own_rules(monkeypatch):
    monkeypatch.delenv("PUMPSIM_PROFILE_PATH", raising=False)
    load_device_profile.cache_clear()
    profile = load_device_profile("synchromed-ii")
    assert profile.low_reservoir_alarm_ml == 2.0 and profile.refill_discrepancy_ml == {
        20.0: 1.0,
        40.0: 2.0,
    }
    assert load_drug_profile("baclofen").csf_half_life_h == 1.5
    with pytest.raises(ProfileNotFound, match="not a device profile"):
        load_device_profile("baclofen")
