"""The battery: drain from idle running and pumping, the ERI warning and end of service.

The battery's used fraction grows with time (idle longevity) and with the volume pumped
(volume capacity). ERI is raised when the fraction reaches one, at an explicit ``eri_at``, or
at the latest the full ERI-to-EOS interval before the hard-stop life. EOS always follows ERI by
that interval (contract section 1): nothing shortens it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pumpsim.model.affine import Affine
from pumpsim.model.logbook import Logbook
from pumpsim.model.profile import DeviceProfile


class Battery:
    """Longevity, ERI and EOS of the pump's battery."""

    __slots__ = (
        "_at",
        "_idle_per_h",
        "_logs",
        "_pre_drain_per_h",
        "capacity_ml",
        "eos",
        "eos_after_eri_h",
        "eri",
        "explicit_eri_h",
        "hard_stop_life_h",
        "implant_h",
        "jumps",
        "tokens",
        "used",
    )

    def __init__(
        self,
        profile: DeviceProfile,
        age_h: float,
        eri_at_h: float | None,
        eos_after_eri_h: float,
        at: Callable[..., Any],
        logs: Logbook,
    ) -> None:
        self.capacity_ml = profile.battery_volume_capacity_ml
        self._idle_per_h = 1.0 / profile.battery_idle_longevity_h
        self.hard_stop_life_h = profile.hard_stop_life_h
        self.eos_after_eri_h = eos_after_eri_h
        self.implant_h = -age_h
        self.used = 0.0  # fraction of the battery spent; set before the run (see ``age``)
        self._pre_drain_per_h = 0.0  # the drain before t = 0 (see ``age``)
        self.jumps = 0  # changes of ``used`` other than by draining (crossings go stale)
        self.explicit_eri_h = eri_at_h
        self.eri = False
        self.eos = False
        self.tokens: list[Any] = []
        self._at = at
        self._logs = logs

    def drain(self, motor: Affine) -> Affine:
        """Battery fraction per hour while the motor is told to move ``motor`` mL/h."""
        return Affine(
            motor.alpha / self.capacity_ml, self._idle_per_h + motor.beta / self.capacity_ml
        )

    def age(self, age_h: float, mean_drain_per_h: float) -> None:
        """Before t = 0 the battery drained at the initial programme's mean rate (assumed)."""
        self.used = age_h * mean_drain_per_h
        self._pre_drain_per_h = mean_drain_per_h
        self.jumps += 1

    def arm(self, t_h: float) -> None:
        """Schedule the latest (or the explicit) ERI from ``t_h`` on."""
        for tok in self.tokens:
            tok.cancelled = True
        self.tokens = []
        hard_stop = self.implant_h + self.hard_stop_life_h
        if self.explicit_eri_h is not None:
            self.tokens.append(self._at(max(t_h, self.explicit_eri_h), self.raise_eri))
        else:
            # However slowly the battery drains, the ERI warning precedes the hard stop by the
            # full ERI-to-EOS interval.
            latest_eri = hard_stop - self.eos_after_eri_h
            past = [latest_eri] if latest_eri <= t_h else []
            if self.used >= 1.0 and self._pre_drain_per_h > 0.0:  # spent before t_h
                past.append(self.implant_h + 1.0 / self._pre_drain_per_h)
            if past:
                # ERI fell before the run: it sounds from now, and EOS still comes the full
                # interval after the true ERI (at once when that, too, is past).
                self.raise_eri(t_h, min(past))
            else:
                self.tokens.append(self._at(latest_eri, self.raise_eri))

    def crossing(self, drain: Affine, when: Callable[[Affine, float], float]) -> float | None:
        """When the drain uses up the battery (ERI), unless ERI is raised or set explicitly."""
        if self.eri or self.explicit_eri_h is not None:
            return None
        return when(drain, max(0.0, 1.0 - self.used))

    def exhausted(self, t_h: float) -> None:
        """The drain crossing fired: the battery is spent, ERI now."""
        self.used = 1.0
        self.jumps += 1
        self.raise_eri(t_h)

    def raise_eri(self, t_h: float, eri_h: float | None = None) -> None:
        """Elective replacement indicator at ``t_h`` (``eri_h``: when the battery truly reached
        it, if earlier: before the run); EOS follows ERI by the ERI-to-EOS interval."""
        if self.eri:
            return
        self.eri = True
        eri_h = t_h if eri_h is None else min(eri_h, t_h)
        self._logs.world(t_h, "battery_eri", battery_age_h=eri_h - self.implant_h)
        eos_h = max(t_h, eri_h + self.eos_after_eri_h)
        self.tokens.append(self._at(eos_h, self._end_of_service))

    def _end_of_service(self, t_h: float) -> None:
        self.eos = True

    def replace(self, t_h: float) -> None:
        """A new pump: a fresh battery implanted now (re-armed by the caller)."""
        self.implant_h = t_h
        self.used = 0.0
        self.jumps += 1
        self.explicit_eri_h = None
        self.eri = False
        self.eos = False
