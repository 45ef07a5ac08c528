"""GEVChCon's decision for a site: headroom from the contract, the base load and the commands; limits per
charge point that together stay within it; the daily profile deferred into the headroom."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controllers.gevchcon.commands import SiteShare, parse_command
from controllers.gevchcon.decide import PointState, Policy, SiteState, decide, water_fill
from controllers.gevchcon.profile import defer_into
from controllers.gevchcon.sessions import EvEstimate

NOW = datetime(2026, 12, 6, 19, 5, tzinfo=UTC)
POLICY = Policy(step_s=900, horizon_steps=48, margin_w=2000)
SHARE_ARGS = ("r1", 90000.0, 80800.0, 1.0)


def ev(device: str, remaining_wh: float, leaves_h: float = 12) -> EvEstimate:
    return EvEstimate(device, NOW - timedelta(minutes=30), 1000.0, NOW + timedelta(hours=leaves_h), remaining_wh,
                      False)


def state(points: tuple[PointState, ...], load_w: float = 10000, pv_w: float = 0.0, ess_w: float = -5000,
          forecast: tuple[float, ...] | None = None) -> SiteState:
    return SiteState("car-park", SiteShare(*SHARE_ARGS), NOW, load_w, pv_w, ess_w, points, forecast)


def points(*evs: EvEstimate | None) -> tuple[PointState, ...]:
    return tuple(PointState(f"cp{n}", n, 900, 22000.0, e) for n, e in enumerate(evs, start=1))


def test_the_limits_stay_within_the_contract_minus_the_base_load() -> None:
    site = state(points(ev("cp1", 20000), ev("cp2", 15000), None, ev("cp4", 9000), None))
    decision = decide(site, [], POLICY)
    # 90 kW - 2 kW margin - 10 kW load (the discharging battery is not counted on)
    assert decision.headroom_w[0] == pytest.approx(78000)
    assert sum(decision.limits_w.values()) <= 78000 + 1e-6
    assert decision.start == datetime(2026, 12, 6, 19, 0, tzinfo=UTC)
    assert decision.allocation.total_shortfall_wh == pytest.approx(0, abs=0.1)
    order = decision.orders[0]
    assert order.parameters == {"startTime": "2026-12-06T19:00:00Z", "maxPowerProfile": [decision.limits_w["cp1"]],
                                "priority": 5}
    assert decide(site, [], POLICY).orders[0].key == order.key  # the same order, the same idempotency key


def test_an_avoid_overload_command_lowers_the_headroom_and_the_shortfall_is_reported() -> None:
    command = parse_command(9, {"action": "avoid_overload", "radialId": "r1", "startTime": "2026-12-06T19:00:00Z",
                                "stopTime": "2026-12-07T07:00:00Z", "maxPower": 20000}, {"r1"}, NOW)
    site = state(points(ev("cp1", 40000, leaves_h=4), ev("cp2", 40000, leaves_h=4)))
    decision = decide(site, [command], POLICY)
    assert decision.headroom_w[0] == pytest.approx(20000 - 2000 - 10000)
    assert sum(decision.limits_w.values()) <= 8000 + 1e-6
    # 8 kW for the 4 h they stay: 32 kWh of the 80 asked, each missing the same share
    assert decision.report["shortfallWh"] == pytest.approx(80000 - 8000 * 4, rel=1e-4)
    shortfalls = [p["shortfallWh"] for p in decision.report["points"].values()]
    assert shortfalls[0] == pytest.approx(shortfalls[1], abs=1)


def test_a_point_without_a_known_ev_gets_a_share_of_what_the_plan_leaves() -> None:
    decision = decide(state(points(ev("cp1", 1000), None)), [], POLICY)
    assert decision.limits_w["cp2"] == 22000  # its rating: the headroom is large
    tight = decide(state(points(ev("cp1", 1000), None), load_w=80000), [], POLICY)
    assert sum(tight.limits_w.values()) <= 8000 + 1e-6 and tight.limits_w["cp2"] > 0


def test_water_fill_shares_equally_up_to_each_room() -> None:
    assert water_fill(30000, {"a": 5000, "b": 20000, "c": 20000}) == {"a": 5000, "b": 12500, "c": 12500}
    assert water_fill(-1, {"a": 5000}) == {"a": 0.0}


def test_the_day_profile_moves_what_exceeds_the_headroom_later() -> None:
    profile = defer_into([0, 30000, 30000, 0, 0], [40000, 20000, 20000, 20000, 20000], 3600)
    assert profile.power_w == (0, 20000, 20000, 20000, 0)
    assert (profile.deferred_wh, profile.unserved_wh) == (20000, 0)
    short = defer_into([30000, 30000], [20000, 20000], 3600)
    assert short.unserved_wh == 20000
    decision = decide(state(points(None), forecast=(50000.0,) * 48), [], POLICY)
    assert decision.profile is not None and max(decision.profile.power_w) <= 78000
