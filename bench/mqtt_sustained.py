"""Sustained MQTT ingest: what the server stores and notifies per second, and the end to end
latency, with the generator of bench/mqtt_load.py offering a fixed rate (or its maximum: overload).

    .venv/bin/python -m bench.mqtt_sustained --ingest 1 --rate 20000 --seconds 60
    .venv/bin/python -m bench.mqtt_sustained --ingest 2 --rate 0 --seconds 120      # overload
    .venv/bin/python -m bench.mqtt_sustained --ingest 1 --rate 400 --form senml --records 50 --seconds 60

It owns everything it uses: a database `sta_bench_*` (dropped at the end) with 200 Datastreams on
100 Things, a Mosquitto on a free port, and `--ingest` MQTT ingest processes
(`python -m sta_server.ingest_process`, several on an MQTT v5 shared subscription). A subscriber of
`v1.1/Observations` (QoS 1) counts every notification and its latency from the `parameters.sent`
time the generator wrote into the payload. Results: bench/results/<date>-mqtt-sustained-*.json."""
from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from bench import dataset
from bench import mqtt_wire as wire
from bench.harness import DEFAULT_ADMIN_URL, ROOT, Database, Mosquitto, backend_pids, ensure_project_postgres
from bench.mqtt_load import FORMS, Offer, Subscriber, load_average, run_offer, senml_name
from bench.stats import cpu_s, memory_kb

log = logging.getLogger("bench")
STREAMS = tuple(range(1, 101))
WARM_UP_STREAM = 200  # not counted: warm-up creates may still be stored after the run's first id
SIZES = dataset.Sizes(things=100, dashboard_things=100)  # 202 Datastreams, each Thing with a Location


class IngestProcesses:
    """`count` ingest processes on the bench's database and broker (a shared group when > 1)."""

    def __init__(self, count: int, database_url: str, mqtt_url: str, env: dict[str, str], source: str = ROOT) -> None:
        self.count, self.source = count, source
        self.env = dict(os.environ, STA_DATABASE_URL=database_url, STA_MQTT_URL=mqtt_url, STA_AUTH="off",
                        STA_LOG_LEVEL="INFO", STA_MQTT_INGEST_REPORT_S="10", **env)
        if count > 1:
            self.env["STA_MQTT_SHARED_GROUP"] = "bench"
        if source != ROOT:  # another copy of the code (e.g. `git archive HEAD`), before the editable install
            self.env["PYTHONPATH"] = source
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs = [os.path.join(tempfile.gettempdir(), f"sta-bench-ingest-{os.getpid()}-{i}.log")
                     for i in range(count)]

    def start(self) -> list[int]:
        for index, path in enumerate(self.logs):
            env = dict(self.env, STA_MQTT_CLIENT_ID=f"bench-ingest-{os.getpid()}-{index}")
            with open(path, "wb") as handle:
                command = [sys.executable, "-m", "sta_server.ingest_process"]
                self.processes.append(subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                                       cwd=self.source))
        deadline = time.monotonic() + 60
        for path in self.logs:
            while "MQTT ingest process running" not in _read(path):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"ingest process not running; see {path}")
                time.sleep(0.1)
        return [p.pid for p in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    def log_tail(self, lines: int = 12) -> list[str]:
        return [line for path in self.logs for line in _read(path).splitlines()[-lines:]]


def _read(path: str) -> str:
    try:
        with open(path, errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def name_streams(engine: Engine) -> None:
    """Each Datastream's SenML name (`properties.senmlName`, service/senml.py's naming rule 1)."""
    with engine.begin() as conn:
        for stream in (*STREAMS, WARM_UP_STREAM):
            conn.execute(text("UPDATE datastreams SET properties = coalesce(properties, '{}'::jsonb) || "
                              "jsonb_build_object('senmlName', CAST(:name AS text)) WHERE id = :id"),
                         {"name": senml_name(stream), "id": stream})


def stored(engine: Engine, first_id: int, exact: bool = False) -> int:
    """Rows since `first_id`: max(id) (one index probe, for the timeline) or count(*) of the run's
    streams (at the end)."""
    sql = f"SELECT count(*) FROM observations WHERE id > :i AND datastream_id <> {WARM_UP_STREAM}" if exact else \
        "SELECT coalesce(max(id), :i) - :i FROM observations"
    with engine.connect() as conn:
        return int(conn.execute(text(sql), {"i": first_id}).scalar_one())


class Timeline(threading.Thread):
    """Rows stored, sampled once a second while the run lasts."""

    def __init__(self, engine: Engine, first_id: int) -> None:
        super().__init__(daemon=True)
        self.engine, self.first_id = engine, first_id
        self.samples: list[tuple[float, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        while not self.done.wait(1.0 - (time.monotonic() - started) % 1.0):
            self.samples.append((round(time.monotonic() - started, 2), stored(self.engine, self.first_id)))


def warm_up(port: int, subscriber: Subscriber, timeout_s: float = 60) -> None:
    """Creates without `sent` until the subscriber has a notification: the ingest processes know
    the subscription (they learn it from the broker's log topic) and the first batch is behind us."""
    sock, _, _ = wire.open_session("127.0.0.1", port, "bench-warm-up")
    head = wire.publish_head(f"v1.1/Datastreams({WARM_UP_STREAM})/Observations".encode())
    deadline, packet_id = time.monotonic() + timeout_s, 0
    while not subscriber.ready():
        if time.monotonic() > deadline:
            raise RuntimeError("no notification of the warm-up creates")
        packet_id += 1
        sock.sendall(wire.publish_qos1(head, packet_id, b"", b'{"result":-1}'))
        time.sleep(0.2)
    sock.close()


def measure(args: argparse.Namespace, engine: Engine, broker: Mosquitto, broker_pid: int,
            ingest_pids: list[int], database: str) -> dict[str, Any]:
    offer = Offer("127.0.0.1", broker.port, STREAMS, args.rate, args.seconds, args.processes, keys=args.keys,
                  form=args.form, records=args.records)
    subscriber = Subscriber(offer, ["v1.1/Observations"])
    subscriber.start()
    warm_up(broker.port, subscriber)
    with engine.connect() as conn:
        first_id = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM observations")).scalar_one())
    pieces = {"ingest": ingest_pids, "broker": [broker_pid], "postgres": backend_pids(engine, database)}
    cpu0, load_before, timeline = _cpu(pieces), load_average(), Timeline(engine, first_id)
    started = time.monotonic()
    timeline.start()
    spy = _profile(args, ingest_pids[0])
    generated = run_offer(offer)
    published_s = time.monotonic() - started
    stored_when_done = stored(engine, first_id)
    total, finished = _drain(engine, first_id, generated["acked_obs"], args.drain)
    if spy is not None:
        spy.send_signal(2)
        spy.wait(timeout=60)
    timeline.done.set()
    wall = time.monotonic() - started
    used = {name: value - cpu0[name] for name, value in _cpu(pieces).items()}
    _wait_notified(subscriber, total)
    notified = subscriber.finish()
    return {
        "ingest_processes": args.ingest, "offered_per_s": args.rate or "max", "seconds": args.seconds,
        "form": args.form, "records_per_message": offer.records if args.form != "single" else 1,
        "generator": {k: v for k, v in generated.items() if k != "acked_per_s"},
        "stored": total, "stored_when_publishing_ended": stored_when_done,
        "stored_per_s_while_publishing": round(stored_when_done / published_s),
        "stored_per_s_overall": round(total / max(1e-9, finished - started)),
        "drain_s": round(finished - started - published_s, 1),
        "notified": notified["received"], "notified_per_s": round(notified["received"] / max(1e-9, finished - started)),
        "latency_ms": notified["latency_ms"], "subscriber_cpu_s": round(notified["cpu_s"], 1),
        "cpu_pct": {name: round(100 * value / wall, 1) for name, value in used.items()},
        "cpu_us_per_obs": _per_obs(used, generated, notified["cpu_s"], total),
        "ingest_peak_mb": round(sum(memory_kb(p) for p in ingest_pids) / 1024, 1),
        "load_average_before": load_before, "load_average_after": load_average(),
        "stored_per_s": [b[1] - a[1] for a, b in zip(timeline.samples, timeline.samples[1:], strict=False)],
        "acked_per_s": generated["acked_per_s"], "notified_per_s_timeline": sorted(notified["per_s"].items()),
    }


def _cpu(pieces: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of each piece (its processes summed)."""
    return {name: sum(cpu_s(pid) for pid in pids) for name, pids in pieces.items()}


def _per_obs(used: dict[str, float], generated: dict[str, Any], subscriber_s: float, total: int) -> dict[str, float]:
    """CPU time per stored Observation of each piece: what contention on a shared machine distorts
    least (1e6 / the sum is what one core would store, if nothing else ran on it)."""
    shares = used | {"generator": generated["generator_cpu_s"], "subscriber": subscriber_s}
    return {name: round(1e6 * value / max(1, total), 1) for name, value in shares.items()}


def _profile(args: argparse.Namespace, pid: int) -> subprocess.Popen[bytes] | None:
    if not args.profile:
        return None
    return subprocess.Popen([os.path.join(ROOT, ".venv/bin/py-spy"), "record", "--pid", str(pid), "--format", "raw",
                             "--output", args.profile, "--rate", "50", "--nonblocking", "--threads"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _drain(engine: Engine, first_id: int, total: int, limit_s: float) -> tuple[int, float]:
    """Until everything acknowledged by the broker is stored (or 15 s without progress)."""
    last, last_change, deadline = -1, time.monotonic(), time.monotonic() + limit_s
    while time.monotonic() < deadline:
        count = stored(engine, first_id)
        if count != last:
            last, last_change = count, time.monotonic()
        if count >= total or time.monotonic() - last_change > 15:
            break
        time.sleep(0.25)
    return stored(engine, first_id, exact=True), last_change


def _wait_notified(subscriber: Subscriber, total: int, quiet_s: float = 15.0, limit_s: float = 120.0) -> None:
    """Until the subscriber has seen `total` notifications, or none for `quiet_s`, or `limit_s`."""
    last, since, deadline = -1, time.monotonic(), time.monotonic() + limit_s
    while time.monotonic() - since < quiet_s and time.monotonic() < deadline:
        count = subscriber.count()
        if count >= total:
            return
        if count != last:
            last, since = count, time.monotonic()
        time.sleep(0.2)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ingest", type=int, default=1, help="ingest processes (> 1: a shared subscription)")
    parser.add_argument("--rate", type=float, default=20000, help="offered msg/s (0: the generator's maximum)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--processes", type=int, default=4, help="generator processes")
    parser.add_argument("--keys", action="store_true", help="an idempotency-key on every message")
    parser.add_argument("--form", choices=FORMS, default="single", help="what a message carries (bench/mqtt_load.py)")
    parser.add_argument("--records", type=int, default=1, help="Observations per message (senml, dataarray)")
    parser.add_argument("--drain", type=float, default=120, help="at most this long for the backlog after")
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the ingest processes")
    parser.add_argument("--profile", help="py-spy raw output of the first ingest process here")
    parser.add_argument("--source", default=ROOT, help="run the ingest processes from this copy of the code")
    parser.add_argument("--label", default="", help="added to the results file name")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    admin_url = os.environ.get("STA_DATABASE_URL", DEFAULT_ADMIN_URL)
    ensure_project_postgres(admin_url)
    database, broker = Database(admin_url), Mosquitto()
    ingest: IngestProcesses | None = None
    try:
        engine = database.create()
        dataset.load_metadata(engine, SIZES)
        name_streams(engine)
        broker_pid = broker.start()
        env = dict(item.split("=", 1) for item in args.env)
        ingest = IngestProcesses(args.ingest, database.url, broker.url, env, os.path.abspath(args.source))
        result = measure(args, engine, broker, broker_pid, ingest.start(), database.name)
        result |= {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
                   "env": env, "keys": args.keys, "code": _code_version(args.source)}
    finally:
        if ingest is not None:
            ingest.stop()
            log.info("ingest log (last lines):\n%s", "\n".join(ingest.log_tail()))
        broker.stop()
        database.drop()
    name = f"{datetime.now().strftime('%Y-%m-%d')}-mqtt-sustained-{args.label or f'ingest{args.ingest}'}.json"
    with open(os.path.join(ROOT, "bench", "results", name), "w") as handle:
        json.dump(result, handle, indent=1)
    series = ("stored_per_s", "acked_per_s", "notified_per_s_timeline")
    summary = {k: v for k, v in result.items() if k not in series}
    print(json.dumps(summary, indent=1))
    return 0


def _code_version(source: str) -> str:
    if not os.path.isdir(os.path.join(source, ".git")):
        return f"snapshot at {source}"
    done = subprocess.run(["git", "-C", source, "describe", "--always", "--dirty"], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip()


if __name__ == "__main__":
    raise SystemExit(main())
