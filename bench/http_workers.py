"""The HTTP worker setup of the default run mode, measured: `.venv/bin/python bench/http_workers.py
[--rounds 2] [--posts 1000] [--duration 8] [--setup NAME=VAR=VALUE,VAR=VALUE ...]`.

One database and one Mosquitto; per setup (a set of environment variables of the server:
STA_HTTP_WORKERS, STA_HTTP_SERVER, STA_HTTP_THREADS, STA_HTTP_WORKER_CLASS, STA_HTTP_KEEPALIVE,
PYTHONPATH…) a fresh `sta-server` (authentication off) — or, with BENCH_CMD, that shell command
(given PORT and the STA_* settings: another server of the same app) — in alternating rounds (setups
in order, then reversed): N Observation POSTs one after the other over one keep-alive connection,
then 8 clients posting for D seconds. Per phase: req/s, p50/p99, the CPU of the server's process
tree, of its PostgreSQL backends and of this load generator per request (from /proc: other load
inflates it less than it does latency), and the load average. Writes
bench/results/<date>-http-workers[-label].json and prints the medians over the rounds as a table."""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import Engine  # noqa: E402

from bench import write_workload as work  # noqa: E402
from bench.harness import DEFAULT_ADMIN_URL, ROOT, Database, Mosquitto, Server, backend_pids, ensure_project_postgres  # noqa: E402
from bench.run import code_version  # noqa: E402
from bench.write_paths import Comparison  # noqa: E402

log = logging.getLogger("bench")
DEFAULT_SETUPS = [
    "gunicorn-gthread-2x8=STA_HTTP_WORKERS=2,STA_HTTP_SERVER=gunicorn,STA_HTTP_THREADS=8",
    "gunicorn-gthread-2x4=STA_HTTP_WORKERS=2,STA_HTTP_SERVER=gunicorn,STA_HTTP_THREADS=4",
    "gunicorn-sync-4=STA_HTTP_WORKERS=4,STA_HTTP_SERVER=gunicorn,STA_HTTP_WORKER_CLASS=sync",
    "granian-2x8=STA_HTTP_WORKERS=2,STA_HTTP_SERVER=granian",
]


def parse_setup(text: str) -> tuple[str, dict[str, str]]:
    """`NAME=VAR=VALUE,VAR=VALUE` -> (NAME, {VAR: VALUE})."""
    name, _, assignments = text.partition("=")
    env = dict(item.split("=", 1) for item in assignments.split(",") if item)
    return name, env


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--posts", type=int, default=1000, help="sequential Observation POSTs per round")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of 8-client POSTs per round")
    parser.add_argument("--setup", action="append", help=f"NAME=VAR=VALUE,… (repeatable; default {DEFAULT_SETUPS})")
    parser.add_argument("--label", default="")
    return parser.parse_args()


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """os.environ with `env` on top (the server subprocess inherits it), restored afterwards."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def client_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def measure(name: str, env: dict[str, str], database: Database, engine: Engine, broker: Mosquitto,
            args: argparse.Namespace) -> dict[str, Any]:
    """One round of one setup on a server of its own."""
    workers = int(env.get("STA_HTTP_WORKERS", "2"))
    server: Server | Comparison
    if "BENCH_CMD" in env:  # another WSGI server: a shell command given PORT, serving ROOT's app
        server_env = dict(env, STA_DATABASE_URL=database.url, STA_MQTT_URL=broker.url, STA_AUTH="off",
                          STA_LOG_LEVEL="WARNING", STA_HTTP_WORKERS=str(workers), PYTHONPATH=ROOT)
        server = Comparison(env["BENCH_CMD"], "/v1.1", database.url)
        server.env.update(server_env)
        base = server.base
    else:
        server = Server(database.url, broker.url, ROOT, workers)
        base = server.base
    with environment({key: value for key, value in env.items() if key not in ("STA_HTTP_WORKERS", "BENCH_CMD")}):
        pid = server.start()
    try:
        target = work.Target(name, base, pid, lambda: backend_pids(engine, database.name),
                             database=database.name)
        work.prepare(target)
        out: dict[str, Any] = {}
        for phase_name in ("post_sequential", "post_8_clients"):
            client0 = client_cpu_s()
            if phase_name == "post_sequential":
                phase = work.sequential_posts(target, args.posts)
            else:
                phase = work.concurrent_posts(target, args.duration)
            summary = phase.summary()
            summary["client_cpu_ms"] = round(1000 * (client_cpu_s() - client0) / max(1, phase.requests), 3)
            if phase.errors:
                log.warning("%s %s: %d errors, first %s", name, phase_name, phase.errors, phase.first_error)
            out[phase_name] = summary
        return out
    finally:
        server.stop()


def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    ensure_project_postgres(DEFAULT_ADMIN_URL)
    setups = [parse_setup(text) for text in (args.setup or DEFAULT_SETUPS)]
    results: dict[str, Any] = {"date": datetime.now().isoformat(timespec="seconds"), "code": code_version(ROOT),
                               "machine": {"cpus": os.cpu_count()}, "args": vars(args),
                               "setups": dict(setups), "rounds": []}
    database, broker = Database(DEFAULT_ADMIN_URL), Mosquitto()
    engine = database.create()
    broker.start()
    try:
        for number in range(args.rounds):
            for name, env in setups if number % 2 == 0 else setups[::-1]:
                started = time.monotonic()
                summary = measure(name, env, database, engine, broker, args)
                log.info("%s (%.0f s): %s", name, time.monotonic() - started, json.dumps(summary))
                results["rounds"].append({"round": number, "setup": name, **summary})
                write(results, args.label)
    finally:
        broker.stop()
        engine.dispose()
        database.drop()
    print(render(results))
    log.info("results written to %s", write(results, args.label))
    return 0


def write(results: dict[str, Any], label: str) -> str:
    folder = os.path.join(ROOT, "bench", "results")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{datetime.now():%Y-%m-%d}-http-workers{'-' + label if label else ''}.json")
    with open(path, "w") as handle:
        json.dump(results, handle, indent=2)
    return path


def render(results: dict[str, Any]) -> str:
    """Medians over the rounds per setup and phase, as a Markdown table."""
    keys = ("per_s", "p50_ms", "p99_ms", "server_cpu_ms", "db_cpu_ms", "client_cpu_ms", "load_average_1m")
    lines = ["| setup | phase | req/s | p50 ms | p99 ms | server CPU ms/req | db CPU ms/req | client CPU ms/req "
             "| load |",
             "|---|---|---|---|---|---|---|---|---|"]
    for setup in dict.fromkeys(r["setup"] for r in results["rounds"]):
        rounds = [r for r in results["rounds"] if r["setup"] == setup]
        for phase in ("post_sequential", "post_8_clients"):
            cells = [statistics.median(r[phase][key] for r in rounds) for key in keys]
            lines.append(f"| {setup} | {phase} | " + " | ".join(f"{c:g}" for c in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
