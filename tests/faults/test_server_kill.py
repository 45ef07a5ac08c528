"""SIGKILL of the server in the middle of MQTT ingest: after a restart the broker redelivers what
was not acknowledged, and the idempotency keys keep redeliveries of stored messages out."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from tests.faults.conftest import Broker, Publisher, Server, make_stream, stored, wait_for

MESSAGES = 3000


def test_sigkill_during_ingest_loses_and_doubles_nothing(db: Engine, broker: Broker,
                                                         start_server: Callable[..., Server]) -> None:
    server = start_server("sta-faults-kill")
    stream = make_stream(server)
    publisher = Publisher(broker)
    publisher.publish(stream, range(MESSAGES))
    wait_for(lambda: stored(db, stream)[0] > 0, 30, "the first stored Observations", step=0.01)
    server.kill()
    at_kill = stored(db, stream)[0]
    restarted = start_server("sta-faults-kill")
    wait_for(lambda: stored(db, stream)[1] == MESSAGES, 60, "every message stored")
    publisher.close()
    assert at_kill < MESSAGES  # the kill did interrupt the ingest
    assert stored(db, stream) == (MESSAGES, MESSAGES)
    wait_for(lambda: restarted.ingest_counter("accepted") == MESSAGES - at_kill, 15,
             "the restarted server to report what it stored")
