"""What-if jobs without a server: the Task's parameters, placement, the local battery, the queue, and a
short study against a direct pandapower run of the same inputs."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from simulation.grid import GridModel
from simulation.whatif.fleet import House, choose, place_fleet, unit_count
from simulation.whatif.jobs import JobQueue
from simulation.whatif.local import Battery, decide_battery, next_soc_wh
from simulation.whatif.request import RequestError, parse_request
from simulation.whatif.study import Study


def params(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"grid": "fur", "startTime": "2026-06-21T11:00:00Z", "stopTime": "2026-06-21T12:00:00Z",
                            "pvPenetration": 0, "evPenetration": 0, "essPenetration": 0, "placement": "uniform",
                            "controlMode": "none"}
    return {**base, **overrides}


def test_a_request_reads_its_parameters_and_defaults() -> None:
    request = parse_request(params(evPenetration=50, detail="summary", essCapacity_kWh=12))
    assert (request.grid, request.ev_pct, request.detail, request.ess_capacity_kwh) == ("fur", 50.0, "summary", 12.0)
    assert request.start == datetime(2026, 6, 21, 11, tzinfo=UTC) and request.pv_peak_kw == 5.0


@pytest.mark.parametrize(("overrides", "message"), [
    ({"stopTime": "2026-06-21T10:00:00Z"}, "stopTime must be after startTime"),
    ({"stopTime": "2027-06-23T10:00:00Z"}, "at most 366 days"),
    ({"startTime": "2026-06-21T11:00:00"}, "needs a time zone"),
    ({"controlMode": "optimal"}, "controlMode must be one of"),
    ({"grid": "atlantis"}, "grid must be one of"),
    ({"pvPenetration": 120}, "within 0-100"),
    ({"placement": "everywhere"}, "placement must be one of"),
])
def test_requests_the_engine_cannot_run_name_the_reason(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(RequestError, match=message):
        parse_request(params(**overrides))


HOUSES = [House(load=i, bus=10 + i, distance_km=0.1 * (i % 4)) for i in range(8)]


def test_unit_counts_round_half_up() -> None:
    assert [unit_count(7, pct) for pct in (0, 50, 100)] == [0, 4, 7]


def test_uniform_placement_spreads_over_the_feeder() -> None:
    assert [house.load for house in choose(HOUSES, 4, "uniform", 0)] == [0, 2, 4, 6]


def test_feeder_end_placement_takes_the_farthest_first() -> None:
    assert [house.load for house in choose(HOUSES, 2, "feeder-end", 0)] == [3, 7]


def test_random_placement_is_reproducible_by_seed() -> None:
    assert choose(HOUSES, 3, "random", 7) == choose(HOUSES, 3, "random", 7)
    assert len(set(choose(HOUSES, 3, "random", 7))) == 3


def test_batteries_follow_pv_under_the_same_rule() -> None:
    fleet = place_fleet(HOUSES, pv_pct=50, ev_pct=0, ess_pct=25, placement="feeder-end")
    assert set(fleet.ess) <= set(fleet.pv) and fleet.ev == ()


BATTERY = Battery(capacity_wh=10_000, power_w=5_000)


def test_the_local_battery_charges_from_surplus_within_its_power() -> None:
    assert decide_battery(-3_000, 5_000, BATTERY, 900) == 3_000
    assert decide_battery(-8_000, 5_000, BATTERY, 900) == 5_000


def test_the_local_battery_stops_when_full_or_empty() -> None:
    assert decide_battery(-3_000, 9_500, BATTERY, 900) == pytest.approx(2_000)  # 500 Wh of room in 15 min
    assert decide_battery(2_000, 250, BATTERY, 900) == pytest.approx(-1_000)  # 250 Wh left in 15 min
    assert next_soc_wh(9_500, 2_000, BATTERY, 900) == 10_000


def test_jobs_queue_in_creation_order_and_run_one_at_a_time() -> None:
    queue = JobQueue()
    first, second = queue.submit(1, params()), queue.submit(2, params())
    assert (queue.position(1), queue.position(2)) == (1, 2)
    assert queue.start_next() is first and queue.start_next() is None
    queue.finish(first, "done")
    assert queue.start_next() is second and second.state == "running"


def test_a_cancel_removes_a_waiting_job_and_flags_a_running_one() -> None:
    queue = JobQueue()
    running, waiting = queue.submit(1, params()), queue.submit(2, params())
    queue.start_next()
    assert queue.cancel(2) is waiting and waiting.state == "cancelled" and queue.position(2) is None
    assert queue.cancel(1) is running and running.state == "running" and running.cancel.is_set()
    assert queue.cancel(99) is None


def test_a_task_the_engine_cannot_run_is_rejected_not_queued() -> None:
    queue = JobQueue()
    job = queue.submit(5, params(stopTime="2026-06-21T10:00:00Z"))
    assert job.state == "rejected" and "stopTime" in job.reason and queue.start_next() is None


@pytest.mark.parametrize("fast", [False, True])
def test_a_study_without_added_units_agrees_with_a_direct_power_flow(fast: bool) -> None:
    study = Study(parse_request(params()), fast=fast)
    results: list[Any] = []
    study.run(results.append)
    assert (study.flow is not None) is fast  # the fast power flow took over after pandapower's first step
    direct = GridModel.load("fur")
    tolerance = 1e-6 if fast else 1e-9  # the fast flow converges tighter than pandapower's 1e-8 MVA
    for result in results:
        expected = direct.run_step(result.time)
        assert result.status == expected.status == "ok"
        assert max(abs(result.vm_pu[bus] - expected.vm_pu[bus]) for bus in expected.vm_pu) < tolerance
        assert max(abs(result.line_loading_pct[line] - expected.line_loading_pct[line])
                   for line in expected.line_loading_pct) < 1e-3
        assert result.loss_kw == pytest.approx(expected.loss_kw, abs=1e-3)
        assert result.grid_p_kw == pytest.approx(expected.grid_p_kw, abs=1e-3)


def test_the_fast_power_flow_follows_added_units_as_pandapower_does() -> None:
    request = parse_request(params(pvPenetration=100, evPenetration=100, essPenetration=50, controlMode="local"))
    fast, slow = Study(request), Study(request, fast=False)
    fast_results: list[Any] = []
    slow_results: list[Any] = []
    fast.run(fast_results.append)
    slow.run(slow_results.append)
    assert fast.flow is not None
    for quick, reference in zip(fast_results, slow_results, strict=True):
        assert max(abs(quick.vm_pu[bus] - reference.vm_pu[bus]) for bus in reference.vm_pu) < 1e-6
        assert quick.loss_kw == pytest.approx(reference.loss_kw, abs=1e-3)


def test_local_batteries_lower_the_grid_import_of_a_summer_day() -> None:
    day = {"startTime": "2026-06-21T00:00:00Z", "stopTime": "2026-06-22T00:00:00Z", "pvPenetration": 100,
           "essPenetration": 100}
    idle = Study(parse_request(params(**day))).run(lambda result: None)
    local = Study(parse_request(params(**day, controlMode="local"))).run(lambda result: None)
    assert idle["stepsOk"] == local["stepsOk"] == 96
    assert local["import_kWh"] < idle["import_kWh"] and local["selfSufficiency"] > idle["selfSufficiency"]


SUMMER_DAY = {"startTime": "2026-06-21T00:00:00Z", "stopTime": "2026-06-22T00:00:00Z", "pvPenetration": 100,
              "essPenetration": 100}


def test_the_three_control_modes_on_a_summer_day_gesscon_follows_its_plan_and_lowers_its_cost() -> None:
    """`none`, `local` and `gesscon` on the Fur-like grid: GESSCon's plan (the LP of planning/, per day, perfect
    forecasts, flat tariff) is followed step by step within the SoC window, each battery's energy is the sum
    of its powers, the day ends with the energy it started with, and the energy cost (the LP's objective:
    import at the flat price) is below `none`'s and `local`'s."""
    kpis = {mode: Study(parse_request(params(**SUMMER_DAY, controlMode=mode))).run(lambda result: None)
            for mode in ("none", "local")}
    study = Study(parse_request(params(**SUMMER_DAY, controlMode="gesscon")))
    battery, hours = study.battery, 0.25
    start = dict(study.soc_wh)
    soc = dict(start)
    for time in study.times:
        assert study.step(time).status == "ok"
        assert study.schedule is not None and study.battery_w == study.schedule.at(time)  # the plan, as planned
        for load, power_w in study.battery_w.items():
            assert abs(power_w) <= battery.power_w + 1e-6
            soc[load] += power_w * hours
            assert study.soc_wh[load] == pytest.approx(soc[load], abs=1e-6)  # energy balance
            assert -1e-6 <= study.soc_wh[load] <= battery.capacity_wh + 1e-6  # within its window
    kpis["gesscon"], plan = study.tally.kpis(), study.schedule
    assert plan is not None and plan.status == "optimal" and len(plan.times) == 96
    assert len(study.fleet.ess) == 13 and kpis["gesscon"]["plannedDays"] == 1
    assert all(study.soc_wh[load] >= start[load] - 1e-6 for load in start)  # no energy borrowed from the battery
    assert any(max(powers) > 1_000 for powers in plan.power_w.values())  # the batteries did work
    assert kpis["gesscon"]["stepsOk"] == kpis["none"]["stepsOk"] == kpis["local"]["stepsOk"] == 96
    assert kpis["gesscon"]["energyCost_EUR"] < kpis["local"]["energyCost_EUR"] < kpis["none"]["energyCost_EUR"]
    assert kpis["gesscon"]["import_kWh"] < kpis["none"]["import_kWh"]


@pytest.mark.parametrize("mode", ["local", "gesscon"])
def test_a_study_restored_from_a_checkpoint_computes_what_an_uninterrupted_one_does(mode: str) -> None:
    """The checkpoint (JSON, as it is stored on the study's Thing) carries the KPI tally, the batteries'
    energy, the day's plan and the fast flow's voltages: every later step and the KPIs come out identical."""
    request = parse_request(params(startTime="2026-06-20T00:00:00Z", stopTime="2026-06-21T12:00:00Z",
                                   pvPenetration=100, evPenetration=50, essPenetration=100, controlMode=mode))
    whole: list[Any] = []
    expected = Study(request).run(whole.append)
    first, parts = Study(request), []
    for time in first.times[:70]:  # mid-day: the day's plan is re-made from the checkpoint
        parts.append(first.step(time))
    state = json.loads(json.dumps(first.checkpoint()))
    second = Study(request)
    second.restore(state)
    assert second.run(parts.append, start=70) == expected
    assert parts == whole
