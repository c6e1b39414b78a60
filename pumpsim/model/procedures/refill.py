"""The refill procedure (contract 3.5): empty, compare, fill, and what can go wrong doing it.

The clinician withdraws what is truly left and compares it with what the pump expected (a
discrepancy beyond the profile's limit is flagged); injects the new volume, of which a
``pocket_fraction`` may miss the port and go into the subcutaneous pocket; tells the pump the
new volume and (normally) the new concentration; may start a bridge bolus so that the old drug
in the catheter is pushed out at the pump's new setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pumpsim.model.flags import Flag, FlagBook
from pumpsim.model.ledger import Totals
from pumpsim.model.logbook import Logbook
from pumpsim.model.parts.catheter import Catheter
from pumpsim.model.parts.drive import Drive
from pumpsim.model.parts.firmware import Firmware
from pumpsim.model.parts.reservoir import Reservoir
from pumpsim.model.profile import DeviceProfile
from pumpsim.model.setup import Refill

_MORE = (
    "more drug left than the pump expected: under-delivery (stall, occlusion) or a "
    "programming error"
)
#: Rounding left in a reconstructed residual (a replay's fitted volumes): a discrepancy of
#: exactly the limit, recorded to 0.01 mL, is not more than the limit (contract 3.5: "> 1 mL").
DISCREPANCY_ROUNDING_ML = 1e-9
_LESS = "less drug left than the pump expected: over-infusion or a leak from the reservoir"


@dataclass(slots=True)
class RefillRecord:
    """One refill visit: what was found, what was injected (contract 3.5)."""

    at_h: float
    missed: bool
    #: the position of the event in ``Setup.events`` (None: a visit a clinic booked in the run)
    event_index: int | None = None
    expected_residual_ml: float | None = None  # the pump's estimate
    actual_residual_ml: float | None = None  # the true volume, withdrawn
    discrepancy_ml: float | None = None  # actual - expected
    volume_ml: float | None = None
    concentration_mcg_per_ml: float | None = None
    pocket_ml: float | None = None
    reservoir_ml: float | None = None  # the reservoir's size at the visit

    def to_dict(self) -> dict[str, Any]:
        """The result-document form (contract section 6)."""
        out: dict[str, Any] = {
            "at_h": self.at_h,
            "missed": self.missed,
            "expected_residual_ml": self.expected_residual_ml,
            "actual_residual_ml": self.actual_residual_ml,
            "discrepancy_ml": self.discrepancy_ml,
        }
        if not self.missed:
            out["volume_ml"] = self.volume_ml
            out["concentration_mcg_per_ml"] = self.concentration_mcg_per_ml
            out["pocket_ml"] = self.pocket_ml
        return out


class RefillProcedure:
    """A refill visit, performed or missed, and its record in the result's ``refills``."""

    def __init__(
        self,
        profile: DeviceProfile,
        reservoir: Reservoir,
        catheter: Catheter,
        firmware: Firmware,
        drive: Drive,
        flags: FlagBook,
        totals: Totals,
        logs: Logbook,
        duration_h: float,
    ) -> None:
        self.profile = profile
        # How long a pocket fill keeps the overdose flag up (a profile value, assumed).
        self.pocket_fill_watch_h = profile.pocket_fill_watch_h
        self.duration_h = duration_h
        self.reservoir = reservoir
        self.catheter = catheter
        self.firmware = firmware
        self.drive = drive
        self.flags = flags
        self.totals = totals
        self.logs = logs
        self.records: list[RefillRecord] = []
        self._limit_ml: dict[float, float] = {}  # reservoir size -> discrepancy limit

    def missed(self, t_h: float, index: int | None) -> None:
        """The patient did not come: nothing is done, the pump logs the missed visit
        (``index``: the event's position in the Setup, None for a clinic's booking)."""
        self.records.append(RefillRecord(t_h, True, index, reservoir_ml=self.reservoir.size_ml))
        self.logs.device(t_h, "refill_missed")

    def perform(self, t_h: float, ev: Refill, index: int | None) -> None:
        """Empty, compare, fill (the caller applies a new programme, if any, afterwards)."""
        res, tot, cath = self.reservoir, self.totals, self.catheter
        expected, actual = res.est_ml, res.true_ml
        discrepancy = actual - expected
        tot.withdrawn_ml += actual
        tot.withdrawn_mcg += actual * res.conc_mcg_per_ml
        limit = self._limit_ml.get(res.size_ml)
        if limit is None:
            limit = self.profile.discrepancy_threshold_ml(res.size_ml)
            self._limit_ml[res.size_ml] = limit
        if abs(discrepancy) > limit + DISCREPANCY_ROUNDING_ML:
            self.flags.raise_flag(
                Flag(
                    "refill_discrepancy",
                    t_h,
                    t_h,
                    cause="more_than_expected" if discrepancy > 0 else "less_than_expected",
                    details={
                        "discrepancy_ml": discrepancy,
                        "limit_ml": limit,
                        "interpretation": _MORE if discrepancy > 0 else _LESS,
                    },
                ),
                keep_open=False,
            )
        conc = ev.concentration_mcg_per_ml or res.conc_mcg_per_ml
        pocket_ml = ev.volume_ml * ev.pocket_fraction
        into_ml = ev.volume_ml - pocket_ml
        tot.injected_ml += ev.volume_ml
        tot.injected_mcg += ev.volume_ml * conc
        tot.pocket_ml += pocket_ml
        tot.pocket_mcg += pocket_ml * conc
        if pocket_ml > 0:
            watch_end = t_h + self.pocket_fill_watch_h
            self.flags.raise_flag(
                Flag(
                    "overdose_risk",
                    t_h,
                    watch_end if watch_end <= self.duration_h else None,  # None: still watched
                    cause="pocket_fill",
                    details={"pocket_ml": pocket_ml, "pocket_mcg": pocket_ml * conc},
                ),
                keep_open=False,
                # the visit's fill clears the reservoir alarms first: no alarm sees a pocket
                after_alarms=True,
            )
            self.logs.world(t_h, "pocket_fill", pocket_ml=pocket_ml, pocket_mcg=pocket_ml * conc)
        old_conc = res.conc_mcg_per_ml
        res.fill(ev.volume_ml, into_ml, conc, ev.update_pump_concentration)
        self.records.append(
            RefillRecord(
                t_h, False, index, expected, actual, discrepancy, ev.volume_ml, conc, pocket_ml,
                res.size_ml,
            )
        )  # fmt: skip
        self.logs.device(
            t_h,
            "refill",
            volume_ml=ev.volume_ml,
            concentration_mcg_per_ml=conc,
            pump_concentration_mcg_per_ml=res.pump_conc_mcg_per_ml,
            expected_residual_ml=expected,
        )
        if ev.bridge_bolus and cath.holds_other_than(conc):
            self.firmware.bridge_active = True
            self.logs.device(
                t_h,
                "bridge_bolus_started",
                catheter_ml=cath.content_ml(),
                catheter_mcg=cath.content_mcg(),
            )
        if conc != old_conc:
            self.logs.world(
                t_h, "concentration_change", from_mcg_per_ml=old_conc, to_mcg_per_ml=conc
            )
        accuracy = ev.accuracy
        if accuracy is not None and accuracy != self.drive.accuracy:
            # Measured at this visit (e.g. fitted from a clinic log): the pump's accuracy from
            # here on.
            self.logs.world(
                t_h, "pump_accuracy", from_accuracy=self.drive.accuracy, to_accuracy=accuracy
            )
            self.drive.accuracy = accuracy
