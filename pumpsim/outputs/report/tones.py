"""Alarm tones as sound: each priority's pattern synthesised as a WAV file.

The device profile gives the patterns (``critical_tone_*``, ``noncritical_tone_*``,
``tone_harmonic_levels_db``, ``tone_level_dbfs``, ``tone_ramp``): a critical alarm is a
3-second two-tone (two pitches alternating pulse by pulse), a non-critical alarm a 1-second
single tone. The real device's pitches are not public, so the profile marks them *assumed*:
representative IEC 60601-1-8-style tones (a fundamental plus four harmonics).

Each tone peaks exactly at the profile's ``tone_level_dbfs``. The bytes are a pure function of
the profile: same profile, same file. ``alarm_track`` puts a scenario's alarms on one track.
"""

from __future__ import annotations

import io
import math
import os
import wave
from dataclasses import dataclass

import numpy as np

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


def samples(pattern: TonePattern, sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Signed 16-bit samples of one play of the tone, peaking exactly at ``level_dbfs``."""
    return np.round(waveform(pattern, sample_rate_hz) * peak_amplitude(pattern)).astype(np.int16)


def peak_amplitude(pattern: TonePattern) -> float:
    """The tone's peak in 16-bit sample units: ``level_dbfs`` below full scale."""
    return _FULL_SCALE * 10 ** (pattern.level_dbfs / 20.0)


def waveform(pattern: TonePattern, sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """One play of the tone as floats whose largest magnitude is exactly 1.

    Each pulse is the fundamental plus its harmonics at the profile's relative levels, with a
    linear attack and release of ``ramp_s``. The sum of partials peaks below the sum of their
    amplitudes, so the wave is scaled by its own peak: the file's peak is the profile's level.
    """
    amps = [10 ** (db / 20.0) for db in pattern.harmonic_levels_db]
    out = np.zeros(round(pattern.duration_s * sample_rate_hz))
    ramp_n = max(1, round(pattern.ramp_s * sample_rate_hz))
    for start_s, end_s, f0 in pattern.pulses():
        i0, i1 = round(start_s * sample_rate_hz), round(end_s * sample_rate_hz)
        j = np.arange(i1 - i0, dtype=np.float64)
        t = j / sample_rate_hz
        wave_ = sum(a * np.sin(2 * np.pi * f0 * (k + 1) * t) for k, a in enumerate(amps))
        env = np.minimum(1.0, np.minimum((j + 0.5) / ramp_n, (len(j) - j - 0.5) / ramp_n))
        out[i0:i1] = wave_ * env
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    return out / peak if peak > 0 else out


def wav_file(data: np.ndarray, sample_rate_hz: int) -> bytes:
    """Mono 16-bit PCM samples as WAV file bytes (little-endian, whatever the machine)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate_hz)
        w.writeframes(np.asarray(data, dtype="<i2").tobytes())
    return buf.getvalue()


def wav_bytes(pattern: TonePattern, sample_rate_hz: int = SAMPLE_RATE_HZ) -> bytes:
    """The tone as a mono 16-bit PCM WAV file (deterministic bytes)."""
    return wav_file(samples(pattern, sample_rate_hz), sample_rate_hz)


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
