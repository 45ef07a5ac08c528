"""The spec's side effects in SQL: generated FeaturesOfInterest, HistoricalLocations, and the time
extents and observed area of (Multi)Datastreams."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import functions as geo
from sqlalchemy import Connection, delete, exists, func, insert, or_, select, update

from sta_server.sql.tables import TABLES

things_locations = TABLES["things_locations"]
locations = TABLES["locations"]
features = TABLES["features"]
datastreams = TABLES["datastreams"]
observations = TABLES["observations"]
historical = TABLES["historical_locations"]
hist_links = TABLES["locations_historical_locations"]


def thing_location_feature(conn: Connection, stream_table: str, stream_id: int) -> tuple[int, bool] | None:
    """The FeatureOfInterest generated from the Location of a stream's Thing, and whether it was
    created now (else reused). None when the Thing has no Location."""
    streams = TABLES[stream_table]
    location = conn.execute(
        select(locations.c.id, locations.c.name, locations.c.description, locations.c.encoding_type,
               locations.c.location, locations.c.location_geom)
        .join(things_locations, things_locations.c.location_id == locations.c.id)
        .join(streams, streams.c.thing_id == things_locations.c.thing_id)
        .where(streams.c.id == stream_id).order_by(locations.c.id).limit(1)
    ).first()
    if location is None:
        return None
    found = conn.execute(
        select(features.c.id).where(features.c.source_location_id == location.id).limit(1)
    ).scalar()
    if found is not None:
        return int(found), False
    return int(conn.execute(insert(features).values(
        name=location.name, description=location.description, encoding_type=location.encoding_type,
        feature=location.location, feature_geom=location.location_geom,
        source_location_id=location.id,
    ).returning(features.c.id)).scalar_one()), True


def record_historical_location(conn: Connection, thing_id: int, location_ids: list[int],
                               time: datetime) -> int:
    hist_id = int(conn.execute(
        insert(historical).values(thing_id=thing_id, time=time).returning(historical.c.id)
    ).scalar_one())
    for location_id in location_ids:
        conn.execute(insert(hist_links).values(location_id=location_id, historical_location_id=hist_id))
    return hist_id


def thing_location_ids(conn: Connection, thing_id: int) -> list[int]:
    rows = conn.execute(select(things_locations.c.location_id).where(things_locations.c.thing_id == thing_id))
    return [int(r[0]) for r in rows]


def delete_orphan_historical_locations(conn: Connection) -> None:
    """HistoricalLocations whose every Location was deleted go with them."""
    conn.execute(delete(historical).where(~exists().where(
        hist_links.c.historical_location_id == historical.c.id)))


def extend_stream(conn: Connection, stream_table: str, stream_id: int, start: datetime,
                  end: datetime | None, result_time: datetime | None, feature_id: int) -> None:
    """Grow a stream's phenomenonTime, resultTime and observedArea by one new Observation."""
    extend_stream_by(conn, stream_table, stream_id, start, end or start,
                     (result_time, result_time) if result_time is not None else None, [feature_id])


def extend_stream_by(conn: Connection, stream_table: str, stream_id: int, start: datetime, end: datetime,
                     result_times: tuple[datetime, datetime] | None, feature_ids: list[int]) -> None:
    """Grow a stream's extents to cover new Observations: one UPDATE, skipped when nothing grows."""
    streams = TABLES[stream_table]
    geometry = select(geo.ST_Collect(features.c.feature_geom)).where(
        features.c.id.in_(feature_ids)).scalar_subquery()
    values: dict[str, Any] = {
        "phenomenon_time_start": func.least(streams.c.phenomenon_time_start, start),
        "phenomenon_time_end": func.greatest(streams.c.phenomenon_time_end, end),
        "observed_area": func.coalesce(
            geo.ST_ConvexHull(geo.ST_Collect(streams.c.observed_area, geometry)),
            streams.c.observed_area, geo.ST_ConvexHull(geometry)),
    }
    grows = [streams.c.phenomenon_time_start.is_(None), streams.c.phenomenon_time_start > start,
             streams.c.phenomenon_time_end < end,
             ~func.coalesce(func.ST_Covers(streams.c.observed_area, geometry), False)]
    if result_times is not None:
        low, high = result_times
        values["result_time_start"] = func.least(streams.c.result_time_start, low)
        values["result_time_end"] = func.greatest(streams.c.result_time_end, high)
        grows += [streams.c.result_time_start.is_(None), streams.c.result_time_start > low,
                  streams.c.result_time_end < high]
    conn.execute(update(streams).where(streams.c.id == stream_id, or_(*grows)).values(values))


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
