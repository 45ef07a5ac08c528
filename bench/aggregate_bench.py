"""Aggregation benchmark: hourly averages of a year of 1-second data with and without rollups, and
the hourly sum over 500 Things of a radial for one day.

    STA_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.aggregate_bench

It makes its own database `sta_bench_agg_<random>` on that server (dropped at the end; --keep keeps
it), migrates it, creates the entities through the HTTP API (Flask test client) and loads the
Observations with one INSERT ... SELECT FROM generate_series per Datastream (server-side, the
fastest path PostgreSQL has besides COPY; foreign-key triggers off for the load, the rows are
valid by construction), marking their hours dirty as the write paths do.
Queries go through the HTTP API (test client, so no network); each is run --repeat times and the
median and minimum wall-clock times are reported. `--days` shrinks the year for a quick run.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, make_url, text

from sta_server.app import create_app
from sta_server.settings import Settings, normalise_database_url
from sta_server.sql.engine import make_engine

log = logging.getLogger("bench.aggregate")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START = "2025-01-01T00:00:00Z"
HOURLY = "groupby((bucket(phenomenonTime,'PT1H','Europe/Rome')),aggregate(result with average as avg))"
RADIAL = ("filter(Datastream/Thing/properties/radialId eq 'R1')/groupby((Datastream/id, "
          "bucket(phenomenonTime,'PT1H','Europe/Rome') as hour),aggregate(result with average as avg))"
          "/groupby((hour),aggregate(avg with sum as total))")
LOAD_SQL = """
INSERT INTO observations (phenomenon_time_start, result_number, datastream_id, feature_of_interest_id)
SELECT CAST(:start AS timestamptz) + make_interval(secs => n * :step), sin(n / 3600.0) * 1000 + (n % 7),
       :stream, :feature
FROM generate_series(0, :count - 1) AS n
"""
DIRTY_SQL = """
INSERT INTO rollup_dirty (datastream_id, hour)
SELECT :stream, generate_series(date_trunc('hour', CAST(:start AS timestamptz), 'UTC'),
       CAST(:start AS timestamptz) + make_interval(secs => (:count - 1) * :step), interval '1 hour')
ON CONFLICT DO NOTHING
"""


@contextmanager
def bench_database(keep: bool) -> Iterator[str]:
    admin = make_url(normalise_database_url(Settings.from_env().database_url))
    name = f"sta_bench_agg_{uuid.uuid4().hex[:8]}"
    admin_engine = create_engine(admin.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin_engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


def _post(client: Any, path: str, body: Any) -> int:
    response = client.post(f"/v1.1/{path}", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(response.get_json()["@iot.id"])


def _datastream(client: Any, thing: dict[str, Any]) -> tuple[int, int]:
    """A Thing with a Location and a power Datastream; returns (datastream id, feature id)."""
    location = {"name": "site", "description": "site", "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [8.95, 46.0]}}
    thing_id = _post(client, "Things", {"description": "house", "Locations": [location], **thing})
    stream = _post(client, "Datastreams", {
        "name": "Active power", "description": "AC power", "Thing": {"@iot.id": thing_id},
        "unitOfMeasurement": {"name": "Watt", "symbol": "W", "definition": "ucum:W"},
        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        "Sensor": {"name": "meter", "description": "m", "encodingType": "text/plain", "metadata": "m"},
        "ObservedProperty": {"name": "Active power", "description": "p", "definition": "def:P"}})
    feature = _post(client, f"Datastreams({stream})/Observations", {"phenomenonTime": "2000-01-01T00:00:00Z",
                                                                    "result": 0})
    response = client.get(f"/v1.1/Observations({feature})/FeatureOfInterest")
    client.delete(f"/v1.1/Observations({feature})")
    return stream, int(response.get_json()["@iot.id"])


def _load(engine: Engine, stream: int, feature: int, count: int, step_s: int) -> None:
    params = {"start": START, "step": step_s, "stream": stream, "feature": feature, "count": count}
    with engine.begin() as conn:
        # The generated rows reference existing entities: skip the per-row FK triggers while loading.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(LOAD_SQL), params)
        conn.execute(text(DIRTY_SQL), params)


def _timed(action: Callable[[], Any], repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3), "runs": repeat}


def _query(client: Any, path: str, apply: str, rollups: bool, top: int) -> Callable[[], int]:
    def run() -> int:
        response = client.get(f"/v1.1/{path}", query_string={"$apply": apply, "$top": str(top),
                                                             "rollups": str(rollups).lower()})
        assert response.status_code == 200, response.get_data(as_text=True)
        return len(response.get_json()["value"])
    return run


def _refresh(engine: Engine) -> int:
    from sta_server.sql.rollups import refresh_dirty

    with engine.begin() as conn:
        return refresh_dirty(conn)


def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    config = Config(os.path.join(ROOT, "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")
    settings = Settings(database_url=url, mqtt_url=None, statement_timeout_ms=3_600_000, max_top=100_000)
    engine = make_engine(settings)
    client = create_app(settings, engine).test_client()
    out: dict[str, Any] = {"days": args.days, "rows": args.days * 86400}
    stream, feature = _datastream(client, {"name": "big meter"})
    began = time.perf_counter()
    _load(engine, stream, feature, args.days * 86400, 1)
    out["load_s"] = round(time.perf_counter() - began, 1)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE observations"))
    hours = args.days * 24 + 2
    path = f"Datastreams({stream})/Observations"
    out["hourly_raw"] = _timed(_query(client, path, HOURLY, False, hours), args.raw_repeat)
    began = time.perf_counter()
    out["rollup_build_hours"] = _refresh(engine)
    out["rollup_build_s"] = round(time.perf_counter() - began, 1)
    out["hourly_rollups"] = _timed(_query(client, path, HOURLY, True, hours), args.repeat)
    out["radial"] = _radial(client, engine, args)
    engine.dispose()
    return out


def _radial(client: Any, engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    """500 Things (radial R1) and one day of 1-minute power each; hourly radial sum."""
    began = time.perf_counter()
    for index in range(args.things):
        stream, feature = _datastream(client, {"name": f"house {index}", "properties": {"radialId": "R1"}})
        _load(engine, stream, feature, 1440, 60)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))  # as autovacuum would: without it the planner expects 1 row
    result: dict[str, Any] = {"things": args.things, "rows": args.things * 1440,
                              "setup_s": round(time.perf_counter() - began, 1)}
    result["raw"] = _timed(_query(client, "Observations", RADIAL, False, 100), args.repeat)
    result["rollup_build_s"] = _timed(lambda: _refresh(engine), 1)["min_s"]
    result["rollups"] = _timed(_query(client, "Observations", RADIAL, True, 100), args.repeat)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365, help="days of 1-second data (default a year)")
    parser.add_argument("--things", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--raw-repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    with bench_database(args.keep) as url:
        print(json.dumps(run(args, url), indent=2))  # noqa: T201 - the benchmark's report


if __name__ == "__main__":
    main()
