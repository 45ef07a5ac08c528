"""Scenario 3: Observations created over MQTT by many publishers into many Datastreams at a fixed
offered rate (open loop), end-to-end latency measured by a subscriber of a sample of the streams."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, text

from bench.scenarios import Context, Result
from bench.stats import latency_ms

PUBLISHERS = 10
STREAMS = 100
SAMPLED_STREAMS = 10
RATE_PER_S = 20_000
TARGETS = {"3": "≥ 20000 obs/s, p99 < 250 ms", "3b": "p99 < 250 ms"}


@dataclass
class Received:
    latencies_s: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(url: str, name: str) -> paho.Client:
    parts = urlsplit(url)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=name)
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=120)
    client.loop_start()
    return client


def _subscriber(url: str, received: Received) -> paho.Client:
    def on_message(client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        if b'"@iot.id"' not in message.payload:
            return  # the broker relays the creates themselves too
        now = time.time()
        sent = json.loads(message.payload)["parameters"]["sent"]
        with received.lock:
            received.latencies_s.append(now - sent)

    client = _client(url, f"bench-sub-{time.monotonic_ns()}")
    client.on_message = on_message
    for stream in range(1, SAMPLED_STREAMS + 1):
        client.subscribe(f"v1.1/Datastreams({stream})/Observations", qos=0)
    return client


WINDOW = 1000  # unacknowledged QoS 1 messages per publisher; paho's own queue scans in O(n)


def _publish(client: paho.Client, streams: list[int], rate: float, until: float, sent: list[int]) -> None:
    """Open loop at `rate`, never more than WINDOW unacknowledged (what the broker cannot take at
    once is not sent: the shortfall shows as publish_rate < offered), never past `until`."""
    acked = [0]
    client.on_publish = lambda *args: acked.__setitem__(0, acked[0] + 1)
    started, count = time.monotonic(), 0
    while (now := time.monotonic()) < until:
        due = min(int((now - started) * rate) - count, WINDOW - (count - acked[0]))
        for _ in range(max(0, due)):
            stream = streams[count % len(streams)]
            payload = (f'{{"phenomenonTime":"{datetime.now(UTC).isoformat()}","result":{count},'
                       f'"parameters":{{"sent":{time.time():.6f}}}}}')
            client.publish(f"v1.1/Datastreams({stream})/Observations", payload, qos=1)
            count += 1
        time.sleep(0.005)
    sent.append(count)


def _stored_since(engine: Engine, first_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM observations WHERE id > :i"), {"i": first_id}).scalar_one())


def run(ctx: Context) -> Result:
    """At the target rate (the quick run offers less)."""
    return measure(ctx, 5000 if ctx.quick else RATE_PER_S, 10 if ctx.quick else 60, "3")


def run_sustainable(ctx: Context) -> Result:
    """At 1,000/s, a rate the server holds: the latency without a backlog."""
    return measure(ctx, 1000, 10 if ctx.quick else 30, "3b")


def measure(ctx: Context, rate: int, duration: int, label: str) -> Result:
    received = Received()
    subscriber = _subscriber(ctx.mqtt_url, received)
    publishers = [_client(ctx.mqtt_url, f"bench-pub-{i}-{time.monotonic_ns()}") for i in range(PUBLISHERS)]
    time.sleep(2)  # the server learns the subscriptions from the broker's log topic
    with ctx.engine.connect() as conn:
        first_id = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM observations")).scalar_one())
    sent: list[int] = []
    started = time.monotonic()
    threads = [threading.Thread(target=_publish, args=(client, list(range(1 + i, STREAMS + 1, PUBLISHERS)),
                                                         rate / PUBLISHERS, started + duration, sent))
               for i, client in enumerate(publishers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    published_s = time.monotonic() - started
    total = sum(sent)
    stored_at_end = _stored_since(ctx.engine, first_id)
    stored, finished = _drain(ctx.engine, first_id, total, time.monotonic() + (30 if ctx.quick else 60))
    for client in [*publishers, subscriber]:
        client.loop_stop()
        client.disconnect()
    sustained = stored / (finished - started)
    lat = latency_ms(received.latencies_s)
    ok = sustained >= RATE_PER_S and lat["p99_ms"] < 250 and stored == total
    ok = ok or (label == "3b" and lat["p99_ms"] < 250 and stored == total)
    return Result(f"{label} MQTT create (e2e)", f"{PUBLISHERS} publishers, {STREAMS} streams, {duration} s offered "
                  f"{rate}/s QoS1", sustained, "obs/s", lat, TARGETS[label], ok,
                  {"offered_per_s": rate, "published": total, "publish_rate": round(total / published_s),
                   "stored_when_publishing_ended": stored_at_end, "stored": stored,
                   "drain_s": round(finished - started - published_s, 1),
                   "latency_samples": len(received.latencies_s)})


def _drain(engine: Engine, first_id: int, total: int, deadline: float) -> tuple[int, float]:
    """Wait until everything published is stored (or no progress for 15 s / the deadline)."""
    last, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        stored = _stored_since(engine, first_id)
        if stored != last:
            last, last_change = stored, time.monotonic()
        if stored >= total or time.monotonic() - last_change > 15:
            break
        time.sleep(0.5)
    return last, last_change
