"""Soak: `.venv/bin/python bench/soak.py [--minutes 60]`.

One hour (by default) of steady mixed load on a server of its own (own database on STA_DATABASE_URL's
server, own Mosquitto, `sta-server` subprocess): MQTT creates at a fixed rate (QoS 1, each with an
`idempotency-key` user property), closed-loop HTTP reads and creates, persistent subscribers and a
client that subscribes and disconnects over and over. Every minute it logs one row — server RSS and
threads, HTTP latency percentiles, MQTT end-to-end latency, what was sent and stored — and at the end
checks that everything sent was stored once, writes bench/results/<date>-soak.json and a Markdown
table (for docs/benchmarks.md, "Soak")."""
from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import paho.mqtt.client as paho  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from bench.harness import ROOT, Database, Mosquitto, Server  # noqa: E402
from bench.load import Http  # noqa: E402
from bench.stats import latency_ms, memory_kb  # noqa: E402

log = logging.getLogger("bench.soak")
STREAMS = 20
MQTT_RATE_PER_S = 200
HTTP_CLIENTS = 4
HTTP_PAUSE_S = 0.02
SUBSCRIBED_STREAMS = 5
CHURN_PERIOD_S = 10.0
COLUMNS = ("min", "rss MB", "threads", "http req", "http p50", "http p95", "http p99", "http err",
           "mqtt sent", "stored (total)", "backlog", "notified", "e2e p50", "e2e p99")


@dataclass
class Window:
    """What one minute measured (appended to by the load threads under `lock`)."""

    http_s: list[float] = field(default_factory=list)
    http_errors: int = 0
    http_created: int = 0
    e2e_s: list[float] = field(default_factory=list)
    published: int = 0
    notified: int = 0


class Collector:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.window = Window()
        self.published_total = 0
        self.http_created_total = 0
        self.stop = threading.Event()

    def swap(self) -> Window:
        with self.lock:
            done, self.window = self.window, Window()
            self.published_total += done.published
            self.http_created_total += done.http_created
        return done


def mqtt_client(url: str, name: str) -> paho.Client:
    parts = urlsplit(url)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=paho.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=60)
    client.loop_start()
    return client


def publish_loop(url: str, collector: Collector) -> None:
    """MQTT creates at MQTT_RATE_PER_S, open loop, round robin over the streams."""
    client = mqtt_client(url, f"soak-pub-{uuid.uuid4().hex[:6]}")
    started, count = time.monotonic(), 0
    while not collector.stop.is_set():
        due = int((time.monotonic() - started) * MQTT_RATE_PER_S) - count
        for _ in range(max(0, due)):
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.UserProperty = [("idempotency-key", f"soak/{count}")]
            payload = json.dumps({"phenomenonTime": datetime.now(UTC).isoformat(), "result": count % 1000,
                                  "parameters": {"sent": time.time()}})
            client.publish(f"v1.1/Datastreams({1 + count % STREAMS})/Observations", payload, qos=1,
                           properties=properties)
            count += 1
            with collector.lock:
                collector.window.published += 1
        time.sleep(0.01)
    client.loop_stop()
    client.disconnect()


def subscriber(url: str, collector: Collector) -> paho.Client:
    """Persistent subscribers of a few streams: end-to-end latency from the `sent` parameter."""

    def on_message(client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        if b'"@iot.id"' not in message.payload:
            return  # the broker relays the creates themselves too
        sent = (json.loads(message.payload).get("parameters") or {}).get("sent")
        with collector.lock:
            collector.window.notified += 1
            if sent is not None:
                collector.window.e2e_s.append(time.time() - sent)

    client = mqtt_client(url, f"soak-sub-{uuid.uuid4().hex[:6]}")
    client.on_message = on_message
    for stream in range(1, SUBSCRIBED_STREAMS + 1):
        client.subscribe(f"v1.1/Datastreams({stream})/Observations", qos=1)
    client.subscribe("v1.1/Datastreams(1)/Observations?$select=result,phenomenonTime", qos=0)
    return client


def churn_loop(url: str, collector: Collector) -> None:
    """A client that connects, subscribes with a query, and leaves: the registry must not grow."""
    n = 0
    while not collector.stop.wait(CHURN_PERIOD_S):
        client = mqtt_client(url, f"soak-churn-{n}")
        client.subscribe(f"v1.1/Datastreams({1 + n % STREAMS})/Observations?$select=result", qos=0)
        time.sleep(1.0)
        client.loop_stop()
        client.disconnect()
        n += 1


def http_request(n: int) -> tuple[str, str, Any, dict[str, str]]:
    stream = 1 + n % STREAMS
    kind = n % 5
    if kind == 0:
        return "GET", f"Datastreams({stream})/Observations?$top=10&$orderby=phenomenonTime%20desc", None, {}
    if kind == 1:
        return "GET", "Things?$top=5&$expand=Datastreams($select=name)", None, {}
    if kind == 2:
        return "GET", f"Datastreams({stream})?$expand=Observations($top=1;$orderby=phenomenonTime%20desc)", None, {}
    if kind == 3:
        return ("GET", f"Datastreams({stream})/Observations?$filter=result%20gt%20900&$top=20"
                "&$orderby=phenomenonTime%20desc", None, {})
    body = {"phenomenonTime": datetime.now(UTC).isoformat(), "result": n % 1000}
    return "POST", f"Datastreams({stream})/Observations", body, {"Idempotency-Key": f"soak-http/{n}"}


def http_loop(base: str, collector: Collector, client_no: int) -> None:
    conn, n = Http(base), client_no
    while not collector.stop.is_set():
        method, path, body, headers = http_request(n)
        started = time.perf_counter()
        try:
            status = _send(conn, method, path, body, headers)
        except (http.client.HTTPException, OSError):
            status = -1
        elapsed = time.perf_counter() - started
        with collector.lock:
            collector.window.http_s.append(elapsed)
            collector.window.http_errors += status not in (200, 201)
            collector.window.http_created += status == 201
        n += HTTP_CLIENTS
        time.sleep(HTTP_PAUSE_S)
    conn.close()


def _send(conn: Http, method: str, path: str, body: Any, headers: dict[str, str]) -> int:
    payload = None if body is None else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **headers} if payload else headers
    conn.conn.request(method, f"{conn.prefix}/{path}", body=payload, headers=all_headers)
    response = conn.conn.getresponse()
    response.read()
    return response.status


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM observations")).scalar_one())


def minute_row(minute: int, window: Window, collector: Collector, engine: Engine, pid: int) -> dict[str, Any]:
    total = stored(engine)
    http = latency_ms(window.http_s)
    e2e = latency_ms(window.e2e_s)
    return {"min": minute, "rss MB": round(memory_kb(pid, "VmRSS") / 1024, 1), "threads": memory_kb(pid, "Threads"),
            "http req": len(window.http_s), "http p50": http["p50_ms"], "http p95": http["p95_ms"],
            "http p99": http["p99_ms"], "http err": window.http_errors, "mqtt sent": window.published,
            "stored (total)": total,
            "backlog": collector.published_total + collector.http_created_total - total,
            "notified": window.notified, "e2e p50": e2e["p50_ms"], "e2e p99": e2e["p99_ms"]}


def setup_streams(base: str) -> None:
    conn = Http(base)
    thing = {"name": "Soak site", "description": "soak", "Locations": [{
        "name": "Site", "description": "soak", "encodingType": "application/geo+json",
        "location": {"type": "Point", "coordinates": [8.95, 46.0]}}]}
    for i in range(STREAMS):
        body = {"name": f"Soak {i}", "description": "soak", "observationType":
                "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                "unitOfMeasurement": {"name": "Watt", "symbol": "W", "definition": "ucum:W"},
                "Thing": thing if i == 0 else {"@iot.id": 1},
                "Sensor": {"name": "meter", "description": "m", "encodingType": "text/plain", "metadata": "m"},
                "ObservedProperty": {"name": "power", "description": "p", "definition": "urn:power"}}
        status, answer = conn.request("POST", "Datastreams", body)
        if status != 201:
            raise RuntimeError(f"could not create Datastream: {status} {answer[:200]!r}")
    conn.close()


def run(minutes: int, minute_s: float, server: Server, broker_url: str, engine: Engine) -> list[dict[str, Any]]:
    assert server.process is not None
    collector = Collector()
    subscribers = [subscriber(broker_url, collector) for _ in range(2)]
    time.sleep(2)  # the server learns the subscriptions from the broker's log topic
    threads = [threading.Thread(target=publish_loop, args=(broker_url, collector), daemon=True),
               threading.Thread(target=churn_loop, args=(broker_url, collector), daemon=True)]
    threads += [threading.Thread(target=http_loop, args=(server.base, collector, i), daemon=True)
                for i in range(HTTP_CLIENTS)]
    for thread in threads:
        thread.start()
    rows = []
    for minute in range(1, minutes + 1):
        time.sleep(minute_s)
        rows.append(minute_row(minute, collector.swap(), collector, engine, server.process.pid))
        log.info("%s", json.dumps(rows[-1]))
    collector.stop.set()
    for thread in threads:
        thread.join()
    collector.swap()
    rows.append(drain(collector, engine, server.process.pid))
    for client in subscribers:
        client.loop_stop()
        client.disconnect()
    return rows


def drain(collector: Collector, engine: Engine, pid: int) -> dict[str, Any]:
    expected = collector.published_total + collector.http_created_total
    deadline = time.monotonic() + 120
    while (total := stored(engine)) < expected and time.monotonic() < deadline:
        time.sleep(1)
    return {"final": True, "mqtt_published": collector.published_total, "http_created": collector.http_created_total,
            "expected": expected, "stored": total, "lost": expected - total,
            "rss_mb": round(memory_kb(pid, "VmRSS") / 1024, 1)}


def render(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(row[c]) for c in COLUMNS) + " |" for row in rows if "final" not in row]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--minute-s", type=float, default=60.0, help="length of a reporting window (smoke runs)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # `kill` still removes what the run made
    database = Database(os.environ.get("STA_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres")
    broker = Mosquitto()
    server: Server | None = None
    try:
        engine = database.create()
        broker.start()
        server = Server(database.url, broker.url)
        server.start()
        setup_streams(server.base)
        rows = run(args.minutes, args.minute_s, server, broker.url, engine)
        table = render(rows)
        log.info("soak finished:\n%s\n%s", table, json.dumps(rows[-1]))
        write(rows, table)
    finally:
        if server is not None:
            server.stop()
            log.info("server log (last lines):\n%s", server.log_tail(15))
        broker.stop()
        database.drop()
    return 0


def write(rows: list[dict[str, Any]], table: str) -> None:
    stamp = datetime.now().strftime("%Y-%m-%d")
    path = os.path.join(ROOT, "bench", "results", f"{stamp}-soak")
    with open(f"{path}.json", "w") as handle:
        json.dump({"date": datetime.now().isoformat(timespec="seconds"), "rows": rows}, handle, indent=2)
    with open(f"{path}.md", "w") as handle:
        handle.write(table + "\n")
    log.info("results written to %s.json and .md", path)


if __name__ == "__main__":
    sys.exit(main())
