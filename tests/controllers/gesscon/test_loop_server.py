"""GESSCon's loop against a real server (sta_process): one schedule Task per ESS before the day, none on a
second run or after a restart; a silent, an unreachable and a deviating ESS trigger re-planning; status
Observations on the GESSCon Thing."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from clock import SteppedClock
from controllers.gesscon.gesscon_thing import GessconIds, commission_gesscon
from controllers.gesscon.loop import GessconLoop
from controllers.gesscon.radial_data import PlanSettings
from controllers.gesscon.settings import GessconSettings
from sta_client import StaClient
from tests.client.conftest import RunningServer
from tests.controllers.gesscon.radial_builder import Radial, acknowledge, build_radial, observations, post_soc, tasks

DAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
BEFORE = DAY - timedelta(minutes=30)
MIN = timedelta(minutes=1)


@pytest.fixture
def sta(sta_process: RunningServer) -> Iterator[StaClient]:
    with StaClient(sta_process.settings()) as client:
        yield client


@pytest.fixture
def radial(sta: StaClient) -> Radial:
    built = build_radial(sta, DAY, BEFORE - timedelta(hours=2))
    for ids in built.ess.values():
        post_soc(sta, ids, BEFORE - MIN, 50.0)
    return built


def gesscon(sta: StaClient, radial: Radial) -> tuple[GessconLoop, GessconIds]:
    ids = commission_gesscon(sta, [radial.radial_id], latitude=56.8, longitude=8.9)[radial.radial_id]
    settings = GessconSettings((radial.radial_id,), PlanSettings(step_s=900), price_key=radial.price_key)
    return GessconLoop(sta, SteppedClock(BEFORE), settings, {radial.radial_id: ids}), ids


def test_one_task_per_ess_before_the_day_and_none_on_a_second_run(sta: StaClient, radial: Radial) -> None:
    loop, ids = gesscon(sta, radial)
    loop.tick(BEFORE)
    for ess in radial.ess.values():
        [task] = tasks(sta, ess)
        assert task["taskingParameters"]["startTime"] == DAY.isoformat().replace("+00:00", "Z")
        assert len(task["taskingParameters"]["powerProfile"]) == 1440
        assert task["taskingParameters"]["resolution"] == 60
    loop.tick(BEFORE + MIN)  # the same process again
    again, _ = gesscon(sta, radial)  # a restart: nothing in memory
    again.tick(BEFORE + 2 * MIN)
    assert [len(tasks(sta, ess)) for ess in radial.ess.values()] == [1, 1]
    [state] = observations(sta, ids.streams["radialState"], radial.radial_id)
    assert state["result"]["status"] == "optimal" and state["result"]["reasons"] == ["day-ahead"]
    assert state["result"]["flags"] == [] and state["result"]["created"] == 2
    assert [o["result"] for o in observations(sta, ids.streams["radialSolution"], radial.radial_id)] == ["economic"]
    assert [o["result"] for o in observations(sta, ids.streams["commandError"], radial.radial_id)] == ["none"]


def test_an_ess_that_never_acknowledges_is_left_out_and_the_others_redispatched(sta: StaClient,
                                                                                 radial: Radial) -> None:
    loop, ids = gesscon(sta, radial)
    loop.tick(BEFORE)
    (answering, first), (silent, second) = radial.ess.items()
    acknowledge(sta, first, tasks(sta, first)[0]["@iot.id"], BEFORE + MIN)
    at = DAY + timedelta(minutes=5)  # 35 min after the Tasks: past the 10-min timeout
    for ess in (first, second):
        post_soc(sta, ess, at - MIN, 50.0)
    replan = loop.check(radial.radial_id, at)
    assert replan is not None and replan.reasons == (f"no-ack:{silent}",) and replan.lost == {silent}
    assert len(tasks(sta, first)) == 2 and len(tasks(sta, second)) == 1
    assert tasks(sta, first)[1]["taskingParameters"]["startTime"] == (
        (DAY + timedelta(minutes=15)).isoformat().replace("+00:00", "Z"))
    state = observations(sta, ids.streams["radialState"], radial.radial_id)[-1]["result"]
    assert state["reasons"] == [f"no-ack:{silent}"] and state["unavailable"] == [silent]
    assert observations(sta, ids.streams["essWithinBounds"], radial.radial_id)[-1]["result"] is False


def test_an_unreachable_ess_is_planned_around_and_a_deviating_one_replanned(sta: StaClient, radial: Radial) -> None:
    loop, _ = gesscon(sta, radial)
    loop.tick(BEFORE)
    (fresh, first), (stale, second) = radial.ess.items()
    for ess in (first, second):
        acknowledge(sta, ess, tasks(sta, ess)[0]["@iot.id"], BEFORE + MIN)
    at = DAY + timedelta(minutes=5)
    post_soc(sta, first, at - MIN, 50.0)  # the second's SoC is 36 min old
    replan = loop.check(radial.radial_id, at)
    assert replan is not None and replan.reasons == (f"unreachable:{stale}",) and replan.unavailable == {stale}
    assert len(tasks(sta, first)) == 2 and len(tasks(sta, second)) == 1
    acknowledge(sta, first, tasks(sta, first)[1]["@iot.id"], at + MIN)
    assert loop.check(radial.radial_id, at + 2 * MIN) is None  # nothing new
    later = at + timedelta(minutes=40)  # past the 15-min rate limit; the first far from its plan
    post_soc(sta, first, later - MIN, 94.0)
    replan = loop.check(radial.radial_id, later)
    assert replan is not None and replan.reasons == (f"deviation:{fresh}",)
    assert len(tasks(sta, first)) == 3


def test_an_infeasible_day_is_planned_with_slack_and_reported(sta: StaClient) -> None:
    radial = build_radial(sta, DAY, BEFORE - timedelta(hours=2), contract_in_w=500)  # below the 800 W load
    loop, ids = gesscon(sta, radial)  # no SoC at all: planned from the minimum, flagged
    loop.tick(BEFORE)
    assert all(len(tasks(sta, ess)) == 1 for ess in radial.ess.values())
    [error] = observations(sta, ids.streams["commandError"], radial.radial_id)
    assert "Wh above its limits" in error["result"] and "soc-stale" in error["result"]
    [state] = observations(sta, ids.streams["radialState"], radial.radial_id)
    assert state["result"]["status"] == "infeasible-with-slack"


def test_the_loop_runs_on_the_project_clock(sta: StaClient, radial: Radial) -> None:
    """`run()` (what `python -m controllers.gesscon` runs) makes its first round at once."""
    loop, _ = gesscon(sta, radial)

    async def scenario() -> None:
        running = asyncio.create_task(loop.run())
        deadline = time.monotonic() + 60
        while not all(tasks(sta, ess) for ess in radial.ess.values()):
            assert time.monotonic() < deadline, "no schedule Tasks from the running loop"
            await asyncio.sleep(0.2)
        running.cancel()

    asyncio.run(scenario())
    assert [len(tasks(sta, ess)) for ess in radial.ess.values()] == [1, 1]
