"""GEVChCon's thin loop: every cycle on the project clock it answers new command Tasks (accepted/refused as
`commandResult` Observations, the code as `errorCode`), reads each charging site through `sta_client`, decides
(`decide.py`) and creates one load-reduction Task per charge point (an idempotency key per order), then
publishes the site's expected shortfall and, once a day or when the commands change, its EV load profile."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from clock import Clock
from controllers.gevchcon.commands import Command, CommandRefused, SiteShare, parse_command
from controllers.gevchcon.decide import PointState, Policy, SiteDecision, SiteState, decide, step_start
from controllers.gevchcon.registration import ControllerIds, Registration, site_location
from controllers.gevchcon.sessions import EvAssumptions, PointReadings, estimate
from controllers.gevchcon.settings import Settings
from controllers.gevchcon.site_reader import ChargePointRef, SiteLayout, SiteNotFound, SiteReader
from sta_client import EntityId, Query, StaClient

log = logging.getLogger(__name__)
JSON = dict[str, Any]


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S") + (f".{when.microsecond:06d}" if when.microsecond else "") + "Z"


@dataclass
class CycleResult:
    """What a cycle did (for logs and tests)."""

    decisions: dict[str, SiteDecision] = field(default_factory=dict)
    tasks: dict[str, EntityId] = field(default_factory=dict)  # "<site>/<device>" -> Task id
    answered: dict[EntityId, str] = field(default_factory=dict)  # command Task -> accepted | refusal reason


class Gevchcon:
    def __init__(self, client: StaClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.reader = SiteReader(client)
        registration = Registration(client, settings.policy.controller_id)
        self.ids: ControllerIds = registration.ensure(settings.sites, site_location(client, settings.sites[0]))
        self.answered: dict[EntityId, bool] = self._answered()
        self._profile_marks: dict[str, tuple[Any, ...]] = {}

    def _answered(self) -> dict[EntityId, bool]:
        query = Query().select("result", "parameters").top(10_000)
        rows = self.client.iter(f"Datastreams({self.ids.streams['commandResult']})/Observations", query)
        return {r["parameters"]["taskId"]: r["result"] == "accepted" for r in rows
                if isinstance(r.get("parameters"), dict) and "taskId" in r["parameters"]}

    def cycle(self, now: datetime) -> CycleResult:
        result = CycleResult()
        layouts = self._layouts()
        commands = self._commands(now, {layout.radial_id for layout in layouts.values()}, result)
        contracts: dict[str, float] = {}
        for layout in layouts.values():
            contracts[layout.radial_id] = contracts.get(layout.radial_id, 0.0) + layout.contract_in_w
        for site, layout in layouts.items():
            state = self._state(layout, now, layout.contract_in_w / contracts[layout.radial_id])
            decision = decide(state, commands, self.settings.policy)
            result.decisions[site] = decision
            for order in decision.orders:
                result.tasks[f"{site}/{order.device}"] = self.client.create_task(order.capability_id,
                                                                                 order.parameters, order.key)
            self._publish(site, decision, now, tuple(sorted(str(c.task_id) for c in commands)))
            log.info("site %s: headroom %.0f W, limits %s, shortfall %.0f Wh", site, decision.headroom_w[0],
                     decision.limits_w, decision.allocation.total_shortfall_wh)
        return result

    def _layouts(self) -> dict[str, SiteLayout]:
        """The sites found on the server; one not found (not commissioned yet, no contract) is skipped, logged."""
        layouts = {}
        for site in self.settings.sites:
            try:
                layouts[site] = self.reader.layout(site)
            except SiteNotFound as missing:
                log.warning("site %s skipped this cycle: %s", site, missing)
        return layouts

    # -- commands (D3.1 table 9) --
    def _commands(self, now: datetime, radials: set[str], result: CycleResult) -> list[Command]:
        in_force: list[Command] = []
        tasks = self.client.iter(f"TaskingCapabilities({self.ids.capability})/Tasks",
                                 Query().select("id", "taskingParameters").orderby("id").top(1000))
        for task in tasks:
            task_id, params = task["@iot.id"], task.get("taskingParameters") or {}
            if self.answered.get(task_id) is False:
                continue
            try:
                command = parse_command(task_id, params, radials, now)
            except CommandRefused as refusal:
                if task_id not in self.answered:
                    self._answer(task_id, now, refusal.reason, refusal.code.value)
                    result.answered[task_id] = refusal.reason
                continue
            if task_id not in self.answered:
                self._answer(task_id, now, "accepted", None)
                result.answered[task_id] = "accepted"
            in_force.append(command)
        return in_force

    def _answer(self, task_id: EntityId, now: datetime, outcome: str, code: str | None) -> None:
        accepted = code is None
        params = {"taskId": task_id, "reason": "" if accepted else outcome}
        self._observe("commandResult", now, "accepted" if accepted else "rejected", params, f"answer/{task_id}")
        if not accepted:
            self._observe("errorCode", now, code, params, f"error/{task_id}")
            log.warning("command Task %s refused: %s", task_id, outcome)
        self.answered[task_id] = accepted

    def _observe(self, key: str, now: datetime, result: Any, params: JSON, idempotency: str) -> None:
        body = {"phenomenonTime": iso(now), "resultTime": iso(now), "result": result, "parameters": params}
        self.client.create(f"Datastreams({self.ids.streams[key]})/Observations", body,
                           f"{self.settings.policy.controller_id}/{idempotency}")

    # -- the site's state (read through sta_client) --
    def _state(self, layout: SiteLayout, now: datetime, radial_share: float) -> SiteState:
        flags: list[str] = []
        keys = self.settings.keys

        def power(key: str) -> float:
            latest = self.reader.latest(layout.streams.get(key))
            if latest is None or isinstance(latest[1], bool) or not isinstance(latest[1], int | float):
                flags.append(f"{key}:missing")
                return 0.0
            if now - latest[0] > timedelta(seconds=3 * self.settings.policy.step_s):
                flags.append(f"{key}:stale")
            return float(latest[1])

        assumptions = self._assumptions(layout.properties)
        points = tuple(self._point(p, now, assumptions) for p in layout.points)
        share = SiteShare(layout.radial_id, layout.contract_in_w, sum(p.max_power_w for p in layout.points),
                          radial_share, self.settings.overload_fraction, self.settings.voltage_fraction)
        load, pv, ess = power(keys.load), min(0.0, power(keys.pv)), power(keys.ess)
        return SiteState(layout.site_id, share, now, load, pv, ess, points,
                         self._forecast(layout, now, flags), tuple(flags))

    def _point(self, point: ChargePointRef, now: datetime, assumptions: EvAssumptions) -> PointState:
        since = now - timedelta(hours=self.settings.history_h)
        statuses = [(t, str(v)) for t, v in self.reader.series(point.status_stream, since, now)]
        powers = [(t, float(v)) for t, v in self.reader.series(point.power_stream, since, now)
                  if isinstance(v, int | float) and not isinstance(v, bool)]
        ev = estimate(PointReadings(point.device, point.max_power_w, statuses, powers), now, assumptions)
        return PointState(point.device, point.capability_id, point.resolution_s, point.max_power_w, ev)

    def _assumptions(self, properties: Mapping[str, Any]) -> EvAssumptions:
        base = self.settings.assumptions
        departure = (properties.get("evForecast") or {}).get("departure_mean_h")
        if isinstance(departure, int | float) and not isinstance(departure, bool):
            return EvAssumptions(base.energy_need_wh, float(departure), base.overstay_s)
        return base

    def _forecast(self, layout: SiteLayout, now: datetime, flags: list[str]) -> tuple[float, ...] | None:
        profile = self.reader.latest_forecast(layout.streams.get(self.settings.keys.forecast))
        if not profile:
            flags.append(f"{self.settings.keys.forecast}:missing")
            return None
        policy = self.settings.policy
        start = step_start(now + timedelta(seconds=policy.lead_s), policy.step_s)
        values = []
        for t in range(policy.horizon_steps):
            at = start + timedelta(seconds=t * policy.step_s)
            of_day = (at.hour * 3600 + at.minute * 60) // policy.step_s * policy.step_s
            values.append(profile.get(of_day))
        if any(v is None for v in values):
            flags.append(f"{self.settings.keys.forecast}:partial")
        return tuple(v or 0.0 for v in values)

    # -- what GEVChCon publishes --
    def _publish(self, site: str, decision: SiteDecision, now: datetime, commands: tuple[str, ...]) -> None:
        self._observe(f"{site}.evShortfall", now, decision.report["shortfallWh"], decision.report,
                      f"{site}/shortfall/{iso(now)}")
        if decision.profile is None:
            return
        mark = (now.date(), commands)
        if self._profile_marks.get(site) == mark:
            return
        self._profile_marks[site] = mark
        step = timedelta(seconds=self.settings.policy.step_s)
        rows = [[iso(decision.start + n * step), iso(now), round(power, 1), {"run": iso(now)}]
                for n, power in enumerate(decision.profile.power_w)]
        self.client.create_observations(self.ids.streams[f"{site}.evLoadProfile"],
                                        ["phenomenonTime", "resultTime", "result", "parameters"], rows,
                                        f"{self.settings.policy.controller_id}/{site}/profile/{iso(now)}")


def next_cycle_at(now: datetime, policy: Policy) -> datetime:
    """`lead_s` before the step after the one the cycle at `now` planned."""
    lead, step = timedelta(seconds=policy.lead_s), timedelta(seconds=policy.step_s)
    return step_start(now + lead, policy.step_s) + step - lead


async def run(clock: Clock, client: StaClient, settings: Settings) -> None:
    """A cycle `lead_s` before every step (multiples of `step_s` from midnight), for ever (cancel to stop)."""
    controller = await asyncio.to_thread(Gevchcon, client, settings)
    while True:
        now = clock.now()
        try:
            await asyncio.to_thread(controller.cycle, now)
        except Exception:  # the loop survives a failed cycle (server down, bad data): logged, tried next cycle
            log.exception("GEVChCon cycle at %s failed", now.isoformat())
        await clock.sleep_until(next_cycle_at(now, settings.policy))
