"""Tasks through a real server: a Task created while the site runs reaches its plug-in once and its
acknowledgement is stored; one created while the site is down is caught up over HTTP after the
restart, and the Task handled before is handed in again (state) without a second acknowledgement."""
from __future__ import annotations

import asyncio
import pathlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from sqlalchemy import text

from agents.observation_messages import StreamRef
from agents.runtime import RuntimeOptions, SiteParts, SiteRuntime
from agents.task_intake import CapabilityRef
from clock import SteppedClock
from tests.agents.runtime.conftest import LOCATION, SiteServer
from tests.agents.runtime.test_host import SetpointPlugin
from tests.s4g_capabilities import ESS_SETPOINT

ACK_STREAM = {"name": "setpoint accepted", "description": "d", "properties": {"key": "ack"},
              "unitOfMeasurement": {},
              "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_TruthObservation",
              "Sensor": {"name": "s", "description": "s", "encodingType": "text/plain", "metadata": "s"},
              "ObservedProperty": {"name": "accepted", "description": "a", "definition": "urn:test:accepted"}}


def make_capability(site_server: SiteServer) -> tuple[int, int]:
    """(TaskingCapability id, acknowledgement Datastream id) on a new Thing."""
    body = {"name": "ess", "description": "battery", "Locations": [LOCATION], "Datastreams": [ACK_STREAM],
            "TaskingCapabilities": [{"name": "setpoint", "description": "ESS set-point",
                                     "taskingParameters": ESS_SETPOINT,
                                     "Actuator": {"name": "inverter", "description": "a", "encodingType": "text/plain",
                                                  "metadata": "m"}}]}
    created = httpx.post(f"{site_server.base_url}/Things", json=body, timeout=30)
    assert created.status_code == 201, created.text
    thing = httpx.get(created.headers["location"], params={"$expand": "Datastreams,TaskingCapabilities"}).json()
    return thing["TaskingCapabilities"][0]["@iot.id"], thing["Datastreams"][0]["@iot.id"]


def create_task(site_server: SiteServer, capability: int, power: int) -> int:
    response = httpx.post(f"{site_server.base_url}/TaskingCapabilities({capability})/Tasks", timeout=30, json={
        "taskingParameters": {"powerSetpoint": power, "priority": 1, "startTime": "2026-12-06T10:00:00Z"}})
    assert response.status_code == 201, response.text
    return int(response.json()["@iot.id"]) if response.content else int(
        response.headers["location"].rsplit("(", 1)[1].rstrip(")"))


def acknowledged(site_server: SiteServer, stream: int) -> list[int]:
    with site_server.engine.connect() as conn:
        rows = conn.execute(text("SELECT parameters->>'taskId' FROM observations WHERE datastream_id = :s"),
                            {"s": stream}).scalars()
        return sorted(int(value) for value in rows)


async def until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.1)


def test_tasks_reach_their_plugin_once_and_are_caught_up_after_a_restart(site_server: SiteServer,
                                                                         tmp_path: pathlib.Path) -> None:
    capability, ack_stream = make_capability(site_server)
    clock = SteppedClock(datetime(2026, 12, 6, 10, tzinfo=UTC))
    parts = {"streams": {"ack": StreamRef(ack_stream)}, "capabilities": {"setpoint": CapabilityRef(capability, "ess")}}
    options = RuntimeOptions(tmp_path / "site.sqlite", client_id="smx-task-test")

    async def run_until(plugin: SetpointPlugin, condition: Callable[[], bool], task_power: int | None) -> list[int]:
        runtime = SiteRuntime(clock, site_server.settings(), SiteParts(**parts, plugins=[plugin]), options)
        running = asyncio.create_task(runtime.run())
        await until(runtime.session.connected.is_set, 15, "the MQTT connection")
        created = [await asyncio.to_thread(create_task, site_server, capability, task_power)] if task_power else []
        await until(condition, 60, "the Task handled and acknowledged")
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        return created

    first = SetpointPlugin()
    [task_1] = asyncio.run(run_until(first, lambda: acknowledged(site_server, ack_stream) != [], 1000))
    assert first.tasks == [task_1] and acknowledged(site_server, ack_stream) == [task_1]

    task_2 = create_task(site_server, capability, 2000)  # while the site is down
    second = SetpointPlugin()
    asyncio.run(run_until(second, lambda: len(acknowledged(site_server, ack_stream)) == 2, None))
    assert second.tasks == [task_1, task_2]  # task 1 for its state, task 2 caught up over HTTP
    assert acknowledged(site_server, ack_stream) == [task_1, task_2]


def backdate(site_server: SiteServer, task: int, hours: float) -> None:
    """The Task was created `hours` ago (the server ignores a client's creationTime)."""
    with site_server.engine.begin() as conn:
        conn.execute(text("UPDATE tasks SET creation_time = now() - make_interval(secs => :s) WHERE id = :t"),
                     {"s": hours * 3600, "t": task})


def test_a_new_queue_file_answers_the_unanswered_tasks_of_the_lookback_once(site_server: SiteServer,
                                                                          tmp_path: pathlib.Path) -> None:
    """Attack 10: a site started with a new (or lost) queue file answers the Tasks of the last day that
    have no acknowledgement on the server, and only those."""
    capability, ack_stream = make_capability(site_server)
    clock = SteppedClock(datetime(2026, 12, 6, 10, tzinfo=UTC))
    parts = {"streams": {"ack": StreamRef(ack_stream)}, "capabilities": {"setpoint": CapabilityRef(capability, "ess")},
             "ack_streams": {"setpoint": "ack"}}
    too_old = create_task(site_server, capability, 500)
    backdate(site_server, too_old, 30)  # beyond the 24 h look-back: left alone
    first_task = create_task(site_server, capability, 1000)  # made while no site runs
    backdate(site_server, first_task, 2)

    async def run_until(plugin: SetpointPlugin, queue: str, acks: int) -> SiteRuntime:
        options = RuntimeOptions(tmp_path / queue, client_id="smx-lookback-test")
        runtime = SiteRuntime(clock, site_server.settings(), SiteParts(**parts, plugins=[plugin]), options)
        running = asyncio.create_task(runtime.run())
        await until(lambda: len(acknowledged(site_server, ack_stream)) == acks and runtime.outbox.rows == 0,
                    60, f"{acks} acknowledgements stored")
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        return runtime

    first = SetpointPlugin()
    runtime = asyncio.run(run_until(first, "first.sqlite", 1))
    assert first.tasks == [first_task] and runtime.host.counters.tasks == 1
    assert acknowledged(site_server, ack_stream) == [first_task]

    second_task = create_task(site_server, capability, 2000)  # while the site is down
    backdate(site_server, second_task, 1)
    second = SetpointPlugin()  # the queue file is lost: a new one
    runtime = asyncio.run(run_until(second, "second.sqlite", 2))
    assert second.tasks == [first_task, second_task]  # the first for its state only, the second answered
    assert runtime.host.counters.tasks == 1 and runtime.intake is not None and runtime.intake.restored == 1
    assert acknowledged(site_server, ack_stream) == [first_task, second_task]
