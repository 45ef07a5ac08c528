"""The emulated meter's physics: a household behind the meter (adapters/simulated's load and PV models) on
the clock, its reactive power at a fixed power factor, phase voltages that sag with import and rise with
export, and energy registers integrated over clock time. Register contents in COSEM units (W, var, V, Wh).
With a physics feed (adapters/simulated/physics_feed.py: the grid simulation's PV, load and bus voltage for the
site, times the house's shares) the household's PV and load are the simulation's while they are fresh and the
phase voltages sag/rise around the bus voltage; the own models stand in otherwise."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from adapters.simulated.load import LoadSpec, load_power_w
from adapters.simulated.physics_feed import PhysicsFeed, physics_or
from adapters.simulated.pv import PvSpec, pv_power_w
from clock import Clock

NOMINAL_V = 230.0
PHASE_SHARES = (0.36, 0.31, 0.33)  # how the power splits over L1..L3 (never quite balanced)


@dataclass(frozen=True)
class MeterSpec:
    load: LoadSpec
    pv: PvSpec | None = None
    power_factor: float = 0.97
    ohms: float = 0.15  # the feeder's resistance seen by each phase (voltage sag/rise)
    energy_import_wh: float = 1_250_000.0
    energy_export_wh: float = 310_000.0


class MeterModel:
    def __init__(self, spec: MeterSpec, clock: Clock, physics: PhysicsFeed | None = None) -> None:
        self.spec, self.clock = spec, clock
        self.physics = physics  # the simulation's PV, load and voltage (None: the own models only)
        self.energy_import_wh, self.energy_export_wh = spec.energy_import_wh, spec.energy_export_wh
        self._last = clock.now()

    def power_w(self, when: datetime) -> float:
        """Consumer convention: > 0 imports."""
        pv = pv_power_w(self.spec.pv, when) if self.spec.pv is not None else 0.0
        return self._physics_or("physics.P_load", when, load_power_w(self.spec.load, when)) \
            + min(0.0, self._physics_or("physics.P_pv", when, pv))

    def _physics_or(self, key: str, when: datetime, own: float) -> float:
        return physics_or(self.physics, key, when, own)

    def advance(self) -> None:
        now = self.clock.now()
        hours = (now - self._last).total_seconds() / 3600
        if hours > 0:
            power = self.power_w(now)
            self.energy_import_wh += max(power, 0.0) * hours
            self.energy_export_wh += max(-power, 0.0) * hours
            self._last = now

    def registers(self) -> dict[str, float]:
        """name (variables.VARIABLE_MAP) → value in the COSEM unit."""
        self.advance()
        power = self.power_w(self._last)
        reactive = abs(power) * math.tan(math.acos(self.spec.power_factor))
        base_v = self._physics_or("physics.V", self._last, NOMINAL_V)
        volts = [base_v - self.spec.ohms * power / 3 / NOMINAL_V + offset for offset in (0.4, -0.3, 0.1)]
        return {"active_import": max(power, 0.0), "active_export": max(-power, 0.0),
                "reactive_import": reactive if power >= 0 else 0.0, "reactive_export": reactive if power < 0 else 0.0,
                "voltage_l1": volts[0], "voltage_l2": volts[1], "voltage_l3": volts[2],
                "energy_import": self.energy_import_wh, "energy_export": self.energy_export_wh,
                **phase_registers(power)}


def phase_registers(power: float) -> dict[str, float]:
    """P+ and P− of each phase (W) for `power` at the meter."""
    found = {}
    for phase, share in enumerate(PHASE_SHARES, start=1):
        found[f"active_import_l{phase}"] = max(power * share, 0.0)
        found[f"active_export_l{phase}"] = max(-power * share, 0.0)
    return found
