"""Issue 15 "Done when" (LESSAg): one Fur-like house on a stepped clock runs a simulated day at 10-s
telemetry and 1-minute decisions against a real server and broker. It falls back to self-consumption
while it has no schedule (and says so), takes a 1,440-value schedule Task created over HTTP, answers
it with `setpointAccepted = true` and its taskId, and its battery follows the schedule within its limits;
each bad Task (wrong day, wrong length, out of range, unknown capability, duplicate) is answered with
`accepted = false` and its reason; after midnight, without a schedule for the new day, it falls back
again."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import pathlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.cli import site_parts
from agents.commissioning import SiteIds, commission
from agents.runtime import RuntimeOptions, SiteRuntime
from agents.site import CapabilitySpec, PluginSpec, SiteSpec
from agents.site.capabilities import TemplateInput, er_mode, ess_schedule
from clock import SteppedClock
from sta_client import Query, StaClient
from tests.agents.commission.conftest import example_site
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401

log = logging.getLogger(__name__)

# today's midnight: the server partitions Observations by month and makes partitions from the current month
# on; a past month's rows would all go to its default partition
START = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
TELEMETRY_S = 10
MINUTES = 1440
BATTERY_W = 2400.0
# the server stores ~48,000 Observations of the day: minutes on a loaded 2-core machine
INGEST_WAIT_S = float(os.environ.get("D_FUR_INGEST_WAIT_S", "1800"))
POLLS = (MINUTES + 3) * 60 // TELEMETRY_S + 1  # 00:00:00 to 24:03:00 (the next day's 00:03) every 10 s


def schedule_w(minute: int) -> float:
    """The day's profile: idle, charge into the top of the SoC window, discharge into its bottom, charge,
    discharge at the full rating, then half-hourly swings."""
    hour = minute // 60
    if hour < 3:
        return 0.0
    if hour < 6:
        return 2000.0
    if hour < 10:
        return -1500.0
    if hour < 14:
        return 1200.0
    if hour < 18:
        return -BATTERY_W
    return 800.0 if (minute // 30) % 2 else -800.0


def fur_site() -> SiteSpec:
    """sites/fur-house.yaml with an id of its own, following schedules; its schedule capability is
    described as the generic +-10 kW ESS profile (so a value this 2.4 kW battery cannot do reaches the
    agent), and the ESS has a capability the LESSAg does not know."""
    site = example_site("fur-house")
    ess = site.device("ess")
    generic = ess_schedule(TemplateInput(ess.properties, 60, limit_w=10_000))
    capabilities = tuple(dataclasses.replace(c, tasking_parameters=generic) if c.key == "ess_schedule" else c
                         for c in ess.capabilities)
    capabilities += (CapabilitySpec("ess_mode", "ESS operation mode", "a mode the LESSAg does not take",
                                    er_mode(TemplateInput(ess.properties, None)), template="er-mode"),)
    devices = tuple(dataclasses.replace(d, capabilities=capabilities) if d.key == "ess" else d for d in site.devices)
    return dataclasses.replace(site, devices=devices,
                               plugins=(PluginSpec("lessag", {"strategy": "follow-schedule", "cycle_s": 60}),))


async def until(condition: Callable[[], bool], timeout_s: float, what: str, every_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(every_s)


class Server:
    """What the server holds of the site (read over HTTP)."""

    def __init__(self, client: StaClient, ids: SiteIds) -> None:
        self.client = client
        self.ids = ids

    def observations(self, key: str) -> list[dict[str, Any]]:
        query = Query().select("phenomenonTime", "result", "parameters").orderby("phenomenonTime asc").top(10_000)
        return list(self.client.iter(f"Datastreams({self.ids.datastreams[key]})/Observations", query))

    def count(self, key: str) -> int:
        page = self.client.get(f"Datastreams({self.ids.datastreams[key]})/Observations",
                               Query().count().top(0))
        return int(page["@iot.count"])

    def acks(self) -> dict[int | str, dict[str, Any]]:
        return {o["parameters"]["taskId"]: o for o in self.observations("setpointAccepted")}

    def modes(self) -> list[str]:
        return [str(o["result"]) for o in self.observations("lessagMode")]


def bad_tasks(ids: SiteIds) -> dict[str, tuple[int | str, dict[str, Any]]]:
    """Reason code → (capability id, Task parameters)."""
    schedule = ids.capabilities["ess_schedule"]
    return {
        "wrong-day": (schedule, {"startTime": (START - timedelta(days=1)).isoformat(),
                                 "powerProfile": [0.0] * MINUTES}),
        "wrong-length": (schedule, {"startTime": START.isoformat(), "powerProfile": [0.0] * (MINUTES - 1)}),
        "out-of-range": (schedule, {"startTime": START.isoformat(), "powerProfile": [5000.0] * MINUTES}),
        "unknown-capability": (ids.capabilities["ess_mode"], {"operationMode": 3}),
    }


def minute_of(text: str) -> float:
    return (datetime.fromisoformat(text.replace("Z", "+00:00")) - START).total_seconds() / 60


def test_a_fur_house_day(sta_process: RunningServer, tmp_path: pathlib.Path) -> None:  # noqa: F811
    site = fur_site()
    clock = SteppedClock(START)
    with StaClient(sta_process.settings()) as client:
        ids = commission(site, client, clock.now())
        server = Server(client, ids)
        runtime = SiteRuntime(clock, sta_process.settings(), site_parts(site, ids, clock),
                              RuntimeOptions(tmp_path / "fur.sqlite", report_s=10))
        valid = {"startTime": START.isoformat(), "powerProfile": [schedule_w(m) for m in range(MINUTES)]}
        task_ids: dict[str, int | str] = {}

        async def advance(minutes: int) -> None:
            for _ in range(minutes):
                await clock.advance(60)

        async def scenario() -> None:
            running = asyncio.create_task(runtime.run())
            await until(runtime.session.connected.is_set, 15, "the MQTT connection")
            await advance(5)
            await until(lambda: server.modes()[:1] == ["fallback:self-consumption"], 60, "the fallback")
            for reason, (capability, params) in bad_tasks(ids).items():
                task_ids[reason] = await asyncio.to_thread(client.create_task, capability, params)
            task_ids["valid"] = await asyncio.to_thread(client.create_task, ids.capabilities["ess_schedule"], valid)
            await until(lambda: task_ids["valid"] in server.acks(), 60, "the schedule's acknowledgement")
            task_ids["duplicate"] = await asyncio.to_thread(client.create_task, ids.capabilities["ess_schedule"], valid)
            await until(lambda: set(task_ids.values()) <= set(server.acks()), 60, "every acknowledgement")
            await advance(MINUTES - 5 + 3)  # the day, and three minutes of the next one
            began = time.monotonic()
            await until(lambda: server.count("P_ess") >= POLLS and len(server.modes()) >= 3, INGEST_WAIT_S,
                        "the server's ingest", every_s=2)
            log.info("the server had the day %.0f s after the clock reached its end", time.monotonic() - began)
            await until(lambda: runtime.outbox.rows == 0, 120, "the queue drained")
            running.cancel()

        try:
            asyncio.run(scenario())
        except AssertionError:
            lines = sta_process.server.log().splitlines()
            log.error("server log:\n%s", "\n".join(line for line in lines if "WARNING" in line or "ERROR" in line
                                                    or "ingest" in line)[-8000:])
            raise
        assert_acknowledged(server.acks(), task_ids)
        assert server.modes() == ["fallback:self-consumption", "follow-schedule", "fallback:self-consumption"]
        accepted_at = minute_of(server.acks()[task_ids["valid"]]["phenomenonTime"])
        assert_followed(server, int(accepted_at) + 1)
        assert server.count("P_ess") == POLLS  # every 10 s, none lost


def assert_acknowledged(acks: dict[int | str, dict[str, Any]], task_ids: dict[str, int | str]) -> None:
    assert acks[task_ids["valid"]]["result"] is True
    for reason, task_id in task_ids.items():
        if reason != "valid":
            assert acks[task_id]["result"] is False, reason
            assert str(acks[task_id]["parameters"]["reason"]).startswith(f"{reason}: "), acks[task_id]


def assert_followed(server: Server, first: int) -> None:
    """From the first decision after the schedule came until midnight, each minute's set-point in force
    is the schedule's unless the SoC window stops it, and the battery's 10-s power readings are it."""
    socs = {minute_of(o["phenomenonTime"]): float(o["result"]) for o in server.observations("SoC")}
    assert min(socs.values()) >= 10 - 1e-6 and max(socs.values()) <= 100 + 1e-6
    setpoints = {int(minute_of(o["phenomenonTime"])): float(o["result"]) for o in server.observations("P_dc_setpoint")}
    exact = 0
    for minute in range(first, MINUTES):
        wanted, got, soc = schedule_w(minute), setpoints[minute], socs[minute]
        if abs(got - wanted) < 0.01:
            exact += 1
            continue
        # only the SoC window holds it back: less of the same sign, near the window's edge
        assert 0 <= got / wanted < 1, (minute, wanted, got)
        assert (soc > 98 if wanted > 0 else soc < 12), (minute, wanted, got, soc)
    assert exact > 0.7 * (MINUTES - first)
    for reading in server.observations("P_ess"):
        at = minute_of(reading["phenomenonTime"])
        decided = int((at * 60 - 1) // 60)  # a reading at the end of a minute is still that minute's
        power = float(reading["result"])
        assert -BATTERY_W - 1e-6 <= power <= BATTERY_W + 1e-6
        if first <= decided < MINUTES and 11 < socs[at] < 99:
            assert abs(power - setpoints[decided]) < 0.01, (at, power, setpoints[decided])
