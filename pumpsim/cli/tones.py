"""``pumpsim tones``: each alarm priority's tone pattern as a WAV file.

With a scenario, also the scenario's alarms in compressed time (``NAME-alarm-track.wav``):
the whole scenario in a few seconds, each alarm's tone at the moment it is raised, so a class
can hear the escalation without a browser.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from pumpsim.cli.common import EXIT_OK, NOTHING_CHECKED, HelpFormatter, exit_codes_epilog


def cmd_tones(args: argparse.Namespace) -> int:
    """Write critical.wav and non-critical.wav (and a scenario's alarm track)."""
    from pumpsim.errors import OutputError, ScenarioError
    from pumpsim.files import write_output
    from pumpsim.model.clock import Clock
    from pumpsim.model.units import (
        SECONDS_PER_HOUR,
        DurationError,
        format_duration_h,
        parse_duration_h,
    )
    from pumpsim.outputs.report.guidance import alarm_label
    from pumpsim.outputs.report.tones import PRIORITIES, alarm_track, tone_pattern, write_tones
    from pumpsim.scenario.profiles import ProfileError, load_device_profile

    try:
        seconds = parse_duration_h(args.seconds) * SECONDS_PER_HOUR
    except DurationError as exc:
        raise ScenarioError(f"--track-length: {exc}") from None
    if seconds <= 0:
        raise ScenarioError("--track-length: must be longer than 0s")
    result = None
    if args.scenario:
        import pumpsim

        result = pumpsim.simulate(pumpsim.load_scenario(args.scenario))
    name = result.scenario.pump.profile if result is not None else args.profile
    try:
        profile = load_device_profile(name)
        patterns = [tone_pattern(profile, p) for p in PRIORITIES]
        track = alarm_track(result, seconds) if result is not None else None
    except ProfileError as exc:
        raise ScenarioError(f"--profile: {exc}") from None
    try:
        paths = write_tones(profile, args.out)
        if track is not None:
            track_path = os.path.join(args.out, f"{result.scenario.name}-alarm-track.wav")
            write_output(track_path, track[0])
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(
            args.out, f"cannot write the tones: {exc.strerror or exc}", exit_code=2
        ) from None
    for path, pattern in zip(paths, patterns, strict=True):
        pitches = " / ".join(f"{f:g} Hz" for f in pattern.frequencies_hz)
        print(
            f"{path}: {pattern.priority.replace('_', '-')} alarm, {pattern.label} ({pitches}, "
            f"representative), repeated every {format_duration_h(pattern.repeat_interval_h)}"
        )
    if track is not None:
        sc = result.scenario
        print(
            f"{track_path}: {format_duration_h(sc.duration)} in {seconds:g} s, "
            f"{len(track[1])} alarm(s)"
        )
        for at_s, alarm in track[1]:
            print(
                f"  {at_s:6.2f} s  {alarm.priority.replace('_', '-')}  {alarm_label(alarm.type)}"
                f"  {Clock.of(sc.start).label(alarm.start_h)}"
            )
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the ``tones`` subcommand."""
    tones = sub.add_parser(
        "tones",
        help="write each alarm priority's tone pattern as a WAV file",
        epilog=exit_codes_epilog(*NOTHING_CHECKED),
        formatter_class=HelpFormatter,
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
        help="how long the whole scenario lasts in the alarm track (default 30s)",
    )
    tones.set_defaults(func=cmd_tones)
