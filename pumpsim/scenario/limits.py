"""Magnitude limits of scenario input (documented in docs/reference.md, "Input limits").

These are not device numbers (those live in the device profile, with their source): they are
sanity bounds, far beyond any clinical value, that turn absurd input (a dose of 1e308 mcg, a
billion-year scenario, a seed of 2**200) into a clear error instead of an overflow, an ``inf`` in
the result or a run that never ends. The device profile's own limits (reservoir sizes, the
programmable rate range, the plausible accuracy range) are checked on top of these.
"""

from __future__ import annotations

#: The longest duration or instant accepted anywhere (100 Julian years, in hours).
MAX_DURATION_H = 100 * 365.25 * 24.0
#: The largest volume accepted for any key in mL (a reservoir, a catheter, an alarm level).
MAX_VOLUME_ML = 1_000.0
#: The largest drug concentration accepted, in mcg/mL (100 mg/mL).
MAX_CONCENTRATION_MCG_PER_ML = 100_000.0
#: The largest amount accepted for any dose key, in mcg (a daily dose, a bolus): one gram.
MAX_DOSE_MCG = 1_000_000.0
#: The largest hourly dose of a flex step, in mcg/h (the daily limit spread over a day).
MAX_DOSE_MCG_PER_HOUR = MAX_DOSE_MCG / 24.0
#: The most patient-requested boluses a PTM programme may allow in 24 hours.
MAX_PTM_PER_DAY = 1_000
#: Seeds are unsigned 64-bit integers: 0 <= seed < 2**64.
SEED_LIMIT = 2**64
