"""The plug-in host on a stepped clock: polls on time, a failing connector is reported and retried
without stopping the others, Tasks reach their plug-in once and are handed in again after a restart
with their readings dropped, commands reach connectors."""
from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from adapters.connector import Command, Reading
from agents.host import Host, Poll
from agents.observation_messages import StreamRef
from agents.outbox import Kind, Outbox
from agents.plugin import SiteContext, TaskMessage
from agents.task_ledger import TaskLedger
from clock import SteppedClock
from tests.agents.runtime.devices import CountingDevice

START = datetime(2026, 12, 6, tzinfo=UTC)
STREAMS = {key: StreamRef(n, f"s/{key}") for n, key in enumerate(["a", "b", "c", "ack", "broken.status"], 1)}


class BrokenDevice(CountingDevice):
    async def read(self) -> list[Reading]:
        raise ConnectionError("no route to device")


class SetpointPlugin:
    name, period_s = "setpoints", 60.0

    def __init__(self) -> None:
        self.tasks: list[int | str] = []
        self.cycles = 0

    @property
    def capabilities(self) -> Collection[str]:
        return ["setpoint"]

    async def on_task(self, task: TaskMessage, site: SiteContext) -> list[Reading]:
        self.tasks.append(task.task_id)
        result = await site.command(Command(task.device, task.capability, task.parameters, task.task_id))
        return [Reading("ack", result.accepted, site.clock.now(), {"taskId": task.task_id, "reason": result.reason})]

    async def cycle(self, site: SiteContext) -> None:
        self.cycles += 1
        assert site.latest("a") is not None


def host_of(tmp_path: pathlib.Path, clock: SteppedClock, *devices: CountingDevice,
            plugin: SetpointPlugin | None = None) -> Host:
    outbox = Outbox(tmp_path / "site.sqlite")
    return Host(clock, outbox, TaskLedger(outbox.connection), STREAMS, [Poll(device, 10.0) for device in devices],
                [plugin] if plugin else [], {"broken": "broken.status"})


def test_connectors_are_polled_every_telemetry_period_and_plugins_every_period(tmp_path: pathlib.Path) -> None:
    clock = SteppedClock(START)
    device, plugin = CountingDevice(clock, ["a", "b", "c"]), SetpointPlugin()
    host = host_of(tmp_path, clock, device, plugin=plugin)

    async def scenario() -> None:
        running = asyncio.create_task(host.run())
        await clock.advance(600)
        running.cancel()

    asyncio.run(scenario())
    assert [r.time for r in device.readings[::3]] == [START + timedelta(seconds=10 * n) for n in range(61)]
    assert plugin.cycles == 11
    assert host.outbox.rows >= 1 and host.counters.readings == 183


def test_a_failing_connector_is_reported_and_retried_and_the_others_go_on(tmp_path: pathlib.Path) -> None:
    clock = SteppedClock(START)
    good, broken = CountingDevice(clock, ["a"]), BrokenDevice(clock, ["b"], device="broken")
    host = host_of(tmp_path, clock, good, broken)

    async def scenario() -> None:
        running = asyncio.create_task(host.run())
        await clock.advance(600)
        running.cancel()

    asyncio.run(scenario())
    assert len(good.readings) == 61
    assert host.counters.failing["broken"] == host.counters.poll_failures >= 4  # backing off: 10, 20, 40, …
    assert host.counters.poll_failures < 10
    status = host.latest("broken.status")
    assert status is not None and status.value == "unreachable: no route to device"


def test_a_task_reaches_its_plugin_once_and_is_handed_in_again_after_a_restart(tmp_path: pathlib.Path) -> None:
    clock = SteppedClock(START)
    device, plugin = CountingDevice(clock, ["a"]), SetpointPlugin()
    host = host_of(tmp_path, clock, device, plugin=plugin)
    task = TaskMessage(42, "setpoint", "dev", {"power": 1000}, START)

    asyncio.run(host.handle_task(task))
    assert plugin.tasks == [42] and host.ledger.handled(42)
    [row] = host.outbox.peek()
    assert row.kind is Kind.ACKNOWLEDGEMENT and b'"taskId":42' in row.payload
    assert b"read-only test device" in row.payload  # the connector's answer, read back
    host.outbox.close()

    again = host_of(tmp_path, clock, device, plugin=SetpointPlugin())
    plugin_again = again.plugins[0]
    assert isinstance(plugin_again, SetpointPlugin)
    asyncio.run(again.rebuild())
    assert plugin_again.tasks == [42]
    assert len(again.outbox.peek()) == 1  # the rebuild's readings were dropped


def test_a_task_nobody_takes_is_not_marked_handled(tmp_path: pathlib.Path) -> None:
    clock = SteppedClock(START)
    host = host_of(tmp_path, clock, CountingDevice(clock, ["a"]), plugin=SetpointPlugin())
    asyncio.run(host.handle_task(TaskMessage(7, "unknown", "dev", {}, START)))
    assert not host.ledger.handled(7) and host.counters.task_failures == 1


class CrashingPlugin(SetpointPlugin):
    async def on_task(self, task: TaskMessage, site: SiteContext) -> list[Reading]:
        raise OverflowError("date value out of range")


def test_a_task_whose_plugin_fails_is_refused_and_marked_handled(tmp_path: pathlib.Path) -> None:
    clock = SteppedClock(START)
    outbox = Outbox(tmp_path / "site.sqlite")
    host = Host(clock, outbox, TaskLedger(outbox.connection), STREAMS, [], [CrashingPlugin()],
                ack_streams={"setpoint": "ack"})
    asyncio.run(host.handle_task(TaskMessage(9, "setpoint", "dev", {"startTime": "9999-12-31T12:00:00Z"}, START)))
    [row] = outbox.peek()
    assert host.ledger.handled(9) and row.kind is Kind.ACKNOWLEDGEMENT
    assert b'"result":false' in row.payload and b"internal: OverflowError: date value out of range" in row.payload
