"""PostgreSQL restarted under load: HTTP answers 503 with Retry-After (quickly, never a hang),
MQTT creates stay unacknowledged at the broker, and the server recovers by itself."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
from sqlalchemy import Engine

from tests.faults.conftest import Broker, Cluster, Publisher, Server, make_stream, stored, wait_for

MESSAGES = 2000


def test_database_restart_loses_nothing_and_answers_503(db: Engine, cluster: Cluster, broker: Broker,
                                                        start_server: Callable[..., Server]) -> None:
    server = start_server()
    stream = make_stream(server)
    publisher = Publisher(broker)
    publisher.publish(stream, range(MESSAGES // 2))
    cluster.stop()
    sender = threading.Thread(target=publisher.publish, args=(stream, range(MESSAGES // 2, MESSAGES)))
    sender.start()  # the broker accepts these while the database is down
    started = time.monotonic()
    response = httpx.get(f"{server.base}/Datastreams({stream})/Observations", timeout=30)
    answered_s = time.monotonic() - started
    sender.join()
    time.sleep(1)
    cluster.start()
    wait_for(lambda: stored(db, stream)[1] == MESSAGES, 60, "every message stored after the restart")
    publisher.close()
    assert (response.status_code, response.headers.get("Retry-After")) == (503, "5")
    assert answered_s < 10
    assert stored(db, stream) == (MESSAGES, MESSAGES)
    assert httpx.get(f"{server.base}/Datastreams({stream})", timeout=10).status_code == 200
