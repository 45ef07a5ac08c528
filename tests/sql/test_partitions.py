"""Monthly partitions of Observations (migration 0006, sta_server/sql/partitions.py) against the real
PostgreSQL: routing, the default partition, the maintenance job, moves across months, row-level
security, and the migration both ways with data."""
from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from alembic import command
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import ProgrammingError

from sta_server.settings import Settings
from sta_server.sql import partitions, policies
from tests.conftest import alembic_config, get, make_datastream, post, throwaway_database

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _partition_of(conn: Connection, ident: int) -> str:
    return str(conn.execute(text("SELECT tableoid::regclass::text FROM observations WHERE id = :i"),
                            {"i": ident}).scalar_one())


def _observation(client: FlaskClient, stream: int, time: str, result: float = 1.0) -> int:
    created = post(client, f"Datastreams({stream})/Observations", {"phenomenonTime": time, "result": result})
    return int(created["@iot.id"])


def test_parent_is_range_partitioned_by_phenomenon_time_with_a_default(clean_db: Engine) -> None:
    with clean_db.connect() as conn:
        strategy = conn.execute(text(
            "SELECT partstrat, pg_get_partkeydef('observations'::regclass) FROM pg_partitioned_table "
            "WHERE partrelid = 'observations'::regclass")).one()
        key = conn.execute(text(
            "SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
            "WHERE c.conrelid = 'observations'::regclass AND c.contype = 'p'")).scalar_one()
        sequence = conn.execute(text("SELECT pg_get_serial_sequence('observations', 'id')")).scalar_one()
        have = partitions.existing_months(conn)
        default = conn.execute(text("SELECT to_regclass('observations_default')")).scalar_one()
    assert strategy[0] == "r" and strategy[1] == "RANGE (phenomenon_time_start)"
    assert sorted(key) == ["id", "phenomenon_time_start"]
    assert sequence == "public.observations_id_seq"
    assert partitions.month_start(datetime.now(UTC)) in have  # made by the migration
    assert default is not None


def test_observations_land_in_the_partition_of_their_month(client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    with clean_db.begin() as conn:
        partitions.ensure_partitions(conn, ahead=1, now=datetime(2031, 3, 5, tzinfo=UTC))
    march = _observation(client, stream, "2031-03-31T23:59:59Z")
    april = _observation(client, stream, "2031-04-01T00:00:00Z")
    # April in its own offset, still March in UTC
    late = _observation(client, stream, "2031-04-01T01:00:00+02:00")
    with clean_db.connect() as conn:
        assert _partition_of(conn, march) == "observations_p203103"
        assert _partition_of(conn, april) == "observations_p203104"
        assert _partition_of(conn, late) == "observations_p203103"


def test_times_without_a_partition_go_to_the_default_and_the_job_moves_them(
        client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    old = [_observation(client, stream, f"1987-06-{day:02d}T12:00:00Z", day) for day in (1, 15, 30)]
    other = _observation(client, stream, "1987-09-01T00:00:00Z")
    with clean_db.connect() as conn:
        assert {_partition_of(conn, i) for i in [*old, other]} == {"observations_default"}
    with clean_db.begin() as conn:
        report = partitions.ensure_partitions(conn, ahead=0)
    assert report.moved_rows == 4
    assert {"observations_p198706", "observations_p198709"} <= set(report.created)
    with clean_db.connect() as conn:
        assert {_partition_of(conn, i) for i in old} == {"observations_p198706"}
        assert _partition_of(conn, other) == "observations_p198709"
        assert conn.execute(text("SELECT count(*) FROM observations_default")).scalar_one() == 0
        # the default partition is attached again: an odd time still has a home
        assert conn.execute(text(
            "SELECT partstrat FROM pg_partitioned_table WHERE partdefid = 'observations_default'::regclass"
        )).scalar_one() == "r"
    stray = _observation(client, stream, "1977-01-01T00:00:00Z")
    with clean_db.connect() as conn:
        assert _partition_of(conn, stray) == "observations_default"
    # the rows are the same Observations, reachable as before
    page = get(client, f"Datastreams({stream})/Observations", **{"$orderby": "phenomenonTime", "$select": "id"})
    assert [o["@iot.id"] for o in page["value"]] == [stray, *old, other]


def test_ensure_partitions_creates_the_coming_months_and_is_idempotent(clean_db: Engine) -> None:
    now = datetime(2040, 11, 20, tzinfo=UTC)
    with clean_db.begin() as conn:
        first = partitions.ensure_partitions(conn, ahead=3, now=now)
    assert first.created == ("observations_p204011", "observations_p204012", "observations_p204101",
                             "observations_p204102")
    with clean_db.begin() as conn:
        again = partitions.ensure_partitions(conn, ahead=3, now=now)
        bounds = conn.execute(text(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'observations_p204012'"
        )).scalar_one()
        months = partitions.existing_months(conn)
    assert again.created == () and again.moved_rows == 0
    assert {date(2040, 11, 1), date(2041, 2, 1)} <= months
    assert bounds == ("FOR VALUES FROM ('2040-12-01 00:00:00+00') TO ('2041-01-01 00:00:00+00')")


def test_changing_phenomenon_time_moves_the_observation_across_partitions(
        client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    with clean_db.begin() as conn:
        partitions.ensure_partitions(conn, ahead=2, now=datetime(2032, 1, 10, tzinfo=UTC))
    ident = _observation(client, stream, "2032-01-10T00:00:00Z", 5)
    response = client.patch(f"/v1.1/Observations({ident})", json={"phenomenonTime": "2032-03-02T00:00:00Z"})
    assert response.status_code == 200, response.get_data(as_text=True)
    with clean_db.connect() as conn:
        assert _partition_of(conn, ident) == "observations_p203203"
        assert conn.execute(text("SELECT count(*) FROM observations WHERE id = :i"), {"i": ident}).scalar() == 1
    moved = get(client, f"Observations({ident})")
    assert moved["phenomenonTime"] == "2032-03-02T00:00:00Z" and moved["result"] == 5
    assert get(client, f"Datastreams({stream})")["phenomenonTime"].endswith("2032-03-02T00:00:00Z")
    assert client.delete(f"/v1.1/Observations({ident})").status_code == 200
    assert client.get(f"/v1.1/Observations({ident})").status_code == 404


def test_row_level_security_still_hides_the_observations_of_unlabelled_things(
        client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    with clean_db.begin() as conn:
        partitions.ensure_partitions(conn, ahead=0)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ident = _observation(client, stream, now)
    _observation(client, stream, "1970-01-01T00:00:00Z")  # in the default partition
    with clean_db.connect() as conn:
        partition = _partition_of(conn, ident)
        conn.rollback()
        with conn.begin():
            assert conn.execute(text("SELECT count(*) FROM observations")).scalar_one() == 2
            policies.scope(conn, ["site:X"])
            assert conn.execute(text("SELECT count(*) FROM observations")).scalar_one() == 0
        for table in (partition, "observations_default"):  # no way around the parent's policies
            with pytest.raises(ProgrammingError, match="permission denied"), conn.begin():
                policies.scope(conn, ["site:X"])
                conn.execute(text(f"SELECT count(*) FROM {table}"))
        labelled = conn.begin()  # a label of the Thing makes them visible again
        try:
            thing = conn.execute(text("SELECT thing_id FROM datastreams WHERE id = :d"), {"d": stream}).scalar()
            conn.execute(text("INSERT INTO thing_labels VALUES (:t, 'site:X')"), {"t": thing})
            policies.scope(conn, ["site:X"])
            assert conn.execute(text("SELECT count(*) FROM observations")).scalar_one() == 2
        finally:
            labelled.rollback()


def test_copy_path_and_ids_from_the_sequence(client: FlaskClient, clean_db: Engine) -> None:
    stream = make_datastream(client)["@iot.id"]
    this_month = partitions.month_start(datetime.now(UTC))
    months = [this_month, partitions.add_months(this_month, 1)]  # made by the migration
    body = [{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
             "dataArray": [["1955-06-01T00:00:00Z", 1], *[[f"{m.isoformat()}T00:00:00Z", 2] for m in months]]}]
    response = client.post("/v1.1/CreateObservations", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    idents = [int(link.rsplit("(", 1)[1].rstrip(")")) for link in response.get_json()]
    assert idents == sorted(idents) and len(set(idents)) == 3
    with clean_db.connect() as conn:
        assert [_partition_of(conn, i) for i in idents] == [
            "observations_default", *[partitions.partition_name(m) for m in months]]


# --- the migration itself, both ways, on a database of its own ----------------------------------


@pytest.fixture
def scratch_url(database_url: str) -> Iterator[str]:
    with throwaway_database(database_url) as url:
        yield url


_ROWS = ("2019-02-03 04:05:06+00", "2019-02-28 23:00:00+00", "2024-07-01 00:00:00+00")


def test_the_migration_moves_existing_rows_and_downgrades_back(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, "0005")
    engine = create_engine(scratch_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO things (id, name) VALUES (1, 't')"))
            conn.execute(text("INSERT INTO sensors (id, name, encoding_type, metadata) VALUES (1, 's', 'x', 'm')"))
            conn.execute(text("INSERT INTO observed_properties (id, name, definition) VALUES (1, 'p', 'd')"))
            conn.execute(text("INSERT INTO datastreams (id, name, unit_of_measurement, observation_type, thing_id,"
                              " sensor_id, observed_property_id) VALUES (1, 'd', '{}', 'o', 1, 1, 1)"))
            conn.execute(text("INSERT INTO features (id, name, encoding_type, feature) VALUES (1, 'f', 'x', '{}')"))
            for when in _ROWS:
                conn.execute(text("INSERT INTO observations (phenomenon_time_start, result_number, datastream_id,"
                                  " feature_of_interest_id) VALUES (:t, 1, 1, 1)"), {"t": when})
        command.upgrade(config, "0006")
        with engine.begin() as conn:
            placed = conn.execute(text(
                "SELECT id, tableoid::regclass::text FROM observations ORDER BY id")).all()
            new = conn.execute(text("INSERT INTO observations (phenomenon_time_start, datastream_id,"
                                    " feature_of_interest_id) VALUES (now(), 1, 1) RETURNING id")).scalar_one()
            features_policy = conn.execute(text(
                "SELECT count(*) FROM pg_policies WHERE tablename IN ('features', 'observations')")).scalar_one()
        assert placed == [(1, "observations_p201902"), (2, "observations_p201902"), (3, "observations_p202407")]
        assert new == 4  # the same sequence goes on
        assert features_policy == 8
        command.upgrade(config, "head")  # later migrations do not touch observations
        command.check(config)
        command.downgrade(config, "0005")
        with engine.begin() as conn:
            kind = conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'observations'")).scalar_one()
            count = conn.execute(text("SELECT count(*) FROM observations")).scalar_one()
            left = conn.execute(text(
                "SELECT count(*) FROM pg_class WHERE relname ~ '^observations_(p[0-9]+|default)$'")).scalar()
            newer = conn.execute(text("INSERT INTO observations (phenomenon_time_start, datastream_id,"
                                      " feature_of_interest_id) VALUES (now(), 1, 1) RETURNING id")).scalar_one()
            policy_count = conn.execute(text(
                "SELECT count(*) FROM pg_policies WHERE tablename IN ('features', 'observations')")).scalar_one()
        assert (kind, count, left, newer, policy_count) == ("r", 4, 0, 5, 8)
        command.upgrade(config, "head")  # and up again
    finally:
        engine.dispose()


def test_the_command_line_and_the_keeper_run_the_job(
        settings: Settings, clean_db: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    this_month = partitions.month_start(datetime.now(UTC))
    monkeypatch.setenv("STA_DATABASE_URL", settings.database_url)
    partitions.main(["--ahead", "7"])
    assert partitions.partition_name(partitions.add_months(this_month, 7)) in capsys.readouterr().out
    monkeypatch.setenv("STA_PARTITION_MONTHS_AHEAD", "8")
    partitions.run_once(Settings.from_env())
    keeper = partitions.PartitionKeeper(clean_db, ahead=9)
    keeper.start()
    keeper.stop()  # the first run is done before the thread ends
    with clean_db.connect() as conn:
        have = partitions.existing_months(conn)
    assert {partitions.add_months(this_month, n) for n in range(10)} <= have
