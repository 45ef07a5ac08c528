"""`GET /metrics` of one process adds the counters other processes wrote to the run directory
(the multi-process mode end to end: tests/faults/test_worker_metrics.py)."""
from __future__ import annotations

import pathlib
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import Engine

from sta_server.api.metrics import COUNTERS_DIR
from sta_server.app import create_app
from sta_server.counters import MqttCounters, write_counters
from sta_server.mqtt.service import MqttService
from sta_server.service.events import EventBus
from sta_server.settings import Settings


@pytest.fixture
def notifier(settings: Settings, clean_db: Engine, broker_url: str) -> Iterator[MqttService]:
    """The MQTT service of an HTTP worker: notifications only, no creates."""
    worker = replace(settings, mqtt_url=broker_url, mqtt_client_id=f"sta-test-{uuid.uuid4().hex[:8]}")
    service = MqttService(worker, clean_db, EventBus(), ingest=False)
    service.start()
    assert service.connection.connected.wait(5)
    yield service
    service.stop()


def _metrics(settings: Settings, engine: Engine, mqtt: MqttService | None, folder: pathlib.Path | None) -> str:
    app = create_app(settings, engine)
    app.config["STA_MQTT"] = mqtt
    app.config[COUNTERS_DIR] = folder
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def test_a_worker_reports_the_ingest_process_counters(settings: Settings, clean_db: Engine, notifier: MqttService,
                                                      tmp_path: pathlib.Path) -> None:
    write_counters(tmp_path, 1, MqttCounters(takes_creates=True, accepted=42, rejected={"BadRequest": 3},
                                             duplicates=2, batches=5, notifications_published=40))
    write_counters(tmp_path, 2, MqttCounters(notifications_published=6))  # the other worker
    lines = _metrics(settings, clean_db, notifier, tmp_path).splitlines()
    for expected in ("sta_mqtt_enabled 1", "sta_mqtt_processes 3", "sta_mqtt_ingest_accepted_total 42",
                     'sta_mqtt_ingest_rejected_total{code="BadRequest"} 3', "sta_mqtt_ingest_duplicates_total 2",
                     "sta_mqtt_ingest_batches_total 5", "sta_mqtt_notifications_published_total 46"):
        assert expected in lines


def test_without_a_run_directory_only_the_own_counters_count(settings: Settings, clean_db: Engine,
                                                             notifier: MqttService) -> None:
    lines = _metrics(settings, clean_db, notifier, None).splitlines()
    assert "sta_mqtt_processes 1" in lines
    assert "sta_mqtt_ingest_accepted_total 0" in lines


def test_without_mqtt_the_metrics_say_so(settings: Settings, clean_db: Engine, tmp_path: pathlib.Path) -> None:
    write_counters(tmp_path, 1, MqttCounters(takes_creates=True, accepted=42))
    assert _metrics(settings, clean_db, None, tmp_path) == "# TYPE sta_mqtt_enabled gauge\nsta_mqtt_enabled 0\n"
