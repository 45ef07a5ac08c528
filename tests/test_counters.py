"""The MQTT counters the processes of the multi-process mode share through a run directory."""
from __future__ import annotations

import logging
import os
import pathlib
import time
from collections.abc import Callable

import pytest

from sta_server.counters import (
    CounterWriter,
    MqttCounters,
    counter_file,
    read_other_counters,
    total,
    write_counters,
)

INGEST = MqttCounters(takes_creates=True, accepted=300, rejected={"BadRequest": 2}, duplicates=4, batches=3,
                      queue_length=7, notifications_published=300, subscribed_paths=2)
WORKER = MqttCounters(notifications_published=5, subscribed_paths=3)


def test_written_counters_are_read_back_by_the_other_processes(tmp_path: pathlib.Path) -> None:
    write_counters(tmp_path, 101, INGEST)
    write_counters(tmp_path, 102, WORKER)
    assert read_other_counters(tmp_path, 102) == [INGEST]
    assert sorted(read_other_counters(tmp_path, 999), key=lambda c: c.accepted) == [WORKER, INGEST]
    assert not list(tmp_path.glob("*.tmp"))


def test_totals_take_ingest_counters_from_the_ingest_process_and_add_up_notifications() -> None:
    totals = total([WORKER, INGEST, WORKER])
    assert totals.processes == 3
    assert totals.counters == MqttCounters(
        takes_creates=True, accepted=300, rejected={"BadRequest": 2}, duplicates=4, batches=3, queue_length=7,
        notifications_published=310, subscribed_paths=3)


def test_a_worker_alone_reports_no_ingest() -> None:
    assert total([MqttCounters(accepted=9, notifications_published=1)]).counters == MqttCounters(
        notifications_published=1)


def test_an_unreadable_file_is_skipped_with_a_warning(tmp_path: pathlib.Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    write_counters(tmp_path, 101, INGEST)
    counter_file(tmp_path, 102).write_text("{not json")
    with caplog.at_level(logging.WARNING):
        assert read_other_counters(tmp_path, 1) == [INGEST]
    assert "unreadable counter file" in caplog.text


def _written(folder: pathlib.Path, accepted: int) -> bool:
    return read_other_counters(folder, 1) == [MqttCounters(accepted=accepted)]


def _wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_writer_writes_the_counters_while_they_change(tmp_path: pathlib.Path) -> None:
    current = [MqttCounters(accepted=1)]
    writer = CounterWriter(tmp_path, lambda: current[0], interval_s=0.05)
    writer.start()
    _wait_until(lambda: _written(tmp_path, 1))
    current[0] = MqttCounters(accepted=2)
    _wait_until(lambda: _written(tmp_path, 2))
    writer.stop()
    assert [path.name for path in tmp_path.iterdir()] == [counter_file(tmp_path, os.getpid()).name]


def test_the_writer_writes_the_last_counters_when_stopped(tmp_path: pathlib.Path) -> None:
    current = [MqttCounters(accepted=1)]
    writer = CounterWriter(tmp_path, lambda: current[0], interval_s=600)
    writer.start()  # once at the start, then every ten minutes
    _wait_until(lambda: _written(tmp_path, 1))
    current[0] = MqttCounters(accepted=2)
    writer.stop()
    assert _written(tmp_path, 2)
