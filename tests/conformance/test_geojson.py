"""GeoJSON for GIS tools: FeatureCollections of entities with geometries, read by GDAL."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import LOCATION, make_datastream, make_thing, post

FEEDER = {"name": "Feeder 3", "description": "radial feeder", "encodingType": "application/geo+json",
          "location": {"type": "LineString", "coordinates": [[8.95, 46.0], [8.96, 46.01], [8.97, 46.0]]}}
AREA = {"name": "Substation", "description": "fence", "encodingType": "application/geo+json",
        "location": {"type": "Feature", "properties": {}, "geometry": {
            "type": "Polygon", "coordinates": [[[8.9, 46.0], [8.91, 46.0], [8.91, 46.01], [8.9, 46.0]]]}}}


def _geo(client: FlaskClient, path: str, accept: bool = False, **params: str) -> Any:
    headers = {"Accept": "application/geo+json"} if accept else {}
    if not accept:
        params["$resultFormat"] = "GeoJSON"
    response = client.get(f"/v1.1/{path}", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "application/geo+json"
    return response.get_json()


@pytest.fixture
def world(client: FlaskClient) -> dict[str, Any]:
    point = make_thing(client, "Battery 1", Locations=[LOCATION])
    feeder = make_thing(client, "Feeder 3", Locations=[FEEDER])
    make_thing(client, "Substation", Locations=[AREA])
    stream = make_datastream(client, point["@iot.id"])
    post(client, f"Datastreams({stream['@iot.id']})/Observations",
         {"result": 1, "phenomenonTime": "2024-01-01T00:00:00Z"})
    return {"point": point, "feeder": feeder, "stream": stream}


def test_things_are_features_with_their_location(client: FlaskClient, world: dict[str, Any]) -> None:
    body = _geo(client, "Things", **{"$orderby": "id"})
    assert body["type"] == "FeatureCollection"
    assert [f["geometry"]["type"] for f in body["features"]] == ["Point", "LineString", "Polygon"]
    first = body["features"][0]
    assert first["id"] == world["point"]["@iot.id"] and first["properties"]["name"] == "Battery 1"
    assert "Locations" not in first["properties"]


def test_accept_header_selects_geojson(client: FlaskClient, world: dict[str, Any]) -> None:
    body = _geo(client, "Locations", accept=True, **{"$filter": "name eq 'Feeder 3'"})
    (feature,) = body["features"]
    assert feature["geometry"] == FEEDER["location"] and "location" not in feature["properties"]


def test_select_keeps_the_geometry(client: FlaskClient, world: dict[str, Any]) -> None:
    body = _geo(client, "Locations", **{"$select": "name", "$orderby": "id"})
    assert body["features"][2]["geometry"]["type"] == "Polygon"
    assert body["features"][2]["properties"] == {"name": "Substation"}


def test_paging_keeps_next_link_and_count(client: FlaskClient, world: dict[str, Any]) -> None:
    body = _geo(client, "Things", **{"$top": "1", "$count": "true"})
    assert body["@iot.count"] == 3 and "GeoJSON" in body["@iot.nextLink"] and len(body["features"]) == 1


def test_observations_carry_their_feature(client: FlaskClient, world: dict[str, Any]) -> None:
    body = _geo(client, "Observations", **{"$expand": "Datastream($select=name)"})
    (feature,) = body["features"]
    assert feature["geometry"] == LOCATION["location"]
    assert feature["properties"]["Datastream"]["name"] == "ESS power"


def test_datastream_geometry_is_its_observed_area(client: FlaskClient, world: dict[str, Any]) -> None:
    feature = _geo(client, f"Datastreams({world['stream']['@iot.id']})")
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"


def test_single_entity_is_a_feature(client: FlaskClient, world: dict[str, Any]) -> None:
    feature = _geo(client, f"Things({world['feeder']['@iot.id']})")
    assert feature["geometry"]["type"] == "LineString"


def test_unknown_result_format_is_a_bad_request(client: FlaskClient) -> None:
    assert client.get("/v1.1/Things?$resultFormat=KML").status_code == 400


def test_gdal_reads_the_collection(client: FlaskClient, world: dict[str, Any], tmp_path: Path) -> None:
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        pytest.fail("ogrinfo missing: scripts/services.sh ensure_packages installs gdal-bin")
    path = tmp_path / "things.geojson"
    path.write_text(json.dumps(_geo(client, "Things", **{"$orderby": "id"})))
    out = subprocess.run([ogrinfo, "-ro", "-al", "-so", str(path)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert "Feature Count: 3" in out and "name: String" in out


def test_pyogrio_reads_lines_and_polygons(client: FlaskClient, world: dict[str, Any], tmp_path: Path) -> None:
    pyogrio = pytest.importorskip("pyogrio")
    path = tmp_path / "locations.geojson"
    path.write_text(json.dumps(_geo(client, "Locations", **{"$orderby": "id"})))
    names = pyogrio.read_info(str(path))
    assert names["features"] == 3
