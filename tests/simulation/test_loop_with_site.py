"""A Fur-like house's SMX runtime (simulated battery and PV, LESSAg in self-consumption) and the closed
loop on one stepped clock against a real server: the battery power the agent publishes is what the
power flow puts at the house's bus (bus 7 from its site file), and the step's voltages are those of a
direct run with that power."""
from __future__ import annotations

import asyncio
import pathlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from agents.cli import site_parts
from agents.commissioning import commission
from agents.runtime import RuntimeOptions, SiteRuntime
from clock import SteppedClock
from simulation.geometry import LonLat
from simulation.grid import GridModel, Injection, StepResult
from simulation.loop import ClosedLoop, LoopSettings
from sta_client import Query, StaClient, datetime_literal, entity_path
from tests.agents.commission.conftest import example_site
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401

T0 = datetime(2026, 6, 21, 11, 0, tzinfo=UTC)
STEP = T0 + timedelta(minutes=15)


async def until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.2)


def test_the_agents_battery_power_drives_the_power_flow(sta_process: RunningServer,  # noqa: F811
                                                        tmp_path: pathlib.Path) -> None:
    site = example_site("fur-house")
    clock = SteppedClock(T0)
    with StaClient(sta_process.settings()) as sta:
        ids = commission(site, sta, clock.now())
        runtime = SiteRuntime(clock, sta_process.settings(), site_parts(site, ids, clock),
                              RuntimeOptions(tmp_path / "fur.sqlite", report_s=10))
        model = GridModel.load("fur", LonLat(8.9871, 56.8312), label=f"fur-{site.id}")
        loop = ClosedLoop(model, sta, LoopSettings(site_ids=frozenset({site.id})))
        p_ess = entity_path("Datastreams", ids.datastreams["P_ess"], "Observations")

        def ess_readings_until(moment: datetime) -> list[float]:
            query = (Query().filter(f"phenomenonTime le {datetime_literal(moment)}")
                     .orderby("phenomenonTime desc").select("result").top(1))
            return [float(row["result"]) for row in sta.page(p_ess, query).values]

        def reached_step() -> bool:
            query = Query().filter(f"phenomenonTime ge {datetime_literal(STEP - timedelta(seconds=10))}").top(1)
            return bool(sta.page(p_ess, query).values)

        async def scenario() -> StepResult:
            running = asyncio.create_task(runtime.run())
            await until(runtime.session.connected.is_set, 30, "the MQTT connection")
            for _ in range(15):
                await clock.advance(60)
            await until(reached_step, 60, "the battery readings up to the step")
            result = await asyncio.to_thread(loop.step, clock.now())
            running.cancel()
            return result

        result = asyncio.run(scenario())
        assert [d.bus for d in loop.devices] == [7]
        (charging_w,) = ess_readings_until(STEP)
        assert charging_w > 0  # June late morning: the LESSAg stores the house's PV surplus
        direct = GridModel.load("fur")
        assert result.vm_pu == pytest.approx(direct.run_step(STEP, [Injection(7, charging_w)]).vm_pu, abs=1e-9)
        assert result.vm_pu[7] < direct.run_step(STEP).vm_pu[7]
