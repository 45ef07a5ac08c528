"""`$count` in estimate mode: exact up to the threshold, the planner's estimate beyond it."""
from __future__ import annotations

from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from sta_server.app import create_app
from sta_server.settings import Settings
from tests.conftest import get, make_datastream, post


@pytest.fixture
def estimating(settings: Settings, clean_db: Engine) -> FlaskClient:
    app = create_app(replace(settings, count_estimate_threshold=5), clean_db)
    return app.test_client()


def _load(client: FlaskClient, engine: Engine, rows: int) -> int:
    stream = make_datastream(client)["@iot.id"]
    post(client, f"Datastreams({stream})/Observations", {"result": 0})
    with engine.begin() as conn:  # bulk set-up straight in SQL: loading is not what is tested
        conn.execute(text(
            "INSERT INTO observations (phenomenon_time_start, result_number, datastream_id, feature_of_interest_id)"
            " SELECT now(), g, datastream_id, feature_of_interest_id FROM observations, generate_series(2, :n) g"),
            {"n": rows})
        conn.execute(text("ANALYZE observations"))
    return int(stream)


def test_small_counts_stay_exact(estimating: FlaskClient, clean_db: Engine) -> None:
    stream = _load(estimating, clean_db, 4)
    assert get(estimating, f"Datastreams({stream})/Observations", **{"$count": "true"})["@iot.count"] == 4


def test_large_counts_are_estimated_near_the_truth(estimating: FlaskClient, clean_db: Engine) -> None:
    _load(estimating, clean_db, 20000)
    count = get(estimating, "Observations", **{"$count": "true", "$top": "1"})["@iot.count"]
    assert 15000 <= count <= 25000


def test_estimates_never_undercut_what_was_seen(estimating: FlaskClient, clean_db: Engine) -> None:
    _load(estimating, clean_db, 200)
    count = get(estimating, "Observations", **{"$count": "true", "$filter": "result gt 10"})["@iot.count"]
    assert count >= 6


def test_exact_mode_counts_exactly(client: FlaskClient, clean_db: Engine) -> None:
    _load(client, clean_db, 20000)
    assert get(client, "Observations", **{"$count": "true", "$top": "1"})["@iot.count"] == 20000


def test_count_mode_comes_from_the_environment() -> None:
    env = {"STA_COUNT_MODE": "estimate", "STA_COUNT_EXACT_UP_TO": "500"}
    assert Settings.from_env(env).count_estimate_threshold == 500
    assert Settings.from_env({}).count_estimate_threshold is None
    with pytest.raises(ValueError, match="STA_COUNT_MODE"):
        Settings.from_env({"STA_COUNT_MODE": "guess"})
