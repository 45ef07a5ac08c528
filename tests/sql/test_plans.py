"""The analyst and dashboard queries use indexes (EXPLAIN of the statements the server builds)."""
from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, text

from sta_server.query.options import parse_query
from sta_server.query.path import parse_path
from sta_server.query.validate import resolve_select
from sta_server.sql import partitions
from sta_server.sql.estimate import Explain
from sta_server.sql.select import collection_select

STREAMS = 20
PER_STREAM = 5000
LOCATIONS = 20000


@pytest.fixture(scope="module")
def loaded(engine: Engine) -> Engine:
    """Bulk set-up in SQL (loading is not what is tested): 100k Observations, 20k Locations."""
    with engine.begin() as conn:
        for table in ("observations", "datastreams", "things_locations", "locations", "things", "features",
                      "sensors", "observed_properties"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("INSERT INTO things (id, name) SELECT g, 'T' || g FROM generate_series(1, :n) g"),
                     {"n": STREAMS})
        conn.execute(text("INSERT INTO sensors (id, name, encoding_type, metadata) VALUES (1, 's', 'x', 'm')"))
        conn.execute(text("INSERT INTO observed_properties (id, name, definition) VALUES (1, 'p', 'd')"))
        conn.execute(text(
            "INSERT INTO datastreams (id, name, unit_of_measurement, observation_type, thing_id, sensor_id,"
            " observed_property_id) SELECT g, 'D' || g, '{}', 'o', g, 1, 1 FROM generate_series(1, :n) g"),
            {"n": STREAMS})
        conn.execute(text("INSERT INTO features (id, name, encoding_type, feature) VALUES (1, 'f', 'x', '{}')"))
        conn.execute(text(
            "INSERT INTO observations (phenomenon_time_start, result_number, datastream_id, feature_of_interest_id)"
            " SELECT timestamptz '2026-01-01' + g * interval '1 second', g, 1 + g % :streams, 1"
            " FROM generate_series(1, :n) g"), {"streams": STREAMS, "n": STREAMS * PER_STREAM})
        conn.execute(text(
            "INSERT INTO locations (name, encoding_type, location, location_geom)"
            " SELECT 'L' || g, 'application/geo+json', '{}',"
            " ST_SetSRID(ST_MakePoint(6 + (g % 200) * 0.02, 45 + (g / 200) * 0.02), 4326)"
            " FROM generate_series(1, :n) g"), {"n": LOCATIONS})
        conn.execute(text("INSERT INTO things_locations SELECT 1 + l.id % :streams, l.id FROM locations l"),
                     {"streams": STREAMS})
        partitions.ensure_partitions(conn)  # January 2026 gets its partition, as the maintenance job does
        conn.execute(text("ANALYZE"))
    with engine.connect() as conn:
        _PARENT_INDEX.update({str(child): str(parent) for child, parent in conn.execute(text(
            "SELECT c.relname, p.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relkind = 'I'"))})
    return engine


# index of a partition -> the index of `observations` it is part of (partitions have their own names)
_PARENT_INDEX: dict[str, str] = {}


def _index(node: dict[str, Any]) -> str | None:
    name = node.get("Index Name")
    return _PARENT_INDEX.get(name, name) if name else None


def _plan(engine: Engine, path: str, **params: str) -> dict[str, Any]:
    resource = parse_path("1.1", path)
    query = parse_query(params)
    selection = resolve_select(resource.entity_type, query.select, "1.1")
    stmt = collection_select(resource, query, selection, query.top or 100)
    with engine.connect() as conn:
        plan = conn.execute(Explain(stmt)).scalar_one()
    return plan[0]["Plan"]


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found.extend(_nodes(child))
    return found


def test_latest_observations_of_a_datastream_read_the_index_backwards_without_sorting(loaded: Engine) -> None:
    plan = _plan(loaded, "Datastreams(7)/Observations", **{"$orderby": "phenomenonTime desc", "$top": "100"})
    nodes = _nodes(plan)
    assert any(_index(n) == "ix_observations_datastream_time" for n in nodes), json.dumps(plan)
    assert not any(n["Node Type"] in ("Sort", "Incremental Sort") for n in nodes), json.dumps(plan)
    # partitioned by month: each partition's index read backwards, merged (no pruning without a time
    # condition; the partitions with rows of the stream are the only ones read beyond their first entry)
    scans = [n for n in nodes if str(n.get("Relation Name", "")).startswith("observations")]
    assert all(_index(n) == "ix_observations_datastream_time" for n in scans), json.dumps(plan)


def test_a_one_day_window_is_an_index_range_scan(loaded: Engine) -> None:
    window = "phenomenonTime ge 2026-01-01T06:00:00Z and phenomenonTime lt 2026-01-01T07:00:00Z"
    plan = _plan(loaded, "Datastreams(3)/Observations", **{"$filter": window, "$orderby": "phenomenonTime"})
    index_nodes = [n for n in _nodes(plan) if _index(n) == "ix_observations_datastream_time"]
    assert index_nodes and "phenomenon_time_start" in index_nodes[0].get("Index Cond", ""), json.dumps(plan)
    # and only January's partition is read (pruned when planning)
    read = {n["Relation Name"] for n in _nodes(plan) if "Relation Name" in n}
    assert read == {partitions.partition_name(date(2026, 1, 1))}, json.dumps(plan)


def test_spatial_filter_uses_the_gist_index(loaded: Engine) -> None:
    polygon = "geography'POLYGON((6 45, 6.2 45, 6.2 45.2, 6 45.2, 6 45))'"
    plan = _plan(loaded, "Locations", **{"$filter": f"st_within(location, {polygon})"})
    assert any(_index(n) == "ix_locations_geom" for n in _nodes(plan)), json.dumps(plan)


def test_latest_observation_of_many_datastreams_is_one_short_index_scan_each(loaded: Engine) -> None:
    from sta_server.model import REGISTRY
    from sta_server.sql.select import expand_select

    link = REGISTRY.type("Datastream").link("Observations")
    assert link is not None
    query = parse_query({"$orderby": "phenomenonTime desc", "$top": "1"})
    selection = resolve_select(REGISTRY.type("Observation"), None, "1.1")
    stmt = expand_select(link, list(range(1, STREAMS + 1)), query, selection, 1, "1.1")
    with loaded.connect() as conn:
        plan = conn.execute(Explain(stmt)).scalar_one()[0]["Plan"]
        rows = conn.execute(stmt).mappings().all()
    nodes = _nodes(plan)
    assert not any(n["Node Type"] == "WindowAgg" for n in nodes), json.dumps(plan)
    assert any(_index(n) == "ix_observations_datastream_time" for n in nodes), json.dumps(plan)
    newest = {row["_parent"]: row["phenomenonTime_start"] for row in rows if row["_order0"] is not None}
    assert len(rows) == 2 * STREAMS  # top + 1 per parent, to detect a next page
    assert len(newest) == STREAMS


def test_row_level_security_keeps_the_latest_observations_an_index_scan(loaded: Engine) -> None:
    """A scoped user's policies add a hashed sub-plan filter, not a sort or a scan of the stream."""
    from sta_server.sql.policies import scope

    resource = parse_path("1.1", "Datastreams(7)/Observations")
    query = parse_query({"$orderby": "phenomenonTime desc", "$top": "100"})
    stmt = collection_select(resource, query, resolve_select(resource.entity_type, None, "1.1"), 100)
    with loaded.connect() as conn:
        conn.execute(text("INSERT INTO thing_labels (thing_id, label) VALUES (7, 'site:7')"))
        scope(conn, ["site:7"])
        plan = conn.execute(Explain(stmt)).scalar_one()[0]["Plan"]
        seen = conn.execute(stmt).all()
        scope(conn, ["site:8"])
        hidden = conn.execute(stmt).all()
        conn.rollback()
    nodes = _nodes(plan)
    assert any(_index(n) == "ix_observations_datastream_time" for n in nodes), json.dumps(plan)
    assert not any(n["Node Type"] in ("Sort", "Incremental Sort") for n in nodes), json.dumps(plan)
    assert len(seen) == 101 and hidden == []
