"""The emulated energy router's physics (D3.1 T15 modes) on the project clock: PV (adapters/simulated's
clear-sky model), a DC bus with a small home DC load, a battery (adapters/simulated's Battery), and the AC
grid terminals: P_ac = P_pv + P_ess + P_dc (consumer sign). Settings are applied only if valid."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from adapters.iec61850.variables import MEASUREMENTS
from adapters.simulated.battery import Battery, feasible_power_w
from adapters.simulated.pv import PvSpec, pv_power_w
from clock import Clock

DC_BUS_V = 380.0


@dataclass(frozen=True)
class Settings:
    mode: int = 1
    grid_min_w: float = -3000.0
    grid_max_w: float = 3000.0
    setpoint_w: float = 0.0


def settings_error(settings: Settings) -> str | None:
    if settings.mode not in range(1, 6):
        return f"operation mode {settings.mode} is not 1-5"
    if settings.grid_min_w > settings.grid_max_w:
        return f"grid power min {settings.grid_min_w} W > max {settings.grid_max_w} W"
    return None


class EnergyRouter:
    def __init__(self, battery: Battery, pv: PvSpec | None, clock: Clock, dc_load_w: float = 150.0) -> None:
        self.battery, self.pv, self.clock, self.dc_load_w = battery, pv, clock, dc_load_w
        self.settings = Settings()
        self.pv_w = 0.0
        self._last = clock.now()

    def request(self, wanted: Settings) -> str | None:
        """Apply valid settings (the answer: None) or keep the ones in force (the answer: why)."""
        error = settings_error(wanted)
        if error is None:
            self.settings = wanted
        return error

    def advance(self) -> None:
        now = self.clock.now()
        dt_s = (now - self._last).total_seconds()
        self.battery.command(self._battery_target(now, max(dt_s, 1.0)))
        if dt_s > 0:
            self.battery.advance(dt_s)
            self._last = now

    def _battery_target(self, now: datetime, dt_s: float) -> float:
        pv = pv_power_w(self.pv, now) if self.pv is not None else 0.0
        spec, soc, mode = self.battery.spec, self.battery.soc_pct, self.settings.mode
        absorb = -(pv + self.dc_load_w)  # what keeps the AC terminals at 0 W
        wanted = {1: self.settings.setpoint_w, 2: absorb, 3: -spec.max_discharge_w, 4: 0.0, 5: absorb}[mode]
        target = feasible_power_w(spec, soc, wanted, dt_s)
        if mode in (1, 3):  # the grid limits bound the AC power: the battery makes up the difference
            ac = pv + target + self.dc_load_w
            bounded = min(self.settings.grid_max_w, max(self.settings.grid_min_w, ac))
            target = feasible_power_w(spec, soc, target + bounded - ac, dt_s)
        self.pv_w = pv if mode not in (2, 5) else max(pv, -(target + self.dc_load_w))  # curtailed when islanded
        return target

    def values(self) -> dict[str, float | int]:
        """Every measurement of variables.py by reference."""
        self.advance()
        ess, dc = self.battery.power_w, self.dc_load_w
        ac = 0.0 if self.settings.mode in (2, 5) else self.pv_w + ess + dc
        found: dict[str, float | int] = {
            "MMXU1.TotW.mag.f": ac, "MMXU1.TotVAr.mag.f": 0.0, "MMXU2.TotW.mag.f": self.pv_w,
            "ZBTC1.BatChaPwr.mag.f": ess, "ZBTC1.BatSoC.mag.f": self.battery.soc_pct,
            "MMDC1.Vol.mag.f": DC_BUS_V - ess / 1000.0, "MMDC1.Watt.mag.f": dc,
            "DRCC1.OpModSt.stVal": self.settings.mode, "DRCC1.WSptSt.mag.f": self.settings.setpoint_w,
            "DRCC1.WMinGridSt.mag.f": self.settings.grid_min_w, "DRCC1.WMaxGridSt.mag.f": self.settings.grid_max_w,
        }
        assert set(found) == {attribute.reference for attribute in MEASUREMENTS}
        return found
