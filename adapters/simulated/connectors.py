"""Connectors for the simulated devices, driven by the clock: a house (ESS + PV + household load behind
one PCC) and a charge point with EVs. Each read advances the physical model to the clock's now.

Commands (consumer sign convention, W):
- house, any ESS capability: `powerSetpoint` (battery power), optional `pvLimit` (largest PV generation
  allowed, >= 0; absent or None: no curtailment);
- charge point, any EV capability: `maxPower` (charging limit, >= 0), optional `enabled`.
"""
from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from adapters.connector import Command, CommandResult, Connector, Reading
from adapters.simulated.battery import Battery, BatterySpec
from adapters.simulated.ev import ChargePoint, EvFleetSpec, draw_sessions
from adapters.simulated.load import LoadSpec, load_power_w
from adapters.simulated.meter import build_meter
from adapters.simulated.physics_feed import PhysicsFeed, PhysicsOptions, physics_or
from adapters.simulated.pv import PvSpec, pv_power_w
from clock import Clock

ConnectorFactory = Callable[[str, Mapping[str, Any], Clock], Connector]

HOUSE_KEYS = {"ess_power": "P_ess", "soc": "SoC", "pv_power": "P_pv", "load_power": "P_load", "grid_power": "P_grid"}
CHARGEPOINT_KEYS = {"power": "P_ev", "status": "cpStatus"}


class SimulatedHouse:
    """Battery, PV and household load of one house; readings of the five powers at the PCC."""

    def __init__(self, device: str, clock: Clock, battery: Battery, pv: PvSpec, load: LoadSpec,
                 keys: Mapping[str, str] | None = None, physics: PhysicsFeed | None = None) -> None:
        self._device = device
        self._clock = clock
        self.battery = battery
        self.pv = pv
        self.load = load
        self.pv_limit_w: float | None = None
        self._keys = {**HOUSE_KEYS, **(keys or {})}
        self._last = clock.now()
        self.started = False
        self.physics = physics  # PV, load and voltage from the grid simulation (None: own models only)

    @property
    def device(self) -> str:
        return self._device

    async def start(self) -> None:
        self._last = self._clock.now()
        self.started = True

    async def stop(self) -> None:
        self.started = False
        if self.physics is not None:
            self.physics.close()

    async def read(self) -> list[Reading]:
        if self.physics is not None:
            await asyncio.to_thread(self.physics.refresh, self._clock.now())
        now = self._advance()
        return [Reading(self._keys[name], round(value, 3), now) for name, value in self._values(now).items()
                if self._keys.get(name)]  # a name mapped to "" is published by another device (a meter)

    def power_of(self, name: str) -> float:
        """One of the house's powers now (a simulated meter measuring it)."""
        return self._values(self._advance())[name]

    def voltage_v(self) -> float | None:
        """The phase voltage at the house's bus from the simulation (None: no fresh value)."""
        return None if self.physics is None else self.physics.value("physics.V", self._clock.now())

    def _values(self, now: datetime) -> dict[str, float]:
        pv_w = self.pv_power_w(now)
        load_w = self._physics_or("physics.P_load", now, load_power_w(self.load, now))
        ess_w = self.battery.power_w
        return {"ess_power": ess_w, "soc": self.battery.soc_pct, "pv_power": pv_w, "load_power": load_w,
                "grid_power": load_w + pv_w + ess_w}

    async def write(self, command: Command) -> CommandResult:
        self._advance()
        setpoint = command.parameters.get("powerSetpoint")
        if not isinstance(setpoint, int | float) or isinstance(setpoint, bool):
            return CommandResult(False, f"{command.capability}: powerSetpoint must be a number of W")
        in_force = self.battery.command(float(setpoint))
        pv_limit = command.parameters.get("pvLimit")
        self.pv_limit_w = None if pv_limit is None else max(0.0, float(pv_limit))
        return CommandResult(True, "", {"powerSetpoint": in_force, "pvLimit": self.pv_limit_w})

    def _physics_or(self, key: str, now: datetime, own: float) -> float:
        return physics_or(self.physics, key, now, own)

    def pv_power_w(self, when: datetime) -> float:
        """PV output at `when` under the curtailment in force (<= 0): the simulation's when it has it."""
        available_w = min(0.0, self._physics_or("physics.P_pv", when, pv_power_w(self.pv, when)))
        return available_w if self.pv_limit_w is None else max(available_w, -self.pv_limit_w)

    def _advance(self) -> datetime:
        now = self._clock.now()
        self.battery.advance((now - self._last).total_seconds())
        self._last = now
        return now


class SimulatedChargePoint:
    """One charge point with a seeded series of EV sessions."""

    def __init__(self, device: str, clock: Clock, point: ChargePoint, keys: Mapping[str, str] | None = None) -> None:
        self._device = device
        self._clock = clock
        self.point = point
        self._keys = {**CHARGEPOINT_KEYS, **(keys or {})}

    @property
    def device(self) -> str:
        return self._device

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def read(self) -> list[Reading]:
        now = self._clock.now()
        self.point.advance_to(now)
        return [Reading(self._keys["power"], round(self.point.power_w, 3), now),
                Reading(self._keys["status"], self.point.status(), now)]

    def power_of(self, name: str) -> float:
        """The charging power now (`power`; a simulated meter measuring the charge point)."""
        if name != "power":
            raise KeyError(name)
        self.point.advance_to(self._clock.now())
        return self.point.power_w

    async def write(self, command: Command) -> CommandResult:
        self.point.advance_to(self._clock.now())
        limit = command.parameters.get("maxPower")
        if not isinstance(limit, int | float) or isinstance(limit, bool):
            return CommandResult(False, f"{command.capability}: maxPower must be a number of W")
        self.point.enabled = bool(command.parameters.get("enabled", True))
        in_force = self.point.set_limit(float(limit))
        return CommandResult(True, "", {"maxPower": in_force, "enabled": self.point.enabled})


def build_house(device: str, options: Mapping[str, Any], clock: Clock) -> SimulatedHouse:
    """A house from site-file options: the ESS device's properties (`max_capacity_wh`, `max_power_w`,
    `min_soc_pct`, `max_soc_pct`), its place (`latitude_deg`, `longitude_deg`) and the connector's own
    options (`pv_kwp`, `load_kwh_per_year`, `soc_pct` at start, `seed`, `cloudiness`, efficiencies, `keys`,
    `physics`: PV, load and voltage from the grid simulation, `adapters/simulated/physics_feed.py`).
    Defaults: a 10 kWh / 5 kW battery, 6 kWp, 4,000 kWh a year."""
    max_power_w = float(options.get("max_power_w", 5000))
    spec = BatterySpec(capacity_wh=float(options.get("max_capacity_wh", 10000)),
                       max_charge_w=float(options.get("max_charge_w", max_power_w)),
                       max_discharge_w=float(options.get("max_discharge_w", max_power_w)),
                       min_soc_pct=float(options.get("min_soc_pct", 10)),
                       max_soc_pct=float(options.get("max_soc_pct", 95)),
                       charge_efficiency=float(options.get("charge_efficiency", 0.97)),
                       discharge_efficiency=float(options.get("discharge_efficiency", 0.97)))
    battery = Battery(spec, float(options.get("soc_pct", 50)))
    pv = PvSpec(kwp=float(options.get("pv_kwp", 6)), latitude_deg=float(options.get("latitude_deg", 55.0)),
                longitude_deg=float(options.get("longitude_deg", 9.0)),
                cloudiness=float(options.get("cloudiness", 0.0)))
    seed = options.get("seed")
    load = LoadSpec(annual_kwh=float(options.get("load_kwh_per_year", options.get("annual_kwh", 4000))),
                    seed=None if seed is None else int(seed))
    physics = PhysicsOptions.from_options(options)
    return SimulatedHouse(device, clock, battery, pv, load, _keys(options),
                          None if physics is None else PhysicsFeed(physics))


def build_chargepoint(device: str, options: Mapping[str, Any], clock: Clock) -> SimulatedChargePoint:
    """A charge point from site-file options (`max_power_w`, `seed`, `days` of sessions drawn)."""
    now = clock.now()
    rng = random.Random(int(options.get("seed", 0)))
    sessions = draw_sessions(EvFleetSpec(), rng, now.date(), int(options.get("days", 7)))
    point = ChargePoint(float(options.get("max_power_w", 7400)), sessions, now)
    return SimulatedChargePoint(device, clock, point, _keys(options))


def _keys(options: Mapping[str, Any]) -> dict[str, str]:
    keys = options.get("keys", {})
    return {str(k): str(v) for k, v in keys.items()} if isinstance(keys, Mapping) else {}


CONNECTOR_KINDS: dict[str, ConnectorFactory] = {
    "simulated-house": build_house,
    "simulated-chargepoint": build_chargepoint,
    "simulated-meter": build_meter,
}
