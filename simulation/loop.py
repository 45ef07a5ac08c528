"""The closed loop (DSF-SE as the physics source): every step, the batteries' and chargers' latest
powers from the server plus the profiles' loads and PV go into one power flow, and the bus voltages,
line loadings and losses go back to the server as Observations of the simulation Thing.

``ClosedLoop.step(when)`` is one synchronous step (tests drive it directly); ``run(clock)`` steps on
the project clock at ``step_s`` boundaries. ``profile_offset`` shifts the profile time against the
clock (a test on today's clock can simulate a June day). Nothing here raises for a bad step: gaps,
non-converging flows and devices without a bus are counted, logged and written as the status.

With ``physics`` on (``SIM_PHYSICS=1``) the loop is also the physics source of the sites
(``simulation.physics``) and steps at each boundary ``t`` of the step grid (``boundary(t)``), in this order:
1. the flow of the interval that just ended, ``[t - step, t)``: the profile row of ``t - step`` and each
   device's latest reading at or before ``t`` (its mean power over that interval, as the agents produced it);
   written with phenomenonTime ``t - step``;
2. the physics of the interval that starts, ``[t, t + step)``: each site's load and PV from the profile row
   of ``t`` and its bus voltage from flow 1, written with phenomenonTime ``t`` (so they are on the server
   before the houses read them during the interval).
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
from simulation.physics import SitePhysics, commission_physics, physics_groups
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
    physics: bool = False  # also the physics source of the sites (module docstring: the step order)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], now: datetime) -> LoopSettings:
        """SIM_GRID (fur | bolzano | a SimBench code), SIM_STEP_S, SIM_PROFILE_DATE (YYYY-MM-DD: the
        profile day of the clock's current day), SIM_MAX_AGE_S, SIM_ANCHOR_LON + SIM_ANCHOR_LAT,
        SIM_SITES (comma-separated site ids; unset: every site), SIM_LABEL (default: the grid's name),
        SIM_PHYSICS (1: publish the sites' physics and step by intervals)."""
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
                   site_ids=sites, label=environ.get("SIM_LABEL") or None,
                   physics=environ.get("SIM_PHYSICS", "0").strip().lower() in {"1", "true", "yes", "on"})


class ClosedLoop:
    def __init__(self, model: GridModel, sta: StaClient, settings: LoopSettings) -> None:
        self.model, self.sta, self.settings = model, sta, settings
        self.counters = model.counters
        self.devices: list[Device] = []
        self.ids: SimulationIds | None = None
        self.sites: list[SitePhysics] = []
        self._steps = 0

    def setup(self) -> SimulationIds:
        """Discover the devices and commission the simulation's entities (idempotent)."""
        self.devices = discover(self.sta, self.model, self.counters, self.settings.site_ids)
        buses = {d.bus for d in self.devices if d.bus is not None}
        self.ids = commission(self.sta, self.model, buses)
        if self.settings.physics:
            self.sites = commission_physics(self.sta, self.model, self.settings.site_ids)
        return self.ids

    def step(self, when: datetime, readings_at: datetime | None = None) -> StepResult:
        """One power flow at the clock's ``when`` (the profile row of ``when``; the devices' latest
        readings at or before ``readings_at``, default ``when``), written to the server."""
        if self.ids is None or (self._steps and self._steps % self.settings.rediscover_steps == 0):
            self.setup()
        assert self.ids is not None
        self._steps += 1
        powers = injections(self.sta, self.devices, readings_at or when, self.settings.max_age, self.counters)
        result = self.model.run_step(when + self.settings.profile_offset, powers)
        self.write(when, result, len(powers))
        return result

    def boundary(self, when: datetime) -> StepResult:
        """The step at the interval boundary ``when`` with physics on: the flow of ``[when - step, when)``
        with the readings up to ``when``, then the sites' physics of ``[when, when + step)``."""
        step = timedelta(seconds=self.settings.step_s)
        result = self.step(when - step, readings_at=when)
        self.publish_physics(when, result.vm_pu if result.status == "ok" else {})
        return result

    def publish_physics(self, when: datetime, vm_pu: Mapping[int, float]) -> None:
        """Each site's load, PV (profile row of ``when``) and bus voltage (``vm_pu``), stamped ``when``."""
        if not self.sites:
            return
        profile = self.model.profiles.at(when + self.settings.profile_offset)
        if profile is None:
            self.counters["physics_gaps"] += 1
            log.warning("simulation %s: no profile row for the sites' physics at %s", self.model.name, when)
            return
        assert self.ids is not None
        groups = physics_groups(self.model, self.sites, profile, when, vm_pu, self.ids.features)
        rows = self.sta.run(Call(create_request("CreateObservations", groups), created_ids))
        refused = sum(1 for row in rows if row == ERROR_ROW)
        if refused:
            self.counters["observations_refused"] += refused
            log.warning("simulation physics %s: the server refused %d of %d Observations", when, refused, len(rows))

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
                await asyncio.to_thread(self.boundary if self.settings.physics else self.step, when)
            except (StaError, TransportError) as err:
                self.counters["server_errors"] += 1
                log.warning("simulation step %s not written: %s", when.isoformat(), err)
            when += step
