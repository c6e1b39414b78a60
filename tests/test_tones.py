"""Alarm tones: WAV files from the profile's tone parameters, and tone instants from alarms."""

from __future__ import annotations

import io
import math
import wave

import pytest
from conftest import run, scenario_text

import pumpsim
from pumpsim.cli import main
from pumpsim.outputs.report.tones import SAMPLE_RATE_HZ, tone_pattern, wav_bytes
from pumpsim.scenario.profiles import load_device_profile

PROFILE = load_device_profile("synchromed-ii")


def _read(data: bytes) -> tuple[wave._wave_params, list[int]]:
    with wave.open(io.BytesIO(data)) as w:
        params = w.getparams()
        frames = w.readframes(params.nframes)
    pcm = [
        int.from_bytes(frames[i : i + 2], "little", signed=True) for i in range(0, len(frames), 2)
    ]
    return params, pcm


def _power(x: list[int], f_hz: float, rate: int = SAMPLE_RATE_HZ) -> float:
    """Goertzel: the signal's power at one frequency."""
    coeff = 2 * math.cos(2 * math.pi * f_hz / rate)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def _dominant(x: list[int], candidates: list[float]) -> float:
    return max(candidates, key=lambda f: _power(x, f))


CANDIDATES = [float(f) for f in range(300, 2001, 10)]


def test_profile_tone_parameters_are_marked():
    for key in (
        "critical_tone_frequencies_hz",
        "noncritical_tone_frequency_hz",
        "critical_tone_pulse",
        "tone_harmonic_levels_db",
        "tone_level_dbfs",
        "tone_ramp",
    ):
        p = PROFILE.parameters[key]
        assert p.assumed, key  # the device's real tones are not public
    assert PROFILE.parameters["critical_tone_duration"].source
    assert PROFILE.parameters["noncritical_tone_duration"].source


def test_critical_wav_is_a_3_second_two_tone():
    pattern = tone_pattern(PROFILE, "critical")
    params, pcm = _read(wav_bytes(pattern))
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, SAMPLE_RATE_HZ)
    assert params.nframes == 3 * SAMPLE_RATE_HZ  # 3 seconds
    pulse = round(0.25 * SAMPLE_RATE_HZ)
    # pulses alternate 930 Hz / 780 Hz (the profile's pair), one pitch per quarter second
    for k in range(12):
        chunk = pcm[k * pulse : (k + 1) * pulse]
        assert _dominant(chunk, CANDIDATES) == (930.0 if k % 2 == 0 else 780.0), k
    # IEC style: the harmonics are there, weaker than the fundamental (-6 dB: a quarter power)
    first = pcm[:pulse]
    ratio = _power(first, 1860.0) / _power(first, 930.0)
    assert ratio == pytest.approx(10 ** (-6 / 10), rel=0.1)
    # the profile's level is the file's measured peak: -6 dBFS, not below it (issue 20: -9.1)
    assert max(abs(v) for v in pcm) == round(32767 * 10 ** (-6 / 20))


def test_noncritical_wav_is_a_1_second_single_tone():
    params, pcm = _read(wav_bytes(tone_pattern(PROFILE, "non_critical")))
    assert params.nframes == SAMPLE_RATE_HZ  # 1 second
    half = SAMPLE_RATE_HZ // 2
    assert _dominant(pcm[:half], CANDIDATES) == 780.0
    assert _dominant(pcm[half:], CANDIDATES) == 780.0
    # the ramps: silent-ish at both ends (no click), loud in the middle
    assert abs(pcm[0]) < 200 and abs(pcm[-1]) < 200
    assert max(abs(v) for v in pcm[half - 200 : half + 200]) > 5000
    assert max(abs(v) for v in pcm) == round(32767 * 10 ** (-6 / 20))  # -6 dBFS peak


def test_unknown_priority_is_refused():
    with pytest.raises(ValueError, match="unknown alarm priority"):
        tone_pattern(PROFILE, "urgent")


def test_tones_command_writes_deterministic_files(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["tones", "--out", str(a)]) == 0
    out = capsys.readouterr().out
    assert "critical.wav" in out and "every 10min" in out and "every 1h" in out
    assert main(["tones", "--out", str(b)]) == 0
    names = sorted(p.name for p in a.iterdir())
    assert names == ["critical.wav", "non-critical.wav"]
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert (a / name).read_bytes()[:4] == b"RIFF"
        assert (a / name).stat().st_mode & 0o644 == 0o644
    assert not list(a.glob(".pumpsim-*"))


def test_tones_command_unknown_profile_is_exit_2(tmp_path, capsys):
    assert main(["tones", "--out", str(tmp_path), "--profile", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "--profile" in err and "Traceback" not in err


def test_tones_command_unwritable_folder_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["tones", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err


def test_result_tone_times_hand_computed():
    # 300 mcg/day at 2000 mcg/mL = 0.15 mL/day; 20 mL reaches the 2 mL LRA at day 120 and the
    # 0.5 mL empty level at day 130. Over 130d12h: 10 days of hourly LRA tones from day 120
    # (240 tones up to day 130, + 12 more to 130d12h, + the one at 130d12h itself), and the
    # critical tone every 10 minutes from day 130 (72 in 12 h, + the one at the end).
    r = run(scenario_text(duration="130d12h", therapy="{dose_mcg_per_day: 300}"))
    lra = r.tone_times(alarm="low_reservoir")
    assert isinstance(lra, list)
    assert lra[0] == pytest.approx(120 * 24) and len(lra) == 24 * 10 + 12 + 1
    assert lra[1] - lra[0] == pytest.approx(1.0)
    empty = r.tone_times(alarm="empty_reservoir")
    assert empty[0] == pytest.approx(130 * 24) and len(empty) == 72 + 1
    assert empty[1] - empty[0] == pytest.approx(1 / 6)
    every = r.tone_times()
    assert every == sorted(lra + empty)
    # until_h cuts the still-sounding alarms off
    assert r.tone_times(until_h=121 * 24, alarm="low_reservoir") == lra[:25]
    assert r.tone_times(alarm="eos") == []


def test_tone_times_stop_when_the_alarm_clears():
    r = run(
        scenario_text(
            duration="125d",
            therapy="{dose_mcg_per_day: 300}",
            extra="events: [{at: 120d6h, type: refill, volume_ml: 20}]\n",
        )
    )
    # raised at day 120, cleared by the refill 6 h later: tones at 0..5 h (not at the clear)
    assert r.tone_times() == pytest.approx([120 * 24 + i for i in range(6)])


def test_profile_without_tone_parameters_is_refused_clearly():
    import dataclasses

    from pumpsim.model.profile import ProfileError

    params = {k: v for k, v in PROFILE.parameters.items() if k != "tone_ramp"}
    bare = dataclasses.replace(PROFILE, parameters=params)
    with pytest.raises(ProfileError, match="synchromed-ii: no tone parameter tone_ramp"):
        tone_pattern(bare, "critical")


def _dbfs(pcm: list[int]) -> float:
    return 20 * math.log10(max(abs(v) for v in pcm) / 32767)


def test_alarm_track_places_each_alarm_and_its_repeats_at_compressed_times(tmp_path, capsys):
    from conftest import SCENARIOS

    path = str(SCENARIOS / "eri-ignored-until-eos.yaml")
    assert main(["tones", path, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    # 200 days in 30 s: ERI (day 60) at 9 s, EOS (day 150) at 22.5 s; the pump is replaced on
    # day 154 (23.1 s). The hourly ERI tone (1 s) repeats every 1 + 3599/600 = 6.998 s of track:
    # at 9, 16.0 and 23.0 s; the EOS two-tone (3 s, every 10 min) once: the next would be due at
    # 26.5 s, after the replacement
    assert "    9.00 s  non-critical  ERI (replace soon)  2026-03-02 00:00 (60d)" in out
    assert "   22.50 s  critical  EOS (end of service)  2026-05-31 00:00 (150d)" in out
    assert "200d in 30 s of audio, peak -6.0 dBFS, 2 alarm(s), 4 tone(s)" in out
    assert "a minute of silence between tones plays as 0.1 s" in out
    data = (tmp_path / "eri-ignored-until-eos-alarm-track.wav").read_bytes()
    params, pcm = _read(data)
    assert params.nframes == 30 * SAMPLE_RATE_HZ  # exactly the length asked for
    assert _dbfs(pcm) == pytest.approx(-6.0, abs=0.01)  # the level the docs state
    rate = SAMPLE_RATE_HZ

    def at(second: float, length: float = 0.2) -> list[int]:
        return pcm[round(second * rate) : round((second + length) * rate)]

    assert max(abs(v) for v in at(5.0)) == 0 and max(abs(v) for v in at(12.0)) == 0
    assert _dominant(at(9.3), CANDIDATES) == 780.0  # the non-critical single tone
    repeat = 9 + 6.998  # ... and its compressed repeat, after silence
    assert max(abs(v) for v in at(repeat - 0.1, 0.08)) == 0
    assert _dominant(at(repeat + 0.3), CANDIDATES) == 780.0
    assert max(abs(v) for v in at(26.0)) == 0  # nothing after the replacement
    assert main(["tones", path, "--out", str(tmp_path / "again")]) == 0
    again = (tmp_path / "again" / "eri-ignored-until-eos-alarm-track.wav").read_bytes()
    assert again == data


def test_alarm_track_critical_repeats_every_4_seconds_and_overlaps_are_not_clipped(tmp_path):
    from conftest import SCENARIOS

    from pumpsim.outputs.report.alarm_track import alarm_track, compressed_cycle_s

    assert compressed_cycle_s(3.0, 10 / 60) == pytest.approx(3 + 597 / 600)
    assert compressed_cycle_s(1.0, 1.0) == pytest.approx(1 + 3599 / 600)
    r = pumpsim.simulate(pumpsim.load_scenario(str(SCENARIOS / "missed-refill.yaml")))
    track = alarm_track(r, 600.0)  # 110 days in 10 minutes
    params, pcm = _read(track.wav)
    assert params.nframes == 600 * SAMPLE_RATE_HZ
    # the empty-reservoir alarm starts at 97.5/110 of the track and repeats every 3.995 s to
    # the end; the low-reservoir tone goes on every 6.998 s from 90/110: the two overlap and
    # the mix is scaled, never clipped, to the stated peak
    start_empty = 97.5 / 110 * 600
    n_empty = math.ceil((600 - start_empty) / (3 + 597 / 600))
    n_low = math.ceil((600 - 90 / 110 * 600) / (1 + 3599 / 600))
    assert track.tones == n_empty + n_low
    assert track.peak_dbfs == pytest.approx(-6.0, abs=0.01)
    assert max(abs(v) for v in pcm) < 32767
    assert pcm[-1] == 0 or abs(pcm[-1]) < 100  # a tone cut by the end fades out: no click


def test_alarm_track_limits_and_a_scenario_without_alarms(tmp_path, capsys):
    from conftest import SCENARIOS

    path = str(SCENARIOS / "catheter-disconnection.yaml")  # no alarm: no silent track
    assert main(["tones", path, "--out", str(tmp_path), "--track-length", "10s"]) == 0
    out = capsys.readouterr().out
    assert "catheter-disconnection: no alarm sounds in this scenario, so no alarm track" in out
    assert not (tmp_path / "catheter-disconnection-alarm-track.wav").exists()
    alarms = str(SCENARIOS / "missed-refill.yaml")
    for bad in ("10", "0s", "10min1s", "11min", "99999999999999999999h", "1e400h"):
        assert main(["tones", alarms, "--out", str(tmp_path), "--track-length", bad]) == 2, bad
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--track-length" in err and "Traceback" not in err
    assert main(["tones", alarms, "--out", str(tmp_path), "--track-length", "10min"]) == 0
    params, _ = _read((tmp_path / "missed-refill-alarm-track.wav").read_bytes())
    assert params.nframes == 600 * SAMPLE_RATE_HZ


def test_a_ten_minute_track_stays_small_in_memory(tmp_path):
    # issue 21: a 1 h track took 827 MB (one Python int per sample); 10 min is the limit now
    import os
    import subprocess
    import sys

    from conftest import ROOT, SCENARIOS

    if not os.path.exists("/proc/self/status"):
        pytest.skip("reads the peak memory from /proc (Linux)")
    # VmHWM: this process's own peak (ru_maxrss would count the parent's pages at the fork)
    code = (
        "import re; from pumpsim.cli import main;"
        f"rc = main(['tones', {str(SCENARIOS / 'missed-refill.yaml')!r}, '--out', "
        f"{str(tmp_path)!r}, '--track-length', '10min']);"
        "print(rc, re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    rc, peak_kb = proc.stdout.split()[-2:]
    assert rc == "0" and proc.stderr == "", (proc.stdout, proc.stderr)
    assert int(peak_kb) < 200_000, f"{int(peak_kb) / 1000:.0f} MB for a 10-minute track"
