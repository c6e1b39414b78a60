"""The alarm book's first-critical lookup against a brute-force scan."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from pumpsim.model.parts.alarms import AlarmBook
from pumpsim.model.record import CriticalAlarms
from pumpsim.scenario.profiles import load_device_profile

PROFILE = load_device_profile("synchromed-ii")
NAMES = ["low_reservoir", "empty_reservoir", "motor_stall", "eos", "critical_memory_error"]


def brute_first_critical(book: AlarmBook, t: float, until: float) -> float | None:
    best = None
    for rec in book.history:
        if rec.priority != "critical":
            continue
        end = math.inf if rec.end_h is None else rec.end_h
        if rec.start_h <= t < end:
            return t
        if t <= rec.start_h <= until and (best is None or rec.start_h < best):
            best = rec.start_h
    return best


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(NAMES), st.booleans(), st.integers(0, 40)), max_size=40),
    st.integers(0, 45),
    st.integers(0, 50),
)
def test_first_critical_matches_a_scan(toggles, t, span):
    book = AlarmBook(PROFILE, 1.0)
    now = 0
    for name, on, step in toggles:
        now += step % 4  # several changes may share an instant
        book.set(name, on, float(now))
    for until in (float(t + span), math.inf):
        assert CriticalAlarms(book.history).first_at_or_after(
            float(t), until
        ) == brute_first_critical(book, float(t), until)
