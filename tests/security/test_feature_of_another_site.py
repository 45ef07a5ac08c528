"""A FeatureOfInterest given by id must be visible to the stream's own SITE (red team F1): an agent
granted two sites of one radial may not link one household's feature into the other's stream,
on any channel (HTTP POST, $batch, CreateObservations, MQTT); the radial label both Things carry
does not make the feature the stream's own. Its own site's feature stays linkable."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from sta_server.security import users
from sta_server.security.broker_files import sync
from sta_server.security.principal import Principal, acting_as
from sta_server.service import bulk
from sta_server.service.events import begin_request, transaction
from tests.mosquitto import Broker
from tests.mqtt.conftest import wait_until
from tests.security.conftest import SETUP, As, Grid, password
from tests.security.mqtt_platform import Client, wait_for_acl

TWO_SITES = "agent-ab"


def _same_radial(clean_db: Engine, grid: Grid) -> None:
    """Site B moves onto radial R1 (site A's), and one agent is granted both sites."""
    with clean_db.begin() as conn:
        users.label_things(conn, SETUP, [grid.thing_b], add=["radial:R1"], remove=["radial:R2"])
        users.add_user(conn, SETUP, TWO_SITES, "device_agent", password(TWO_SITES), ("site:A", "site:B"))


def _features(admin: As, grid: Grid) -> tuple[int, int]:
    own = admin.get(f"Observations({grid.observations_a[0]})/FeatureOfInterest")[1]["@iot.id"]
    other = admin.get(f"Observations({grid.observations_b[0]})/FeatureOfInterest")[1]["@iot.id"]
    return own, other


def _linked(engine: Engine, stream: int) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT DISTINCT feature_of_interest_id FROM observations "
                                     "WHERE datastream_id = :s"), {"s": stream}).scalars())


@pytest.fixture
def two_sites(secure_client: FlaskClient, grid: Grid, clean_db: Engine) -> tuple[As, int, int]:
    _same_radial(clean_db, grid)
    own, other = _features(As(secure_client, "admin"), grid)
    return As(secure_client, TWO_SITES), own, other


def test_http_posts_refuse_the_other_sites_feature(two_sites: tuple[As, int, int], grid: Grid,
                                                     clean_db: Engine) -> None:
    agent, own, other = two_sites
    for path, extra in ((f"Datastreams({grid.stream_a})/Observations", {}),
                        ("Observations", {"Datastream": {"@iot.id": grid.stream_a}})):
        status, body = agent.post(path, {"result": 602, "FeatureOfInterest": {"@iot.id": other}, **extra})
        assert status == 400, body
        assert body["error"]["message"] == f"No FeatureOfInterest with id {other}"
        status, body = agent.post(path, {"result": 603, "FeatureOfInterest": {"@iot.id": own}, **extra})
        assert status == 201, body
    # the same agent may link site B's feature into site B's own stream
    status, body = agent.post(f"Datastreams({grid.stream_b})/Observations",
                              {"result": 604, "FeatureOfInterest": {"@iot.id": other}})
    assert status == 201, body
    assert _linked(clean_db, grid.stream_a) == {own}


def test_batch_and_create_observations_refuse_it_per_item(two_sites: tuple[As, int, int], grid: Grid,
                                                          clean_db: Engine) -> None:
    agent, own, other = two_sites
    batch = {"requests": [
        {"id": str(n), "method": "post", "url": f"Datastreams({grid.stream_a})/Observations",
         "body": {"result": 610 + n, "FeatureOfInterest": {"@iot.id": feature}}}
        for n, feature in enumerate((other, own))]}
    status, body = agent.post("$batch", batch)
    assert status == 200, body
    assert [answer["status"] for answer in body["responses"]] == [400, 201]
    rows = [["2026-02-01T00:00:00Z", 620, other], ["2026-02-01T00:01:00Z", 621, own]]
    status, body = agent.post("CreateObservations", [
        {"Datastream": {"@iot.id": grid.stream_a}, "components": ["phenomenonTime", "result", "FeatureOfInterest/id"],
         "dataArray@iot.count": 2, "dataArray": rows}])
    assert status == 201, body
    assert [isinstance(a, str) and "Observations(" in a for a in body] == [False, True]
    assert _linked(clean_db, grid.stream_a) == {own}


def _rule_set(engine: Engine, grants: tuple[str, ...], bodies: list[dict[str, Any]]) -> list[Any]:
    """The rule set as an MQTT batch or a pack calls it: one transaction, one request."""
    agent = Principal(TWO_SITES, "device_agent", frozenset(grants), channel="mqtt")
    with acting_as(agent), transaction(engine, None) as conn:
        begin_request(conn)
        return bulk.create_observations(conn, [(None, body) for body in bodies]).outcomes


@pytest.fixture
def refuses_13(clean_db: Engine) -> Iterator[None]:
    """A row the database refuses at COPY although parsing accepts it (a CHECK constraint): the
    batch is retried in halves (service/bulk.py)."""
    with clean_db.begin() as conn:
        conn.execute(text("ALTER TABLE observations ADD CONSTRAINT no_13 CHECK (result_number IS DISTINCT FROM 13)"))
    yield
    with clean_db.begin() as conn:
        conn.execute(text("ALTER TABLE observations DROP CONSTRAINT no_13"))


def test_the_retry_in_halves_checks_each_row_too(two_sites: tuple[As, int, int], grid: Grid,
                                                 clean_db: Engine, refuses_13: None) -> None:
    """A row the database refuses sends the rows down the retry: the other site's feature is
    still refused there."""
    _, own, other = two_sites
    stream = {"Datastream": {"@iot.id": grid.stream_a}}
    outcomes = _rule_set(clean_db, ("site:A", "site:B"), [
        {**stream, "result": 13, "FeatureOfInterest": {"@iot.id": own}},
        {**stream, "result": 631, "FeatureOfInterest": {"@iot.id": other}},
        {**stream, "result": 632, "FeatureOfInterest": {"@iot.id": own}}])
    assert [isinstance(o, int) for o in outcomes] == [False, False, True], outcomes
    assert _linked(clean_db, grid.stream_a) == {own}


def test_a_feature_generated_by_an_earlier_row_is_not_the_next_rows_own(
        secure_client: FlaskClient, grid: Grid, clean_db: Engine, refuses_13: None) -> None:
    """Row 0 generates site C's feature (its stream's first Observation); row 2 names that new
    feature's id for site A's stream. In the retry they run in one request: the generated feature
    is not "created by this request" for row 2 (only a deep insert's is)."""
    admin = As(secure_client, "admin")
    status, thing = admin.post("Things", {
        "name": "C", "description": "site C", "Locations": [{
            "name": "site C", "description": "C", "encodingType": "application/geo+json",
            "location": {"type": "Point", "coordinates": [14.0, 45.0]}}],
        "Datastreams": [{"name": "C power", "description": "P", "observationType": "OM_Measurement",
                         "unitOfMeasurement": {"name": "watt", "symbol": "W", "definition": "W"},
                         "Sensor": {"name": "C meter", "description": "m", "encodingType": "text/html",
                                    "metadata": "m"},
                         "ObservedProperty": {"name": "C power", "definition": "P", "description": "P"}}]})
    assert status == 201, thing
    stream_c = admin.ids(f"Things({thing['@iot.id']})/Datastreams")[0]
    with clean_db.begin() as conn:
        users.label_things(conn, SETUP, [thing["@iot.id"]], add=["site:C"])
        # generated and rolled back by the whole batch and by the half [0, 1]; kept by the half [0]
        predicted = int(conn.execute(text("SELECT coalesce(max(id), 0) + 3 FROM features")).scalar_one())
    own = _features(admin, grid)[0]
    outcomes = _rule_set(clean_db, ("site:A", "site:C"), [
        {"Datastream": {"@iot.id": stream_c}, "result": 651},
        {"Datastream": {"@iot.id": grid.stream_a}, "result": 13},
        {"Datastream": {"@iot.id": grid.stream_a}, "result": 652, "FeatureOfInterest": {"@iot.id": predicted}},
        {"Datastream": {"@iot.id": grid.stream_a}, "result": 653}])
    assert [isinstance(o, int) for o in outcomes] == [True, False, False, True], outcomes
    assert _linked(clean_db, stream_c) == {predicted}
    assert _linked(clean_db, grid.stream_a) == {own}


def test_mqtt_refuses_the_other_sites_feature(platform: Any, mqtt_grid: Grid, secure_broker: Broker,
                                              clean_db: Engine) -> None:
    http, service, settings = platform
    _same_radial(clean_db, mqtt_grid)
    with clean_db.connect() as conn:
        sync(conn, settings)
    wait_for_acl(secure_broker, f"user {TWO_SITES}")
    own, other = _features(As(http, "admin"), mqtt_grid)
    agent = Client(secure_broker, TWO_SITES)
    topic = f"v1.1/Datastreams({mqtt_grid.stream_a})/Observations"
    rejected = service.ingest.stats.rejected
    agent.publish(topic, {"result": 641, "FeatureOfInterest": {"@iot.id": other}})
    agent.publish(topic, {"result": 642, "FeatureOfInterest": {"@iot.id": own}})
    wait_until(lambda: service.ingest.stats.rejected == rejected + 1, 10)
    wait_until(lambda: 642 in _results(clean_db), 10)
    assert _linked(clean_db, mqtt_grid.stream_a) == {own}
    agent.close()


def _results(engine: Engine) -> set[float]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT result_number FROM observations WHERE result_number > 600")).scalars())
