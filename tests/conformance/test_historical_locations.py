"""Create-Update-Delete, HistoricalLocations posted by hand (FROST-Server.Tests AdditionalTests
test03HistoricalLocationThing): a newer one moves its Thing to its Locations, an older one does not."""
from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import get, make_thing, post


def _location(client: FlaskClient, number: int) -> int:
    body = {"name": f"Location {number}.0", "description": f"Location Number {number}.",
            "encodingType": "application/vnd.geo+json",
            "location": {"type": "Point", "coordinates": [8, 49 + number]}}
    return int(post(client, "Locations", body)["@iot.id"])


def _thing_locations(client: FlaskClient, thing: int) -> list[int]:
    return [e["@iot.id"] for e in get(client, f"Things({thing})/Locations")["value"]]


def _moved_thing(client: FlaskClient) -> tuple[int, list[int]]:
    """The suite's setup: a Thing given Location 1 by PATCH, its HistoricalLocation set to 06:00."""
    thing = make_thing(client)["@iot.id"]
    locations = [_location(client, n) for n in (1, 2, 3)]
    response = client.patch(f"/v1.1/Things({thing})", json={"Locations": [{"@iot.id": locations[0]}]})
    assert response.status_code == 200
    history = get(client, f"Things({thing})/HistoricalLocations")["value"]
    assert len(history) == 1
    response = client.patch(f"/v1.1/HistoricalLocations({history[0]['@iot.id']})",
                            json={"time": "2016-01-01T06:00:00.000Z"})
    assert response.status_code == 200
    return thing, locations


def _history(client: FlaskClient, thing: int, time: str, location: Any) -> None:
    post(client, "HistoricalLocations", {"time": time, "Thing": {"@iot.id": thing}, "Locations": [location]})


def test_newer_historical_location_moves_the_thing(client: FlaskClient) -> None:
    thing, locations = _moved_thing(client)
    _history(client, thing, "2016-01-01T07:00:00.000Z", {"@iot.id": locations[1]})
    assert _thing_locations(client, thing) == [locations[1]]
    assert len(get(client, f"Things({thing})/HistoricalLocations")["value"]) == 2  # no extra record


def test_older_historical_location_leaves_the_thing_where_it_is(client: FlaskClient) -> None:
    thing, locations = _moved_thing(client)
    _history(client, thing, "2016-01-01T07:00:00.000Z", {"@iot.id": locations[1]})
    _history(client, thing, "2016-01-01T05:00:00.000Z", {"@iot.id": locations[2]})
    assert _thing_locations(client, thing) == [locations[1]]


def test_newer_historical_location_with_a_new_location_moves_the_thing(client: FlaskClient) -> None:
    thing, _ = _moved_thing(client)
    new = {"name": "Depot", "description": "new place", "encodingType": "application/geo+json",
           "location": {"type": "Point", "coordinates": [9, 47]}}
    _history(client, thing, "2030-01-01T00:00:00Z", new)
    assert [e["name"] for e in get(client, f"Things({thing})/Locations")["value"]] == ["Depot"]


def test_first_historical_location_of_a_thing_sets_its_location(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    location = _location(client, 1)
    _history(client, thing, "2016-01-01T07:00:00Z", {"@iot.id": location})
    assert _thing_locations(client, thing) == [location]
