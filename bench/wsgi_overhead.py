"""What the HTTP server itself costs per request, without the app: `.venv/bin/python bench/wsgi_overhead.py
[--rounds 3] [--requests 3000] [--duration 5] [--setup NAME=VAR=VALUE,… …]`.

Each setup serves a trivial WSGI app (reads the request body, answers 201 with a 300-byte JSON
body, like an Observation POST) — gunicorn under the server's own configuration
(sta_server/workers.py: `Workers`, its TLS glue and identity middleware; STA_HTTP_WORKERS,
STA_HTTP_THREADS, STA_HTTP_WORKER_CLASS, PYTHONPATH…) or, with BENCH_CMD, a shell command given PORT
(e.g. granian with `bench.wsgi_overhead:hello_factory`). Alternating rounds: N POSTs one after the
other over one keep-alive connection, then 8 clients for D seconds; the server's CPU per request
from /proc (its process tree), and this load generator's. Writes
bench/results/<date>-wsgi-overhead[-label].json and prints medians as a Markdown table."""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import ROOT, free_port  # noqa: E402
from bench.load import Http, run_closed_loop  # noqa: E402
from bench.stats import percentile, tree_cpu_s  # noqa: E402

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from sta_server.settings import Settings

log = logging.getLogger("bench")
BODY = json.dumps({"@iot.id": 123456, "@iot.selfLink": "http://127.0.0.1:8080/v1.1/Observations(123456)",
                   "phenomenonTime": "2025-01-01T00:00:00Z", "resultTime": None, "result": 12.5,
                   "Datastream@iot.navigationLink": "http://127.0.0.1:8080/v1.1/Observations(123456)/Datastream",
                   "FeatureOfInterest@iot.navigationLink":
                   "http://127.0.0.1:8080/v1.1/Observations(123456)/FeatureOfInterest"}).encode()
OBSERVATION = {"phenomenonTime": "2025-01-01T00:00:00Z", "result": 12.5, "Datastream": {"@iot.id": 1}}
DEFAULT_SETUPS = [
    "gthread-2x8=STA_HTTP_WORKERS=2,STA_HTTP_THREADS=8",
    "granian-2x8=BENCH_CMD=python -m granian --interface wsgi --factory --host 127.0.0.1 --port $PORT "
    "--log-level warning --no-ws --http 1 --workers 2 --blocking-threads 8 bench.wsgi_overhead:hello_factory",
]


def hello(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("201 Created", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY))),
                                   ("Location", "http://127.0.0.1:8080/v1.1/Observations(123456)")])
    return [BODY]


def hello_factory(settings: Settings | None = None) -> WSGIApplication:
    return hello


def serve_gunicorn() -> None:
    from sta_server.settings import Settings
    from sta_server.workers import Workers

    Workers(Settings.from_env(), app_factory=hello_factory).run()


def start(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    full = dict(os.environ, STA_HTTP_PORT=str(port), STA_HTTP_HOST="127.0.0.1", STA_LOG_LEVEL="WARNING",
                PORT=str(port), **{k: v for k, v in env.items() if k != "BENCH_CMD"})
    full["PYTHONPATH"] = ":".join(p for p in (env.get("PYTHONPATH"), ROOT) if p)
    full["PATH"] = os.path.join(ROOT, ".venv", "bin") + ":" + full.get("PATH", "")
    command = env.get("BENCH_CMD") or f"exec {sys.executable} {os.path.abspath(__file__)} --serve"
    process = subprocess.Popen(["bash", "-c", command], env=full, cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/v1.1", data=b"{}"), timeout=1)
            return process, port
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited") from None
            time.sleep(0.2)
    raise RuntimeError(f"{command} did not answer")


def stop(process: subprocess.Popen[bytes]) -> None:
    import signal

    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


def phase(pid: int, run: Any) -> dict[str, Any]:
    load = os.getloadavg()[0]
    server0, client0 = tree_cpu_s(pid), sum(os.times()[:2])
    started = time.perf_counter()
    latencies, errors = run()
    wall = time.perf_counter() - started
    n = max(1, len(latencies))
    return {"requests": len(latencies), "errors": errors, "per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(1000 * percentile(latencies, 50), 3), "p99_ms": round(1000 * percentile(latencies, 99), 3),
            "server_cpu_ms": round(1000 * (tree_cpu_s(pid) - server0) / n, 4),
            "client_cpu_ms": round(1000 * (sum(os.times()[:2]) - client0) / n, 4), "load_average_1m": round(load, 2)}


def measure(env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    process, port = start(env)
    base = f"http://127.0.0.1:{port}/v1.1"
    try:
        def sequential() -> tuple[list[float], int]:
            http, latencies, errors = Http(base), [], 0
            for _ in range(args.requests):
                started = time.perf_counter()
                status, _ = http.request("POST", "Observations", OBSERVATION)
                latencies.append(time.perf_counter() - started)
                errors += status != 201
            http.close()
            return latencies, errors

        def concurrent() -> tuple[list[float], int]:
            result = run_closed_loop(base, lambda client, n: ("POST", "Observations", OBSERVATION), clients=8,
                                     max_requests=10**7, duration_s=args.duration)
            return result.latencies_s, result.errors

        return {"post_sequential": phase(process.pid, sequential), "post_8_clients": phase(process.pid, concurrent)}
    finally:
        stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--setup", action="append")
    parser.add_argument("--label", default="")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_gunicorn()
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    setups = [(text.partition("=")[0], dict(item.split("=", 1) for item in text.partition("=")[2].split(",") if item))
              for text in (args.setup or DEFAULT_SETUPS)]
    results: dict[str, Any] = {"date": datetime.now().isoformat(timespec="seconds"), "args": vars(args),
                               "setups": dict(setups), "rounds": []}
    for number in range(args.rounds):
        for name, env in setups if number % 2 == 0 else setups[::-1]:
            summary = measure(env, args)
            log.info("%s: %s", name, json.dumps(summary))
            results["rounds"].append({"round": number, "setup": name, **summary})
    folder = os.path.join(ROOT, "bench", "results")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{datetime.now():%Y-%m-%d}-wsgi-overhead{'-' + args.label if args.label else ''}.json")
    with open(path, "w") as handle:
        json.dump(results, handle, indent=2)
    keys = ("per_s", "p50_ms", "p99_ms", "server_cpu_ms", "client_cpu_ms", "load_average_1m")
    print("| setup | phase | req/s | p50 ms | p99 ms | server CPU ms/req | client CPU ms/req | load |")
    print("|---|---|---|---|---|---|---|---|")
    for name, _ in setups:
        rounds = [r for r in results["rounds"] if r["setup"] == name]
        for kind in ("post_sequential", "post_8_clients"):
            cells = [statistics.median(r[kind][key] for r in rounds) for key in keys]
            print(f"| {name} | {kind} | " + " | ".join(f"{c:g}" for c in cells) + " |")
    log.info("results written to %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
