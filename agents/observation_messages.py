"""Readings → the MQTT messages that create their Observations (pure; the host queues the result).

A poll's plain readings (a number, text or flag, no parameters) travel together as one SenML pack on
`v1.1/SenML` (docs/formats.md: each record becomes an Observation of the Datastream whose
`properties.senmlName` is the record's name): one message and one idempotency key for the whole poll,
which is what makes a replay after an outage fast. Readings with parameters (a Task's acknowledgement
names the Task), a resultTime (forecasts) or a structured result go one by one to
`v1.1/Datastreams(<id>)/Observations` (`MultiDatastreams(<id>)` for a MultiDatastream's list).
The message is built when the reading is queued, so a replay sends the same bytes under the same key.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.connector import Reading
from agents.outbox import Kind, Message

SENML_TOPIC = "v1.1/SenML"
MAX_RECORDS_PER_PACK = 1000  # well under the server's 1 MiB message limit
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class StreamRef:
    """Where a site Datastream key lives on the server (commissioning finds or creates it)."""

    id: int
    senml_name: str | None = None
    multi: bool = False  # a MultiDatastream: its readings carry a list, one value per component


class UnknownStream(KeyError):
    """A reading names a Datastream key the site does not have."""


def observation_topic(stream_id: int, multi: bool = False) -> str:
    return f"v1.1/{'MultiDatastreams' if multi else 'Datastreams'}({stream_id})/Observations"


def iso_time(moment: datetime) -> str:
    """ISO 8601 in UTC, rounded to the millisecond as in SenML packs (`_epoch_ms`)."""
    rounded = EPOCH + timedelta(milliseconds=_epoch_ms(moment))
    return rounded.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_readings(readings: Sequence[Reading], streams: Mapping[str, StreamRef],
                    kind: Kind = Kind.MEASUREMENT) -> list[Message]:
    """The messages for `readings`, in their order: packs of the plain ones, then the others."""
    plain: list[tuple[Reading, str]] = []
    single: list[Message] = []
    for reading in readings:
        stream = streams.get(reading.datastream)
        if stream is None:
            raise UnknownStream(reading.datastream)
        if (stream.senml_name and not stream.multi and _senml_value(reading.value) is not None
                and not reading.parameters and reading.result_time is None):
            plain.append((reading, stream.senml_name))
        else:
            single.append(Message(observation_topic(stream.id, stream.multi), encode_observation(reading), kind))
    packs = [Message(SENML_TOPIC, encode_pack(chunk), kind, records=len(chunk), mergeable=True)
             for chunk in (plain[start:start + MAX_RECORDS_PER_PACK]
                           for start in range(0, len(plain), MAX_RECORDS_PER_PACK))]
    return packs + single


def encode_observation(reading: Reading) -> bytes:
    body: dict[str, Any] = {"phenomenonTime": iso_time(reading.time), "result": reading.value}
    if reading.parameters:
        body["parameters"] = dict(reading.parameters)
    if reading.result_time is not None:
        body["resultTime"] = iso_time(reading.result_time)
    return json.dumps(body, separators=(",", ":")).encode()


def encode_pack(records: Sequence[tuple[Reading, str]]) -> bytes:
    """A SenML pack: base time = the first reading's, each record's `t` relative to it (ms)."""
    if not records:
        return b"[]"
    base_ms = _epoch_ms(records[0][0].time)
    pack: list[dict[str, Any]] = []
    for index, (reading, name) in enumerate(records):
        record: dict[str, Any] = {"n": name}
        record.update(_senml_value(reading.value) or {})
        offset_s = (_epoch_ms(reading.time) - base_ms) / 1000
        if index == 0:
            record["bt"] = base_ms / 1000
        if offset_s:
            record["t"] = offset_s
        pack.append(record)
    return json.dumps(pack, separators=(",", ":")).encode()


def _senml_value(value: object) -> dict[str, Any] | None:
    if isinstance(value, bool):
        return {"vb": value}
    if isinstance(value, int | float):
        return {"v": value}
    if isinstance(value, str):
        return {"vs": value}
    return None


def _epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded half up, in integers (no float rounding)."""
    return ((moment - EPOCH) // timedelta(microseconds=1) + 500) // 1000
