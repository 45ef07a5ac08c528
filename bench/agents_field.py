"""One site's field process at steady state: D devices × K Datastreams each (50 by default) polled
every 10 s of the real clock, queued and published to a server of the bench's own. The site runs in
a child process (`--child`) that imports only what a field process imports (the runtime, sta_client,
no SQLAlchemy); it measures its own CPU (share of one core, after a warm-up) and memory.

    .venv/bin/python bench/agents_field.py [--minutes 3] [--devices 10] [--streams-per-device 5]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from agents.host import Poll  # noqa: E402
from agents.observation_messages import StreamRef  # noqa: E402
from agents.runtime import RuntimeOptions, SiteParts, SiteRuntime  # noqa: E402
from bench.agents_meter import SyntheticMeter, cpu_s, machine, memory_kb  # noqa: E402
from clock import RealClock  # noqa: E402
from sta_client.settings import ClientSettings  # noqa: E402


async def measure(runtime: SiteRuntime, warm_up_s: float, minutes: float) -> dict[str, float]:
    running = asyncio.create_task(runtime.run())
    await asyncio.sleep(warm_up_s)
    began, cpu_began, polls_began = time.monotonic(), cpu_s(), runtime.host.counters.polls
    await asyncio.sleep(minutes * 60)
    wall_s, cpu_used = time.monotonic() - began, cpu_s() - cpu_began
    polls = runtime.host.counters.polls - polls_began
    running.cancel()
    return {"wall_s": wall_s, "cpu_s": cpu_used, "cpu_pct_of_one_core": 100 * cpu_used / wall_s, "polls": polls,
            "acked_messages": runtime.northbound.counters.acked, "pending_at_end": runtime.outbox.rows}


def child(spec: dict[str, Any]) -> dict[str, Any]:
    streams = {key: StreamRef(int(ident), name) for key, (ident, name) in spec["streams"].items()}
    keys = sorted(streams, key=lambda key: int(key[1:]))
    devices = spec["devices"]
    clock = RealClock()
    polls = [Poll(SyntheticMeter(f"meter{d}", clock, keys[d::devices]), spec["telemetry_s"]) for d in range(devices)]
    with tempfile.TemporaryDirectory() as folder:
        runtime = SiteRuntime(clock, ClientSettings(base_url=spec["base_url"], mqtt_url=spec["mqtt_url"]),
                              SiteParts(streams, polls=polls),
                              RuntimeOptions(Path(folder) / "site.sqlite", report_s=3600, client_id="bench-field"))
        result = asyncio.run(measure(runtime, 20, spec["minutes"]))
    return {**{k: round(v, 2) for k, v in result.items()}, "memory_kb": memory_kb()}


def parent(args: argparse.Namespace) -> dict[str, Any]:
    from bench.agents_site import backend, make_site  # the harness stays out of the child

    with backend() as site:
        streams = make_site(site.server.base, args.devices * args.streams_per_device)
        spec = {"streams": {key: [ref.id, ref.senml_name] for key, ref in streams.items()},
                "devices": args.devices, "telemetry_s": args.telemetry_s, "minutes": args.minutes,
                "base_url": site.server.base, "mqtt_url": site.broker.url}
        done = subprocess.run([sys.executable, __file__, "--child"], input=json.dumps(spec), capture_output=True,
                              text=True, check=True, timeout=args.minutes * 60 + 120)
    return {"datastreams": len(streams), "devices": args.devices, "telemetry_s": args.telemetry_s,
            **json.loads(done.stdout), "machine": machine()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--streams-per-device", type=int, default=5)
    parser.add_argument("--telemetry-s", type=float, default=10)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.child:
        print(json.dumps(child(json.loads(sys.stdin.read()))))
        return
    report = parent(args)
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
