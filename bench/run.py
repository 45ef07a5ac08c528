"""Run the benchmark: `.venv/bin/python bench/run.py [--scenarios 1,2,…] [--quick]`.

Creates its own database on STA_DATABASE_URL's server, its own Mosquitto and sta-server, runs the
scenarios, prints a table, writes bench/results/<date>.json, and removes everything it made."""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import dataset  # noqa: E402
from bench.harness import (  # noqa: E402
    DEFAULT_ADMIN_URL,
    ROOT,
    Database,
    Mosquitto,
    Server,
    backend_pids,
    ensure_project_postgres,
)
from bench.report import render_table  # noqa: E402
from bench.scenarios import Context, Result  # noqa: E402
from bench.stats import Probe, cpu_s, other_cpu_pct  # noqa: E402

log = logging.getLogger("bench")
SCENARIOS = {"1": ("http_post", "run"), "2": ("data_array", "run"), "3": ("mqtt_ingest", "run"),
             "3b": ("mqtt_ingest", "run_sustainable"), "4": ("latest", "run"), "5": ("export", "run"),
             "6": ("dashboard", "run"), "7": ("spatial", "run")}
NEEDS_OBSERVATIONS = {"4", "5", "6", "7"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenarios", default="1,2,3,3b,4,5,6,7", help="comma-separated, of 1,2,3,3b,4,5,6,7")
    parser.add_argument("--quick", action="store_true", help="small data, short runs (a smoke test)")
    parser.add_argument("--source", default=ROOT,
                        help="server code to run (default: this tree; e.g. a `git archive HEAD` copy)")
    parser.add_argument("--keep", action="store_true", help="keep the database (for EXPLAIN afterwards)")
    parser.add_argument("--workers", type=int, default=1,
                        help="STA_HTTP_WORKERS of the server (2 = scripts/run.sh's default run mode); the server's "
                             "CPU and memory are then summed over its processes")
    return parser.parse_args()


def measure(number: str, ctx: Context, probe: Probe, engine_db: tuple[Any, str]) -> dict[str, Any]:
    module_name, function = SCENARIOS[number]
    run = getattr(importlib.import_module(f"bench.scenarios.{module_name}"), function)
    pg_start = {pid: cpu_s(pid) for pid in backend_pids(*engine_db)}
    probe.begin()
    try:
        result: Result = run(ctx)
    except Exception as error:  # a failing scenario is reported, the others still run
        log.exception("scenario %s failed", number)
        result = Result(f"{number} {module_name}", "FAILED", 0.0, "", {}, "", False,
                        {"error": repr(error)[:300]})
    stats = probe.end()
    pg_cpu = sum(cpu_s(pid) - pg_start.get(pid, 0.0) for pid in backend_pids(*engine_db))
    stats["postgres_cpu_pct"] = round(100 * pg_cpu / stats["wall_s"], 1)
    stats["other_cpu_pct"] = other_cpu_pct(stats)
    row = asdict(result) | {"process": stats}
    log.info("%s", json.dumps(row))
    return row


def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    numbers = [n for n in SCENARIOS if n in args.scenarios.split(",")]
    sizes = dataset.QUICK if args.quick else dataset.Sizes()
    admin_url = os.environ.get("STA_DATABASE_URL") or DEFAULT_ADMIN_URL
    ensure_project_postgres(admin_url)
    source = os.path.abspath(args.source)
    database = Database(admin_url, source)
    rows: list[dict[str, Any]] = []
    try:
        engine = database.create()
        log.info("database %s; loading metadata", database.name)
        dataset.load_metadata(engine, sizes)
        loaded = False
        for number in numbers:
            if number in NEEDS_OBSERVATIONS and not loaded:
                log.info("loading %.2f M Observations in SQL", sizes.observations / 1e6)
                log.info("loaded in %.0f s", dataset.load_observations(engine, sizes))
                loaded = True
            log.info("scenario %s", number)
            with Services(database.url, source, args.workers) as (probe, base, mqtt_url):
                ctx = Context(base, mqtt_url, engine, sizes, args.quick)
                rows.append(measure(number, ctx, probe, (engine, database.name)))
        print(render_table(rows))
        write_results(rows, sizes, args.quick, source, args.workers)
    finally:
        if not args.keep:
            database.drop()
        else:
            log.info("kept database %s", database.name)
    return 0


@contextmanager
def Services(database_url: str, source: str, workers: int = 1) -> Iterator[tuple[Probe, str, str]]:  # noqa: N802
    """A fresh Mosquitto and sta-server per scenario: a clean peak memory, no backlog carried over."""
    broker = Mosquitto()
    server: Server | None = None
    try:
        broker_pid = broker.start()
        server = Server(database_url, broker.url, source, workers)
        probe = Probe({"server": server.start(), "mosquitto": broker_pid})
        yield probe, server.base, broker.url
    finally:
        if server is not None:
            server.stop()
            tail = [line for line in server.log_tail(200).splitlines() if "Task queue depth" not in line]
            if tail:
                log.info("server log (last lines):\n%s", "\n".join(tail[-10:]))
        broker.stop()


def code_version(source: str) -> str:
    """`git describe` of the tree that ran (a snapshot without .git says so)."""
    import subprocess

    if not os.path.isdir(os.path.join(source, ".git")):
        return f"snapshot at {source}"
    done = subprocess.run(["git", "-C", source, "describe", "--always", "--dirty"], capture_output=True,
                          text=True, check=False)
    return done.stdout.strip()


def write_results(rows: list[dict[str, Any]], sizes: dataset.Sizes, quick: bool, source: str,
                  workers: int = 1) -> None:
    folder = os.path.join(ROOT, "bench", "results")
    os.makedirs(folder, exist_ok=True)
    stamp = datetime.now().strftime("%Y-%m-%d")
    path = os.path.join(folder, f"{stamp}{'-quick' if quick else ''}{f'-workers{workers}' if workers > 1 else ''}.json")
    with open(path, "w") as handle:
        json.dump({"date": datetime.now().isoformat(timespec="seconds"), "quick": quick, "workers": workers,
                   "sizes": asdict(sizes), "code": code_version(source), "machine": {"cpus": os.cpu_count()},
                   "unix_time": time.time(), "scenarios": rows}, handle, indent=2)
    log.info("results written to %s", path)


if __name__ == "__main__":
    sys.exit(main())
