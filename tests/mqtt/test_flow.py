"""Flow control of MQTT creates (sta_server/mqtt/flow.py): the ingest queue never blocks the
producer and hands paced messages out in their turn; rejections are logged sparingly."""
from __future__ import annotations

import logging
import queue
import threading

import pytest

from sta_server.mqtt.flow import IngestQueue, RejectLog


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_put_never_blocks_and_full_is_the_high_water_mark() -> None:
    items: IngestQueue[int] = IngestQueue(high_water=3)
    for number in range(10):  # far beyond the mark: no blocking, nothing refused
        items.put(number)
    assert items.full() and items.qsize() == 10
    assert [items.get(timeout=0) for _ in range(8)] == list(range(8))
    assert not items.full()


def test_paced_items_come_out_in_their_turn() -> None:
    clock = _Clock()
    items: IngestQueue[str] = IngestQueue(high_water=100, clock=clock)
    items.put("late", 2.0)
    items.put("soon", 1.0)
    items.put("now")
    assert items.qsize() == 3 and items.waiting() == 2
    assert items.get(timeout=0) == "now"
    with pytest.raises(queue.Empty):
        items.get(block=False)
    clock.now += 1.0
    assert items.get(timeout=0) == "soon"
    clock.now += 1.0
    assert items.get(timeout=0) == "late"


def test_get_waits_for_a_paced_item_and_for_a_put() -> None:
    items: IngestQueue[str] = IngestQueue(high_water=100)
    items.put("paced", 0.05)
    assert items.get(timeout=5) == "paced"  # woken by its due time, not by a put
    threading.Timer(0.05, items.put, args=("put",)).start()
    assert items.get(timeout=5) == "put"
    with pytest.raises(queue.Empty):
        items.get(timeout=0.01)


def test_rejections_beyond_the_first_of_a_window_are_summed_up(caplog: pytest.LogCaptureFixture) -> None:
    clock = _Clock()
    rejections = RejectLog(window_s=10, first=10, clock=clock)
    with caplog.at_level(logging.WARNING, logger="sta_server.mqtt.flow"):
        for number in range(1000):
            rejections.note(f"v1.1/Datastreams({number})/Observations", "BadRequest" if number % 2 else "NotFound",
                            "no")
        assert len(caplog.records) == 10
        clock.now += 10
        rejections.flush()
        rejections.flush()  # nothing more to say
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 11
    assert lines[-1] == "990 more MQTT messages rejected in 10 s, not logged one by one (BadRequest 495, NotFound 495)"
