"""What one single-entity write costs, independent of the machine's load:
`.venv/bin/python bench/write_cost.py [--callgrind] [--source DIR]`.

The server's WSGI application runs in this process (authentication off, MQTT off, no HTTP server:
what a gunicorn worker runs per request, minus gunicorn), on a fresh database reached through a
counting proxy (bench/pg_wire.py). Per kind of request — an Observation POST, the same POST by a
field agent (`post_scoped`: authentication on, HTTP Basic, a `device_agent` user granted the
Thing's site, so row-level security applies), a deep insert of a Thing (a GeoJSON Location and 3
Datastreams with new Sensors and ObservedProperties), the DELETE of such a Thing — it reports
statements and round trips, this process's CPU and its PostgreSQL
backend's CPU per request. With `--callgrind` it also runs each kind twice under
`valgrind --tool=callgrind` (a few and many requests) and reports the difference per request:
instructions the server executes for one request, the same on a busy machine as on a quiet one.
`--source` runs another checkout (e.g. `git archive` of an earlier commit) for a before/after."""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ("post", "post_scoped", "deep_insert_thing", "delete_thing")
_FEW = {"post": 30, "post_scoped": 30, "deep_insert_thing": 6, "delete_thing": 6}
_MANY = {"post": 330, "post_scoped": 330, "deep_insert_thing": 36, "delete_thing": 36}
_USERS = {"admin": ("admin", ()), "agent": ("device_agent", ("site:bench",))}  # name -> role, grants
_STREAMS = 3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default=ROOT, help="server code to measure")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions under callgrind")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="which requests to measure")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the request counts")
    parser.add_argument("--database-url", help="(internal) the database to use instead of a fresh one")
    parser.add_argument("--only", choices=KINDS, help="(internal) run this kind only")
    parser.add_argument("--count", type=int, help="(internal) this many requests")
    return parser.parse_args()


class App:
    """The WSGI application called directly, one environ per request (no test client on top)."""

    def __init__(self, database_url: str, auth: bool = False) -> None:
        from sta_server.app import create_app
        from sta_server.settings import Settings

        settings = Settings.from_env({"STA_DATABASE_URL": database_url, "STA_AUTH": "on" if auth else "off",
                                      "STA_MQTT_URL": "off", "STA_LOG_LEVEL": "WARNING"})
        self.app = create_app(settings)
        self.engine = self.app.config["STA_ENGINE"]
        self.auth = auth
        if auth:
            add_users(self.engine)

    def call(self, method: str, path: str, body: Any = None, user: str = "admin") -> tuple[int, bytes, dict[str, str]]:
        data = json.dumps(body).encode() if body is not None else b""
        environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": f"/v1.1/{path}", "QUERY_STRING": "",
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1",
                   "HTTP_HOST": "127.0.0.1:8080", "CONTENT_TYPE": "application/json",
                   "CONTENT_LENGTH": str(len(data)), "wsgi.input": BytesIO(data), "wsgi.url_scheme": "http",
                   "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
                   "wsgi.run_once": False, "wsgi.version": (1, 0), "REMOTE_ADDR": "127.0.0.1"}
        if self.auth:
            environ["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(f"{user}:{_password(user)}".encode()).decode()
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = int(status.split(maxsplit=1)[0]), dict(headers)
            return lambda _data: None

        chunks = self.app.wsgi_app(environ, start_response)
        try:
            text = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return answer["status"], text, answer["headers"]


def _password(user: str) -> str:
    return f"bench-{user}-secret"


def add_users(engine: Any) -> None:
    """The bench's users (once per database): an administrator and a field agent of `site:bench`."""
    from sqlalchemy import select

    from sta_server.security import users
    from sta_server.security.principal import Principal
    from sta_server.sql.security_tables import User

    with engine.begin() as conn:
        if conn.execute(select(User.name).where(User.name == "agent")).first() is None:
            for name, (role, grants) in _USERS.items():
                users.add_user(conn, Principal("bench", "admin", channel="cli"), name, role, _password(name), grants)


def label(engine: Any, thing: int) -> None:
    from sta_server.security import users
    from sta_server.security.principal import Principal

    with engine.begin() as conn:
        users.label_things(conn, Principal("bench", "admin", channel="cli"), [thing], add=["site:bench"])


def thing_body(tag: str) -> dict[str, Any]:
    from bench.write_workload import thing_body as body

    return body(tag, _STREAMS)


def created(answer: tuple[int, bytes, dict[str, str]]) -> int:
    status, text, headers = answer
    if status != 201:
        raise RuntimeError(f"create -> {status}: {text[:300]!r}")
    return int(re.search(r"\((\d+)\)\s*$", headers["Location"]).group(1))  # type: ignore[union-attr]


class Workload:
    """The requests of one kind, after a preparation that is the same for every count."""

    def __init__(self, app: App, kind: str, count: int) -> None:
        self.app, self.kind, self.count = app, kind, count
        self.thing = created(app.call("POST", "Things", thing_body("prep")))
        if app.auth:
            label(app.engine, self.thing)
        status, text, _ = app.call("GET", f"Things({self.thing})/Datastreams")
        self.streams = [int(item["@iot.id"]) for item in json.loads(text)["value"]]
        self.doomed = [created(app.call("POST", "Things", thing_body(f"doomed {n}")))
                       for n in range(count)] if kind == "delete_thing" else []
        self.serial = 0

    def request(self, n: int) -> None:
        if self.kind in ("post", "post_scoped"):
            time_ = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=n)
            created(self.app.call("POST", "Observations", {
                "phenomenonTime": time_.isoformat().replace("+00:00", "Z"), "result": n + 0.5,
                "Datastream": {"@iot.id": self.streams[n % len(self.streams)]}},
                user="agent" if self.kind == "post_scoped" else "admin"))
        elif self.kind == "deep_insert_thing":
            created(self.app.call("POST", "Things", thing_body(f"deep {n}")))
        else:
            status, text, _ = self.app.call("DELETE", f"Things({self.doomed[n]})")
            if status not in (200, 204):
                raise RuntimeError(f"DELETE -> {status}: {text[:300]!r}")


def backend_cpu_s(engine: Any) -> float:
    """CPU of every backend of the app's pool (their pids asked on each pooled connection)."""
    from sqlalchemy import text

    from bench.stats import cpu_s

    pool = engine.pool
    pids = set()
    conns = [engine.connect() for _ in range(pool.checkedin())]
    for conn in conns:
        pids.add(int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one()))
    for conn in conns:
        conn.close()
    return sum(cpu_s(pid) for pid in pids)


def measure_kind(database_url: str, kind: str, count: int, proxy: Any | None) -> dict[str, Any]:
    app = App(database_url, auth=kind == "post_scoped")
    work = Workload(app, kind, count)
    warm_up = range(-len(work.streams), 1) if kind.startswith("post") else range(1)
    for n in warm_up:  # statements compiled, connection made, each stream's feature generated
        work.request(n)
    if kind == "delete_thing":
        work.doomed.append(created(app.call("POST", "Things", thing_body("doomed extra"))))
        work.doomed = work.doomed[1:] + work.doomed[:1]
    counts0 = proxy.counts.snapshot() if proxy else (0, 0)
    db0, cpu0, wall0 = backend_cpu_s(app.engine), time.process_time(), time.perf_counter()
    for n in range(1, count):
        work.request(n)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    db1 = backend_cpu_s(app.engine)
    counts1 = proxy.counts.snapshot() if proxy else (0, 0)
    n = count - 1
    app.engine.dispose()
    return {"requests": n, "statements": round((counts1[0] - counts0[0]) / n, 2),
            "round_trips": round((counts1[1] - counts0[1]) / n, 2),
            "server_cpu_ms": round(1000 * (cpu1 - cpu0) / n, 3), "db_cpu_ms": round(1000 * (db1 - db0) / n, 3),
            "wall_ms": round(1000 * (wall1 - wall0) / n, 3), "load_average_1m": round(os.getloadavg()[0], 2)}


def callgrind_instructions(args: argparse.Namespace, database_url: str, kind: str) -> float:
    """Instructions per request: (many - few) requests under callgrind, the rest cancels out."""
    totals = []
    for count in (int(_FEW[kind] * args.scale), int(_MANY[kind] * args.scale)):
        stderr = _child(args, database_url, kind, count, ["valgrind", "--tool=callgrind",
                                                           "--callgrind-out-file=/dev/null"])
        found = re.search(r"Collected\s*:\s*(\d+)", stderr)
        if not found:
            raise RuntimeError(f"no instruction count from callgrind: {stderr[-2000:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / (int(_MANY[kind] * args.scale) - int(_FEW[kind] * args.scale))


def _child(args: argparse.Namespace, database_url: str, kind: str, count: int, wrapper: list[str]) -> Any:
    """This script on `count` requests of `kind` in a process of its own (under `wrapper`)."""
    command = [*wrapper, sys.executable, os.path.abspath(__file__), "--source", args.source,
               "--database-url", database_url, "--only", kind, "--count", str(count)]
    done = subprocess.run(command, capture_output=True, text=True, env=_env(args.source), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]) if not wrapper else done.stderr


def _env(source: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([source, ROOT]), PYTHONHASHSEED="0")


def main() -> int:
    args = parse_args()
    if args.only:  # a child: one kind, `count` requests, its costs printed as JSON
        sys.path[:0] = [os.path.abspath(args.source), ROOT]
        print(json.dumps(measure_kind(args.database_url, args.only, args.count, None)))
        return 0
    sys.path[:0] = [os.path.abspath(args.source), ROOT]
    from sqlalchemy import make_url

    from bench.harness import DEFAULT_ADMIN_URL, Database, ensure_project_postgres
    from bench.pg_wire import CountingProxy

    admin_url = os.environ.get("STA_DATABASE_URL") or DEFAULT_ADMIN_URL
    ensure_project_postgres(admin_url)
    database = Database(admin_url, os.path.abspath(args.source))
    database.create().dispose()
    proxy = CountingProxy(make_url(database.url).port or 5432).start()
    counted_url = make_url(database.url).set(port=proxy.port).render_as_string(hide_password=False)
    results: dict[str, Any] = {"date": datetime.now().isoformat(timespec="seconds"), "source": args.source}
    try:
        for kind in args.kinds:
            count = int(_MANY[kind] * args.scale)
            counted = measure_kind(counted_url, kind, count, proxy)  # the proxy's threads cost CPU here
            results[kind] = {**_child(args, database.url, kind, count, []),
                             "statements": counted["statements"], "round_trips": counted["round_trips"]}
            if args.callgrind:
                results[kind]["instructions"] = round(callgrind_instructions(args, database.url, kind))
            print(kind, json.dumps(results[kind]), flush=True)
    finally:
        proxy.stop()
        database.drop()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
