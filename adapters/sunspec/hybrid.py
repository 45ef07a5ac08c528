"""A hybrid inverter (PV + battery + house load behind one PCC), the device the Fronius and SunSpec
emulators serve. Its physics are adapters/simulated's (battery, PV, load); its control is model 124's:
without a command (mode 0) it runs self-consumption (the battery takes the PV surplus and covers the
deficit), with one it keeps the battery in the commanded window until the revert timer runs out.
Consumer sign convention throughout (P > 0: consumption, charging, import).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.simulated.battery import Battery
from adapters.simulated.connectors import build_house
from adapters.simulated.load import LoadSpec, load_power_w
from adapters.simulated.physics_feed import PhysicsFeed, physics_or
from adapters.simulated.pv import PvSpec, pv_power_w
from adapters.sunspec.storage import RELEASED, StorageControl, dispatch_w
from clock import Clock

NOMINAL_V = 230.0
GRID_IMPEDANCE_V_PER_W = 0.0004  # a stiff LV grid: -4 V at 10 kW import, +4 V at 10 kW export


@dataclass(frozen=True)
class HybridState:
    """What the inverter's meters see at one instant (W, %, V)."""

    time: datetime
    pv_w: float
    load_w: float
    ess_w: float
    soc_pct: float
    voltages_v: tuple[float, float, float]

    @property
    def grid_w(self) -> float:
        return self.load_w + self.pv_w + self.ess_w

    @property
    def inverter_w(self) -> float:
        """AC power of the inverter (PV and battery behind it), consumer convention."""
        return self.pv_w + self.ess_w


class HybridInverter:
    def __init__(self, battery: Battery, pv: PvSpec, load: LoadSpec, clock: Clock,
                 physics: PhysicsFeed | None = None) -> None:
        self.battery = battery
        self.pv = pv
        self.load = load
        self.physics = physics  # PV, load and voltage from the grid simulation (None: own models only)
        self.clock = clock
        self.wchamax_w = max(battery.spec.max_charge_w, battery.spec.max_discharge_w)
        self.control = RELEASED
        self.control_since = clock.now()
        self.energy_wh = 0.0  # AC energy produced (model 103 WH)
        self._last = clock.now()
        self.state = self._measure(self._last)

    def command(self, control: StorageControl) -> None:
        """Take a model 124 control (the revert timer starts now)."""
        self.advance()
        self.control = control
        self.control_since = self.clock.now()
        self._dispatch(self.state)

    def advance(self) -> HybridState:
        """Run the device up to the clock's now and return what its meters see."""
        now = self.clock.now()
        dt_s = (now - self._last).total_seconds()
        if self.control.revert_s and now >= self.control_since + timedelta(seconds=self.control.revert_s):
            self.control = RELEASED
        if dt_s > 0:
            self.battery.advance(dt_s)
            self.energy_wh += max(0.0, -(self.state.pv_w + self.battery.power_w)) * dt_s / 3600
            self._last = now
        state = self._measure(now)
        self._dispatch(state)
        self.state = state
        return state

    def _dispatch(self, state: HybridState) -> None:
        wanted_w = -(state.load_w + state.pv_w)  # self-consumption: zero at the PCC
        self.battery.command(dispatch_w(self.control, self.wchamax_w, wanted_w))

    def _measure(self, now: datetime) -> HybridState:
        pv_w = min(0.0, physics_or(self.physics, "physics.P_pv", now, pv_power_w(self.pv, now)))
        load_w = physics_or(self.physics, "physics.P_load", now, load_power_w(self.load, now))
        ess_w = self.battery.power_w
        grid_w = load_w + pv_w + ess_w
        # the simulation's bus voltage already holds the house's own flows; the own model sags with them
        simulated_v = None if self.physics is None else self.physics.value("physics.V", now)
        base = NOMINAL_V - GRID_IMPEDANCE_V_PER_W * grid_w if simulated_v is None else simulated_v
        voltages = (round(base, 1), round(base + 0.4, 1), round(base - 0.3, 1))
        return HybridState(now, round(pv_w, 1), round(load_w, 1), round(ess_w, 1),
                           round(self.battery.soc_pct, 2), voltages)


def build_hybrid(options: Mapping[str, Any], clock: Clock) -> HybridInverter:
    """From the same options as the `simulated-house` connector (battery ratings, `pv_kwp`, `annual_kwh`,
    `seed`, `soc_pct`, place, `physics`), so a site file's device and its emulator agree."""
    house = build_house("emulated", options, clock)
    return HybridInverter(house.battery, house.pv, house.load, clock, house.physics)
