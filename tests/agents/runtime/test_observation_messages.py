"""Readings → MQTT messages: plain readings as one SenML pack per poll, the others one by one."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from adapters.connector import Reading
from agents.observation_messages import StreamRef, UnknownStream, encode_readings, iso_time
from agents.outbox import Kind

T0 = datetime(2026, 12, 6, 10, 0, 0, 351_500, tzinfo=UTC)
STREAMS = {"P": StreamRef(1, "s/P"), "mode": StreamRef(2, "s/mode"), "V": StreamRef(3, None, multi=True),
           "ok": StreamRef(4, "s/ok")}


def test_plain_readings_of_a_poll_make_one_pack() -> None:
    readings = [Reading("P", 12.5, T0), Reading("mode", "auto", T0), Reading("ok", True, T0 + timedelta(seconds=1))]
    [message] = encode_readings(readings, STREAMS)
    assert message.topic == "v1.1/SenML" and message.mergeable and message.records == 3
    assert json.loads(message.payload) == [{"n": "s/P", "v": 12.5, "bt": 1796551200.352},
                                           {"n": "s/mode", "vs": "auto"}, {"n": "s/ok", "vb": True, "t": 1.0}]


def test_times_round_to_the_millisecond_the_same_way_on_both_paths() -> None:
    assert iso_time(T0) == "2026-12-06T10:00:00.352Z"
    [single] = encode_readings([Reading("P", 1, T0, {"taskId": 7})], STREAMS, Kind.ACKNOWLEDGEMENT)
    assert json.loads(single.payload)["phenomenonTime"] == "2026-12-06T10:00:00.352Z"


def test_parameters_result_times_and_lists_go_one_by_one() -> None:
    readings = [Reading("P", 1.0, T0, {"taskId": 7}), Reading("P", 2.0, T0, result_time=T0 - timedelta(hours=1)),
                Reading("V", [230.1, 229.8, 231.0], T0)]
    messages = encode_readings(readings, STREAMS, Kind.ACKNOWLEDGEMENT)
    assert [m.topic for m in messages] == ["v1.1/Datastreams(1)/Observations"] * 2 + [
        "v1.1/MultiDatastreams(3)/Observations"]
    assert all(m.kind is Kind.ACKNOWLEDGEMENT and not m.mergeable for m in messages)
    assert json.loads(messages[0].payload)["parameters"] == {"taskId": 7}
    assert json.loads(messages[1].payload)["resultTime"] == "2026-12-06T09:00:00.352Z"
    assert json.loads(messages[2].payload)["result"] == [230.1, 229.8, 231.0]


def test_a_reading_of_an_unknown_stream_is_refused() -> None:
    with pytest.raises(UnknownStream):
        encode_readings([Reading("nope", 1, T0)], STREAMS)
