"""kill -9 of each child process of the default run mode (STA_HTTP_WORKERS=2) while devices publish:
the ingest process is restarted by the server (back-off, logged, counted), an HTTP worker by gunicorn;
MQTT creates resume and every acknowledged one is stored once (they carry idempotency keys)."""
from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Callable

import httpx
from sqlalchemy import Engine

from tests.faults.conftest import Broker, Publisher, Server, make_stream, stored, wait_for

SLICES = 40
PER_SLICE = 150  # 6,000 in all, over a few seconds


def _ingest_pid(server: Server) -> int | None:
    found = [pid for pid, command in server.children().items() if "sta_server.ingest_process" in command]
    return found[0] if found else None


def _worker_pids(server: Server) -> set[int]:
    return {pid for pid, command in server.children().items() if "sta_server.ingest_process" not in command}


def _metrics(server: Server) -> str:
    return httpx.get(server.base.removesuffix("/v1.1") + "/metrics", timeout=10).text


def _publish_slowly(publisher: Publisher, stream: int) -> None:
    for number in range(SLICES):
        publisher.publish(stream, range(number * PER_SLICE, (number + 1) * PER_SLICE))
        time.sleep(0.1)


def test_killed_processes_come_back_and_nothing_acknowledged_is_lost(
        db: Engine, broker: Broker, start_server: Callable[..., Server]) -> None:
    server = start_server(STA_HTTP_WORKERS="2")
    wait_for(lambda: "MQTT ingest process running" in server.log(), 20, "the ingest process")
    wait_for(lambda: len(_worker_pids(server)) == 2, 20, "two HTTP workers")
    stream = make_stream(server)
    publisher = Publisher(broker)
    sender = threading.Thread(target=_publish_slowly, args=(publisher, stream))
    sender.start()
    wait_for(lambda: stored(db, stream)[0] > 0, 30, "the first stored creates", step=0.02)
    first_ingest = _ingest_pid(server)
    assert first_ingest is not None
    os.kill(first_ingest, signal.SIGKILL)
    wait_for(lambda: "MQTT ingest process is running again" in server.log(), 30, "the ingest restart")
    workers = _worker_pids(server)
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(_worker_pids(server) - workers) == 1 and victim not in _worker_pids(server), 30,
             "a new HTTP worker")
    sender.join()
    total = SLICES * PER_SLICE
    wait_for(lambda: stored(db, stream)[1] == total, 60, "every acknowledged create stored")
    publisher.close()
    assert stored(db, stream) == (total, total)
    assert _ingest_pid(server) not in (None, first_ingest)
    assert f"the MQTT ingest process (pid {first_ingest}) ended" in server.log()
    assert "restart 1 in 1 s" in server.log()
    wait_for(lambda: "sta_ingest_process_restarts_total 1" in _metrics(server), 10, "the restart in /metrics")
    created = httpx.post(f"{server.base}/Datastreams({stream})/Observations", timeout=10,
                         json={"phenomenonTime": "2026-01-01T00:00:00Z", "result": -1})
    assert created.status_code == 201


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_killed_master_takes_its_processes_along_and_a_new_one_takes_over(
        db: Engine, broker: Broker, start_server: Callable[..., Server]) -> None:
    client_id = f"sta-faults-master-{uuid.uuid4().hex[:6]}"  # this test's own session (it also runs under granian)
    first = start_server(client_id, STA_HTTP_WORKERS="2")
    wait_for(lambda: "MQTT ingest process running" in first.log(), 20, "the ingest process")
    stream = make_stream(first)
    children = first.children()
    assert len(children) == 3
    first.kill()  # the master: nothing in it runs any more; systemd (here: the test) starts a new one
    wait_for(lambda: not any(_alive(pid) for pid in children), 15, "the workers and the ingest process to leave")
    assert "the parent process" in first.log() and "the MQTT ingest process stops" in first.log()
    second = start_server(client_id, STA_HTTP_WORKERS="2")
    wait_for(lambda: "MQTT ingest process running" in second.log(), 20, "the new ingest process")
    publisher = Publisher(broker)
    publisher.publish(stream, range(1000))
    wait_for(lambda: stored(db, stream)[1] == 1000, 30, "the creates stored by the new server")
    publisher.close()
    assert stored(db, stream) == (1000, 1000)
    assert second.log().count("connected to MQTT broker") == 3  # two notifiers and one ingest: no takeovers
