"""Alarm tones: WAV files from the profile's tone parameters, and tone instants from alarms."""

from __future__ import annotations

import io
import math
import wave

import pytest
from conftest import run, scenario_text

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
    assert max(abs(v) for v in pcm) <= 32767 * 10 ** (-6 / 20) + 1  # -6 dBFS peak


def test_noncritical_wav_is_a_1_second_single_tone():
    params, pcm = _read(wav_bytes(tone_pattern(PROFILE, "non_critical")))
    assert params.nframes == SAMPLE_RATE_HZ  # 1 second
    half = SAMPLE_RATE_HZ // 2
    assert _dominant(pcm[:half], CANDIDATES) == 780.0
    assert _dominant(pcm[half:], CANDIDATES) == 780.0
    # the ramps: silent-ish at both ends (no click), loud in the middle
    assert abs(pcm[0]) < 200 and abs(pcm[-1]) < 200
    assert max(abs(v) for v in pcm[half - 200 : half + 200]) > 5000


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


def test_alarm_track_places_each_alarm_at_its_compressed_time(tmp_path, capsys):
    from conftest import SCENARIOS

    path = str(SCENARIOS / "eri-ignored-until-eos.yaml")
    assert main(["tones", path, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    # 200 days in 30 s: ERI (day 60) at 9 s, EOS (day 150) at 22.5 s
    assert "    9.00 s  non-critical  ERI (replace soon)  2026-03-02 00:00 (60d)" in out
    assert "   22.50 s  critical  EOS (end of service)  2026-05-31 00:00 (150d)" in out
    data = (tmp_path / "eri-ignored-until-eos-alarm-track.wav").read_bytes()
    params, pcm = _read(data)
    assert params.nframes == (30 + 3) * SAMPLE_RATE_HZ  # the last tone may run past the end
    rate = SAMPLE_RATE_HZ

    def at(second: float, length: float = 0.2) -> list[int]:
        return pcm[round(second * rate) : round((second + length) * rate)]

    assert max(abs(v) for v in at(5.0)) == 0 and max(abs(v) for v in at(15.0)) == 0
    assert _dominant(at(9.3), CANDIDATES) == 780.0  # the non-critical single tone
    assert _dominant(at(22.5), CANDIDATES) == 930.0  # the critical tone's first pitch
    assert _dominant(at(22.75), CANDIDATES) == 780.0  # ... and its second
    assert main(["tones", path, "--out", str(tmp_path / "again")]) == 0
    again = (tmp_path / "again" / "eri-ignored-until-eos-alarm-track.wav").read_bytes()
    assert again == data


def test_alarm_track_length_and_bad_length(tmp_path, capsys):
    from conftest import SCENARIOS

    path = str(SCENARIOS / "catheter-disconnection.yaml")  # no alarm: a silent track
    assert main(["tones", path, "--out", str(tmp_path), "--track-length", "10s"]) == 0
    params, pcm = _read((tmp_path / "catheter-disconnection-alarm-track.wav").read_bytes())
    assert params.nframes == (10 + 3) * SAMPLE_RATE_HZ and not any(pcm)
    assert "0 alarm(s)" in capsys.readouterr().out
    assert main(["tones", path, "--out", str(tmp_path), "--track-length", "10"]) == 2
    assert "--track-length" in capsys.readouterr().err
