"""The data set of the OGC/FROST GeoTests (FROST-Server.Tests c03filtering): eight Locations and
FeaturesOfInterest (four points, a triangle, three lines), three Datastreams, and an Observation
of each of the first four features (so the Datastreams' observedArea is a line, a point, a point)."""
from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import datastream_body, post


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def _line(*points: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


TRIANGLE = {"type": "Polygon", "coordinates": [[[8, 53], [7, 52], [7, 53], [8, 53]]]}
# index: (geometry, Thing index or None, Datastream index of its Observation or None)
SHAPES: list[tuple[dict[str, Any], int | None, int | None]] = [
    (_point(8, 51), 0, 0), (_point(8, 52), 0, 0), (_point(8, 53), 1, 1), (_point(8, 54), 2, 2), (TRIANGLE, 3, None),
    (_line((5, 52), (5, 53)), None, None), (_line((5, 52), (6, 53)), None, None), (_line((4, 52), (8, 52)), None, None),
]


def build_geo_world(client: FlaskClient) -> dict[str, list[int]]:
    things = [post(client, "Things", {"name": f"Thing {n + 1}", "description": "thing"})["@iot.id"] for n in range(4)]
    streams = [post(client, "Datastreams", {**datastream_body(f"Datastream {n + 1}"), "Thing": {"@iot.id": things[n]}})
               ["@iot.id"] for n in range(3)]
    ids: dict[str, list[int]] = {"Locations": [], "FeaturesOfInterest": [], "Observations": [], "Datastreams": streams}
    for n, (geometry, thing, stream) in enumerate(SHAPES):
        links = {"Things": [{"@iot.id": things[thing]}]} if thing is not None else {}
        ids["Locations"].append(post(client, "Locations", {
            "name": f"Location {n}", "description": "location", "encodingType": "application/vnd.geo+json",
            "location": geometry, **links})["@iot.id"])
        feature = post(client, "FeaturesOfInterest", {"name": f"FoI {n}", "description": f"This should be FoI #{n}.",
                                                      "encodingType": "application/geo+json", "feature": geometry})
        ids["FeaturesOfInterest"].append(feature["@iot.id"])
        if stream is not None:
            day = f"2016-01-0{n + 1}"
            ids["Observations"].append(post(client, "Observations", {
                "result": n + 1, "phenomenonTime": f"{day}T01:01:01.000Z",
                "validTime": f"{day}T01:01:01.000Z/{day}T23:59:59.999Z",
                "Datastream": {"@iot.id": streams[stream]}, "FeatureOfInterest": {"@iot.id": feature["@iot.id"]}})
                ["@iot.id"])
    return ids
