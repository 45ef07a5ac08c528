"""The forecast queries of docs/forecasts.md read one Datastream's index entries, never the table:
"the latest run", "the run issued at or before t" and "that run's steps" (EXPLAIN of the statements
the server builds, on a year of hourly day-ahead runs beside measurement streams)."""
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, text

from sta_server.query.options import parse_query
from sta_server.query.path import parse_path
from sta_server.query.validate import resolve_select
from sta_server.sql import partitions
from sta_server.sql.estimate import Explain
from sta_server.sql.select import collection_select

MEASURED_STREAMS = 20
RUNS = 365  # one day-ahead run a day, 24 hourly steps each, on Datastream 1


@pytest.fixture(scope="module")
def forecasts(engine: Engine) -> Engine:
    with engine.begin() as conn:
        for table in ("observations", "datastreams", "things_locations", "locations", "things", "features",
                      "sensors", "observed_properties"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("INSERT INTO things (id, name) SELECT g, 'T' || g FROM generate_series(1, :n) g"),
                     {"n": MEASURED_STREAMS + 1})
        conn.execute(text("INSERT INTO sensors (id, name, encoding_type, metadata) VALUES (1, 's', 'x', 'm')"))
        conn.execute(text("INSERT INTO observed_properties (id, name, definition) VALUES (1, 'p', 'd')"))
        conn.execute(text(
            "INSERT INTO datastreams (id, name, unit_of_measurement, observation_type, thing_id, sensor_id,"
            " observed_property_id) SELECT g, 'D' || g, '{}', 'o', g, 1, 1 FROM generate_series(1, :n) g"),
            {"n": MEASURED_STREAMS + 1})
        conn.execute(text("INSERT INTO features (id, name, encoding_type, feature) VALUES (1, 'f', 'x', '{}')"))
        conn.execute(text(  # the forecast: run r issued at 20:00 of day r-1 for the 24 hours of day r
            "INSERT INTO observations (phenomenon_time_start, phenomenon_time_end, result_time, result_number,"
            " parameters, datastream_id, feature_of_interest_id)"
            " SELECT timestamptz '2026-01-01' + r * interval '1 day' + h * interval '1 hour',"
            " timestamptz '2026-01-01' + r * interval '1 day' + (h + 1) * interval '1 hour',"
            " timestamptz '2026-01-01' + r * interval '1 day' - interval '4 hours', h * 100,"
            " jsonb_build_object('run', 'pv@' || r), 1, 1"
            " FROM generate_series(0, :runs - 1) r, generate_series(0, 23) h"), {"runs": RUNS})
        conn.execute(text(  # measurements of the other streams, every 10 minutes for the same year
            "INSERT INTO observations (phenomenon_time_start, result_number, datastream_id, feature_of_interest_id)"
            " SELECT timestamptz '2026-01-01' + g * interval '10 minutes', g, 2 + g % :n, 1"
            " FROM generate_series(1, 52560) g"), {"n": MEASURED_STREAMS})
        partitions.ensure_partitions(conn)
        conn.execute(text("ANALYZE"))
    return engine


def _plan(engine: Engine, path: str, **params: str) -> dict[str, Any]:
    resource = parse_path("1.1", path)
    query = parse_query(params)
    selection = resolve_select(resource.entity_type, query.select, "1.1")
    stmt = collection_select(resource, query, selection, query.top or 100)
    with engine.connect() as conn:
        plan: dict[str, Any] = conn.execute(Explain(stmt)).scalar_one()[0]["Plan"]
    return plan


def _scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan] if str(plan.get("Relation Name", "")).startswith("observations") else []
    for child in plan.get("Plans", []):
        found.extend(_scans(child))
    return found


def _reads_only_the_streams_index(plan: dict[str, Any]) -> bool:
    """Every month that holds rows is read through the Datastream's index (the planner may read a
    partition of a few rows, e.g. an empty month ahead or `observations_default`, sequentially)."""
    scans = [scan for scan in _scans(plan) if scan["Plan Rows"] > 10 or "Index Name" in scan]
    return bool(scans) and all(scan["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan")
                               and "datastream_id" in json.dumps(scan) for scan in scans)


@pytest.mark.parametrize("params", [
    {"$orderby": "resultTime desc", "$top": "1", "$select": "resultTime"},  # the latest run
    {"$filter": "resultTime le 2026-06-20T20:01:30Z", "$orderby": "resultTime desc", "$top": "1",
     "$select": "resultTime"},  # the run issued at or before t
    {"$filter": "resultTime eq 2026-06-19T20:00:00Z", "$orderby": "phenomenonTime",
     "$select": "phenomenonTime,result,parameters", "$top": "10000"},  # that run's steps
], ids=["latest", "issued-before", "steps"])
def test_a_forecast_query_reads_the_index_of_its_datastream_only(forecasts: Engine, params: dict[str, str]) -> None:
    plan = _plan(forecasts, "Datastreams(1)/Observations", **params)
    assert _reads_only_the_streams_index(plan), json.dumps(plan, indent=1)
