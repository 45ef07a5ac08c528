"""A battery: state of charge with charge/discharge efficiency, power limits and a SoC window.

Consumer sign convention: power > 0 charges the battery (consumption at the terminals), < 0 discharges.
The SoC counts the energy in the cells; charging stores `power * charge_efficiency`, discharging draws
`|power| / discharge_efficiency` from the cells.
"""
from __future__ import annotations

from dataclasses import dataclass

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class BatterySpec:
    """Rating and window of one battery (units in the names)."""

    capacity_wh: float
    max_charge_w: float
    max_discharge_w: float
    min_soc_pct: float = 10.0
    max_soc_pct: float = 95.0
    charge_efficiency: float = 0.97
    discharge_efficiency: float = 0.97

    def __post_init__(self) -> None:
        if self.capacity_wh <= 0 or self.max_charge_w < 0 or self.max_discharge_w < 0:
            raise ValueError("battery capacity must be positive and power limits not negative")
        if not 0 <= self.min_soc_pct < self.max_soc_pct <= 100:
            raise ValueError(f"SoC window [{self.min_soc_pct}, {self.max_soc_pct}] is not within 0..100")
        if not (0 < self.charge_efficiency <= 1 and 0 < self.discharge_efficiency <= 1):
            raise ValueError("efficiencies are in (0, 1]")


def max_charge_w(spec: BatterySpec, soc_pct: float, dt_s: float) -> float:
    """The largest charging power that keeps the SoC at or below the window's top for `dt_s` seconds."""
    room_wh = max(0.0, (spec.max_soc_pct - soc_pct) / 100.0 * spec.capacity_wh)
    if dt_s <= 0:
        return spec.max_charge_w if room_wh > 0 else 0.0
    return min(spec.max_charge_w, room_wh * SECONDS_PER_HOUR / (dt_s * spec.charge_efficiency))


def max_discharge_w(spec: BatterySpec, soc_pct: float, dt_s: float) -> float:
    """The largest discharging power (positive number) that keeps the SoC at or above the window's bottom."""
    stored_wh = max(0.0, (soc_pct - spec.min_soc_pct) / 100.0 * spec.capacity_wh)
    if dt_s <= 0:
        return spec.max_discharge_w if stored_wh > 0 else 0.0
    return min(spec.max_discharge_w, stored_wh * spec.discharge_efficiency * SECONDS_PER_HOUR / dt_s)


def feasible_power_w(spec: BatterySpec, soc_pct: float, requested_w: float, dt_s: float) -> float:
    """`requested_w` clipped to the power limits and to what the SoC window allows over `dt_s`."""
    if requested_w >= 0:
        return min(requested_w, max_charge_w(spec, soc_pct, dt_s))
    return max(requested_w, -max_discharge_w(spec, soc_pct, dt_s))


def soc_after(spec: BatterySpec, soc_pct: float, power_w: float, dt_s: float) -> float:
    """The SoC after holding `power_w` for `dt_s` seconds (clamped to the window, as the BMS would)."""
    energy_w_s = power_w * spec.charge_efficiency if power_w >= 0 else power_w / spec.discharge_efficiency
    soc = soc_pct + energy_w_s * dt_s / SECONDS_PER_HOUR / spec.capacity_wh * 100.0
    low = min(spec.min_soc_pct, soc_pct)
    high = max(spec.max_soc_pct, soc_pct)
    return min(high, max(low, soc))


class Battery:
    """A battery integrated over clock time: hold a set-point, advance to a time, read what it did."""

    def __init__(self, spec: BatterySpec, soc_pct: float) -> None:
        self.spec = spec
        self.soc_pct = soc_pct
        self.setpoint_w = 0.0
        self.power_w = 0.0  # the mean power of the last interval (what a meter saw)
        self.charged_wh = 0.0
        self.discharged_wh = 0.0

    def advance(self, dt_s: float) -> None:
        """Hold the set-point for `dt_s` seconds, within limits."""
        if dt_s <= 0:
            return
        self.power_w = feasible_power_w(self.spec, self.soc_pct, self.setpoint_w, dt_s)
        self.soc_pct = soc_after(self.spec, self.soc_pct, self.power_w, dt_s)
        energy_wh = self.power_w * dt_s / SECONDS_PER_HOUR
        if energy_wh >= 0:
            self.charged_wh += energy_wh
        else:
            self.discharged_wh -= energy_wh

    def command(self, setpoint_w: float) -> float:
        """Take a set-point; returns the set-point in force (clipped to the power rating)."""
        self.setpoint_w = min(self.spec.max_charge_w, max(-self.spec.max_discharge_w, setpoint_w))
        return self.setpoint_w
