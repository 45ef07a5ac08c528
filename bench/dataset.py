"""Bench data loaded directly in SQL (setup, not measured): Things with one Location each, a
dashboard of Things with two Datastreams each, a big stream, a 1-second stream, ≥10 M Observations."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine, text

from sta_server.sql import partitions

log = logging.getLogger("bench")
UNIT = '{"name":"Watt","symbol":"W","definition":"http://unitsofmeasure.org/ucum.html#W"}'
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
DAY_STREAM_START = "2024-03-01T00:00:00Z"


@dataclass(frozen=True)
class Sizes:
    things: int = 100_000           # each with one Location (scenario 7)
    dashboard_things: int = 1_000   # Things 1..n have two Datastreams each (scenario 6)
    rows_per_stream: int = 4_500    # Observations per dashboard Datastream
    big_stream_rows: int = 1_000_000  # scenario 4 target stream
    day_seconds: int = 86_400       # scenario 5: the day stream holds two of these at 1 s

    @property
    def streams(self) -> int:
        return 2 * self.dashboard_things

    @property
    def big_stream(self) -> int:
        return self.streams + 1

    @property
    def day_stream(self) -> int:
        return self.streams + 2

    @property
    def observations(self) -> int:
        return self.streams * self.rows_per_stream + self.big_stream_rows + 2 * self.day_seconds


QUICK = Sizes(things=5_000, dashboard_things=200, rows_per_stream=200, big_stream_rows=50_000,
              day_seconds=3_600)

METADATA_SQL = [
    "SELECT setseed(0.42)",
    "INSERT INTO sensors (id, name, description, encoding_type, metadata) VALUES "
    "(1, 'Bench meter', 'meter', 'application/pdf', 'https://example.org/meter.pdf')",
    "INSERT INTO observed_properties (id, name, definition, description) VALUES "
    "(1, 'Active power', 'http://example.org/def/ActivePower', 'AC active power')",
    "INSERT INTO things (id, name, description) SELECT g, 'Thing ' || g, 'bench thing' "
    "FROM generate_series(1, :things) g",
    "INSERT INTO locations (id, name, description, encoding_type, location, location_geom) "
    "SELECT g, 'Site ' || g, 'bench site', 'application/geo+json', "
    "jsonb_build_object('type', 'Point', 'coordinates', jsonb_build_array(x, y)), "
    "ST_SetSRID(ST_MakePoint(x, y), 4326) FROM (SELECT g, round((5 + random() * 10)::numeric, 6)::float8 x, "
    "round((44 + random() * 8)::numeric, 6)::float8 y FROM generate_series(1, :things) g) s",
    "INSERT INTO things_locations (thing_id, location_id) SELECT g, g FROM generate_series(1, :things) g",
    "INSERT INTO features (id, name, description, encoding_type, feature, feature_geom, source_location_id) "
    "SELECT id, name, description, encoding_type, location, location_geom, id FROM locations "
    "WHERE id <= :dashboard_things",
    "INSERT INTO datastreams (id, name, description, unit_of_measurement, observation_type, thing_id, "
    "sensor_id, observed_property_id) SELECT g, 'Stream ' || g, 'bench stream', CAST(:unit AS jsonb), "
    ":otype, CASE WHEN g > :streams THEN 1 ELSE ((g - 1) % :dashboard_things) + 1 END, 1, 1 "
    "FROM generate_series(1, :streams + 2) g",
]
SEQUENCE_TABLES = ("sensors", "observed_properties", "things", "locations", "features", "datastreams")


def load_metadata(engine: Engine, sizes: Sizes) -> None:
    params = {"things": sizes.things, "dashboard_things": sizes.dashboard_things,
              "streams": sizes.streams, "unit": UNIT, "otype": MEASUREMENT}
    with engine.begin() as conn:
        for statement in METADATA_SQL:
            conn.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
        for table in SEQUENCE_TABLES:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))
        _create_partitions(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


OBSERVATIONS_SQL = [
    # time-major order, as a live system writes them: every stream's rows interleaved
    "INSERT INTO observations (phenomenon_time_start, result_number, result_time, datastream_id, "
    "feature_of_interest_id) SELECT t, round((random() * 1000)::numeric, 2)::float8, t, ds, "
    "((ds - 1) % :dashboard_things) + 1 FROM generate_series(1, :rows_per_stream) i "
    "CROSS JOIN LATERAL (SELECT TIMESTAMPTZ '2024-01-01T00:00:00Z' + i * INTERVAL '1 minute' AS t) tt "
    "CROSS JOIN LATERAL generate_series(1, :streams) ds",
    "INSERT INTO observations (phenomenon_time_start, result_number, result_time, datastream_id, "
    "feature_of_interest_id) SELECT t, round((random() * 1000)::numeric, 2)::float8, t, :big_stream, 1 "
    "FROM (SELECT TIMESTAMPTZ '2023-09-01T00:00:00Z' + i * INTERVAL '10 seconds' AS t "
    "FROM generate_series(1, :big_stream_rows) i) s",
    "INSERT INTO observations (phenomenon_time_start, result_number, result_time, datastream_id, "
    "feature_of_interest_id) SELECT t, round((random() * 1000)::numeric, 2)::float8, t, :day_stream, 1 "
    "FROM (SELECT CAST(:day_start AS timestamptz) + i * INTERVAL '1 second' AS t "
    "FROM generate_series(0, 2 * :day_seconds - 1) i) s",
    "UPDATE datastreams d SET phenomenon_time_start = s.lo, phenomenon_time_end = s.hi, "
    "result_time_start = s.lo, result_time_end = s.hi FROM (SELECT datastream_id, min(phenomenon_time_start) lo, "
    "max(phenomenon_time_start) hi FROM observations GROUP BY datastream_id) s WHERE s.datastream_id = d.id",
]


# the months of the loaded data (Sep 2023 to Mar 2024) and of the created rows (scenarios 1 and 2)
DATA_MONTHS = (*(partitions.add_months(date(2023, 9, 1), n) for n in range(7)), date(2025, 1, 1), date(2025, 2, 1))


def _create_partitions(conn: Connection) -> None:
    """The monthly partitions of the bench's months, as the maintenance job would have made them on
    a live system; nothing when the server under test does not partition Observations."""
    if conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'observations'")).scalar() != "p":
        return
    for month in DATA_MONTHS:
        conn.execute(text(partitions.create_statement(month)))


def load_observations(engine: Engine, sizes: Sizes) -> float:
    """Bulk-load the Observations with secondary indexes dropped and FK triggers off, rebuild the
    same indexes, VACUUM ANALYZE. Returns the seconds it took."""
    started = time.monotonic()
    params = {"dashboard_things": sizes.dashboard_things, "rows_per_stream": sizes.rows_per_stream,
              "streams": sizes.streams, "big_stream": sizes.big_stream, "big_stream_rows": sizes.big_stream_rows,
              "day_stream": sizes.day_stream, "day_seconds": sizes.day_seconds, "day_start": DAY_STREAM_START}
    with engine.begin() as conn:
        indexes = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'observations' "
                                    "AND indexname NOT LIKE '%pkey'")).all()
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in OBSERVATIONS_SQL:
            conn.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
            log.info("  loaded step after %.0f s", time.monotonic() - started)
        for _, definition in indexes:  # of a partitioned table: "ON ONLY" would skip the partitions
            conn.execute(text(definition.replace(" ON ONLY ", " ON ")))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE observations"))
        conn.execute(text("ANALYZE datastreams"))
    return time.monotonic() - started
