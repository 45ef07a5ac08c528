"""The `ess_schedule` Task parameters made from a day plan are the ones the LESSAg accepts."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agents.lessag.orders import Source
from agents.lessag.tasks import OrderRules, parse_schedule
from controllers.gesscon import solve_day_ahead
from controllers.gesscon.plan import PlanError, schedule_parameters
from tests.controllers.gesscon.cases import radial


@pytest.mark.parametrize(("steps", "resolution_s"), [(96, 3600), (96, 900), (24, 60)])
def test_parameters_cover_the_day_at_the_capability_resolution(steps: int, resolution_s: int) -> None:
    plan = solve_day_ahead(radial(2, steps))
    params = schedule_parameters(plan.schedules[0], resolution_s)
    assert params["startTime"] == "2026-06-21T00:00:00Z" and params["resolution"] == resolution_s
    assert len(params["powerProfile"]) == 86_400 // resolution_s
    energy_wh = sum(params["powerProfile"]) * resolution_s / 3600
    assert energy_wh == pytest.approx(sum(plan.schedules[0].power_w) * 86_400 / steps / 3600, abs=2.0)


def test_a_partial_day_is_refused() -> None:
    plan = solve_day_ahead(radial(1, 96))
    short = plan.schedules[0].__class__("ess0", datetime(2026, 6, 21, tzinfo=UTC), 900, (0.0,) * 10, (50.0,) * 10)
    with pytest.raises(PlanError):
        schedule_parameters(short, 900)


@pytest.mark.parametrize("resolution_s", [60, 3600])
def test_the_lessag_accepts_the_parameters(resolution_s: int) -> None:
    problem = radial(2, 96)
    plan = solve_day_ahead(problem)
    ess = problem.batteries[1]
    params = schedule_parameters(plan.schedules[1], resolution_s)
    rules = OrderRules(Source.GRID, ess.max_charge_w, ess.max_discharge_w, priority_max=3, resolution_s=resolution_s)
    order = parse_schedule(7, params, rules, now=datetime(2026, 6, 20, 23, tzinfo=UTC))
    assert order.start == datetime(2026, 6, 21, tzinfo=UTC)
    assert len(order.power_w) == 86_400 // resolution_s
