"""The local battery decision of a what-if study (as a LESSAg in self-consumption mode): charge from the
house's surplus, discharge to cover its demand, within the battery's power and energy. The rule is
planning's `self_consumption_step` (GESSCon's baseline) on the study's battery: lossless (round-trip losses
are not modelled in the what-if studies), SoC window 0-100 %. Pure; consumer sign (P > 0 charges).

LESSAg's own decision (agents/lessag/strategies.py) is not used: it acts on a live snapshot and blends
the grid's claims, the site contract and PV curtailment into the same objective (−P_base), none of which a
study has, and it lives above `planning` in `agents/`."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from planning import EssParams, self_consumption_step


@dataclass(frozen=True)
class Battery:
    capacity_wh: float
    power_w: float

    @cached_property
    def ess(self) -> EssParams:
        """The battery as planning's inputs describe one (its energy is the study's, passed per step)."""
        return EssParams("whatif", "house", self.capacity_wh, self.power_w, self.power_w, 0.0, charge_efficiency=1.0,
                         discharge_efficiency=1.0)


def decide_battery(house_net_w: float, soc_wh: float, battery: Battery, step_s: float) -> float:
    """The battery power for one step: −house_net_w bounded by power and by the energy left (or the room)."""
    power_w, _ = self_consumption_step(battery.ess, soc_wh, house_net_w, step_s / 3600.0)
    return power_w


def next_soc_wh(soc_wh: float, battery_w: float, battery: Battery, step_s: float) -> float:
    return min(battery.capacity_wh, max(0.0, soc_wh + battery_w * step_s / 3600.0))
