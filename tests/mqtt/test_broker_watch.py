"""The alarm on the broker's queue (sta_server/mqtt/broker_watch.py) from its `$SYS` counters."""
from __future__ import annotations

import logging

import pytest

from sta_server.api.metrics import render_metrics
from sta_server.counters import MqttCounters, total
from sta_server.mqtt.broker_watch import DROPPED, STORE_BYTES, STORE_COUNT, BrokerWatch


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_alarm_at_half_the_bound_once_and_cleared_below_a_quarter(caplog: pytest.LogCaptureFixture) -> None:
    watch = BrokerWatch(max_messages=1000, max_bytes=10_000)
    assert not watch.feed("$SYS/broker/log/N", "x")  # not a counter: for the registry
    assert watch.feed(STORE_COUNT, "499") and watch.feed(STORE_BYTES, "100")
    assert not watch.state.alarm and _errors(caplog) == []
    watch.feed(STORE_COUNT, "500")
    watch.feed(STORE_COUNT, "900")  # still the same alarm: one line
    assert watch.state.alarm
    assert len(_errors(caplog)) == 1 and "at 50% of its bound" in _errors(caplog)[0]
    watch.feed(STORE_COUNT, "300")  # below half, above a quarter: still on
    assert watch.state.alarm
    watch.feed(STORE_COUNT, "200")
    assert not watch.state.alarm


def test_bytes_count_as_much_as_messages() -> None:
    watch = BrokerWatch(max_messages=1000, max_bytes=10_000)
    watch.feed(STORE_BYTES, "6000")
    assert watch.state.alarm and watch.fill() == 0.6


def test_every_drop_is_an_error_after_the_first_reading(caplog: pytest.LogCaptureFixture) -> None:
    watch = BrokerWatch(max_messages=1000, max_bytes=0)
    watch.feed(DROPPED, "7")  # dropped before this server watched: a baseline
    assert _errors(caplog) == []
    watch.feed(DROPPED, "7")
    watch.feed(DROPPED, "10")
    assert _errors(caplog) == ["MQTT broker dropped 3 messages (10 since it started): a queue bound was reached"]


def test_a_process_that_does_not_take_creates_is_silent_but_counts(caplog: pytest.LogCaptureFixture) -> None:
    watch = BrokerWatch(max_messages=10, max_bytes=0, log_alarms=False)
    watch.feed(STORE_COUNT, "9")
    assert watch.state.alarm and _errors(caplog) == []


def test_broker_counters_in_the_metrics() -> None:
    quiet = MqttCounters(takes_creates=True)
    alarmed = MqttCounters(broker_messages=600_000, broker_bytes=40_000_000, broker_dropped=0, broker_alarm=True)
    text = render_metrics(total([quiet, alarmed]))
    assert "sta_mqtt_broker_queue_alarm 1" in text
    assert "sta_mqtt_broker_stored_messages 600000" in text
    assert "sta_mqtt_broker_dropped_total 0" in text
    assert "sta_mqtt_broker_stored_messages" not in render_metrics(total([quiet]))
