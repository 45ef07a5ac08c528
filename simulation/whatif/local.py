"""The local battery decision of a what-if study (as a LESSAg in self-consumption mode): charge from the
house's surplus, discharge to cover its demand, within the battery's power and energy. Pure; consumer
sign (P > 0 charges). Lossless (round-trip losses are not modelled in the what-if studies)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Battery:
    capacity_wh: float
    power_w: float


def decide_battery(house_net_w: float, soc_wh: float, battery: Battery, step_s: float) -> float:
    """The battery power for one step: −house_net_w bounded by power and by the energy left."""
    if house_net_w < 0:  # surplus: charge
        room_w = (battery.capacity_wh - soc_wh) * 3600.0 / step_s
        return max(0.0, min(-house_net_w, battery.power_w, room_w))
    available_w = soc_wh * 3600.0 / step_s
    return -max(0.0, min(house_net_w, battery.power_w, available_w))


def next_soc_wh(soc_wh: float, battery_w: float, battery: Battery, step_s: float) -> float:
    return min(battery.capacity_wh, max(0.0, soc_wh + battery_w * step_s / 3600.0))
