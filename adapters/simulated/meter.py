"""The `simulated-meter` connector: a meter measuring the site's other simulated devices (a PCC meter the
house and the charge points behind it, a sub-meter one feeder), on the clock.

Options: `measures` (device key → the power it reads of that device: a house's `grid_power`, `pv_power`,
`ess_power` or `load_power`, a charge point's `power`; the meter reads their sum, consumer sign),
`power_factor` (0.97; Q = |P|·tan φ, the sign of P), `ohms` (0.15, per phase: the voltages sag with import and
rise with export around 230 V, or around the simulation's bus voltage when a measured house has one),
`energy_import_kwh` / `energy_export_kwh` (the registers at start), `keys`
(reading name → Datastream key, as the `dlms` connector's: power, reactive_power, voltages, energy_import,
energy_export, phase_powers; a name mapped to "" is not published). The measured devices are bound after
every connector of the site is built (`link_meters`); a measured device without a simulated connector is a
site-file error. Meters take no commands.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from adapters.connector import Command, CommandResult, Connector, Reading
from clock import Clock

NOMINAL_V = 230.0
PHASE_OFFSETS_V = (0.4, -0.3, 0.1)  # the three phases are never quite equal
DEFAULT_KEYS = {"power": "P_grid", "reactive_power": "Q_grid", "voltages": "V_grid", "energy_import": "A_plus",
                "energy_export": "A_minus", "phase_powers": ""}


@runtime_checkable
class Measured(Protocol):
    """A simulated device a meter can measure: its named power now (W, consumer sign)."""

    def power_of(self, name: str) -> float: ...


class UnmeasurableDevice(ValueError):
    """A simulated meter names a device that has no simulated connector (or not that power)."""


class SimulatedMeter:
    def __init__(self, device: str, clock: Clock, measures: Mapping[str, str], power_factor: float = 0.97,
                 ohms: float = 0.15, energy_kwh: tuple[float, float] = (0.0, 0.0),
                 keys: Mapping[str, str] | None = None) -> None:
        self._device, self._clock = device, clock
        self.measures = dict(measures)
        self.power_factor, self.ohms = power_factor, ohms
        self.energy_import_kwh, self.energy_export_kwh = energy_kwh
        self.keys = {**DEFAULT_KEYS, **(keys or {})}
        self.sources: dict[str, Measured] = {}
        self._last = clock.now()

    @property
    def device(self) -> str:
        return self._device

    def link(self, connectors: Mapping[str, Connector]) -> None:
        for key in self.measures:
            found = connectors.get(key)
            if not isinstance(found, Measured):
                raise UnmeasurableDevice(f"simulated meter {self._device}: device {key!r} has no simulated connector")
            self.sources[key] = found

    async def start(self) -> None:
        if set(self.sources) != set(self.measures):
            raise UnmeasurableDevice(f"simulated meter {self._device}: not linked to {sorted(self.measures)}")

    async def stop(self) -> None:
        return None

    async def read(self) -> list[Reading]:
        now = self._clock.now()
        power = sum(self.sources[key].power_of(name) for key, name in self.measures.items())
        self._integrate(now, power)
        return [Reading(self.keys[name], value, now) for name, value in self.values(power, self.grid_v()).items()
                if self.keys.get(name)]

    def grid_v(self) -> float | None:
        """The grid's phase voltage from a measured device that has one from the simulation (else None)."""
        for source in self.sources.values():
            voltage = getattr(source, "voltage_v", None)
            found = voltage() if callable(voltage) else None
            if isinstance(found, float):
                return found
        return None

    async def write(self, command: Command) -> CommandResult:
        return CommandResult(False, f"{command.capability}: a meter takes no commands")

    def values(self, power: float, grid_v: float | None = None) -> dict[str, Any]:
        """Reading name → value for `power` W at the meter (pure but for the energy registers); the voltages
        sag/rise around `grid_v` (the simulation's bus voltage) when given, else around 230 V."""
        reactive = math.copysign(abs(power) * math.tan(math.acos(self.power_factor)), power)
        base_v = NOMINAL_V if grid_v is None else grid_v
        volts = [round(base_v - self.ohms * power / 3 / NOMINAL_V + offset, 3) for offset in PHASE_OFFSETS_V]
        return {"power": round(power, 3), "reactive_power": round(reactive, 3), "voltages": volts,
                "energy_import": round(self.energy_import_kwh, 6), "energy_export": round(self.energy_export_kwh, 6),
                "phase_powers": [round(power / 3, 3)] * 3}

    def _integrate(self, now: datetime, power: float) -> None:
        hours = (now - self._last).total_seconds() / 3600
        if hours > 0:
            self.energy_import_kwh += max(power, 0.0) * hours / 1000
            self.energy_export_kwh += max(-power, 0.0) * hours / 1000
            self._last = now


def link_meters(connectors: Mapping[str, Connector]) -> None:
    """Bind every simulated meter among a site's connectors (device key → connector) to what it measures."""
    for connector in connectors.values():
        if isinstance(connector, SimulatedMeter):
            connector.link(connectors)


def build_meter(device: str, options: Mapping[str, Any], clock: Clock) -> SimulatedMeter:
    measures = {str(k): str(v) for k, v in dict(options.get("measures", {})).items()}
    keys = {str(k): str(v or "") for k, v in dict(options.get("keys", {})).items()}
    energy = (float(options.get("energy_import_kwh", 1250.0)), float(options.get("energy_export_kwh", 310.0)))
    return SimulatedMeter(device, clock, measures, float(options.get("power_factor", 0.97)),
                          float(options.get("ohms", 0.15)), energy, keys)
