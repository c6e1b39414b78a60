"""Bad input: one line naming the file, the key path and the line; exit 2; no traceback."""

import re
import subprocess
import sys

import pytest
from conftest import scenario_text

from pumpsim.cli import main

GOOD = """\
name: ok
duration: 30d
pump: {reservoir_ml: 20}
drug: {concentration_mcg_per_ml: 2000}
therapy:
  dose_mcg_per_day: 400
events:
  - {at: 10d, type: refill, volume_ml: 20}
"""


def check_bad(capsys, path, *, key=None, line=None, words=()):
    code = main(["validate", path])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    msg = lines[0]
    assert msg.startswith(path), msg
    if line is not None:
        assert msg.startswith(f"{path}:{line}:"), msg
    if key is not None:
        assert f" {key}:" in msg, msg
    for w in words:
        assert w in msg, msg
    assert "Traceback" not in err
    return msg


@pytest.mark.parametrize(
    ("old", "new", "key", "line", "words"),
    [
        ("duration: 30d", "duration: 30", "duration", 2, ["bare number"]),
        ("dose_mcg_per_day: 400", "dose_mcg_per_day: -400", "therapy.dose_mcg_per_day", 6, ["0"]),
        (
            "dose_mcg_per_day: 400",
            "dose_mcg_per_dya: 400",
            "therapy.dose_mcg_per_dya",
            6,
            ["did you mean 'dose_mcg_per_day'"],
        ),
        (
            "volume_ml: 20}",
            "volume_ml: 25}",
            "events[0].volume_ml",
            8,
            ["exceeds the 20 mL reservoir"],
        ),
        (
            "reservoir_ml: 20",
            "reservoir_ml: 30",
            "pump.reservoir_ml",
            3,
            ["not a synchromed-ii reservoir"],
        ),
        (
            "type: refill, volume_ml: 20",
            "type: refil, volume_ml: 20",
            "events[0]",
            8,
            ["unknown event type"],
        ),
        ("name: ok", "name: Not OK", "name", 1, ["lower-case letters, digits and hyphens"]),
        ("at: 10d", "at: 40d", "events[0].at", 8, ["after the end"]),
        # review E: a sweep file given to validate says what it is
        ("name: ok", "name: ok\nbase: other.yaml", "base", 2, ["looks like a sweep file"]),
        # review C, C3: two spaces read as one in the printed value: say what is wrong
        ("name: ok", 'name: ok\nstart: "2026-01-01  Europe/Paris"', "start", 2, ["by one space"]),
        # review C, B2: an end past the calendar showed every time as "never", or exit 4
        ("name: ok", "name: ok\nstart: 9999-12-01", "duration", 3, ["would end after 9999-12-30"]),
        # review C, A6/A7: instants in expectations are within the run; tolerances not negative
        *(
            (
                "events:",
                f"expect:\n  - {exp}\nevents:",
                f"expect[0].{key}",
                8,
                [words],
            )
            for exp, key, words in (
                ("{reservoir_estimated_ml: 10, at: 40d}", "at", "after the end"),
                ("{alarm: low_reservoir, first_at: 31d}", "first_at", "after the end"),
                (
                    "{alarm: low_reservoir, first_within: [1d, 300d]}",
                    "first_within",
                    "after the end",
                ),
                ("{reservoir_estimated_ml: 10, at: 5d, tolerance: -1}", "tolerance", "at least 0"),
            )
        ),
        (
            "drug: {concentration_mcg_per_ml: 2000}",
            "drug: {}",
            "drug.concentration_mcg_per_ml",
            4,
            ["required"],
        ),
        (
            "  dose_mcg_per_day: 400",
            "  dose_mcg_per_day: 400000",
            "therapy.dose_mcg_per_day",
            6,
            ["programmable range"],
        ),
        (
            "  dose_mcg_per_day: 400",
            "  dose_mcg_per_day: .nan",
            "therapy.dose_mcg_per_day",
            6,
            ["finite"],
        ),
        (
            "drug: {concentration_mcg_per_ml: 2000}",
            "drug: {concentration_mcg_per_ml: .inf}",
            "drug.concentration_mcg_per_ml",
            4,
            ["finite"],
        ),
    ],
)
def test_invalid_values(capsys, write_yaml, old, new, key, line, words):
    assert old in GOOD
    path = write_yaml(GOOD.replace(old, new))
    check_bad(capsys, path, key=key, line=line, words=words)


def test_good_file_validates(capsys, write_yaml):
    assert main(["validate", write_yaml(GOOD)]) == 0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: [unclosed\n", ["YAML syntax error"]),
        ("", ["empty"]),
        ("!!python/object/apply:os.system ['echo hi']\n", ["not allowed"]),
        ("name: !!python/name:os.system x\n", ["not allowed"]),
        ("- a\n- b\n", ["mapping"]),
        (
            "a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
            "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
            ["alias bomb"],
        ),
        ("name: a\nname: b\n", ["duplicate key"]),
        ("name: &a [*a]\n", ["recursive"]),
        ("name: t\nstart: 2026-13-01\n", ["cannot read '2026-13-01'"]),
    ],
)
def test_malformed_files(capsys, write_yaml, text, words):
    check_bad(capsys, write_yaml(text), words=words)


def test_missing_file(capsys, tmp_path):
    path = str(tmp_path / "nope.yaml")
    check_bad(capsys, path, words=["no such file"])


def test_oversized_file(capsys, write_yaml):
    check_bad(capsys, write_yaml("# " + "x" * 1_100_000 + "\n"), words=["larger than"])


@pytest.mark.parametrize(
    ("event", "key", "words"),
    [
        (
            "{at: 1d, type: catheter_fault, kind: leak, delivered_fraction: 1.5}",
            "events[1].delivered_fraction",
            ["1"],
        ),
        ("{at: 1d, type: catheter_fault, kind: snapped}", "events[1].kind", ["not allowed"]),
        ("{at: 1d, type: catheter_fault, kind: kink}", "events[1]", ["needs delivered_fraction"]),
        ("{at: 1d, type: bolus, dose_mcg: 50}", "events[1].duration", ["required"]),
        (
            "{at: 1d, type: refill, volume_ml: 10, pocket_fraction: 1.2}",
            "events[1].pocket_fraction",
            ["1"],
        ),
        ("{at: 1d, type: pump_fault, kind: gremlins}", "events[1].kind", ["not allowed"]),
        ("{at: 1d, type: mri}", "events[1].duration", ["required"]),
        (
            "{at: 1d, type: bolus, dose_mcg: 50, duration: 0min}",
            "events[1].duration",
            ["longer than zero"],
        ),
        (
            "{at: 1d, type: pump_replacement, reservoir_ml: 40, volume_ml: 45}",
            "events[1].volume_ml",
            ["exceeds"],
        ),
    ],
)
def test_bad_fault_and_bolus_values(capsys, write_yaml, event, key, words):
    text = GOOD + f"  - {event}\n"
    check_bad(capsys, write_yaml(text), key=key, line=9, words=words)


def test_flex_validation(capsys, write_yaml):
    steps = "\n".join(f'    - {{at: "{h:02d}:00", dose_mcg_per_hour: 10}}' for h in range(14))
    text = GOOD.replace("  dose_mcg_per_day: 400", "  mode: flex\n  steps:\n" + steps)
    msg = check_bad(capsys, write_yaml(text), key="therapy.steps", words=["at most 13"])
    assert re.search(r":7: ", msg)
    text = GOOD.replace(
        "  dose_mcg_per_day: 400",
        '  mode: flex\n  steps:\n    - {at: "01:00", dose_mcg_per_hour: 10}',
    )
    check_bad(capsys, write_yaml(text), words=["00:00"])
    text = GOOD.replace(
        "  dose_mcg_per_day: 400",
        "  mode: flex\n  steps:\n    - {at: 00:00, dose_mcg_per_hour: 10}",
    )
    assert main(["validate", write_yaml(text)]) == 0  # unquoted HH:MM is read as a clock time


def test_unknown_top_level_key_lists_known_keys(capsys, write_yaml):
    msg = check_bad(capsys, write_yaml(GOOD + "zzz: 1\n"), key="zzz", line=9)
    assert "known keys" in msg


def test_unknown_event_key_suggests(capsys, write_yaml):
    msg = check_bad(
        capsys,
        write_yaml(GOOD.replace("volume_ml: 20}", "volum_ml: 20}")),
        key="events[0].volum_ml",
    )
    assert "did you mean 'volume_ml'" in msg


def test_run_exit_2_without_traceback(write_yaml):
    path = write_yaml(GOOD.replace("30d", "30"))
    proc = subprocess.run(
        [sys.executable, "-m", "pumpsim", "run", path], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stdout == ""


# --- Issue #10: hostile values ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        (
            "dose_mcg_per_day: 400",
            "dose_mcg_per_day: 1.0e+308",
            "therapy.dose_mcg_per_day",
            ["too large"],
        ),
        (  # YAML 1.1 reads an exponent without a dot as text: said so, never converted
            "dose_mcg_per_day: 400",
            "dose_mcg_per_day: 1e308",
            "therapy.dose_mcg_per_day",
            ["text to YAML", "1.0e+308"],
        ),
        (
            "drug: {concentration_mcg_per_ml: 2000}",
            "drug: {concentration_mcg_per_ml: 1.0e+308}",
            "drug.concentration_mcg_per_ml",
            ["too large"],
        ),
        ("volume_ml: 20}", "volume_ml: 1.0e+308}", "events[0].volume_ml", ["too large"]),
        (
            "pump: {reservoir_ml: 20}",
            "pump: {reservoir_ml: 1.0e+308}",
            "pump.reservoir_ml",
            ["too large"],
        ),
        ("duration: 30d", "duration: 1000000000y", "duration", ["limit"]),
        ("duration: 30d", "duration: " + "9" * 400 + "d", "duration", ["too long a duration"]),
        ("at: 10d", "at: 1000000000y", "events[0].at", ["limit"]),
        ("name: ok", f"name: ok\nseed: {2**200}", "seed", ["too large"]),
        ("name: ok", "name: ok\nseed: -1", "seed", ["0"]),
        (
            "name: ok",
            "name: ok\ncatheter: {volume_ml: 1.0e+308}",
            "catheter.volume_ml",
            ["too large"],
        ),
        (
            "pump: {reservoir_ml: 20}",
            "pump: {reservoir_ml: 20, age: 1000000000y}",
            "pump.age",
            ["limit"],
        ),
        # zero durations where they make no sense
        (
            "pump: {reservoir_ml: 20}",
            "pump: {reservoir_ml: 20, critical_tone_interval: 0s}",
            "pump.critical_tone_interval",
            ["longer than zero"],
        ),
        (
            "pump: {reservoir_ml: 20}",
            "pump: {reservoir_ml: 20, battery: {eos_after_eri: 0d}}",
            "pump.battery.eos_after_eri",
            ["longer than zero"],
        ),
        (
            "  dose_mcg_per_day: 400",
            "  dose_mcg_per_day: 400\n  ptm: {dose_mcg: 20, lockout: 1h, max_per_day: 3, duration: 0s}",
            "therapy.ptm.duration",
            ["longer than zero"],
        ),
        (
            "  dose_mcg_per_day: 400",
            "  dose_mcg_per_day: 400\n  ptm: {dose_mcg: 20, lockout: 1h, max_per_day: 1000000000}",
            "therapy.ptm.max_per_day",
            ["too large"],
        ),
        (
            "type: refill, volume_ml: 20",
            "type: mri, duration: 0min",
            "events[0].duration",
            ["longer than zero"],
        ),
        (
            "type: refill, volume_ml: 20",
            "type: motor_stall, duration: 0s",
            "events[0].duration",
            ["longer than zero"],
        ),
        (
            "type: refill, volume_ml: 20",
            "type: catheter_fault, kind: occlusion, duration: 0h",
            "events[0].duration",
            ["longer than zero"],
        ),
        # accuracy outside the profile's plausible range (-1, 1]
        (
            "pump: {reservoir_ml: 20}",
            "pump: {reservoir_ml: 20, accuracy: 1.01}",
            "pump.accuracy",
            ["plausible accuracy range"],
        ),
        (
            "pump: {reservoir_ml: 20}",
            "pump: {reservoir_ml: 20, accuracy: -1}",
            "pump.accuracy",
            ["-1"],
        ),
        (
            "type: refill, volume_ml: 20",
            "type: pump_replacement, volume_ml: 20, accuracy: 3",
            "events[0].accuracy",
            ["plausible accuracy range"],
        ),
        # the did-you-mean for a key without its unit
        (
            "volume_ml: 20}",
            "volume_ml: 20, concentration: 1000}",
            "events[0].concentration",
            ["did you mean 'concentration_mcg_per_ml'"],
        ),
    ],
)
def test_hostile_values(capsys, write_yaml, old, new, key, words):
    assert old in GOOD
    msg = check_bad(capsys, write_yaml(GOOD.replace(old, new, 1)), key=key, words=words)
    assert "inf" not in msg.split(":", 3)[-1].replace("info", "")


def test_accuracy_at_the_plausible_bound_is_valid(capsys, write_yaml):
    text = GOOD.replace("pump: {reservoir_ml: 20}", "pump: {reservoir_ml: 20, accuracy: 1.0}")
    assert main(["validate", write_yaml(text)]) == 0


@pytest.mark.parametrize(
    ("event", "key", "words"),
    [
        # Hand-computed: 400 mcg/day at 10 mcg/mL is 40 mL/day > 24 mL/day.
        (
            "{at: 10d, type: refill, volume_ml: 20, concentration_mcg_per_ml: 10}",
            "events[0].concentration_mcg_per_ml",
            ["400 mcg/day at 10 mcg/mL is 40 mL/day", "0.048-24 mL/day", "kept after"],
        ),
        # 400 mcg/day at 10000 mcg/mL is 0.04 mL/day < 0.048 mL/day.
        (
            "{at: 10d, type: refill, volume_ml: 20, concentration_mcg_per_ml: 10000}",
            "events[0].concentration_mcg_per_ml",
            ["is 0.04 mL/day"],
        ),
        # A new programme at the new concentration is checked at that concentration.
        (
            "{at: 10d, type: refill, volume_ml: 20, concentration_mcg_per_ml: 10, therapy: {dose_mcg_per_day: 300}}",
            "events[0].therapy.dose_mcg_per_day",
            ["300 mcg/day at 10 mcg/mL is 30 mL/day"],
        ),
        # A reprogramming is checked at the pump's concentration, 500 mcg/mL after the refill.
        (
            "{at: 10d, type: refill, volume_ml: 20, concentration_mcg_per_ml: 500, therapy: {dose_mcg_per_day: 100}}\n"
            "  - {at: 12d, type: reprogram, therapy: {dose_mcg_per_day: 12500}}",
            "events[1].therapy.dose_mcg_per_day",
            ["12500 mcg/day at 500 mcg/mL is 25 mL/day"],
        ),
    ],
)
def test_rate_is_rechecked_at_every_change(capsys, write_yaml, event, key, words):
    text = GOOD.replace("{at: 10d, type: refill, volume_ml: 20}", event)
    line = 8 + int(key.split("[")[1].split("]")[0])
    check_bad(capsys, write_yaml(text), key=key, line=line, words=words)


def test_rate_change_without_updating_the_pump_is_valid_until_a_new_pump(capsys, write_yaml):
    # The pump keeps its 2000 mcg/mL rate (0.2 mL/day) when told nothing: valid input...
    text = GOOD.replace(
        "{at: 10d, type: refill, volume_ml: 20}",
        "{at: 10d, type: refill, volume_ml: 20, concentration_mcg_per_ml: 10, "
        "update_pump_concentration: false}",
    )
    assert main(["validate", write_yaml(text)]) == 0
    # ...until a replacement pump runs the same programme with the 10 mcg/mL drug: 40 mL/day.
    text += "  - {at: 20d, type: pump_replacement, volume_ml: 20}\n"
    check_bad(capsys, write_yaml(text), key="events[1].at", line=9, words=["40 mL/day", "new pump"])


def test_flex_step_rates_are_rechecked_after_a_concentration_change(capsys, write_yaml):
    text = GOOD.replace(
        "  dose_mcg_per_day: 400",
        '  mode: flex\n  steps:\n    - {at: "00:00", dose_mcg_per_hour: 10}\n'
        '    - {at: "12:00", dose_mcg_per_hour: 30}',
    ).replace("volume_ml: 20}", "volume_ml: 20, concentration_mcg_per_ml: 20}")
    # 30 mcg/h = 720 mcg/day at 20 mcg/mL = 36 mL/day
    check_bad(
        capsys,
        write_yaml(text),
        key="events[0].concentration_mcg_per_ml",
        words=["720 mcg/day at 20 mcg/mL is 36 mL/day"],
    )


@pytest.mark.parametrize(
    ("event", "key", "hint"),
    [
        (
            "{at: 5d, type: reprogram, therapy: {dose_mcg_per_dy: 300}}",
            "events[0].therapy.dose_mcg_per_dy",
            "dose_mcg_per_day",
        ),
        (
            "{at: 5d, type: refill, volume_ml: 20, concentraton_mcg_per_ml: 1000}",
            "events[0].concentraton_mcg_per_ml",
            "concentration_mcg_per_ml",
        ),
        (
            '{at: 5d, type: reprogram, therapy: {mode: flex, steps: [{at: "00:00", dose_mcg_per_hr: 3}]}}',
            "events[0].therapy.steps[0].dose_mcg_per_hr",
            "dose_mcg_per_hour",
        ),
    ],
)
def test_did_you_mean_reaches_keys_nested_in_events(event, key, hint, write_yaml, capsys):
    path = write_yaml(scenario_text(extra=f"events:\n  - {event}\n"))
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err.strip()
    assert f" {key}: " in err and f"did you mean {hint!r}?" in err
