"""The LEVChAg plug-in over simulated charge points, with a small in-test site: Tasks, limits sent to
the charge points, the LESSAg's limit through the data set, the daily forecast."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.connector import Command, CommandResult, Reading
from adapters.simulated.connectors import SimulatedChargePoint, build_chargepoint
from agents.levchag.plugin import LevchagPlugin, build_levchag
from agents.plugin import TaskMessage
from agents.site import PluginSpec, load_site
from clock import Clock, SteppedClock

SITES = Path(__file__).resolve().parents[3] / "sites"
START = datetime(2026, 6, 1, 17, tzinfo=UTC)


class Site:
    def __init__(self, clock: SteppedClock, points: dict[str, SimulatedChargePoint]) -> None:
        self._clock = clock
        self.points = points
        self.data: dict[str, Reading] = {}
        self.published: list[Reading] = []
        self.commands: list[Command] = []

    @property
    def clock(self) -> Clock:
        return self._clock

    def latest(self, datastream: str) -> Reading | None:
        return self.data.get(datastream)

    def publish(self, reading: Reading, *, event: bool = False) -> None:
        if reading.datastream not in self.data or reading.time >= self.data[reading.datastream].time:
            self.data[reading.datastream] = reading
        self.published.append(reading)

    async def command(self, command: Command) -> CommandResult:
        self.commands.append(command)
        return await self.points[command.device].write(command)

    async def poll(self) -> None:
        for point in self.points.values():
            for reading in await point.read():
                self.data[reading.datastream] = reading


def _plugin(file: str = "bolzano-residential.yaml", **options: Any) -> LevchagPlugin:
    return build_levchag(load_site(SITES / file), PluginSpec("levchag", {"forecast_draws": 20, **options}))


def _site(clock: SteppedClock, plugin: LevchagPlugin) -> Site:
    points = {}
    for point in plugin.config.points:
        connector = build_chargepoint(point.device, {"max_power_w": point.max_power_w, "seed": 5, "keys": {
            "power": point.power_key, "status": point.status_key}}, clock)
        assert isinstance(connector, SimulatedChargePoint)
        points[point.device] = connector
    return Site(clock, points)


def _task(task_id: int, capability: str, **params: Any) -> TaskMessage:
    return TaskMessage(task_id, capability, "cp1", params, None)


def test_the_config_finds_the_charge_points_and_capabilities() -> None:
    plugin = _plugin()
    assert [(p.device, p.max_power_w, p.power_key) for p in plugin.config.points] == [("cp1", 7400, "cp1.P_ev")]
    assert set(plugin.capabilities) == {"cp1.ev_load_reduction", "cp1.enable"}
    commercial = _plugin("bolzano-commercial.yaml")
    assert "ev_load_reduction" in commercial.capabilities and len(commercial.config.points) == 5


def test_a_load_reduction_task_limits_the_charge_point() -> None:
    async def scenario() -> tuple[list[Reading], Site]:
        clock = SteppedClock(START)
        plugin = _plugin()
        site = _site(clock, plugin)
        acks = await plugin.on_task(_task(1, "cp1.ev_load_reduction", startTime=START.isoformat(),
                                          maxPowerProfile=[2_000.0] * 16), site)
        await plugin.cycle(site)
        return acks, site

    acks, site = asyncio.run(scenario())
    assert (acks[0].value, acks[0].parameters["taskId"]) == (True, 1)
    assert site.commands[-1].parameters == {"maxPower": 2_000.0, "enabled": True}
    assert site.points["cp1"].point.limit_w == 2_000


def test_the_lessag_limit_is_shared_and_expires() -> None:
    async def scenario() -> tuple[list[float], Site]:
        clock = SteppedClock(START)
        plugin = _plugin("bolzano-commercial.yaml")
        site = _site(clock, plugin)
        until = (START + timedelta(minutes=2)).isoformat()
        site.publish(Reading("evLoadLimit", 10_000.0, START, {"until": until}))
        await plugin.cycle(site)
        first = [site.points[d].point.limit_w for d in sorted(site.points)]
        await clock.advance(180)
        await plugin.cycle(site)
        return first, site

    first, site = asyncio.run(scenario())
    assert sum(first) == pytest.approx(10_000)
    assert [site.points[d].point.limit_w for d in sorted(site.points)] == [22_000, 22_000, 22_000, 7_400, 7_400]


def test_a_disabled_charge_point_gets_no_power() -> None:
    async def scenario() -> Site:
        clock = SteppedClock(START)
        plugin = _plugin()
        site = _site(clock, plugin)
        await plugin.on_task(_task(2, "cp1.enable", enabled=False), site)
        await plugin.cycle(site)
        return site

    assert asyncio.run(scenario()).commands[-1].parameters == {"maxPower": 7_400.0, "enabled": False}


@pytest.mark.parametrize(("capability", "params", "reason"), [
    ("cp1.ev_load_reduction", {"startTime": "2026-05-01T00:00:00Z", "maxPowerProfile": [0.0]}, "wrong-day"),
    ("cp1.ev_load_reduction", {"startTime": "2026-06-01T17:00:00Z", "maxPowerProfile": [9e3]}, "out-of-range"),
    ("ess_schedule", {}, "unknown-capability"),
])
def test_a_bad_task_is_answered(capability: str, params: dict[str, Any], reason: str) -> None:
    async def scenario() -> list[Reading]:
        clock = SteppedClock(START)
        plugin = _plugin()
        return await plugin.on_task(_task(3, capability, **params), _site(clock, plugin))

    [ack] = asyncio.run(scenario())
    assert ack.value is False and str(ack.parameters["reason"]).startswith(reason)


def test_the_day_forecast_is_published_once_per_day() -> None:
    async def scenario() -> Site:
        clock = SteppedClock(START)
        plugin = _plugin()
        site = _site(clock, plugin)
        for _ in range(3):
            await plugin.cycle(site)
            await clock.advance(60)
        await clock.advance_to(datetime(2026, 6, 2, 0, 1, tzinfo=UTC))
        await plugin.cycle(site)
        return site

    site = asyncio.run(scenario())
    forecast = [r for r in site.published if r.datastream == "evLoadForecast"]
    assert len(forecast) == 2 * 96
    assert forecast[0].time == datetime(2026, 6, 1, tzinfo=UTC)
    assert forecast[96].time == datetime(2026, 6, 2, tzinfo=UTC)
    assert forecast[0].result_time == START and forecast[96].result_time == datetime(2026, 6, 2, 0, 1, tzinfo=UTC)
    evening = max(float(r.value) for r in forecast[72:88])  # type: ignore[arg-type]
    assert evening > 1_000


def test_the_total_ev_power_is_published_every_cycle() -> None:
    async def scenario() -> Site:
        clock = SteppedClock(START)
        plugin = _plugin()
        site = _site(clock, plugin)
        arrival = site.points["cp1"].point.sessions[0].arrival
        await clock.advance_to(arrival)
        await site.poll()
        await clock.advance(10)
        await site.poll()
        await plugin.cycle(site)
        return site

    site = asyncio.run(scenario())
    total = site.data["P_ev_total"]
    assert total.value == site.data["cp1.P_ev"].value and float(total.value) > 0  # type: ignore[arg-type]
