"""What one Observation costs the MQTT ingest, independent of the machine's load:
`.venv/bin/python -m bench.mqtt_ingest_cost [--forms single:1 senml:10 dataarray:50] [--profile]`.

The ingest's own code runs in this process, on one thread, without a broker: batches of messages
(the payloads bench/mqtt_load.py publishes) go to `Ingest.store` (what the ingest thread does with
a batch: claims, the rule set, COPY, commit), then their events to `Notifier.publish` (what the
notifier thread does: deliveries and rendering for a subscription to `v1.1/Observations`) with a
publisher that only keeps the payloads. For each form it reports the CPU of this process per
stored Observation, split into store and notify, and of its PostgreSQL backend (/proc), plus the
statements per batch; `--profile` adds the top functions of a cProfile run. Thread CPU time is what
contention distorts least; the load average is recorded anyway. A fresh `sta_bench_*` database on
the project cluster (or `STA_DATABASE_URL`'s), dropped at the end; `--source DIR` measures another
copy of the code (e.g. `git archive` of an earlier commit) for a before/after."""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
log = logging.getLogger("bench")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--forms", nargs="+", default=["single:1", "senml:10", "senml:50", "dataarray:10",
                                                       "dataarray:50"], help="form:records per message")
    parser.add_argument("--observations", type=int, default=20000, help="Observations measured per form")
    parser.add_argument("--batch", type=int, default=2000, help="messages per batch (STA_MQTT_INGEST_BATCH)")
    parser.add_argument("--profile", action="store_true", help="also the top functions (cProfile) per form")
    parser.add_argument("--source", default=ROOT, help="server code to measure")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--database-url", help="(internal) measure on this database, in this process")
    return parser.parse_args()


class Kept:
    """The notifier's publisher: keeps the last payloads (nothing is sent)."""

    def __init__(self) -> None:
        self.count = 0
        self.last: list[tuple[str, bytes]] = []

    def publish_notifications(self, items: list[tuple[str, bytes]]) -> None:
        self.count += len(items)
        self.last = items


def backend_cpu_s(engine: Any) -> float:
    from sqlalchemy import text

    from bench.stats import cpu_s

    with engine.connect() as conn:
        pids = [int(r[0]) for r in conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))]
    return sum(cpu_s(pid) for pid in pids)


def build_messages(form: str, records: int, count: int) -> list[Any]:
    """`count` messages as bench/mqtt_load.py publishes them, for Datastreams 1-100."""
    from bench.mqtt_load import Offer, message, topic_of
    from sta_server.mqtt.ingest import Incoming

    streams = list(range(1, 101))
    offer = Offer("127.0.0.1", 0, tuple(streams), form=form, records=records)
    messages = []
    for n in range(count):
        chosen = [streams[(n * records + r) % len(streams)] for r in range(records)]
        now = time.time()
        stamp = datetime.fromtimestamp(now, UTC).isoformat().encode()
        messages.append(Incoming(topic_of(offer, chosen[0]).decode(), message(offer, chosen, n, stamp, now),
                                 lambda: None))
    return messages


def measure(database_url: str, forms: list[str], observations: int, batch: int, profile: bool,
            source: str) -> list[dict[str, Any]]:
    from sqlalchemy import event

    if source != ROOT:  # the server's code from there (this bench's own modules are loaded already)
        sys.path.insert(0, source)
    from sta_server.mqtt.ingest import Ingest
    from sta_server.mqtt.notify import Notifier
    from sta_server.mqtt.subscriptions import SubscriptionRegistry
    from sta_server.service.events import EntityChanged, EventBus
    from sta_server.settings import Settings
    from sta_server.sql.engine import make_engine

    settings = Settings.from_env({"STA_DATABASE_URL": database_url, "STA_AUTH": "off", "STA_LOG_LEVEL": "WARNING"})
    engine = make_engine(settings)
    statements = [0]
    event.listen(engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
    bus, events = EventBus(), list[EntityChanged]()
    bus.subscribe(events.extend)
    ingest = Ingest(engine, bus, batch_size=batch, settings=settings)
    registry = SubscriptionRegistry()
    registry.add("bench-subscriber", "v1.1/Observations")
    kept = Kept()
    notifier = Notifier(engine, registry, kept, settings.base_url, settings.default_top)
    results = []
    for spec in ["single:1", *forms]:  # the first round warms caches (statements, topics): not kept
        form, records = spec.split(":")[0], int(spec.split(":")[1])
        messages = build_messages(form, records, max(1, observations // records))
        store_s = notify_s = 0.0
        statements[0] = 0
        stored0, notified0, pg0 = ingest.stats.accepted, kept.count, backend_cpu_s(engine)
        profiler = cProfile.Profile() if profile else None
        for start in range(0, len(messages), batch):
            events.clear()
            t0 = time.thread_time()
            if profiler:
                profiler.enable()
            ingest.store(messages[start:start + batch])
            t1 = time.thread_time()
            notifier.publish(list(events))
            if profiler:
                profiler.disable()
            t2 = time.thread_time()
            store_s, notify_s = store_s + t1 - t0, notify_s + t2 - t1
        stored, notified = ingest.stats.accepted - stored0, kept.count - notified0
        row = {"form": form, "records_per_message": records, "messages": len(messages), "stored": stored,
               "notified": notified, "rejected": ingest.stats.rejected,
               "store_us_per_obs": round(1e6 * store_s / max(1, stored), 1),
               "notify_us_per_obs": round(1e6 * notify_s / max(1, stored), 1),
               "postgres_us_per_obs": round(1e6 * (backend_cpu_s(engine) - pg0) / max(1, stored), 1),
               "statements_per_batch": round(statements[0] / max(1, -(-len(messages) // batch)), 1),
               "load_average": [round(x, 2) for x in os.getloadavg()]}
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
            row["profile_tottime"] = out.getvalue().splitlines()[-30:]
        log.info("%s", {k: v for k, v in row.items() if k != "profile_tottime"})
        results.append(row)
    return results[1:]


def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.database_url:  # the child: measure on the given database with the code on sys.path
        print("RESULT " + json.dumps(measure(args.database_url, args.forms, args.observations, args.batch,
                                             args.profile, os.path.abspath(args.source))))
        return 0
    from bench import dataset
    from bench.harness import DEFAULT_ADMIN_URL, Database, ensure_project_postgres
    from bench.mqtt_sustained import SIZES, name_streams

    admin_url = os.environ.get("STA_DATABASE_URL", DEFAULT_ADMIN_URL)
    ensure_project_postgres(admin_url)
    database = Database(admin_url, os.path.abspath(args.source))
    try:
        engine = database.create()
        dataset.load_metadata(engine, SIZES)
        name_streams(engine)
        engine.dispose()
        command = [sys.executable, "-m", "bench.mqtt_ingest_cost", "--database-url", database.url,
                   "--source", os.path.abspath(args.source),
                   "--observations", str(args.observations), "--batch", str(args.batch), "--forms", *args.forms]
        done = subprocess.run(command + (["--profile"] if args.profile else []), cwd=ROOT,
                              capture_output=True, text=True, check=False)
        sys.stderr.write(done.stderr[-4000:])
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if not lines:
            return 1
        runs = json.loads(lines[-1][len("RESULT "):])
    finally:
        database.drop()
    report = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "source": args.source,
              "what": "MQTT ingest CPU per Observation, in-process, no broker", "runs": runs}
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(report, handle, indent=1)
    print(json.dumps([{k: v for k, v in r.items() if k != "profile_tottime"} for r in runs], indent=1))
    if args.profile:
        for run in runs:
            print(f"--- {run['form']}:{run['records_per_message']}")
            print("\n".join(run["profile_tottime"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
