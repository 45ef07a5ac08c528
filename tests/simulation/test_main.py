"""`python -m simulation` as a process against a real server: on an accelerated clock it commissions its
Thing, writes a status Observation per step, and ends cleanly on SIGTERM; bad settings exit 2."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sta_client import Query, StaClient, string_literal
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def environment(server: RunningServer, **extra: str) -> dict[str, str]:
    return {**os.environ, "STA_CLIENT_BASE_URL": server.base_url, "S4G_CLOCK": "accelerated",
            "S4G_CLOCK_START": "2026-06-21T11:00:00+00:00", "S4G_CLOCK_FACTOR": "900", "SIM_GRID": "fur",
            "SIM_SITES": "no-site-here", **extra}


def statuses(sta: StaClient, label: str) -> list[str]:
    query = Query().filter(f"properties/simulationId eq {string_literal('dsf-se/' + label)}").expand(
        "Datastreams", Query().filter(f"properties/key eq {string_literal('grid.status')}").expand(
            "Observations", Query().select("result")))
    things = list(sta.iter("Things", query))
    if not things or not things[0]["Datastreams"]:
        return []
    return [str(o["result"]) for o in things[0]["Datastreams"][0]["Observations"]]


def test_the_process_steps_and_stops_on_sigterm(sta_process: RunningServer) -> None:  # noqa: F811
    label = f"fur-main-{uuid.uuid4().hex[:6]}"
    process = subprocess.Popen([sys.executable, "-m", "simulation"], cwd=ROOT,
                               env=environment(sta_process, SIM_LABEL=label))
    try:
        with StaClient(sta_process.settings()) as sta:
            deadline = time.monotonic() + 120
            while len(statuses(sta, label)) < 2:
                assert process.poll() is None, "the simulation ended early"
                assert time.monotonic() < deadline, "no two steps within 120 s"
                time.sleep(0.5)
            assert set(statuses(sta, label)) == {"ok"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_bad_settings_exit_2(sta_process: RunningServer) -> None:  # noqa: F811
    done = subprocess.run([sys.executable, "-m", "simulation"], cwd=ROOT, timeout=60, check=False,
                          env=environment(sta_process, SIM_STEP_S="-5"))
    assert done.returncode == 2
