"""MQTT load generator: several processes, each one MQTT v5 connection on a plain socket
(bench/mqtt_wire.py), publishing pre-built QoS 1 creates open-loop at a rate (or as fast as the
window of unacknowledged messages lets), and a subscriber process that counts notifications and
measures end to end latency from the `parameters.sent` time each payload carries.

A message is one Observation on `v1.1/Datastreams(n)/Observations` (`--form single`), or
`--records N` of them: a SenML pack on `v1.1/SenML` (`--form senml`, how a field agent publishes
its readings) or a CreateObservations dataArray body on `v1.1/CreateObservations` (`--form
dataarray`), each for up to 10 Datastreams. `--rate` counts messages.

Its own ceiling, against a bare broker (nothing subscribed):
    .venv/bin/python -m bench.mqtt_load --processes 1,2,4 --seconds 15
    .venv/bin/python -m bench.mqtt_load --processes 2 --seconds 15 --form senml --records 10
"""
from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import re
import select
import time
from array import array
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench import mqtt_wire as wire
from bench.stats import percentile

log = logging.getLogger("bench")
TICK_S = 0.002
SENT = re.compile(rb'"sent":([0-9.]+)')
PHENOMENON_TIME = re.compile(rb'"phenomenonTime":"([^"/]+)"')  # SenML: the pack's base time is the send time


@dataclass(frozen=True)
class Offer:
    """What the generator offers: `rate` messages/s over all processes (0: as fast as the window
    lets), for `seconds`, spread over `streams` (Datastream ids, topic `v1.1/Datastreams(n)/Observations`)."""

    host: str
    port: int
    streams: tuple[int, ...]
    rate: float = 0.0
    seconds: float = 10.0
    processes: int = 4
    window: int = 1000  # unacknowledged messages per connection (capped by the broker's Receive Maximum)
    keys: bool = False  # an `idempotency-key` user property on each message
    user: str | None = None
    password: str | None = None
    form: str = "single"  # "single": one Observation per message; "senml", "dataarray": `records` per message
    records: int = 1  # Observations per message (`rate` counts messages)


FORMS = ("single", "senml", "dataarray")
SPREAD = 10  # a message of many records carries them for at most this many Datastreams (an SMX box's meters)


def senml_name(stream: int) -> str:
    """The `properties.senmlName` the bench gives Datastream `stream` (bench/mqtt_sustained.py)."""
    return f"bench/{stream}"


def topic_of(offer: Offer, stream: int) -> bytes:
    if offer.form == "senml":
        return b"v1.1/SenML"
    if offer.form == "dataarray":
        return b"v1.1/CreateObservations"
    return f"v1.1/Datastreams({stream})/Observations".encode()


def message(offer: Offer, streams: list[int], sent: int, stamp: bytes, now: float) -> bytes:
    """One message's payload: the Observations of `streams` (one record each, in order; a
    Datastream may come more than once), stamped with the send time (`parameters.sent`, or for
    SenML the base time, which becomes phenomenonTime)."""
    if offer.form == "senml":
        records = [b'{"bn":"bench/","bt":%.6f,"n":"%d","v":%d}' % (now, streams[0], sent)]
        records += [b'{"n":"%d","v":%d}' % (s, sent) for s in streams[1:]]
        return b"[" + b",".join(records) + b"]"
    if offer.form == "dataarray":
        rows: dict[int, list[bytes]] = {}
        for s in streams:
            rows.setdefault(s, []).append(b'["%s",%d,{"sent":%.6f}]' % (stamp, sent, now))
        groups = [b'{"Datastream":{"@iot.id":%d},"components":["phenomenonTime","result","parameters"],'
                  b'"dataArray":[%s]}' % (s, b",".join(r)) for s, r in rows.items()]
        return b"[" + b",".join(groups) + b"]"
    return b'{"phenomenonTime":"%s","result":%d,"parameters":{"sent":%.6f}}' % (stamp, sent, now)


@dataclass
class Published:
    sent: int = 0
    acked: int = 0
    cpu_s: float = 0.0
    acked_per_s: list[int] = field(default_factory=list)  # acknowledged in each second of the run


def publish(offer: Offer, index: int, start_at: float, out: Any) -> None:
    """One generator process: connect, wait for `start_at` (wall clock), publish, report."""
    sock, reader, receive_maximum = wire.open_session(offer.host, offer.port, f"bench-load-{index}-{os.getpid()}",
                                                      offer.user, offer.password)
    window = min(offer.window, receive_maximum)
    streams = offer.streams[index::offer.processes] or offer.streams
    heads = [wire.publish_head(topic_of(offer, s)) for s in streams]
    spread = min(offer.records, SPREAD, len(streams))
    per_message = [[streams[(i + r) % len(streams)] for r in range(offer.records)] for i in
                   range(0, len(streams), spread)] if offer.form != "single" else []
    for group in per_message:  # records cycle over `spread` consecutive streams
        group[:] = [group[r % spread] for r in range(offer.records)]
    rate = offer.rate / offer.processes
    result = Published(acked_per_s=[0] * (int(offer.seconds) + 1))
    cpu0 = sum(os.times()[:2])
    time.sleep(max(0.0, start_at - time.time()))
    started = time.monotonic()
    until = started + offer.seconds
    packet_id = 0
    while (now := time.monotonic()) < until:
        due = int((now - started) * rate) - result.sent if rate else window
        count = min(due, window - (result.sent - result.acked))
        if count > 0:
            wall = time.time()
            stamp = datetime.fromtimestamp(wall, UTC).isoformat().encode()
            chunk = []
            for _ in range(count):
                result.sent += 1
                packet_id = packet_id % 65535 + 1
                key = f"{index}-{start_at}-{result.sent}"
                props = wire.user_property("idempotency-key", key) if offer.keys else b""
                if per_message:
                    payload = message(offer, per_message[result.sent % len(per_message)], result.sent, stamp, wall)
                    head = heads[0]
                else:
                    payload = message(offer, [], result.sent, stamp, wall)
                    head = heads[result.sent % len(heads)]
                chunk.append(wire.publish_qos1(head, packet_id, props, payload))
            sock.sendall(b"".join(chunk))
        acked = _read_acks(sock, reader, 0.0 if count > 0 and not rate else TICK_S)
        result.acked += acked
        result.acked_per_s[min(int(now - started), len(result.acked_per_s) - 1)] += acked
    settle = time.monotonic() + 5  # the last acknowledgements
    while result.acked < result.sent and time.monotonic() < settle:
        result.acked += _read_acks(sock, reader, 0.05)
    result.cpu_s = sum(os.times()[:2]) - cpu0
    sock.close()
    out.put(("pub", asdict(result)))


def _read_acks(sock: Any, reader: wire.Reader, wait_s: float) -> int:
    readable, _, _ = select.select([sock], [], [], wait_s)
    if not readable:
        return 0
    data = sock.recv(1 << 20)
    if not data:
        raise ConnectionError("the broker closed the generator's connection")
    return sum(1 for item in reader.feed(data) if item.kind == wire.PUBACK)


def subscribe(host: str, port: int, topics: list[str], stop: Any, out: Any, counts: Any, user: str | None = None,
              password: str | None = None) -> None:
    """Count notifications (those with an `@iot.id`) per second and their latency from `sent`;
    `counts[0]`: notifications seen, `counts[1]`: those with a `sent` time (shared with the parent)."""
    sock, reader, _ = wire.open_session(host, port, f"bench-sub-{os.getpid()}", user, password)
    sock.sendall(wire.subscribe(1, topics, qos=1))
    latencies: array[float] = array("d")
    per_s: dict[int, int] = {}
    cpu0 = sum(os.times()[:2])
    while not stop.is_set():
        readable, _, _ = select.select([sock], [], [], 0.1)
        if not readable:
            continue
        data = sock.recv(1 << 20)
        now = time.time()
        if not data:
            break
        acks = []
        for item in reader.feed(data):
            if item.kind != wire.PUBLISH:
                continue
            _, packet_id, payload = wire.publish_parts(item.flags, item.body)
            if packet_id:
                acks.append(wire.puback(packet_id))
            if b'"@iot.id"' not in payload:
                continue  # a create relayed by the broker, not a notification
            counts[0] += 1
            found = SENT.search(payload)
            stamped = PHENOMENON_TIME.search(payload) if found is None else None
            if found is not None or stamped is not None:
                counts[1] += 1
                sent = float(found.group(1)) if found is not None else \
                    datetime.fromisoformat(stamped.group(1).decode()).timestamp()  # type: ignore[union-attr]
                latencies.append(now - sent)
                per_s[int(now)] = per_s.get(int(now), 0) + 1
        if acks:
            sock.sendall(b"".join(acks))
    sock.close()
    out.put(("sub", {"received": len(latencies), "per_s": per_s, "cpu_s": sum(os.times()[:2]) - cpu0,
                     "latency_ms": latency_summary(list(latencies))}))


def latency_summary(values_s: list[float]) -> dict[str, float]:
    values_s.sort()
    return {f"p{p}": round(1000 * percentile(values_s, p), 1) for p in (50, 95, 99)} | (
        {"max": round(1000 * values_s[-1], 1)} if values_s else {})


class Subscriber:
    """The subscriber process around a run: `start()`, then `finish()` for its counts."""

    def __init__(self, offer: Offer, topics: list[str]) -> None:
        context = mp.get_context("fork")
        self.stop, self.out, self.counts = context.Event(), context.Queue(), context.Array("q", 2, lock=False)
        self.process = context.Process(target=subscribe, args=(offer.host, offer.port, topics, self.stop, self.out,
                                                               self.counts, offer.user, offer.password))

    def ready(self) -> bool:
        """A notification has come (any)."""
        return bool(self.counts[0])

    def count(self) -> int:
        """Notifications with a `sent` time so far."""
        return int(self.counts[1])

    def start(self) -> None:
        self.process.start()

    def finish(self) -> dict[str, Any]:
        self.stop.set()
        kind, result = self.out.get(timeout=60)
        self.process.join(timeout=10)
        return dict(result)


def run_offer(offer: Offer) -> dict[str, Any]:
    """All generator processes, started together; their summed result."""
    context = mp.get_context("fork")
    out: Any = context.Queue()
    start_at = time.time() + 1.0 + 0.1 * offer.processes
    workers = [context.Process(target=publish, args=(offer, i, start_at, out)) for i in range(offer.processes)]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=offer.seconds + 60)[1] for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    sent, acked = sum(r["sent"] for r in results), sum(r["acked"] for r in results)
    records = offer.records if offer.form != "single" else 1
    per_s = [sum(values) for values in zip(*(r["acked_per_s"] for r in results), strict=True)]
    cpu = sum(r["cpu_s"] for r in results)
    return {"offered_per_s": offer.rate or "max", "processes": offer.processes, "seconds": offer.seconds,
            "form": offer.form, "records_per_message": records,
            "sent": sent, "acked": acked, "publish_rate": round(sent / offer.seconds),
            "sent_obs": sent * records, "acked_obs": acked * records,
            "acked_obs_per_s": round(acked * records / offer.seconds),
            "acked_per_s": per_s[:-1], "generator_cpu_s": round(cpu, 2),
            "generator_cpu_pct": round(100 * cpu / offer.seconds, 1),
            "generator_cpu_us_per_msg": round(1e6 * cpu / max(1, sent), 2)}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> int:
    from bench.harness import Mosquitto

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", default="1,2,4", help="generator processes, one run per value")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=0, help="offered msg/s over all processes (0: max)")
    parser.add_argument("--keys", action="store_true", help="an idempotency-key user property per message")
    parser.add_argument("--form", choices=FORMS, default="single", help="what a message carries")
    parser.add_argument("--records", type=int, default=1, help="Observations per message (senml, dataarray)")
    parser.add_argument("--forms", help="several forms, one run each: form:records,… (e.g. single:1,senml:50)")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    broker = Mosquitto()
    broker_pid = broker.start()
    from bench.stats import cpu_s
    runs = []
    try:
        forms = [(f.split(":")[0], int(f.split(":")[1])) for f in args.forms.split(",")] if args.forms else [
            (args.form, args.records)]
        for (form, records), processes in [(f, int(p)) for f in forms for p in args.processes.split(",")]:
            offer = Offer("127.0.0.1", broker.port, tuple(range(1, 101)), args.rate, args.seconds, processes,
                          keys=args.keys, form=form, records=records)
            broker_cpu, load = cpu_s(broker_pid), load_average()
            result = run_offer(offer)
            result |= {"broker_cpu_pct": round(100 * (cpu_s(broker_pid) - broker_cpu) / args.seconds, 1),
                       "load_average_before": load, "load_average_after": load_average(), "keys": args.keys}
            log.info("%d processes: %s msg/s, %s obs/s acknowledged (generator %.0f%% CPU, %.2f us/msg; broker %.0f%%)",
                     processes, round(result["acked"] / args.seconds), result["acked_obs_per_s"],
                     result["generator_cpu_pct"],
                     result["generator_cpu_us_per_msg"], result["broker_cpu_pct"])
            runs.append(result)
    finally:
        broker.stop()
    report = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "what": "generator ceiling, bare broker",
              "cpus": os.cpu_count(), "runs": runs}
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(report, handle, indent=1)
    print(json.dumps([{k: v for k, v in r.items() if k != "acked_per_s"} for r in runs], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
