"""`GET /metrics` in the multi-process run mode (STA_HTTP_WORKERS=2): whichever HTTP worker
answers reports the ingest process's counters, and the notifications of every process."""
from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.faults.conftest import Broker, Publisher, Server, make_stream, wait_for


def _metrics(server: Server) -> dict[str, float]:
    response = httpx.get(server.base.removesuffix("/v1.1") + "/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return {name: float(value) for name, value in
            (line.rsplit(" ", 1) for line in response.text.splitlines() if not line.startswith("#"))}


def test_every_worker_reports_the_ingest_process_counters(broker: Broker,
                                                          start_server: Callable[..., Server]) -> None:
    server = start_server(STA_HTTP_WORKERS="2")
    wait_for(lambda: "MQTT ingest process running" in server.log(), 20, "the ingest process")
    stream = make_stream(server)
    publisher = Publisher(broker)
    publisher.publish(stream, range(120))
    publisher.client.publish(f"v1.1/Datastreams({stream})/Observations", b"{broken", qos=1).wait_for_publish(10)
    accepted = "sta_mqtt_ingest_accepted_total"
    wait_for(lambda: _metrics(server).get(accepted) == 120, 30, "the MQTT creates in /metrics")
    wait_for(lambda: _metrics(server)["sta_mqtt_processes"] == 3, 20, "both workers' and the ingest's counters")
    answers = [_metrics(server) for _ in range(20)]  # whichever worker gunicorn hands each to
    for metrics in answers:
        assert metrics[accepted] == 120
        assert metrics['sta_mqtt_ingest_rejected_total{code="BadRequest"}'] == 1
        assert metrics["sta_mqtt_ingest_batches_total"] >= 1
        assert metrics["sta_mqtt_processes"] == 3
    publisher.close()
