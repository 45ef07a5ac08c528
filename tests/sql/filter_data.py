"""A fixed data set for $filter/$orderby/$expand tests: Things in Ticino, Milano and Zurich with
JSON properties, Locations (points, a feeder line, a polygon), Datastreams and Observations with
number, string, boolean, object and null results, interval phenomenonTimes, resultTime, validTime
and parameters.

Entities are known by label (T1, L3, D2, O7, ...); `build_dataset` returns label -> @iot.id.
The expected results in the tests are computed by hand from the comments below.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, text, update

from sta_server.app import create_app
from sta_server.settings import Settings
from sta_server.sql.tables import TABLES
from tests.conftest import datastream_body, post


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def _location(name: str, geometry: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "description": f"{name} location", "encodingType": "application/geo+json",
            "location": geometry}


LOCATIONS: dict[str, dict[str, Any]] = {
    "L1": _location("Lugano", _point(8.95, 46.0)),
    "L2": _location("Bellinzona", _point(9.02, 46.19)),
    "L3": _location("Milano", _point(9.19, 45.46)),
    "L4": _location("Zurich", _point(8.54, 47.37)),
    # A box around the Sottoceneri: contains L1 and L2, not L3 (south) nor L4 (north).
    "L5": _location("Ticino area", {"type": "Polygon", "coordinates": [
        [[8.8, 45.8], [9.2, 45.8], [9.2, 46.3], [8.8, 46.3], [8.8, 45.8]]]}),
    # A feeder along latitude 46: 1 degree long, crosses the polygon L5; L1 lies on it.
    "L6": _location("Feeder 46", {"type": "LineString", "coordinates": [[8.5, 46.0], [9.5, 46.0]]}),
    # A feeder along longitude 8: 2 degrees long, far west of everything else.
    "L7": _location("Feeder 8E", {"type": "LineString", "coordinates": [[8.0, 45.5], [8.0, 47.5]]}),
}

THINGS: dict[str, dict[str, Any]] = {
    "T1": {"name": "Lugano storage", "description": "Battery at the USM site",
           "properties": {"radialId": "R1", "capacity_kwh": 10, "nominal": 3.5, "active": True,
                          "site": {"city": "Lugano", "floor": 2}, "tags": ["pv", "ess"]}},
    "T2": {"name": "Milano storage", "description": "Battery in Milano",
           "properties": {"radialId": "R2", "capacity_kwh": 20, "nominal": 7.25, "active": False,
                          "site": {"city": "Milano", "floor": 0}, "tags": ["ess"]}},
    "T3": {"name": "Zurich meter", "description": "Smart meter",
           "properties": {"radialId": "R1", "capacity_kwh": 5, "active": True,
                          "site": {"city": "Zurich"}}},
    "T4": {"name": " Ticino grid ", "description": "The distribution grid"},
}
THING_LOCATIONS = {"T1": ["L1", "L2"], "T2": ["L3"], "T3": ["L4"], "T4": ["L5"]}

DATASTREAMS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "D1": ("T1", "Lugano power", {"properties": {"phase": 1}}),
    "D2": ("T1", "Lugano state", {}),
    "D3": ("T2", "Milano power", {"properties": {"phase": 3}}),
    "D4": ("T3", "Zurich energy", {}),  # no Observations
}

# label: (datastream, feature, phenomenonTime, result, extra members)
OBSERVATIONS: list[tuple[str, str, str, str, Any, dict[str, Any]]] = [
    ("O1", "D1", "F1", "2024-01-01T10:00:00Z", 10,
     {"resultTime": "2024-01-01T10:00:05Z", "parameters": {"quality": "good", "n": 1}}),
    ("O2", "D1", "F1", "2024-01-01T11:00:00Z/2024-01-01T12:00:00Z", 20.5,
     {"validTime": "2024-01-01T11:00:00Z/2024-01-02T00:00:00Z", "parameters": {"quality": "bad", "n": 2}}),
    ("O3", "D1", "F1", "2024-01-01T12:00:00Z", -3, {}),
    ("O4", "D1", "F1", "2024-06-15T08:30:15.250Z", 0, {"resultTime": "2024-06-15T08:30:16Z"}),
    ("O5", "D2", "F1", "2024-01-01T10:00:00Z", "charging", {}),
    ("O6", "D2", "F1", "2024-01-01T11:30:00Z", True, {}),
    ("O7", "D2", "F1", "2024-01-01T13:00:00Z", {"value": 42, "unit": "W", "nested": {"a": "x"}}, {}),
    ("O8", "D2", "F1", "2024-01-01T14:00:00Z", None, {}),
    ("O9", "D2", "F1", "2024-01-02T00:00:00Z", "15", {}),
    ("O10", "D3", "F2", "2024-01-01T10:00:00Z/2024-01-01T10:15:00Z", 100, {}),
    ("O11", "D3", "F2", "RECENT", 50, {}),  # one hour before the data set was built
]

FEATURES: dict[str, dict[str, Any]] = {
    "F1": {"name": "Lugano feature", "description": "f", "encodingType": "application/geo+json",
           "feature": _point(8.95, 46.0)},
    "F2": {"name": "Milano feature", "description": "f", "encodingType": "application/geo+json",
           "feature": _point(9.19, 45.46)},
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _store_results(engine: Engine, results: dict[int, Any]) -> None:
    """Write non-numeric results straight into storage. Workaround: service/create.py
    `_check_complete` only looks at `result_number`, so POST rejects string/boolean/object results
    ("Observation needs 'result'") and null results are refused as well."""
    observations = TABLES["observations"]
    with engine.begin() as conn:
        for ident, result in results.items():
            conn.execute(update(observations).where(observations.c.id == ident)
                         .values(result_number=None, result_json=result))


def build_dataset(client: FlaskClient, engine: Engine) -> dict[str, int]:
    """Create the data set through the HTTP API; label -> @iot.id."""
    ids: dict[str, int] = {}
    for label, body in LOCATIONS.items():
        ids[label] = post(client, "Locations", body)["@iot.id"]
    for label, body in THINGS.items():
        links = [{"@iot.id": ids[loc]} for loc in THING_LOCATIONS[label]]
        ids[label] = post(client, "Things", {**body, "Locations": links})["@iot.id"]
    for label, (thing, name, extra) in DATASTREAMS.items():
        body = {**datastream_body(name, **extra), "Thing": {"@iot.id": ids[thing]}}
        ids[label] = post(client, "Datastreams", body)["@iot.id"]
    for label, body in FEATURES.items():
        ids[label] = post(client, "FeaturesOfInterest", body)["@iot.id"]
    recent = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    other_results: dict[int, Any] = {}
    for label, stream, feature, time, result, extra in OBSERVATIONS:
        body = {"phenomenonTime": recent if time == "RECENT" else time,
                "result": result if _is_number(result) else 0, **extra,
                "Datastream": {"@iot.id": ids[stream]}, "FeatureOfInterest": {"@iot.id": ids[feature]}}
        ids[label] = post(client, "Observations", body)["@iot.id"]
        if not _is_number(result):
            other_results[ids[label]] = result
    _store_results(engine, other_results)
    return ids


def truncate(engine: Engine) -> None:
    names = ", ".join(f'"{name}"' for name in TABLES)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def dataset_client(settings: Settings, engine: Engine) -> Iterator[tuple[FlaskClient, dict[str, int]]]:
    """A client over a freshly built data set; the tables are emptied again afterwards."""
    truncate(engine)
    app = create_app(settings, engine)
    app.testing = True
    client = app.test_client()
    try:
        yield client, build_dataset(client, engine)
    finally:
        truncate(engine)
