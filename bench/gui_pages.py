"""Benchmark: the residential GUI's pages (issue 20: a page loads in under 1 s).

    .venv/bin/python -m bench.gui_pages [--days 7] [--repeat 10]

Starts its own database, Mosquitto and `sta-server` (bench/harness.py: STA_AUTH=off, so the server's
row-level security is not in the path) on the project PostgreSQL, makes one household as commissioning
would (tests/gui/households.py) with `--days` of 10-second readings of grid, load, PV, battery power and
SoC (8,640 per stream per day), and times the GUI's own request handling (Flask, in process: the page's
server reads, rendering) for the dashboard and the history by day, month and year (median and max of
`--repeat` after one warm-up). The browser's own work (vendored JS, MQTT connect) is not included.
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from datetime import UTC, datetime, timedelta

from bench.harness import own_server
from gui.app import create_app
from gui.auth import LOGINS
from gui.settings import GuiSettings
from sta_client import ClientSettings, StaClient
from tests.gui.households import make_household

log = logging.getLogger("bench.gui_pages")
STEP_S = 10


class NoLabels:
    """`make_household` labels through sta-admin; with STA_AUTH=off nothing needs labels."""

    def admin_cli(self, *argv: str, stdin: str = "") -> None:
        return None


def seed(sta: StaClient, streams: dict[str, int], start: datetime, days: int) -> int:
    count = 0
    per_day = 86_400 // STEP_S
    for key, base in (("P_grid", 300.0), ("P_load", 900.0), ("P_pv", -1200.0), ("P_ess", 200.0), ("SoC", 55.0)):
        for day in range(days):
            first = start + timedelta(days=day)
            rows = [[(first + timedelta(seconds=i * STEP_S)).isoformat(), base + (i % 360)] for i in range(per_day)]
            for chunk in range(0, len(rows), 4320):
                sta.create_observations(streams[key], ["phenomenonTime", "result"], rows[chunk:chunk + 4320])
            count += len(rows)
    return count


def timed(client: object, path: str, repeat: int) -> dict[str, float]:
    get = client.get  # type: ignore[attr-defined]
    assert get(path).status_code == 200, path
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        answer = get(path)
        samples.append(time.perf_counter() - began)
        assert answer.status_code == 200
    return {"median_ms": round(1000 * statistics.median(samples), 1), "max_ms": round(1000 * max(samples), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with own_server() as server:
        with StaClient(ClientSettings(base_url=server.base, timeout_s=120)) as sta:
            house = make_household(NoLabels(), sta)  # type: ignore[arg-type]
            start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=args.days)
            began = time.perf_counter()
            stored = seed(sta, house.streams, start, args.days)
            log.info("%d Observations stored in %.0f s", stored, time.perf_counter() - began)
        app = create_app(GuiSettings(sta_url=server.base, timezone="Europe/Rome"))
        client = app.test_client()
        with client.session_transaction() as session:
            session["login_id"] = app.extensions[LOGINS].add("bench", "bench")
        day = (start + timedelta(days=args.days - 1)).date().isoformat()
        base = f"/home/{house.site_id}"
        results = {"observations": stored, "dashboard": timed(client, base, args.repeat)}
        for period in ("day", "month", "year"):
            results[f"history_{period}"] = timed(client, f"{base}/history?period={period}&date={day}", args.repeat)
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
