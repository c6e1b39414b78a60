"""A scenario's alarms as one sound track, in compressed time, repeats included.

Two clocks. The scenario's whole duration is squeezed into the track's length, so an alarm
starts where the cursor would be; while it sounds, its tone repeats with the silence between
two repeats compressed by ``GAP_COMPRESSION`` (a minute of silence plays as 0.1 s): the hourly
single tone comes back every 7 s, the 10-minute two-tone every 4 s. What makes an alarm
recognisable is its rhythm as much as its pitch, so the repeats are heard, faster than life and
said so. The report's Play uses the same rule (``compressed_cycle_s``).

The track lasts exactly its length (a tone still sounding at the end fades out there) and peaks
at the profile's ``tone_level_dbfs`` (where tones overlap, the whole track is scaled down so the
mix does not clip). At most ``MAX_TRACK_S`` of audio, mixed in one float32 buffer: memory stays
under about 80 MB whatever the scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pumpsim.model.units import SECONDS_PER_HOUR
from pumpsim.outputs.report.tones import (
    PRIORITIES,
    SAMPLE_RATE_HZ,
    peak_amplitude,
    tone_pattern,
    wav_file,
    waveform,
)
from pumpsim.scenario.profiles import load_device_profile

#: How much the silence between two repeats of a tone is shortened in Play and in the track (a
#: rendering choice, not a device number): a minute of silence plays as 0.1 s.
GAP_COMPRESSION = 600.0
#: The longest track ``pumpsim tones`` writes (10 minutes of audio).
MAX_TRACK_S = 600.0


def compressed_cycle_s(tone_s: float, interval_h: float) -> float:
    """Seconds from one compressed repeat to the next: the whole tone, then the shortened gap."""
    gap_s = max(0.0, interval_h * SECONDS_PER_HOUR - tone_s)
    return tone_s + gap_s / GAP_COMPRESSION


@dataclass(frozen=True)
class Track:
    """The track's WAV bytes and what is in it."""

    wav: bytes
    seconds: float  # its length
    starts: list[tuple[float, Any]]  # (second in the track, alarm record) per alarm, in order
    tones: int  # tones placed (repeats included)
    peak_dbfs: float  # its measured peak


def _tone_starts(alarm: Any, scale: float, seconds: float, until_h: float, tone_s: float):
    """Where each repeat of one alarm's tone starts in the track (the first at its start)."""
    first = alarm.start_h * scale
    end = (until_h if alarm.end_h is None else alarm.end_h) * scale
    cycle = compressed_cycle_s(tone_s, alarm.tone_interval_h)
    at = first
    while at < seconds and (at < end or at == first):
        yield at
        at += cycle


def alarm_track(result: Any, seconds: float = 30.0, sample_rate_hz: int = SAMPLE_RATE_HZ) -> Track:
    """The scenario's alarms on one track of exactly ``seconds`` (at most ``MAX_TRACK_S``).

    Raises ``ValueError`` for a length that is not a positive number of seconds within the
    limit.
    """
    if not 0 < seconds <= MAX_TRACK_S:
        raise ValueError(f"a track lasts more than 0s and at most {MAX_TRACK_S:g} s")
    sc = result.scenario
    profile = load_device_profile(sc.pump.profile)
    patterns = {p: tone_pattern(profile, p) for p in PRIORITIES}
    shapes = {p: waveform(patterns[p], sample_rate_hz).astype(np.float32) for p in PRIORITIES}
    n_total = round(seconds * sample_rate_hz)
    mix = np.zeros(n_total, dtype=np.float32)
    ramp_n = max(1, round(patterns["critical"].ramp_s * sample_rate_hz))
    fade = np.minimum(1.0, (np.arange(ramp_n, 0, -1) - 0.5) / ramp_n).astype(np.float32)
    scale = seconds / sc.duration
    placed = []
    count = 0
    for alarm in result.alarms:
        placed.append((alarm.start_h * scale, alarm))
        shape = shapes[alarm.priority]
        tone_s = patterns[alarm.priority].duration_s
        for at_s in _tone_starts(alarm, scale, seconds, sc.duration, tone_s):
            i0 = round(at_s * sample_rate_hz)
            piece = shape[: max(0, n_total - i0)]
            if len(piece) < len(shape) and len(piece) > 0:  # cut by the end: fade, no click
                piece = piece.copy()
                tail = min(ramp_n, len(piece))
                piece[-tail:] *= fade[-tail:]
            mix[i0 : i0 + len(piece)] += piece
            count += 1
    peak = float(np.max(np.abs(mix))) if n_total else 0.0
    target = peak_amplitude(patterns["critical"])
    gain = target / max(peak, 1.0)  # each tone peaks at 1; overlaps are scaled down, not clipped
    mix *= gain  # in place: the track is the largest thing in memory
    pcm = np.round(mix, out=mix).astype(np.int16)
    del mix
    measured = int(np.max(np.abs(pcm.astype(np.int32)))) if n_total else 0
    peak_dbfs = 20 * np.log10(measured / 32767) if measured else float("-inf")
    return Track(wav_file(pcm, sample_rate_hz), seconds, placed, count, float(peak_dbfs))
