"""The spec's side effects in SQL: generated FeaturesOfInterest, HistoricalLocations, and the time
extents and observed area of (Multi)Datastreams."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from geoalchemy2 import functions as geo
from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on

from sta_server.sql.tables import TABLES

things_locations = TABLES["things_locations"]
locations = TABLES["locations"]
features = TABLES["features"]
datastreams = TABLES["datastreams"]
observations = TABLES["observations"]
historical = TABLES["historical_locations"]
hist_links = TABLES["locations_historical_locations"]


def streams_features(conn: Connection, stream_table: str, stream_ids: set[int],
                     known: dict[int, tuple[int | None, int | None]] | None = None) -> dict[int, tuple[int, bool]]:
    """For many streams at once: the FeatureOfInterest generated from each stream's Thing's first
    GeoJSON Location (created when missing; the flag says so); Locations in other encodings (an
    address as text/plain) have no geometry and are passed over. Streams whose Thing has no
    GeoJSON Location are left out. One query (none when `known` holds stream -> (first location,
    its feature) from `stream_rows`), plus one insert per Location that never had a feature."""
    found: dict[int, tuple[int, bool]] = {}
    created: dict[int, int] = {}
    if known is not None and stream_ids <= known.keys():
        rows: Any = [_First(stream, *known[stream]) for stream in sorted(stream_ids) if known[stream][0] is not None]
    else:
        rows = conn.execute(_first_locations(stream_table), {"streams": sorted(stream_ids)})
    for row in rows:
        if row.feature is not None:
            found[row.stream] = (int(row.feature), False)
        elif row.location in created:
            found[row.stream] = (created[row.location], False)
        else:
            created[row.location] = _feature_from_location(conn, row.location)
            found[row.stream] = (created[row.location], True)
    return found


@cache
def _first_locations(stream_table: str) -> Any:
    """Each given stream's Thing's first Location and the feature generated from it (if any);
    built once per stream table, the stream ids bound as one array."""
    streams = TABLES[stream_table]
    return (
        select(streams.c.id.label("stream"), locations.c.id.label("location"),
               features.c.id.label("feature"))
        .join(things_locations, things_locations.c.thing_id == streams.c.thing_id)
        .join(locations, locations.c.id == things_locations.c.location_id)
        .outerjoin(features, features.c.source_location_id == locations.c.id)
        .where(streams.c.id == func.any(bindparam("streams", type_=ARRAY(BigInteger))),
               locations.c.location_geom.isnot(None))
        .order_by(streams.c.id, locations.c.id, features.c.id)
        .ext(distinct_on(streams.c.id))
    )


@dataclass(frozen=True)
class _First:
    stream: int
    location: int | None
    feature: int | None


@cache
def stream_rows(stream_table: str) -> Any:
    """The given streams that exist (under the caller's row-level security), each with its Thing's
    first GeoJSON Location and the feature generated from it (NULLs when none): the rule set's
    stream check and the generated-feature look-up in one query. Binds `streams` (an array)."""
    streams = TABLES[stream_table]
    first = (
        select(locations.c.id.label("location"), features.c.id.label("feature"))
        .select_from(things_locations.join(locations, locations.c.id == things_locations.c.location_id)
                     .outerjoin(features, features.c.source_location_id == locations.c.id))
        .where(things_locations.c.thing_id == streams.c.thing_id, locations.c.location_geom.isnot(None))
        .order_by(locations.c.id, features.c.id).limit(1).lateral("first")
    )
    types = [streams.c.multi_observation_data_types] if stream_table == "multi_datastreams" else []
    return (select(streams.c.id.label("stream"), *types, first.c.location, first.c.feature)
            .select_from(streams.outerjoin(first, true()))
            .where(streams.c.id == func.any(bindparam("streams", type_=ARRAY(BigInteger)))))


def _feature_from_location(conn: Connection, location_id: int) -> int:
    source = select(locations.c.name, locations.c.description, locations.c.encoding_type, locations.c.location,
                    locations.c.location_geom, locations.c.id).where(locations.c.id == location_id)
    stmt = insert(features).from_select(
        ["name", "description", "encoding_type", "feature", "feature_geom", "source_location_id"], source)
    return int(conn.execute(stmt.returning(features.c.id)).scalar_one())


def record_historical_location(conn: Connection, thing_id: int, location_ids: list[int],
                               time: datetime) -> int:
    hist_id = int(conn.execute(
        insert(historical).values(thing_id=thing_id, time=time).returning(historical.c.id)
    ).scalar_one())
    for location_id in location_ids:
        conn.execute(insert(hist_links).values(location_id=location_id, historical_location_id=hist_id))
    return hist_id


def record_thing_history(conn: Connection, thing_id: int, time: datetime) -> int | None:
    """A HistoricalLocation of the Thing at its current Locations, linked to each, in ONE statement;
    None (nothing written) when the Thing has no Location."""
    return conn.execute(_history_statement(), {"thing": thing_id, "time": time}).scalar_one_or_none()


@cache
def _history_statement() -> Any:
    thing = bindparam("thing", type_=BigInteger)
    placed = exists().where(things_locations.c.thing_id == thing)
    new = (insert(historical).from_select(["thing_id", "time"], select(thing, bindparam(
        "time", type_=DateTime(timezone=True))).where(placed)).returning(historical.c.id).cte("new_history"))
    links = insert(hist_links).from_select(
        ["location_id", "historical_location_id"],
        select(things_locations.c.location_id, new.c.id).select_from(things_locations.join(new, true()))
        .where(things_locations.c.thing_id == thing)).cte("links")
    return select(new.c.id).add_cte(links)


def thing_location_ids(conn: Connection, thing_id: int) -> list[int]:
    rows = conn.execute(select(things_locations.c.location_id).where(things_locations.c.thing_id == thing_id))
    return [int(r[0]) for r in rows]


def delete_orphan_historical_locations(conn: Connection) -> None:
    """HistoricalLocations whose every Location was deleted go with them."""
    conn.execute(delete(historical).where(~exists().where(
        hist_links.c.historical_location_id == historical.c.id)))


@dataclass(frozen=True)
class Extent:
    """What a batch of new Observations adds to one stream."""

    start: datetime
    end: datetime
    result_start: datetime | None
    result_end: datetime | None
    feature_ids: list[int]


def extend_streams(conn: Connection, stream_table: str, extents: dict[int, Extent]) -> None:
    """Grow many streams' phenomenonTime, resultTime and observedArea in ONE statement
    (`UPDATE … FROM unnest(arrays)`, built once per stream table: a batch only binds its arrays);
    a stream whose area already covers the features keeps it."""
    if not extents:
        return
    ids = list(extents)
    conn.execute(extend_statement(stream_table), {
        "ids": ids, "t0": [extents[i].start for i in ids], "t1": [extents[i].end for i in ids],
        "r0": [extents[i].result_start for i in ids], "r1": [extents[i].result_end for i in ids],
        "pair_streams": [i for i in ids for _ in extents[i].feature_ids],
        "pair_features": [f for i in ids for f in extents[i].feature_ids],
    })


@cache
def extend_statement(stream_table: str) -> Any:
    streams = TABLES[stream_table]
    instant = ARRAY(DateTime(timezone=True))
    numbers = ARRAY(BigInteger)
    batch = func.unnest(
        bindparam("ids", type_=numbers), bindparam("t0", type_=instant), bindparam("t1", type_=instant),
        bindparam("r0", type_=instant), bindparam("r1", type_=instant),
    ).table_valued("id", "t0", "t1", "r0", "r1").render_derived(name="batch")
    pairs = func.unnest(bindparam("pair_streams", type_=numbers), bindparam("pair_features", type_=numbers),
                        ).table_valued("stream", "feature").render_derived(name="pairs")
    geometry = (select(geo.ST_Collect(features.c.feature_geom))
                .select_from(pairs.join(features, features.c.id == pairs.c.feature))
                .where(pairs.c.stream == batch.c.id).scalar_subquery())
    return update(streams).where(streams.c.id == batch.c.id).values(
        _grown(streams, batch.c.t0, batch.c.t1, batch.c.r0, batch.c.r1, geometry))


@cache
def extend_one_statement(stream_table: str) -> Any:
    """extend_statement for one stream and one feature (a single create), with scalar parameters
    `ext_stream`, `t0`, `t1`, `r0`, `r1`, `feature`: the same growth, nothing to unnest."""
    streams = TABLES[stream_table]
    instant = DateTime(timezone=True)
    geometry = (select(geo.ST_Collect(features.c.feature_geom))
                .where(features.c.id == bindparam("feature", type_=BigInteger)).scalar_subquery())
    return update(streams).where(streams.c.id == bindparam("ext_stream", type_=BigInteger)).values(_grown(
        streams, bindparam("t0", type_=instant), bindparam("t1", type_=instant), bindparam("r0", type_=instant),
        bindparam("r1", type_=instant), geometry))


def extend_one_from(stream: Any, feature: Any) -> Any:
    """extend_one_statement for the Datastream and feature of a column each (of a just-inserted
    row: the UPDATE reads their table), with the scalar parameters `t0`, `t1`, `r0`, `r1`."""
    instant = DateTime(timezone=True)
    geometry = select(geo.ST_Collect(features.c.feature_geom)).where(features.c.id == feature).scalar_subquery()
    return update(datastreams).where(datastreams.c.id == stream).values(_grown(
        datastreams, bindparam("t0", type_=instant), bindparam("t1", type_=instant),
        bindparam("r0", type_=instant), bindparam("r1", type_=instant), geometry))


def _grown(streams: Any, t0: Any, t1: Any, r0: Any, r1: Any, geometry: Any) -> dict[str, Any]:
    """A stream's extents grown by new Observations' times and features' geometry (collected);
    an area that already covers the features is kept."""
    area = streams.c.observed_area
    grown_area = case(
        (func.coalesce(func.ST_Covers(area, geometry), false()), area),
        else_=func.coalesce(geo.ST_ConvexHull(geo.ST_Collect(area, geometry)), area, geo.ST_ConvexHull(geometry)),
    )
    return {"phenomenon_time_start": func.least(streams.c.phenomenon_time_start, t0),
            "phenomenon_time_end": func.greatest(streams.c.phenomenon_time_end, t1),
            "result_time_start": func.least(streams.c.result_time_start, r0),
            "result_time_end": func.greatest(streams.c.result_time_end, r1),
            "observed_area": grown_area}


def recompute_streams(conn: Connection, stream_table: str, stream_ids: set[int]) -> None:
    """Recompute extents from the stored Observations (after deletes and updates)."""
    streams = TABLES[stream_table]
    key = observations.c["datastream_id" if stream_table == "datastreams" else "multi_datastream_id"]
    for stream_id in stream_ids:
        stats = conn.execute(select(
            func.min(observations.c.phenomenon_time_start),
            func.max(func.coalesce(observations.c.phenomenon_time_end, observations.c.phenomenon_time_start)),
            func.min(observations.c.result_time), func.max(observations.c.result_time),
        ).where(key == stream_id)).one()
        area = select(geo.ST_ConvexHull(geo.ST_Collect(features.c.feature_geom))).where(
            features.c.id.in_(select(observations.c.feature_of_interest_id).where(key == stream_id))
        ).scalar_subquery()
        conn.execute(update(streams).where(streams.c.id == stream_id).values(
            phenomenon_time_start=stats[0], phenomenon_time_end=stats[1],
            result_time_start=stats[2], result_time_end=stats[3], observed_area=area,
        ))


def streams_of_observations(conn: Connection, condition: Any) -> dict[str, set[int]]:
    """Which Datastreams / MultiDatastreams hold the Observations matching `condition`."""
    rows = conn.execute(select(observations.c.datastream_id, observations.c.multi_datastream_id)
                        .where(condition).distinct()).all()
    return {
        "datastreams": {r[0] for r in rows if r[0] is not None},
        "multi_datastreams": {r[1] for r in rows if r[1] is not None},
    }
