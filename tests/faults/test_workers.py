"""The multi-process run mode (STA_HTTP_WORKERS=2): gunicorn HTTP workers with their own MQTT
notifiers, one ingest process; creates over MQTT are stored once, HTTP creates are notified."""
from __future__ import annotations

import pathlib
import time
from collections.abc import Callable

import httpx
from sqlalchemy import Engine

from tests.faults.conftest import Broker, Publisher, Server, Subscriber, make_stream, stored, wait_for


def _children(pid: int) -> list[int]:
    found = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_workers_serve_http_notify_and_ingest(db: Engine, broker: Broker,
                                              start_server: Callable[..., Server]) -> None:
    server = start_server(STA_HTTP_WORKERS="2")
    assert server.process is not None
    wait_for(lambda: len(_children(server.process.pid)) >= 3, 20, "two HTTP workers and the ingest process")
    # the ingest process's first session: creates published before it subscribed are not its to take
    wait_for(lambda: "MQTT ingest process running" in server.log(), 20, "the ingest process")
    stream = make_stream(server)
    subscriber = Subscriber(broker, f"v1.1/Datastreams({stream})/Observations")
    for attempt in range(50):  # until a worker's notifier has learnt the subscription
        response = httpx.post(f"{server.base}/Datastreams({stream})/Observations", timeout=10,
                              json={"phenomenonTime": "2026-01-01T00:00:00Z", "result": -1 - attempt})
        assert response.status_code == 201
        time.sleep(0.2)
        if subscriber.ids:
            break
    assert subscriber.ids, "no worker notified the HTTP create"
    publisher = Publisher(broker)
    publisher.publish(stream, range(300))
    wait_for(lambda: stored(db, stream)[0] >= 300 + attempt + 1, 30, "the MQTT creates stored")
    rows, distinct = stored(db, stream)
    assert rows == distinct == 300 + attempt + 1
    publisher.close()
    subscriber.close()
