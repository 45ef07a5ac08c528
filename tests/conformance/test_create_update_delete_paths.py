"""Create-Update-Delete on navigation paths (FROST-Server.Tests AdditionalTests test04/test06/test07):
a path through an entity that is not related answers 404 to every verb, and a body that names
another parent than the path is a 400."""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import LOCATION, get, make_datastream, make_thing, post


@pytest.fixture
def two_things(client: FlaskClient) -> dict[str, Any]:
    thing1 = make_thing(client, "Thing 1", Locations=[LOCATION])["@iot.id"]
    thing2 = make_thing(client, "Thing 2", Locations=[LOCATION])["@iot.id"]
    stream = make_datastream(client, thing1)["@iot.id"]
    observation = post(client, "Observations", {"result": 1.0, "Datastream": {"@iot.id": stream}})["@iot.id"]
    good = f"/v1.1/Things({thing1})/Datastreams({stream})/Observations"
    bad = f"/v1.1/Things({thing2})/Datastreams({stream})/Observations"
    return {"good": good, "bad": bad, "observation": observation, "stream": stream}


def test_get_and_post_through_unrelated_entity(client: FlaskClient, two_things: dict[str, Any]) -> None:
    body = {"phenomenonTime": "2015-03-01T03:00:00.000Z", "result": 300}
    assert client.get(two_things["good"]).status_code == 200
    assert client.get(two_things["bad"]).status_code == 404
    assert client.post(two_things["good"], json=body).status_code == 201
    assert client.post(two_things["bad"], json=body).status_code != 201


def test_update_and_delete_through_unrelated_entity(client: FlaskClient, two_things: dict[str, Any]) -> None:
    good = f"{two_things['good']}({two_things['observation']})"
    bad = f"{two_things['bad']}({two_things['observation']})"
    body = {"phenomenonTime": "2015-03-01T03:00:00.000Z", "result": 301}
    assert client.put(good, json=body).status_code == 200
    assert client.put(bad, json={**body, "result": 302}).status_code == 404
    assert client.patch(good, json={"result": 303}).status_code == 200
    assert client.patch(bad, json={"result": 304}).status_code != 200
    assert get(client, f"Observations({two_things['observation']})")["result"] == 303
    assert client.delete(bad).status_code == 404
    assert client.get(good).status_code == 200
    assert client.delete(good).status_code == 200
    assert client.get(good).status_code == 404


def test_body_naming_another_parent_than_the_path_is_400(client: FlaskClient,
                                                         two_things: dict[str, Any]) -> None:
    other = make_datastream(client, name="Other stream")["@iot.id"]
    response = client.post(f"/v1.1/Datastreams({two_things['stream']})/Observations",
                           json={"result": 1.0, "Datastream": {"@iot.id": other}})
    assert response.status_code == 400
    assert get(client, f"Datastreams({other})/Observations")["value"] == []


def test_body_naming_the_same_parent_as_the_path(client: FlaskClient, two_things: dict[str, Any]) -> None:
    stream = two_things["stream"]
    created = post(client, f"Datastreams({stream})/Observations",
                   {"result": 1.0, "Datastream": {"@iot.id": stream}})
    assert get(client, f"Observations({created['@iot.id']})")["phenomenonTime"] is not None
