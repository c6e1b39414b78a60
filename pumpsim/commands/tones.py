"""``pumpsim tones``: each alarm priority's tone pattern as a WAV file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pumpsim.commands.common import EXIT_INVALID, EXIT_OK


def cmd_tones(args: argparse.Namespace) -> int:
    """Write critical.wav and non-critical.wav, synthesised from the device profile."""
    from pumpsim.errors import ScenarioError
    from pumpsim.profile import ProfileError, load_device_profile
    from pumpsim.report.tones import tone_pattern, write_tones
    from pumpsim.units import format_duration_h

    try:
        profile = load_device_profile(args.profile)
        patterns = [tone_pattern(profile, p) for p in ("critical", "non_critical")]
    except ProfileError as exc:
        raise ScenarioError(f"--profile: {exc}") from None
    try:
        paths = write_tones(profile, args.out)
    except OSError as exc:
        print(f"{args.out}: cannot write the tones: {exc.strerror}", file=sys.stderr)
        return EXIT_INVALID
    for path, pattern in zip(paths, patterns, strict=True):
        priority = pattern.priority
        pitches = " / ".join(f"{f:g} Hz" for f in pattern.frequencies_hz)
        print(
            f"{path}: {priority.replace('_', '-')} alarm, {pattern.label} ({pitches}, "
            f"representative), repeated every {format_duration_h(pattern.repeat_interval_h)}"
        )
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the ``tones`` subcommand."""
    tones = sub.add_parser("tones", help="write each alarm priority's tone pattern as a WAV file")
    tones.add_argument("--out", required=True, metavar="DIR", help="folder for the WAV files")
    tones.add_argument(
        "--profile", default="synchromed-ii", help="device profile (default: synchromed-ii)"
    )
    tones.set_defaults(func=cmd_tones)
