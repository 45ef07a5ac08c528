"""The LESSAg plug-in: Tasks in (acknowledged as Observations), a decision every cycle, the set-point to
the ESS connector, and what is in force published.

Published (keys in config.StreamKeys): `setpointAccepted` [Truth] for each Task (parameters.taskId,
parameters.reason); every cycle `P_dc_setpoint` (the set-point in force, read back from the device) and
`setpointPriority` (measurements); on change, as events (never dropped from a full queue), `lessagMode`
[Category] (parameters.reason) and `pvLimit`; while the import contract needs it, `evLoadLimit` (the total
EV power allowed) for the LEVChAg on the same site.
"""
from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from adapters.connector import Command, CommandResult, Reading
from agents.lessag.config import STRATEGY_OF_MODE, CapabilityRole, LessagConfig, Role, config_from_site
from agents.lessag.limits import ev_limit_w
from agents.lessag.orders import Order, OrderBook
from agents.lessag.strategies import EssSetPoint, EssState, Plan, Strategy, decide
from agents.lessag.tasks import Deliveries, Refusal, TaskRefused, parse_schedule, parse_setpoint
from agents.plugin import SiteContext, TaskMessage
from agents.site.model import PluginSpec, SiteSpec

log = logging.getLogger(__name__)

KEEP_ORDERS = timedelta(days=1)


class LessagPlugin:
    """Implements `agents.plugin.Plugin`."""

    def __init__(self, config: LessagConfig, name: str = "lessag") -> None:
        self.config = config
        self._name = name
        self.orders = OrderBook()
        self.deliveries = Deliveries()
        self._mode: tuple[str, str] | None = None
        self._pv_limit_w: float | None = None
        self.last: EssSetPoint | None = None
        self.strategy: Strategy = config.strategy  # the household's mode switch may change it

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
            detail = self._take(task, now)
            accepted, reason = True, detail
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
            raise TaskRefused(Refusal.UNKNOWN_CAPABILITY, f"the LESSAg takes no Tasks of {task.capability!r}")
        if capability.role is Role.MODE:
            mode = task.parameters.get("mode")
            strategy = STRATEGY_OF_MODE.get(mode) if isinstance(mode, str) else None
            if strategy is None:
                raise TaskRefused(Refusal.MALFORMED, f"mode must be one of {', '.join(STRATEGY_OF_MODE)}")
            self.strategy = strategy
            self.deliveries.accepted(task.task_id, task.capability, task.parameters)
            return f"mode: {mode} ({strategy})"
        order = _parse(task, capability, now)
        self.orders.add(order)
        self.deliveries.accepted(task.task_id, task.capability, task.parameters)
        return f"{capability.role}: {len(order.power_w)} value(s) from {order.start.isoformat()}"

    async def cycle(self, site: SiteContext) -> None:
        state = self._state(site)
        if state is None:
            self._publish_mode(site, "no-data", "no recent SoC/ESS/PV/PCC readings")
            return
        self.orders.prune(state.time - KEEP_ORDERS)
        plan = Plan(self.strategy, self.config.limits, self.config.cycle_s, self.orders.claims_at(state.time),
                    self.config.import_margin_w)
        setpoint = decide(state, plan)
        result = await site.command(Command(self.config.device, self.config.setpoint_capability,
                                            {"powerSetpoint": setpoint.power_w, "pvLimit": setpoint.pv_limit_w},
                                            setpoint.task_id))
        self.last = setpoint
        self._publish(site, state, setpoint, result)

    def _state(self, site: SiteContext) -> EssState | None:
        keys = self.config.keys
        soc, ess, pv = site.latest(keys.soc), site.latest(keys.ess_power), site.latest(keys.pv_power)
        pcc, load = site.latest(keys.grid), site.latest(keys.load)
        if soc is None or ess is None or pv is None or (pcc is None and load is None):
            return None
        if (site.clock.now() - min(soc.time, ess.time)).total_seconds() > self.config.stale_s:
            return None  # the device stopped answering: no decision on old values
        soc_pct, ess_w, pv_w = _number(soc), _number(ess), _number(pv)
        pcc_w = _number(pcc) if pcc is not None else None
        load_w = pcc_w - (ess_w or 0.0) - (pv_w or 0.0) if pcc_w is not None else _number(load) if load else None
        if soc_pct is None or ess_w is None or pv_w is None or load_w is None:
            return None
        return EssState(site.clock.now(), soc_pct, ess_w, load_w, pv_w, self._pv_limit_w)

    def _publish(self, site: SiteContext, state: EssState, setpoint: EssSetPoint, result: CommandResult) -> None:
        keys, now = self.config.keys, state.time
        if not result.accepted:
            self._publish_mode(site, "device-refused", result.reason)
            return
        task = {"taskId": setpoint.task_id} if setpoint.task_id is not None else {}
        in_force = result.in_force.get("powerSetpoint", setpoint.power_w)
        site.publish(Reading(keys.setpoint, in_force, now, task))
        site.publish(Reading(keys.priority, setpoint.priority, now, task))
        self._publish_mode(site, setpoint.mode, setpoint.reason)
        pv_limit = result.in_force.get("pvLimit", setpoint.pv_limit_w)
        if pv_limit != self._pv_limit_w:
            self._pv_limit_w = pv_limit
            site.publish(Reading(keys.pv_limit, pv_limit, now))  # telemetry: under UniRCon it moves each cycle
        self._publish_ev_limit(site, state, float(in_force))

    def _publish_ev_limit(self, site: SiteContext, state: EssState, ess_w: float) -> None:
        ev = site.latest(self.config.keys.ev_power)
        ev_w = _number(ev) if ev is not None else None
        if ev_w is None:
            return
        limit = ev_limit_w(state.base_w + ess_w, ev_w, self.config.limits.contract_in_w)
        if limit is not None:
            site.publish(Reading(self.config.keys.ev_limit, limit, state.time, {"until": (
                state.time + timedelta(seconds=2 * self.config.cycle_s)).isoformat()}))

    def _publish_mode(self, site: SiteContext, mode: str, reason: str) -> None:
        if self._mode == (mode, reason):
            return
        self._mode = (mode, reason)
        log.info("LESSAg mode %s %s", mode, reason)
        site.publish(Reading(self.config.keys.mode, mode, site.clock.now(), {"reason": reason} if reason else {}),
                     event=True)


def _parse(task: TaskMessage, capability: CapabilityRole, now: datetime) -> Order:
    if capability.role is Role.SCHEDULE:
        return parse_schedule(task.task_id, task.parameters, capability.rules, now)
    return parse_setpoint(task.task_id, task.parameters, capability.rules, now)


def _number(reading: Reading) -> float | None:
    value = reading.value
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def build_lessag(site: SiteSpec, plugin: PluginSpec) -> LessagPlugin:
    """The plug-in of a site file's `plugins: - kind: lessag` entry."""
    return LessagPlugin(config_from_site(site, plugin))
