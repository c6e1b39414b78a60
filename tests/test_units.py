import pytest

from pumpsim.model.units import DurationError, format_duration_h, parse_duration_h


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("90d", 2160.0),
        ("36h", 36.0),
        ("15min", 0.25),
        ("45s", 45 / 3600),
        ("2d6h30min", 54.5),
        ("1w", 168.0),
        ("1y", 8766.0),
        ("P90DT6H", 2166.0),
        ("PT15M", 0.25),
        ("P1W", 168.0),
        ("1.5h", 1.5),
        ("0d", 0.0),
    ],
)
def test_parse(text, hours):
    assert parse_duration_h(text) == pytest.approx(hours)


@pytest.mark.parametrize("bad", [90, 1.5, "90", "", "9 parsecs", "-3d", "P1M", True, None, "PT"])
def test_rejects(bad):
    with pytest.raises(DurationError):
        parse_duration_h(bad)


def test_bare_number_message_suggests_a_unit():
    with pytest.raises(DurationError, match="give a unit"):
        parse_duration_h(90)


def test_format():
    assert format_duration_h(2340.0) == "97d 12h"
    assert format_duration_h(1.5) == "1h 30min"
    assert format_duration_h(0.0) == "0s"
    assert format_duration_h(-24.0) == "-1d"
