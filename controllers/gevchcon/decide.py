"""GEVChCon's decision for one charging site, pure: the site's state and the commands in force in, one
load-reduction Task per charge point for the current step, the planned EV load and the shortfall out.

Headroom (W) of the EVs at step t: `min(contract, import caps of commands) - margin - base[t]`, at most the
EV caps of commands, at least 0. `base` is the site's load without the EVs: load + PV + the battery when it
charges (a discharging battery is not counted on: it may be empty before the step ends); after the current
step PV is not counted on either (re-planned every cycle, the current step uses the measured PV).
Each EV's remaining need and departure come from `sessions.py`; `allocate.py` shares the headroom. Every
charge point's limit for the current step is its EV's planned power plus a share of the headroom the plan
leaves (water-filled up to its rating): a point without a known EV can still serve one that arrives, and
the limits together never exceed the headroom."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from controllers.gevchcon.allocate import Allocation, AllocationProblem, Demand, allocate
from controllers.gevchcon.commands import Command, SiteShare, command_caps
from controllers.gevchcon.profile import DayProfile, defer_into
from controllers.gevchcon.sessions import EvEstimate

JSON = dict[str, Any]


@dataclass(frozen=True)
class Policy:
    step_s: int = 900
    horizon_steps: int = 96
    margin_w: float = 3000.0
    priority: int = 5  # of the load-reduction Tasks (1..10)
    lead_s: int = 60  # a cycle this long before a step plans that step (its Tasks are in place when it starts)
    controller_id: str = "gevchcon"


@dataclass(frozen=True)
class PointState:
    device: str
    capability_id: int | str
    resolution_s: int
    max_power_w: float
    ev: EvEstimate | None


@dataclass(frozen=True)
class SiteState:
    site_id: str
    share: SiteShare
    now: datetime
    load_w: float
    pv_w: float  # <= 0
    ess_w: float  # > 0 charging
    points: tuple[PointState, ...]
    forecast_w: tuple[float, ...] | None = None  # the expected uncontrolled EV load per plan step
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskOrder:
    device: str
    capability_id: int | str
    parameters: JSON
    key: str  # the Idempotency-Key: the same order for the same step is created once


@dataclass(frozen=True)
class SiteDecision:
    start: datetime
    headroom_w: tuple[float, ...]
    limits_w: dict[str, float]
    orders: tuple[TaskOrder, ...]
    allocation: Allocation
    profile: DayProfile | None
    report: JSON = field(default_factory=dict)


def step_start(now: datetime, step_s: int) -> datetime:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(seconds=int((now - midnight).total_seconds()) // step_s * step_s)


def headroom_w(state: SiteState, commands: Sequence[Command], policy: Policy, start: datetime) -> tuple[float, ...]:
    imports, evs = command_caps(commands, state.share, start, policy.step_s, policy.horizon_steps)
    later_base = state.load_w + max(0.0, state.ess_w)
    room = []
    for t in range(policy.horizon_steps):
        base = later_base + (state.pv_w if t == 0 else 0.0)
        contract = state.share.contract_in_w
        cap = (contract if imports[t] is None else min(contract, imports[t] or 0.0)) - policy.margin_w
        ev_cap = evs[t]
        room.append(max(0.0, cap - base if ev_cap is None else min(cap - base, ev_cap)))
    return tuple(room)


def _presence(ev: EvEstimate, now: datetime, start: datetime, policy: Policy) -> tuple[float, ...]:
    shares = []
    for t in range(policy.horizon_steps):
        begin = start + timedelta(seconds=t * policy.step_s)
        end = begin + timedelta(seconds=policy.step_s)
        overlap = (min(end, ev.departure) - max(begin, now)).total_seconds()
        shares.append(min(1.0, max(0.0, overlap / policy.step_s)))
    return tuple(shares)


def water_fill(total_w: float, room_w: dict[str, float]) -> dict[str, float]:
    """`total_w` shared equally among the points, none above its room; what one cannot take goes to the rest."""
    shares = {device: 0.0 for device in room_w}
    left, open_points = max(0.0, total_w), sorted((d for d in room_w if room_w[d] > 0), key=lambda d: room_w[d])
    while open_points and left > 1e-9:
        equal = left / len(open_points)
        device = open_points.pop(0)
        grant = min(equal, room_w[device])
        shares[device], left = grant, left - grant
    return shares


def decide(state: SiteState, commands: Sequence[Command], policy: Policy) -> SiteDecision:
    start = step_start(state.now + timedelta(seconds=policy.lead_s), policy.step_s)
    room = headroom_w(state, commands, policy, start)
    demands = tuple(Demand(p.device, p.max_power_w, p.ev.remaining_wh, _presence(p.ev, state.now, start, policy))
                    for p in state.points if p.ev is not None and p.ev.remaining_wh > 0)
    allocation = allocate(AllocationProblem(policy.step_s, room, demands))
    planned = {device: power[0] for device, power in allocation.power_w.items()}
    spare = water_fill(room[0] - sum(planned.values()),
                       {p.device: p.max_power_w - planned.get(p.device, 0.0) for p in state.points})
    limits = {p.device: max(0.0, int((planned.get(p.device, 0.0) + spare[p.device]) * 10) / 10)
              for p in state.points}
    orders = tuple(_order(state.site_id, p, limits[p.device], start, policy) for p in state.points)
    profile = None if state.forecast_w is None else defer_into(state.forecast_w, room, policy.step_s)
    return SiteDecision(start, room, limits, orders, allocation, profile, _report(state, allocation, room, limits))


def _order(site_id: str, point: PointState, limit_w: float, start: datetime, policy: Policy) -> TaskOrder:
    values = max(1, policy.step_s // point.resolution_s)
    params: JSON = {"startTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "maxPowerProfile": [limit_w] * values,
                    "priority": policy.priority}
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    key = f"{policy.controller_id}/{site_id}/{point.device}/{params['startTime']}/{digest}"
    return TaskOrder(point.device, point.capability_id, params, key)


def _report(state: SiteState, allocation: Allocation, room: tuple[float, ...], limits: dict[str, float]) -> JSON:
    points = {p.device: {"remainingWh": round(p.ev.remaining_wh, 1), "deliveredWh": round(p.ev.delivered_wh, 1),
                         "departure": p.ev.departure.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "shortfallWh": round(allocation.shortfall_wh.get(p.device, 0.0), 1),
                         "limitW": limits[p.device]}
              for p in state.points if p.ev is not None}
    return {"site": state.site_id, "askedWh": round(sum(allocation.served_wh.values())
                                                    + allocation.total_shortfall_wh, 1),
            "shortfallWh": round(allocation.total_shortfall_wh, 1),
            "worstShortfallShare": round(allocation.worst_shortfall_share, 4),
            "headroomNowW": round(room[0], 1), "points": points, "flags": list(state.flags)}
