"""What-if jobs against a real server: a Task is accepted and queued, runs with progress Observations,
its results are queryable (also with st_within on the buses' FeaturesOfInterest), a second job waits
for the first, a cancel stops a running job and takes a waiting one out, a Task the engine cannot run
is rejected with its reason, and the runner's loop on the clock does all of it by itself."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from clock import RealClock
from simulation.whatif.service import WhatIfService
from sta_client import BadRequest, Query, StaClient
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401
from tests.faults.conftest import wait_for

SHORT = {"grid": "fur", "startTime": "2026-06-21T10:00:00Z", "stopTime": "2026-06-21T12:00:00Z",
         "pvPenetration": 100, "evPenetration": 0, "essPenetration": 50, "placement": "uniform",
         "controlMode": "local"}
# almost a year: cancelled long before its end
LONG = {**SHORT, "startTime": "2026-01-01T00:00:00Z", "stopTime": "2026-12-26T00:00:00Z", "detail": "summary"}


@pytest.fixture
def service(sta_process: RunningServer) -> Iterator[WhatIfService]:  # noqa: F811
    engine = WhatIfService(sta_process.settings(), RealClock(), name=f"what-if test {uuid.uuid4().hex[:6]}",
                           flush_every=2)
    engine.commission()
    yield engine
    for job in engine.queue.jobs.values():
        job.cancel.set()
    engine.wait_idle(60)


def statuses(sta: StaClient, service: WhatIfService, task_id: int) -> list[tuple[str, dict[str, Any]]]:
    assert service.engine is not None
    query = Query().filter(f"parameters/taskId eq {task_id}").orderby("id").select("result", "parameters")
    return [(row["result"], row["parameters"])
            for row in sta.iter(f"Datastreams({service.engine.status_stream})/Observations", query)]


def progress(sta: StaClient, service: WhatIfService, task_id: int) -> list[float]:
    assert service.engine is not None
    query = Query().filter(f"parameters/taskId eq {task_id}").orderby("id").select("result")
    return [row["result"] for row in sta.iter(f"Datastreams({service.engine.progress_stream})/Observations", query)]


def study_thing(sta: StaClient, task_id: int) -> dict[str, Any]:
    query = Query().filter(f"properties/role eq 'whatif-study' and properties/taskId eq {task_id}")
    rows = sta.page("Things", query.expand("Datastreams", Query().select("id", "properties").top(1000))).values
    assert len(rows) == 1
    return rows[0]


def test_a_job_runs_with_progress_and_its_results_are_queryable(sta_process: RunningServer,  # noqa: F811
                                                                service: WhatIfService) -> None:
    assert service.engine is not None
    with StaClient(sta_process.settings()) as sta:
        task = int(sta.create_task(service.engine.study_capability, SHORT))
        service.poll()
        assert service.start_next() is not None
        assert service.wait_idle(120)
        assert [state for state, _ in statuses(sta, service, task)] == ["queued", "running", "done"]
        assert progress(sta, service, task) == [25.0, 50.0, 75.0, 100.0]
        thing = study_thing(sta, task)
        streams = {row["properties"]["key"]: row["@iot.id"] for row in thing["Datastreams"]}
        bus_streams = [key for key in streams if key.startswith("vm_pu:")]
        assert len(bus_streams) == 14 and len([key for key in streams if key.startswith("loading_pct:")]) == 13
        voltages = sta.page(f"Datastreams({streams[bus_streams[0]]})/Observations", Query().count().top(0))
        assert voltages.count == 8  # two hours of quarter hours
        kpis = sta.page(f"Datastreams({streams['kpis']})/Observations", Query().select("result")).values
        assert kpis[0]["result"]["stepsOk"] == 8 and kpis[0]["result"]["voltageSamples"] == 8 * 14
        assert thing["properties"]["status"] == "done"
        # st_within on the buses' FeaturesOfInterest: a box around one bus finds that bus's voltages only
        feature = sta.page(f"Datastreams({streams[bus_streams[0]]})/Observations",
                           Query().select("id").expand("FeatureOfInterest").top(1)).values[0]["FeatureOfInterest"]
        lon, lat = feature["feature"]["coordinates"]
        box = (f"POLYGON(({lon - 1e-5} {lat - 1e-5}, {lon + 1e-5} {lat - 1e-5}, {lon + 1e-5} {lat + 1e-5}, "
               f"{lon - 1e-5} {lat + 1e-5}, {lon - 1e-5} {lat - 1e-5}))")
        inside = sta.page("Observations", Query().filter(
            f"st_within(FeatureOfInterest/feature, geography'{box}') and Datastream/Thing/id eq {thing['@iot.id']}")
            .count().top(0))
        assert inside.count == 8


def test_a_second_job_queues_and_a_cancel_stops_the_running_one(sta_process: RunningServer,  # noqa: F811
                                                                 service: WhatIfService) -> None:
    assert service.engine is not None
    with StaClient(sta_process.settings()) as sta:
        first = int(sta.create_task(service.engine.study_capability, LONG))
        second = int(sta.create_task(service.engine.study_capability, SHORT))
        third = int(sta.create_task(service.engine.study_capability, SHORT))
        service.poll()
        assert [params.get("position") for _, params in statuses(sta, service, second)] == [2]
        assert service.start_next() is not None and service.start_next() is None  # one at a time
        wait_for(lambda: len(progress(sta, service, first)) >= 1, 120, "the first job's progress")
        sta.create_task(service.engine.cancel_capability, {"taskId": first})
        sta.create_task(service.engine.cancel_capability, {"taskId": third})
        service.poll()
        assert [state for state, _ in statuses(sta, service, third)] == ["queued", "cancelled"]
        assert service.wait_idle(120)
        assert [state for state, _ in statuses(sta, service, first)] == ["queued", "running", "cancelled"]
        assert progress(sta, service, first)[-1] < 100.0
        assert study_thing(sta, first)["properties"]["status"] == "cancelled"
        assert [state for state, _ in statuses(sta, service, second)] == ["queued"]
        service.start_next()
        assert service.wait_idle(120)
        assert [state for state, _ in statuses(sta, service, second)] == ["queued", "running", "done"]
        assert service.start_next() is None  # the cancelled third never runs


def test_a_task_the_engine_cannot_run_is_rejected_with_its_reason(sta_process: RunningServer,  # noqa: F811
                                                                  service: WhatIfService) -> None:
    assert service.engine is not None
    with StaClient(sta_process.settings()) as sta:
        with pytest.raises(BadRequest, match="pvPenetration"):
            sta.create_task(service.engine.study_capability, {**SHORT, "pvPenetration": 150})
        task = int(sta.create_task(service.engine.study_capability, {**SHORT, "stopTime": SHORT["startTime"]}))
        service.poll()
        [(state, parameters)] = statuses(sta, service, task)
    assert state == "rejected" and "stopTime must be after startTime" in parameters["reason"]
    assert service.start_next() is None


def test_a_gesscon_job_runs_to_done_with_its_plan_in_the_kpis(sta_process: RunningServer,  # noqa: F811
                                                              service: WhatIfService) -> None:
    assert service.engine is not None
    with StaClient(sta_process.settings()) as sta:
        task = int(sta.create_task(service.engine.study_capability, {**SHORT, "controlMode": "gesscon"}))
        service.poll()
        assert service.start_next() is not None
        assert service.wait_idle(120)
        assert [state for state, _ in statuses(sta, service, task)] == ["queued", "running", "done"]
        thing = study_thing(sta, task)
    kpis = thing["properties"]["kpis"]
    assert thing["properties"]["request"]["control"] == "gesscon"
    assert kpis["stepsOk"] == 8 and kpis["plannedDays"] == 1 and kpis["plansNotOptimal"] == 0


def test_the_runner_loop_takes_and_runs_tasks_by_itself(sta_process: RunningServer,  # noqa: F811
                                                        service: WhatIfService) -> None:
    assert service.engine is not None
    capability = service.engine.study_capability

    async def scenario() -> list[str]:
        stop = asyncio.Event()
        loop = asyncio.create_task(service.serve(0.1, stop))
        with StaClient(sta_process.settings()) as sta:
            task = int(await asyncio.to_thread(sta.create_task, capability, SHORT))
            for _ in range(1200):
                found = [state for state, _ in await asyncio.to_thread(statuses, sta, service, task)]
                if found[-1:] == ["done"]:
                    break
                await asyncio.sleep(0.1)
        stop.set()
        await loop
        return found

    assert asyncio.run(scenario()) == ["queued", "running", "done"]
