"""``pumpsim tones``: each alarm priority's tone pattern as a WAV file.

With a scenario, also the scenario's alarms in compressed time (``NAME-alarm-track.wav``):
the whole scenario in a few seconds (at most 10 minutes of audio), each alarm's tone from the
moment it is raised and repeating while it sounds (the silence between repeats compressed), so
a class can hear the escalation without a browser. A scenario without alarms gets no track:
the command says so instead of writing silence.
"""

from __future__ import annotations

import argparse
import math
import os
from typing import Any

from pumpsim.cli.common import EXIT_OK, add_command, visible


def _track_seconds(text: str) -> float:
    """``--track-length`` in seconds: positive, finite and at most 10 minutes of audio."""
    from pumpsim.errors import ScenarioError
    from pumpsim.model.units import SECONDS_PER_HOUR, DurationError, parse_duration_h
    from pumpsim.outputs.report.alarm_track import MAX_TRACK_S

    try:
        seconds = parse_duration_h(text) * SECONDS_PER_HOUR
    except (DurationError, OverflowError) as exc:
        raise ScenarioError(f"--track-length: {exc}") from None
    if not math.isfinite(seconds) or seconds > MAX_TRACK_S:
        raise ScenarioError(f"--track-length: {text!r} is longer than the limit of 10min of audio")
    if seconds <= 0:
        raise ScenarioError("--track-length: must be longer than 0s")
    return seconds


def cmd_tones(args: argparse.Namespace) -> int:
    """Write critical.wav and non-critical.wav (and a scenario's alarm track)."""
    from pumpsim.errors import OutputError, ScenarioError
    from pumpsim.files import write_output
    from pumpsim.model.clock import Clock
    from pumpsim.model.units import format_duration_h
    from pumpsim.outputs.report.alarm_track import GAP_COMPRESSION, alarm_track
    from pumpsim.outputs.report.guidance import alarm_label
    from pumpsim.outputs.report.tones import PRIORITIES, tone_pattern, write_tones
    from pumpsim.scenario.profiles import ProfileError, load_device_profile

    seconds = _track_seconds(args.seconds)
    result = None
    if args.scenario:
        import pumpsim

        result = pumpsim.simulate(pumpsim.load_scenario(args.scenario))
    name = result.scenario.pump.profile if result is not None else args.profile
    try:
        profile = load_device_profile(name)
        patterns = [tone_pattern(profile, p) for p in PRIORITIES]
        track = alarm_track(result, seconds) if result is not None and result.alarms else None
    except ProfileError as exc:
        raise ScenarioError(f"--profile: {exc}") from None
    try:
        paths = write_tones(profile, args.out)
        if track is not None:
            track_path = os.path.join(args.out, f"{result.scenario.name}-alarm-track.wav")
            write_output(track_path, track.wav)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(
            args.out, f"cannot write the tones: {exc.strerror or exc}", exit_code=2
        ) from None
    for path, pattern in zip(paths, patterns, strict=True):
        pitches = " / ".join(f"{f:g} Hz" for f in pattern.frequencies_hz)
        print(  # the label is a profile's text: escapes shown, not obeyed
            visible(
                f"{path}: {pattern.priority.replace('_', '-')} alarm, {pattern.label} "
                f"({pitches}, representative, peak {pattern.level_dbfs:g} dBFS), repeated every "
                f"{format_duration_h(pattern.repeat_interval_h)}"
            )
        )
    if result is not None and track is None:
        print(f"{result.scenario.name}: no alarm sounds in this scenario, so no alarm track")
    if track is not None:
        sc = result.scenario
        print(
            f"{track_path}: {format_duration_h(sc.duration)} in {seconds:g} s of audio, peak "
            f"{track.peak_dbfs:.1f} dBFS, {len(track.starts)} alarm(s), {track.tones} tone(s); "
            f"repeats compressed (a minute of silence between tones plays as "
            f"{60 / GAP_COMPRESSION:g} s)"
        )
        for at_s, alarm in track.starts:
            print(
                f"  {at_s:6.2f} s  {alarm.priority.replace('_', '-')}  {alarm_label(alarm.type)}"
                f"  {Clock.of(sc.start).label(alarm.start_h)}"
            )
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the ``tones`` subcommand."""
    tones = add_command(
        sub,
        "tones",
        help="write each alarm priority's tone pattern as a WAV file",
        description="Write each alarm priority's tone pattern as a WAV file (representative "
        "tones: the device's pitches are not public) and, given a scenario, its alarms with "
        "their repeats in compressed time.",
        checks=False,
    )
    tones.add_argument(
        "scenario",
        nargs="?",
        help="also write this scenario's alarms in compressed time (NAME-alarm-track.wav)",
    )
    tones.add_argument("--out", required=True, metavar="DIR", help="folder for the WAV files")
    tones.add_argument(
        "--profile",
        default="synchromed-ii",
        help="device profile (default: synchromed-ii; a scenario brings its own)",
    )
    tones.add_argument(
        "--track-length",
        dest="seconds",
        default="30s",
        metavar="TIME",
        help="how long the whole scenario lasts in the alarm track (default 30s, at most 10min)",
    )
    tones.set_defaults(func=cmd_tones)
