"""Replay after an outage: N Observations of S Datastreams wait in a site's queue (as 10-s polls,
one SenML pack per poll, joined while unpublished); then the north-bound starts with broker and
server up. Measures the time until the broker acknowledged everything and until the server stored
everything, in Observations per second.

    .venv/bin/python bench/agents_replay.py [--observations 100000] [--streams 50] [--workers 1]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from agents.northbound import Northbound  # noqa: E402
from agents.observation_messages import encode_readings  # noqa: E402
from agents.outbox import Outbox  # noqa: E402
from agents.server_link import SessionPublisher  # noqa: E402
from bench.agents_meter import cpu_s, machine, readings_at  # noqa: E402
from bench.agents_site import Backend, backend, make_site  # noqa: E402
from sta_client.mqtt import MqttSession  # noqa: E402
from sta_client.settings import ClientSettings  # noqa: E402

log = logging.getLogger("bench.agents_replay")


def fill(outbox: Outbox, streams: dict[str, Any], observations: int) -> float:
    """Queue the polls of the outage; the seconds it took."""
    keys = sorted(streams)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    began = time.monotonic()
    for poll in range(observations // len(keys)):
        outbox.put(encode_readings(readings_at(keys, start + timedelta(seconds=10 * poll), poll), streams))
    return time.monotonic() - began


async def replay(site: Backend, outbox: Outbox, stream_ids: list[int], total: int) -> dict[str, float]:
    session = MqttSession(ClientSettings(base_url=site.server.base, mqtt_url=site.broker.url), "bench-replay")
    session.start()
    await asyncio.to_thread(session.wait_connected, 10)
    northbound = Northbound(outbox, SessionPublisher(session))
    began, cpu_began = time.monotonic(), cpu_s()
    drain = asyncio.create_task(northbound.run())
    acked_s = stored_s = None
    while stored_s is None:
        await asyncio.sleep(0.05)
        if acked_s is None and outbox.rows == 0:
            acked_s = time.monotonic() - began
        if await asyncio.to_thread(site.count, stream_ids) >= total:
            stored_s = time.monotonic() - began
        if time.monotonic() - began > 600:
            raise RuntimeError("not stored within 10 minutes")
    cpu_used = cpu_s() - cpu_began
    drain.cancel()
    session.close()
    return {"acked_s": acked_s or stored_s, "stored_s": stored_s, "messages": northbound.counters.sent,
            "bench_process_cpu_s": cpu_used}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="sta-server HTTP workers (2: separate ingest)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with backend(args.workers) as site, tempfile.TemporaryDirectory() as folder:
        streams = make_site(site.server.base, args.streams)
        outbox = Outbox(Path(folder) / "site.sqlite")
        total = args.observations // args.streams * args.streams
        fill_s = fill(outbox, streams, total)
        rows = outbox.rows
        result = asyncio.run(replay(site, outbox, [ref.id for ref in streams.values()], total))
    report = {"observations": total, "streams": args.streams, "server_workers": args.workers,
              "queued_rows": rows, "fill_s": round(fill_s, 2), **{k: round(v, 2) for k, v in result.items()},
              "acked_obs_per_s": round(total / result["acked_s"]),
              "stored_obs_per_s": round(total / result["stored_s"]),
              "machine": machine()}
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
