"""Alarm tones as sound: each priority's pattern synthesised as a WAV file.

The device profile gives the patterns (``critical_tone_*``, ``noncritical_tone_*``,
``tone_harmonic_levels_db``, ``tone_level_dbfs``, ``tone_ramp``): a critical alarm is a
3-second two-tone (two pitches alternating pulse by pulse), a non-critical alarm a 1-second
single tone. The real device's pitches are not public, so the profile marks them *assumed*:
representative IEC 60601-1-8-style tones (a fundamental plus four harmonics).

Only the standard library is used (``math``, ``array``, ``wave``), and the bytes are a pure
function of the profile: same profile, same file.
"""

from __future__ import annotations

import array
import io
import math
import os
import sys
import wave
from dataclasses import dataclass
from typing import Any

from pumpsim.files import write_output
from pumpsim.model.profile import DeviceProfile, ProfileError
from pumpsim.model.units import SECONDS_PER_HOUR, parse_duration_h

#: Samples per second of the synthesised files: a rendering choice, not a device number. It is
#: above twice the highest partial (5 x 1000 Hz, the IEC ceiling for a fundamental).
SAMPLE_RATE_HZ = 16_000
_FULL_SCALE = 32767
PRIORITIES = ("critical", "non_critical")


@dataclass(frozen=True)
class TonePattern:
    """One priority's tone: a sequence of pulses, each at one pitch, played once per repeat."""

    priority: str
    label: str  # the profile's words, e.g. "3-second two-tone"
    duration_s: float
    pulse_s: float  # length of one pulse; the pitches alternate pulse by pulse
    frequencies_hz: tuple[float, ...]
    harmonic_levels_db: tuple[float, ...]  # partial k+1 relative to the fundamental
    level_dbfs: float
    ramp_s: float
    repeat_interval_h: float

    def pulses(self) -> list[tuple[float, float, float]]:
        """(start s, end s, fundamental Hz) of every pulse in one play of the tone."""
        out = []
        n = max(1, math.ceil(self.duration_s / self.pulse_s - 1e-9))
        for i in range(n):
            start = i * self.pulse_s
            end = min(self.duration_s, start + self.pulse_s)
            out.append((start, end, self.frequencies_hz[i % len(self.frequencies_hz)]))
        return out


def _seconds(profile: DeviceProfile, key: str) -> float:
    return parse_duration_h(profile.parameters[key].value) * SECONDS_PER_HOUR


#: The profile parameters a tone needs.
TONE_PARAMETERS = (
    "critical_tone_duration",
    "critical_tone_frequencies_hz",
    "critical_tone_pulse",
    "noncritical_tone_duration",
    "noncritical_tone_frequency_hz",
    "tone_harmonic_levels_db",
    "tone_level_dbfs",
    "tone_ramp",
)


def tone_pattern(profile: DeviceProfile, priority: str) -> TonePattern:
    """The tone pattern of one alarm priority (``critical`` or ``non_critical``).

    Raises ``ProfileError`` when the profile lacks a tone parameter.
    """
    p = profile.parameters
    missing = [key for key in TONE_PARAMETERS if key not in p]
    if missing:
        raise ProfileError(f"{profile.name}: no tone parameter {', '.join(missing)}")
    harmonics = tuple(float(x) for x in p["tone_harmonic_levels_db"].value)
    common = {
        "harmonic_levels_db": harmonics,
        "level_dbfs": float(p["tone_level_dbfs"].value),
        "ramp_s": _seconds(profile, "tone_ramp"),
    }
    if priority == "critical":
        duration = _seconds(profile, "critical_tone_duration")
        return TonePattern(
            priority=priority,
            label=profile.critical_tone,
            duration_s=duration,
            pulse_s=_seconds(profile, "critical_tone_pulse"),
            frequencies_hz=tuple(float(f) for f in p["critical_tone_frequencies_hz"].value),
            repeat_interval_h=profile.critical_tone_interval_h,
            **common,
        )
    if priority == "non_critical":
        duration = _seconds(profile, "noncritical_tone_duration")
        return TonePattern(
            priority=priority,
            label=profile.noncritical_tone,
            duration_s=duration,
            pulse_s=duration,
            frequencies_hz=(float(p["noncritical_tone_frequency_hz"].value),),
            repeat_interval_h=profile.noncritical_tone_interval_h,
            **common,
        )
    raise ValueError(f"unknown alarm priority {priority!r}")


def samples(pattern: TonePattern, sample_rate_hz: int = SAMPLE_RATE_HZ) -> array.array:
    """Signed 16-bit samples of one play of the tone."""
    amps = [10 ** (db / 20.0) for db in pattern.harmonic_levels_db]
    peak = _FULL_SCALE * 10 ** (pattern.level_dbfs / 20.0) / sum(amps)
    n_total = round(pattern.duration_s * sample_rate_hz)
    out = array.array("h", bytes(2 * n_total))
    ramp_n = max(1, round(pattern.ramp_s * sample_rate_hz))
    for start_s, end_s, f0 in pattern.pulses():
        i0, i1 = round(start_s * sample_rate_hz), round(end_s * sample_rate_hz)
        n = i1 - i0
        for j in range(n):
            t = j / sample_rate_hz
            env = min(1.0, (j + 0.5) / ramp_n, (n - j - 0.5) / ramp_n)
            v = sum(a * math.sin(2 * math.pi * f0 * (k + 1) * t) for k, a in enumerate(amps))
            out[i0 + j] = round(peak * env * v)
    return out


def _wav(data: array.array, sample_rate_hz: int) -> bytes:
    """Mono 16-bit PCM samples as WAV file bytes."""
    if sys.byteorder != "little":  # pragma: no cover - WAV is little-endian
        data = array.array("h", data)
        data.byteswap()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate_hz)
        w.writeframes(data.tobytes())
    return buf.getvalue()


def wav_bytes(pattern: TonePattern, sample_rate_hz: int = SAMPLE_RATE_HZ) -> bytes:
    """The tone as a mono 16-bit PCM WAV file (deterministic bytes)."""
    return _wav(samples(pattern, sample_rate_hz), sample_rate_hz)


def file_name(priority: str) -> str:
    """The file name ``pumpsim tones`` gives a priority's tone."""
    return f"{priority.replace('_', '-')}.wav"


def write_tones(profile: DeviceProfile, folder: str) -> list[str]:
    """Write every priority's tone into ``folder`` (each file whole or not at all)."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for priority in PRIORITIES:
        path = os.path.join(folder, file_name(priority))
        write_output(path, wav_bytes(tone_pattern(profile, priority)))
        paths.append(path)
    return paths


def alarm_track(
    result: Any, seconds: float = 30.0, sample_rate_hz: int = SAMPLE_RATE_HZ
) -> tuple[bytes, list[tuple[float, Any]]]:
    """The scenario's alarms in compressed time, as a WAV, and where each alarm falls in it.

    The whole scenario is squeezed into ``seconds``; each alarm's tone plays once, at the
    moment it is raised (its repeats would be far closer than a tone lasts). Tones that
    overlap are mixed. Returns the WAV bytes and ``(second in the track, alarm record)`` for
    every alarm, in order.
    """
    from pumpsim.scenario.profiles import load_device_profile

    sc = result.scenario
    profile = load_device_profile(sc.pump.profile)
    scale = seconds / sc.duration
    placed = [(a.start_h * scale, a) for a in result.alarms]
    tones = {p: samples(tone_pattern(profile, p), sample_rate_hz) for p in PRIORITIES}
    longest = max(len(t) for t in tones.values())
    mix = [0] * (round(seconds * sample_rate_hz) + longest)
    for at_s, alarm in placed:
        first = round(at_s * sample_rate_hz)
        for i, v in enumerate(tones[alarm.priority]):
            mix[first + i] += v
    out = array.array("h", (max(-_FULL_SCALE, min(_FULL_SCALE, v)) for v in mix))
    return _wav(out, sample_rate_hz), placed
