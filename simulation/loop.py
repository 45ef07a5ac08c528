"""The closed loop (DSF-SE as the physics source): every step, the batteries' and chargers' latest
powers from the server plus the profiles' loads and PV go into one power flow, and the bus voltages,
line loadings and losses go back to the server as Observations of the simulation Thing.

``ClosedLoop.step(when)`` is one synchronous step (tests drive it directly); ``run(clock)`` steps on
the project clock at ``step_s`` boundaries. ``profile_offset`` shifts the profile time against the
clock (a test on today's clock can simulate a June day). Nothing here raises for a bad step: gaps,
non-converging flows and devices without a bus are counted, logged and written as the status.
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from clock import Clock
from simulation.commission import SimulationIds, commission
from simulation.devices import Device, discover, injections
from simulation.geometry import LonLat
from simulation.grid import GridModel, StepResult
from simulation.results import observation_groups
from sta_client import StaClient, StaError, TransportError
from sta_client.calls import Call
from sta_client.requests import create_request
from sta_client.responses import ERROR_ROW, created_ids

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopSettings:
    """Closed-loop settings, from ``SIM_*`` environment variables."""

    grid: str = "fur"
    step_s: float = 900.0
    profile_offset: timedelta = timedelta(0)
    max_age: timedelta = timedelta(minutes=30)
    anchor: LonLat | None = None
    rediscover_steps: int = 4
    site_ids: frozenset[str] | None = None  # None: every site on the server
    label: str | None = None  # the model's name on the server (simulationId dsf-se/<label>); None: the grid's

    @classmethod
    def from_env(cls, environ: Mapping[str, str], now: datetime) -> LoopSettings:
        """SIM_GRID (fur | bolzano | a SimBench code), SIM_STEP_S, SIM_PROFILE_DATE (YYYY-MM-DD: the
        profile day of the clock's current day), SIM_MAX_AGE_S, SIM_ANCHOR_LON + SIM_ANCHOR_LAT,
        SIM_SITES (comma-separated site ids; unset: every site), SIM_LABEL (default: the grid's name)."""
        offset = timedelta(0)
        if date := environ.get("SIM_PROFILE_DATE"):
            day = datetime.fromisoformat(date).replace(tzinfo=UTC)
            offset = day - now.replace(hour=0, minute=0, second=0, microsecond=0)
        anchor = None
        if "SIM_ANCHOR_LON" in environ and "SIM_ANCHOR_LAT" in environ:
            anchor = LonLat(float(environ["SIM_ANCHOR_LON"]), float(environ["SIM_ANCHOR_LAT"]))
        step_s = float(environ.get("SIM_STEP_S", "900"))
        if not math.isfinite(step_s) or step_s <= 0:
            raise ValueError(f"SIM_STEP_S must be a positive number of seconds, not {step_s}")
        sites = frozenset(s.strip() for s in environ["SIM_SITES"].split(",") if s.strip()) \
            if environ.get("SIM_SITES") else None
        return cls(grid=environ.get("SIM_GRID", "fur"), step_s=step_s, profile_offset=offset,
                   max_age=timedelta(seconds=float(environ.get("SIM_MAX_AGE_S", "1800"))), anchor=anchor,
                   site_ids=sites, label=environ.get("SIM_LABEL") or None)


class ClosedLoop:
    def __init__(self, model: GridModel, sta: StaClient, settings: LoopSettings) -> None:
        self.model, self.sta, self.settings = model, sta, settings
        self.counters = model.counters
        self.devices: list[Device] = []
        self.ids: SimulationIds | None = None
        self._steps = 0

    def setup(self) -> SimulationIds:
        """Discover the devices and commission the simulation's entities (idempotent)."""
        self.devices = discover(self.sta, self.model, self.counters, self.settings.site_ids)
        buses = {d.bus for d in self.devices if d.bus is not None}
        self.ids = commission(self.sta, self.model, buses)
        return self.ids

    def step(self, when: datetime) -> StepResult:
        """One power flow at the clock's ``when``, written to the server."""
        if self.ids is None or (self._steps and self._steps % self.settings.rediscover_steps == 0):
            self.setup()
        assert self.ids is not None
        self._steps += 1
        powers = injections(self.sta, self.devices, when, self.settings.max_age, self.counters)
        result = self.model.run_step(when + self.settings.profile_offset, powers)
        self.write(when, result, len(powers))
        return result

    def write(self, when: datetime, result: StepResult, devices_in: int) -> None:
        assert self.ids is not None
        nominal_v = float(self.model.net.bus.vn_kv.at[self.model.transformer_bus]) * 1e3 / math.sqrt(3)
        parameters = {"detail": result.detail, "devices": devices_in,
                      "profileTime": (when + self.settings.profile_offset).isoformat(),
                      "counters": dict(self.counters),
                      "devicesWithoutBus": [d.name for d in self.devices if d.bus is None]}
        groups = observation_groups(self.ids, result, when, nominal_v, parameters)
        rows = self.sta.run(Call(create_request("CreateObservations", groups), created_ids))
        refused = sum(1 for row in rows if row == ERROR_ROW)
        if refused:
            self.counters["observations_refused"] += refused
            log.warning("simulation step %s: the server refused %d of %d Observations", when, refused, len(rows))

    async def run(self, clock: Clock, stop: asyncio.Event | None = None) -> None:
        """Step at every ``step_s`` boundary of the clock until ``stop`` is set."""
        step = timedelta(seconds=self.settings.step_s)
        epoch = datetime(2000, 1, 1, tzinfo=UTC)
        when = epoch + ((clock.now() - epoch) // step) * step
        while stop is None or not stop.is_set():
            if when < clock.now() - step:  # fell behind: skip to the current step
                self.counters["steps_skipped"] += 1
                when = epoch + ((clock.now() - epoch) // step) * step
            await clock.sleep_until(when)
            try:
                await asyncio.to_thread(self.step, when)
            except (StaError, TransportError) as err:
                self.counters["server_errors"] += 1
                log.warning("simulation step %s not written: %s", when.isoformat(), err)
            when += step
