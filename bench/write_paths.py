"""Single-entity writes, side by side: `.venv/bin/python bench/write_paths.py [--rounds 3]
[--baseline DIR] [--compare-cmd 'bash bench/istsos4_serve.sh']`.

Starts this server in the default run mode (scripts/run.sh: gunicorn, 2 workers, the MQTT ingest
process; authentication off) on a fresh database, and the comparison server (optional) with its
command (env: PORT, PGHOST, PGPORT, PGUSER, PGDATABASE: a fresh empty database it sets up itself).
Then, in alternating rounds (ours, theirs, ours, …): N Observation POSTs one after the other over one
keep-alive connection, 8 clients for D seconds, N deep inserts of a Thing (Location + 3 Datastreams
with new Sensors and ObservedProperties) and the DELETE of each of those Things. Last, a counting
pass: each server again, its database reached through a counting proxy (bench/pg_wire.py), gives
the statements and round trips per request. Writes bench/results/<date>-write-paths.json.
`--variant 'NAME=VAR=VALUE,…'` adds this server code once more with other settings (e.g.
`sta-server granian=STA_HTTP_SERVER=granian`), on a database of its own."""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import Engine, create_engine, make_url, text  # noqa: E402

from bench import write_workload as work  # noqa: E402
from bench.harness import (  # noqa: E402
    DEFAULT_ADMIN_URL,
    ROOT,
    Database,
    Mosquitto,
    Server,
    backend_pids,
    ensure_project_postgres,
    free_port,
)
from bench.pg_wire import CountingProxy  # noqa: E402
from bench.run import code_version  # noqa: E402

log = logging.getLogger("bench")
BEFORE = "sta-server before"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--posts", type=int, default=2000, help="sequential Observation POSTs per round")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of 8-client POSTs per round")
    parser.add_argument("--things", type=int, default=100, help="deep inserts (then DELETEs) per round")
    parser.add_argument("--workers", type=int, default=2, help="STA_HTTP_WORKERS (2: scripts/run.sh's default)")
    parser.add_argument("--source", default=ROOT, help="server code to run (e.g. a `git archive` copy)")
    parser.add_argument("--baseline", help="also run this server code (a `git archive` copy of an earlier commit) "
                        "as 'sta-server before', on its own database, in the same alternating rounds")
    parser.add_argument("--variant", action="append", default=[],
                        help="also run this server code with these settings, on its own database: "
                        "NAME=VAR=VALUE,… (e.g. 'sta-server granian=STA_HTTP_SERVER=granian'; repeatable)")
    parser.add_argument("--compare-cmd", help="shell command serving the comparison server (see above)")
    parser.add_argument("--compare-name", default="istSOS4")
    parser.add_argument("--compare-path", default="/istsos4/v1.1", help="its API root path")
    parser.add_argument("--no-count", action="store_true", help="skip the statement counting pass")
    parser.add_argument("--label", default="", help="added to the results file name")
    return parser.parse_args()


class Comparison:
    """The comparison server, started by a shell command in its own process group."""

    def __init__(self, command: str, path: str, database_url: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}{path}"
        url = make_url(database_url)
        self.env = dict(os.environ, PORT=str(self.port), PGHOST=url.host or "127.0.0.1", PGPORT=str(url.port or 5432),
                        PGUSER=url.username or "postgres", PGDATABASE=url.database or "")
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = f"/tmp/compare-server-{self.port}.log"

    def start(self) -> int:
        with open(self.log_path, "wb") as log_file:
            self.process = subprocess.Popen(["bash", "-c", self.command], env=self.env, stdout=log_file,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the comparison server exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base, timeout=1):
                    return self.process.pid
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"the comparison server did not answer; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)


@contextmanager
def ours(database_url: str, source: str, workers: int, name: str = "sta-server",
         env: dict[str, str] | None = None) -> Iterator[work.Target]:
    broker = Mosquitto()
    server = Server(database_url, broker.url, source, workers)
    try:
        broker.start()
        with environment(env or {}):  # the server process inherits os.environ
            pid = server.start()
        yield work.Target(name, server.base, pid, lambda: [], source=source)
    finally:
        server.stop()
        broker.stop()


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
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


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """`NAME=VAR=VALUE,VAR=VALUE` -> (NAME, {VAR: VALUE})."""
    name, _, assignments = text.partition("=")
    return name, dict(item.split("=", 1) for item in assignments.split(",") if item)


@contextmanager
def theirs(args: argparse.Namespace, database_url: str) -> Iterator[work.Target]:
    server = Comparison(args.compare_cmd, args.compare_path, database_url)
    try:
        pid = server.start()
        yield work.Target(args.compare_name, server.base, pid, lambda: [])
    finally:
        server.stop()


def empty_database(admin_url: str, name: str) -> str:
    admin = create_engine(make_url(admin_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(make_url(admin_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def one_round(target: work.Target, args: argparse.Namespace) -> dict[str, Any]:
    made: list[int] = []
    phases = {
        "post_sequential": work.sequential_posts(target, args.posts),
        "post_8_clients": work.concurrent_posts(target, args.duration),
        "deep_insert_thing": work.deep_inserts(target, args.things, made),
        "delete_thing": work.deletes(target, made),
    }
    summary = {name: phase.summary() for name, phase in phases.items()}
    log.info("%s: %s", target.name, json.dumps(summary))
    return summary


def counting_pass(target: work.Target, proxy: CountingProxy, args: argparse.Namespace) -> dict[str, Any]:
    """Statements and round trips per request, each kind alone (the proxy sees only this server)."""
    made: list[int] = []
    kinds: dict[str, Callable[[], work.Phase]] = {"post": lambda: work.sequential_posts(target, 200),
             "deep_insert_thing": lambda: work.deep_inserts(target, 20, made),
             "delete_thing": lambda: work.deletes(target, made)}
    out = {}
    for kind, run in kinds.items():
        before = proxy.counts.snapshot()
        phase = run()
        after = proxy.counts.snapshot()
        n = max(1, phase.requests)
        out[kind] = {"statements": round((after[0] - before[0]) / n, 2),
                     "round_trips": round((after[1] - before[1]) / n, 2), "errors": phase.errors}
    log.info("%s counted: %s", target.name, json.dumps(out))
    return out


def with_backends(target: work.Target, engine: Engine, database: str) -> work.Target:
    target.backends = lambda: backend_pids(engine, database)
    target.database = database
    return target


def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    admin_url = os.environ.get("STA_DATABASE_URL") or DEFAULT_ADMIN_URL
    ensure_project_postgres(admin_url)
    source = os.path.abspath(args.source)
    results: dict[str, Any] = {"date": datetime.now().isoformat(timespec="seconds"), "code": code_version(source),
                               "machine": {"cpus": os.cpu_count()}, "args": vars(args), "rounds": [], "counted": {}}
    database = Database(admin_url, source)
    compare_db = f"compare_bench_{os.getpid()}"
    with ExitStack() as stack:
        engine = database.create()
        stack.callback(database.drop)
        targets = [with_backends(stack.enter_context(ours(database.url, source, args.workers)), engine, database.name)]
        if args.baseline:
            before = Database(admin_url, os.path.abspath(args.baseline))
            before_engine = before.create()
            stack.callback(before.drop)
            server = ours(before.url, os.path.abspath(args.baseline), args.workers, BEFORE)
            targets.append(with_backends(stack.enter_context(server), before_engine, before.name))
        for name, env in map(parse_variant, args.variant):
            variant = Database(admin_url, source)
            variant_engine = variant.create()
            stack.callback(variant.drop)
            server = ours(variant.url, source, args.workers, name, env)
            targets.append(with_backends(stack.enter_context(server), variant_engine, variant.name))
        if args.compare_cmd:
            url = empty_database(admin_url, compare_db)
            stack.callback(drop_database, admin_url, compare_db)
            targets.append(with_backends(stack.enter_context(theirs(args, url)), engine, compare_db))
        for target in targets:
            work.prepare(target)
        for number in range(args.rounds):
            for target in targets if number % 2 == 0 else targets[::-1]:
                results["rounds"].append({"round": number, "server": target.name, **one_round(target, args)})
        path = write(results, args.label)
        if not args.no_count:
            results["counted"] = count_all(args, targets, admin_url)
            path = write(results, args.label)
    print(render(results))
    log.info("results written to %s", path)
    return 0


def count_all(args: argparse.Namespace, targets: list[work.Target], admin_url: str) -> dict[str, Any]:
    """Second instances of the servers, on the same databases, through a counting proxy each."""
    counted = {}
    port = make_url(admin_url).port or 5432
    for target in targets:
        proxy = CountingProxy(port).start()
        url = make_url(admin_url).set(database=target.database, port=proxy.port).render_as_string(hide_password=False)
        if target.name == args.compare_name:
            context = theirs(args, url)
        else:
            variants = dict(map(parse_variant, args.variant))
            context = ours(url, target.source, args.workers, target.name, variants.get(target.name))
        try:
            with context as second:
                second.streams, second.serial = target.streams, target.serial
                counted[target.name] = counting_pass(second, proxy, args)
        except RuntimeError as error:  # e.g. a server that did not start in time on a busy machine
            log.warning("no counts for %s: %s", target.name, error)
        proxy.stop()
    return counted


def write(results: dict[str, Any], label: str) -> str:
    folder = os.path.join(ROOT, "bench", "results")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{datetime.now():%Y-%m-%d}-write-paths{'-' + label if label else ''}.json")
    with open(path, "w") as handle:
        json.dump(results, handle, indent=2)
    return path


def render(results: dict[str, Any]) -> str:
    """Medians over the rounds per server and phase, as a Markdown table."""
    import statistics

    lines = ["| server | phase | req/s | p50 ms | p90 ms | p99 ms | server CPU ms/req | db CPU ms/req | load |",
             "|---|---|---|---|---|---|---|---|---|"]
    servers = list(dict.fromkeys(r["server"] for r in results["rounds"]))
    for server in servers:
        rounds = [r for r in results["rounds"] if r["server"] == server]
        for phase in ("post_sequential", "post_8_clients", "deep_insert_thing", "delete_thing"):
            keys = ("per_s", "p50_ms", "p90_ms", "p99_ms", "server_cpu_ms", "db_cpu_ms", "load_average_1m")
            cells = [statistics.median(r[phase][key] for r in rounds) for key in keys]
            lines.append(f"| {server} | {phase} | " + " | ".join(f"{c:g}" for c in cells) + " |")
    for server, counts in results["counted"].items():
        lines.append(f"\n{server}: " + ", ".join(f"{k}: {v['statements']} statements, {v['round_trips']} round trips"
                                                 for k, v in counts.items()))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
