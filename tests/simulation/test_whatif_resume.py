"""A what-if engine killed mid-job (a real `python -m simulation.whatif` process, SIGKILL) and started again
finishes its jobs: the running one from its last checkpoint, the queued one after it, each step's result on
the server exactly once and the KPIs those of an uninterrupted run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clock import RealClock
from simulation.whatif.request import parse_request
from simulation.whatif.service import WhatIfService
from simulation.whatif.study import Study
from sta_client import Query, StaClient
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401
from tests.conftest import ROOT
from tests.faults.conftest import wait_for
from tests.simulation.test_whatif_server import statuses, study_thing

FLUSH_STEPS = 8
THREE_DAYS = {"grid": "fur", "startTime": "2026-06-20T00:00:00Z", "stopTime": "2026-06-23T00:00:00Z",
              "pvPenetration": 100, "evPenetration": 50, "essPenetration": 100, "placement": "uniform",
              "controlMode": "gesscon"}
SHORT = {**THREE_DAYS, "stopTime": "2026-06-20T02:00:00Z", "controlMode": "local", "detail": "summary"}


class Runner:
    """`python -m simulation.whatif` against the test server, as many times as started."""

    def __init__(self, server: RunningServer, name: str, logs: Path) -> None:
        settings = server.settings()
        self.env = dict(os.environ, STA_CLIENT_BASE_URL=server.base_url, S4G_CLOCK="real", WHATIF_NAME=name,
                        WHATIF_POLL_S="0.2", WHATIF_FLUSH_STEPS=str(FLUSH_STEPS))
        if settings.username is not None and settings.password is not None:
            self.env.update(STA_CLIENT_USERNAME=settings.username, STA_CLIENT_PASSWORD=settings.password)
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"runner-{len(self.processes)}.log", "wb")  # noqa: SIM115 (the process keeps it)
        process = subprocess.Popen([sys.executable, "-m", "simulation.whatif"], cwd=ROOT, env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


@pytest.fixture
def runner(sta_process: RunningServer, tmp_path: Path) -> Iterator[Runner]:  # noqa: F811
    started = Runner(sta_process, f"what-if resume {uuid.uuid4().hex[:6]}", tmp_path)
    yield started
    started.stop_all()


def checkpoint_steps(sta: StaClient, task: int) -> int:
    rows = sta.page("Things", Query().filter(f"properties/role eq 'whatif-study' and properties/taskId eq {task}")
                    .select("properties").top(1)).values
    checkpoint = (rows[0]["properties"].get("checkpoint") or {}) if rows else {}
    return int(checkpoint.get("steps", 0))


def test_a_killed_engine_resumes_its_jobs_with_each_step_once_and_exact_kpis(
        sta_process: RunningServer, runner: Runner) -> None:  # noqa: F811
    engine = WhatIfService(sta_process.settings(), RealClock(), name=runner.env["WHATIF_NAME"])
    engine.commission()  # the runner process finds this engine by name
    assert engine.engine is not None
    uninterrupted = Study(parse_request(THREE_DAYS))
    expected_steps: list[Any] = []
    expected_kpis = uninterrupted.run(expected_steps.append)
    total = len(uninterrupted.times)
    with StaClient(sta_process.settings()) as sta:
        long_task = int(sta.create_task(engine.engine.study_capability, THREE_DAYS))
        short_task = int(sta.create_task(engine.engine.study_capability, SHORT))
        first = runner.start()
        wait_for(lambda: checkpoint_steps(sta, long_task) >= 3 * FLUSH_STEPS, 180, "three checkpoints", step=0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = checkpoint_steps(sta, long_task)
        assert killed_at < total, "the job ended before the kill: nothing was resumed"
        assert [state for state, _ in statuses(sta, engine, long_task)] == ["queued", "running"]
        assert [state for state, _ in statuses(sta, engine, short_task)] == ["queued"]

        runner.start()
        wait_for(lambda: [s for s, _ in statuses(sta, engine, short_task)][-1:] == ["done"], 300, "both jobs done")
        long_states = statuses(sta, engine, long_task)
        assert [state for state, _ in long_states] == ["queued", "running", "running", "done"]
        assert long_states[2][1]["resumedAtStep"] == killed_at
        assert [state for state, _ in statuses(sta, engine, short_task)] == ["queued", "running", "done"]

        thing = study_thing(sta, long_task)
        assert thing["properties"]["status"] == "done" and "checkpoint" not in thing["properties"]
        assert thing["properties"]["kpis"] == expected_kpis  # exact: the accumulators were checkpointed
        streams = {row["properties"]["key"]: row["@iot.id"] for row in thing["Datastreams"]}
        assert len(streams) > 40
        for key, stream in streams.items():  # every step's result once: no duplicate, none lost
            count = sta.page(f"Datastreams({stream})/Observations", Query().count().top(0)).count
            assert count == (1 if key == "kpis" else total), key
        written = [(row["phenomenonTime"], row["result"]) for row in sta.iter(
            f"Datastreams({streams['P_trafo_kW']})/Observations",
            Query().orderby("phenomenonTime").select("phenomenonTime", "result").top(1000))]
    assert [result for _, result in written] == [step.grid_p_kw for step in expected_steps]
    assert len({time for time, _ in written}) == total
