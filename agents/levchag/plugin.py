"""The LEVChAg plug-in: load-reduction and enable Tasks in (acknowledged as Observations), every cycle
the strictest limit in force sent to each charge point (on change), the total EV power published for
the LESSAg, and once a day the EV load forecast (one Observation per step).

The LESSAg's load reduction arrives through the shared data set (`evLoadLimit`, valid until its
`parameters.until`): same process, no new route in the host, and recorded on the server when the site
declares that Datastream."""
from __future__ import annotations

import logging
import random
from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta

from adapters.connector import Command, Reading
from adapters.simulated.ev import EvFleetSpec, expected_load_profile_w
from agents.lessag.tasks import Deliveries, Refusal, TaskRefused
from agents.levchag.config import CapabilityRef, LevchagConfig, Role, config_from_site
from agents.levchag.limits import LimitProfile, profile_limit, share_w, strictest
from agents.levchag.tasks import parse_enable, parse_load_reduction
from agents.plugin import SiteContext, TaskMessage
from agents.site.model import PluginSpec, SiteSpec

log = logging.getLogger(__name__)

IDLE_STATUSES = {"Available", "Unavailable", "Faulted"}


class LevchagPlugin:
    """Implements `agents.plugin.Plugin`."""

    def __init__(self, config: LevchagConfig, name: str = "levchag") -> None:
        self.config = config
        self._name = name
        self.profiles: list[LimitProfile] = []
        self.enabled = {point.device: True for point in config.points}
        self.sent: dict[str, tuple[float, bool]] = {}
        self.deliveries = Deliveries()
        self._forecast_day: date | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def period_s(self) -> float:
        return self.config.cycle_s

    @property
    def capabilities(self) -> Collection[str]:
        return tuple(self.config.capabilities)

    async def on_task(self, task: TaskMessage, site: SiteContext) -> list[Reading]:
        now = site.clock.now()
        try:
            accepted, reason = True, self._take(task, now)
        except TaskRefused as refusal:
            accepted, reason = False, refusal.reason
            log.warning("Task %s (%s) refused: %s", task.task_id, task.capability, reason)
        self.deliveries.answered(task.task_id)
        params = {"taskId": task.task_id, "reason": reason, "capability": task.capability}
        return [Reading(self.config.keys.accepted, accepted, now, params)]

    def _take(self, task: TaskMessage, now: datetime) -> str:
        self.deliveries.check(task.task_id, task.capability, task.parameters)
        capability = self.config.capabilities.get(task.capability)
        if capability is None or capability.role is None:
            raise TaskRefused(Refusal.UNKNOWN_CAPABILITY, f"the LEVChAg takes no Tasks of {task.capability!r}")
        detail = self._apply(task, capability, now)
        self.deliveries.accepted(task.task_id, task.capability, task.parameters)
        return detail

    def _apply(self, task: TaskMessage, capability: CapabilityRef, now: datetime) -> str:
        if capability.role is Role.ENABLE:
            if capability.device is None:
                raise TaskRefused(Refusal.UNKNOWN_CAPABILITY, "enable is a charge point's capability")
            self.enabled[capability.device] = parse_enable(task.parameters)
            return f"{capability.device} enabled={self.enabled[capability.device]}"
        profile = parse_load_reduction(task.task_id, task.parameters, capability.device, capability.resolution_s,
                                       capability.max_power_w, now)
        self.profiles.append(profile)
        return f"load reduction of {capability.device or 'the site'}: {len(profile.max_power_w)} step(s)"

    async def cycle(self, site: SiteContext) -> None:
        now = site.clock.now()
        self.profiles = [p for p in self.profiles if p.end > now]
        if self._forecast_day != now.date():
            self._publish_forecast(site, now)
        for device, limit_w in self.limits(site, now).items():
            wanted = (round(limit_w, 1), self.enabled[device])
            if self.sent.get(device) == wanted:
                continue
            result = await site.command(Command(device, self._capability_of(device),
                                                {"maxPower": wanted[0], "enabled": wanted[1]}))
            if result.accepted:
                self.sent[device] = wanted
            else:
                log.warning("charge point %s refused its limit: %s", device, result.reason)
        powers = [site.latest(point.power_key) for point in self.config.points]
        total = sum(float(r.value) for r in powers if r is not None and isinstance(r.value, int | float))
        site.publish(Reading(self.config.keys.total, round(total, 3), now))

    def limits(self, site: SiteContext, now: datetime) -> dict[str, float]:
        """The limit of each charge point now: its own profile, its share of the site's limit."""
        site_limit = strictest(profile_limit(self.profiles, None, now), self._lessag_limit(site, now))
        demands = {p.device: self._demand_w(site, p.device, p.max_power_w, p.status_key) for p in self.config.points}
        shares = share_w(site_limit, demands) if site_limit is not None else {}
        return {point.device: strictest(point.max_power_w, profile_limit(self.profiles, point.device, now),
                                        shares.get(point.device)) or 0.0
                for point in self.config.points}

    def _demand_w(self, site: SiteContext, device: str, max_power_w: float, status_key: str) -> float:
        status = site.latest(status_key)
        idle = status is not None and status.value in IDLE_STATUSES
        return 0.0 if idle or not self.enabled[device] else max_power_w

    def _lessag_limit(self, site: SiteContext, now: datetime) -> float | None:
        reading = site.latest(self.config.keys.lessag_limit)
        if reading is None or not isinstance(reading.value, int | float):
            return None
        until = reading.parameters.get("until")
        if until is None or datetime.fromisoformat(str(until)) <= now:
            return None
        return float(reading.value)

    def _capability_of(self, device: str) -> str:
        return next((k for k, c in self.config.capabilities.items()
                     if c.device == device and c.role is Role.LOAD_REDUCTION), "ev_load_reduction")

    def _publish_forecast(self, site: SiteContext, now: datetime) -> None:
        """The day's expected EV load (one reading per step from midnight UTC, resultTime = now), from the
        session model."""
        self._forecast_day = now.date()
        start = datetime.combine(now.date(), time(0), tzinfo=UTC)
        step_s, steps = self.config.forecast_step_s, self.config.horizon_steps
        total = [0.0] * steps
        for index, point in enumerate(self.config.points):
            rng = random.Random(f"{self.config.seed}:{point.device}:{now.date()}:{index}")
            profile = expected_load_profile_w(EvFleetSpec(), point.max_power_w, start, step_s, steps, rng,
                                              self.config.forecast_draws)
            total = [a + b for a, b in zip(total, profile, strict=True)]
        run = {"run": now.isoformat()}
        for step, power_w in enumerate(total):
            site.publish(Reading(self.config.keys.forecast, round(power_w, 1),
                                 start + timedelta(seconds=step * step_s), run, result_time=now))


def build_levchag(site: SiteSpec, plugin: PluginSpec) -> LevchagPlugin:
    """The plug-in of a site file's `plugins: - kind: levchag` entry."""
    return LevchagPlugin(config_from_site(site, plugin))
