"""The access matrix over HTTP: for each role, what it can and cannot read and write, including
attempts to reach hidden entities through navigation, $expand, $filter, $count, $apply, CSV,
dataArray and $batch. Hidden entities look like entities that do not exist (404)."""
from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.s4g_capabilities import ESS_SETPOINT
from tests.security.conftest import As, Grid

SITE_A_USERS = ("operator", "aggregator", "agent", "resident")


@pytest.mark.parametrize(("user", "things"), [
    ("admin", "abp"), ("operator", "a"), ("aggregator", "a"), ("agent", "a"), ("resident", "a"),
    ("neighbour", "b"),
])
def test_each_role_sees_its_own_things_and_what_hangs_on_them(secure_client: FlaskClient, grid: Grid, user: str,
                                                              things: str) -> None:
    me = As(secure_client, user)
    expected = {"a": grid.thing_a, "b": grid.thing_b, "p": grid.thing_public}
    assert me.ids("Things") == sorted(expected[k] for k in things)
    streams = {"a": grid.stream_a, "b": grid.stream_b, "p": grid.stream_public}
    assert me.ids("Datastreams") == sorted(streams[k] for k in things)
    observations = {"a": grid.observations_a, "b": grid.observations_b, "p": []}
    assert me.ids("Observations") == sorted(i for k in things for i in observations[k])
    capabilities = {"a": grid.capability_a, "b": grid.capability_b, "p": grid.capability_public}
    assert me.ids("TaskingCapabilities") == sorted(capabilities[k] for k in things)
    status, counted = me.get("Observations?$count=true&$top=1")
    assert status == 200 and counted["@iot.count"] == sum(len(observations[k]) for k in things)


@pytest.mark.parametrize("user", SITE_A_USERS)
def test_hidden_entities_look_like_missing_ones(secure_client: FlaskClient, grid: Grid, user: str) -> None:
    me = As(secure_client, user)
    for path in (f"Things({grid.thing_b})", f"Datastreams({grid.stream_b})",
                 f"Datastreams({grid.stream_b})/Observations", f"Observations({grid.observations_b[0]})",
                 f"Things({grid.thing_b})/Datastreams", f"Locations({grid.location_b})",
                 f"TaskingCapabilities({grid.capability_b})/Tasks", f"Sensors({grid.sensor_b_only})",
                 f"Things({grid.thing_b})/name/$value", f"Observations({grid.observations_b[0]})/Datastream"):
        status, body = me.get(path)
        assert status == 404, (path, status, body)
        assert body["error"]["code"] in ("NotFound", "InvalidPath")
    # the Thing it may see is there, with its data
    status, thing = me.get(f"Things({grid.thing_a})?$expand=Datastreams/Observations")
    assert status == 200 and len(thing["Datastreams"][0]["Observations"]) == 3


@pytest.mark.parametrize("user", SITE_A_USERS)
def test_expand_shows_only_visible_entities(secure_client: FlaskClient, grid: Grid, user: str) -> None:
    me = As(secure_client, user)
    status, shared = me.get(f"Locations({grid.shared_location})?$expand=Things,HistoricalLocations($expand=Thing)")
    assert status == 200
    assert [t["@iot.id"] for t in shared["Things"]] == [grid.thing_a]
    assert {h["Thing"]["@iot.id"] for h in shared["HistoricalLocations"]} == {grid.thing_a}
    status, thing = me.get(f"Things({grid.thing_a})?$expand=Locations($expand=Things($expand=Datastreams))")
    assert status == 200
    neighbours = {t["@iot.id"] for loc in thing["Locations"] for t in loc["Things"]}
    assert neighbours == {grid.thing_a}
    status, counted = me.get(f"Locations({grid.shared_location})?$expand=Things($count=true)")
    assert counted["Things@iot.count"] == 1


@pytest.mark.parametrize("user", SITE_A_USERS)
def test_filter_across_links_cannot_probe_hidden_entities(secure_client: FlaskClient, grid: Grid, user: str) -> None:
    me = As(secure_client, user)
    for path in ("Locations?$filter=Things/name eq 'B'",
                 "Things?$filter=Locations/Things/name eq 'B'",
                 "Observations?$filter=Datastream/Thing/name eq 'B'",
                 "Datastreams?$filter=Thing/Locations/name eq 'site B'",
                 f"Things?$filter=Datastreams/id eq {grid.stream_b}",
                 "Sensors?$filter=Datastreams/Thing/name eq 'B'",
                 "Observations?$filter=Datastream/Thing/name eq 'B'&$count=true"):
        assert me.ids(path) == [], path
    # the same filters find the Thing it may see
    assert me.ids("Locations?$filter=Things/name eq 'A'") == sorted([grid.location_a, grid.shared_location])
    admin = As(secure_client, "admin")
    assert admin.ids("Locations?$filter=Things/name eq 'B'") == sorted([grid.location_b, grid.shared_location])


@pytest.mark.parametrize("user", SITE_A_USERS)
def test_exports_and_aggregates_cover_visible_rows_only(secure_client: FlaskClient, grid: Grid, user: str) -> None:
    me = As(secure_client, user)
    status, text = me.get("Observations?$resultFormat=CSV&$orderby=id")
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(int(r["@iot.id"]) for r in rows) == grid.observations_a
    status, body = me.get("Observations?$apply=aggregate(result with sum as total)")
    assert status == 200 and body["value"] == [{"total": 6.0}]
    status, body = me.get(f"Datastreams({grid.stream_b})/Observations?$resultFormat=dataArray")
    assert status == 404
    status, body = me.get("Observations?$resultFormat=GeoJSON")
    assert status == 200 and len(body["features"]) == 3
    status, body = me.get("FeaturesOfInterest")
    assert status == 200 and len(body["value"]) == 1  # the feature generated from site A only


def test_batch_requests_are_checked_one_by_one(secure_client: FlaskClient, grid: Grid) -> None:
    agent = As(secure_client, "agent")
    status, body = agent.post("$batch", {"requests": [
        {"id": "1", "method": "get", "url": f"Things({grid.thing_a})"},
        {"id": "2", "method": "get", "url": f"Things({grid.thing_b})"},
        {"id": "3", "method": "get", "url": "Things?$filter=Locations/Things/name eq 'B'"},
        {"id": "4", "method": "post", "url": f"Datastreams({grid.stream_b})/Observations", "body": {"result": 9}},
        {"id": "5", "method": "post", "url": "Things", "body": {"name": "X", "description": "x"}},
        {"id": "6", "method": "post", "url": f"Datastreams({grid.stream_a})/Observations", "body": {"result": 7}},
        {"id": "7", "atomicityGroup": "g", "method": "patch", "url": f"Things({grid.thing_a})",
         "body": {"name": "renamed"}},
    ]})
    assert status == 200
    statuses = {r["id"]: r["status"] for r in body["responses"]}
    assert statuses == {"1": 200, "2": 404, "3": 200, "4": 404, "5": 403, "6": 201, "7": 403}
    assert next(r for r in body["responses"] if r["id"] == "3")["body"]["value"] == []
    admin = As(secure_client, "admin")
    assert len(admin.ids(f"Datastreams({grid.stream_b})/Observations")) == 3
    assert admin.get(f"Things({grid.thing_a})")[1]["name"] == "A"


def test_data_array_creates_only_on_own_streams(secure_client: FlaskClient, grid: Grid) -> None:
    agent = As(secure_client, "agent")
    status, links = agent.post("CreateObservations", [
        {"Datastream": {"@iot.id": grid.stream_a}, "components": ["phenomenonTime", "result"],
         "dataArray": [["2026-02-01T00:00:00Z", 10], ["2026-02-01T00:01:00Z", 11]]},
        {"Datastream": {"@iot.id": grid.stream_b}, "components": ["phenomenonTime", "result"],
         "dataArray": [["2026-02-01T00:00:00Z", 99]]},
    ])
    assert status == 201
    assert [link == "error" for link in links] == [False, False, True]
    admin = As(secure_client, "admin")
    assert len(admin.ids(f"Datastreams({grid.stream_a})/Observations")) == 5
    assert len(admin.ids(f"Datastreams({grid.stream_b})/Observations")) == 3
    resident = As(secure_client, "resident")
    status, body = resident.post("CreateObservations", [
        {"Datastream": {"@iot.id": grid.stream_a}, "components": ["phenomenonTime", "result"],
         "dataArray": [["2026-02-01T00:00:00Z", 1]]}])
    assert status == 403 and body["error"]["code"] == "Forbidden"


TASK = {"taskingParameters": {"powerSetpoint": -2500, "priority": 2, "startTime": "2026-06-01T12:00:00Z"}}


@pytest.mark.parametrize(("user", "allowed"), [
    ("admin", {"observe", "task", "thing", "patch", "delete"}),
    ("operator", {"task"}),
    ("aggregator", {"task"}),
    ("agent", {"observe"}),
    ("resident", set()),
])
def test_write_permissions_by_role(secure_client: FlaskClient, grid: Grid, user: str, allowed: set[str]) -> None:
    me = As(secure_client, user)
    attempts = {
        "observe": ("POST", f"Datastreams({grid.stream_a})/Observations", {"result": 5}, 201),
        "task": ("POST", f"TaskingCapabilities({grid.capability_a})/Tasks", TASK, 201),
        "thing": ("POST", "Things", {"name": "new", "description": "new"}, 201),
        "patch": ("PATCH", f"Things({grid.thing_a})", {"description": "changed"}, 200),
        "delete": ("DELETE", f"Observations({grid.observations_a[0]})", None, 200),
    }
    for name, (method, path, body, ok) in attempts.items():
        status, answer = me.call(method, path, body)
        expected = ok if name in allowed else 403
        assert status == expected, (name, status, answer)
        if status == 403:
            assert answer["error"]["code"] == "Forbidden"


@pytest.mark.parametrize("user", ["operator", "aggregator", "agent"])
def test_writes_on_hidden_entities_look_like_missing_ones(secure_client: FlaskClient, grid: Grid, user: str) -> None:
    me = As(secure_client, user)
    status, _ = me.post(f"TaskingCapabilities({grid.capability_b})/Tasks", TASK)
    assert status in (403, 404)
    status, _ = me.post(f"Datastreams({grid.stream_b})/Observations", {"result": 1})
    assert status in (403, 404)
    if user == "agent":  # a reference in the body to a hidden stream: as if it did not exist
        status, body = me.post("Observations", {"result": 1, "Datastream": {"@iot.id": grid.stream_b}})
        assert status in (400, 404) and str(grid.stream_b) in body["error"]["message"]
    else:
        status, body = me.post("Tasks", {**TASK, "TaskingCapability": {"@iot.id": grid.capability_b}})
        assert status in (400, 404) and str(grid.capability_b) in body["error"]["message"]
    admin = As(secure_client, "admin")
    assert admin.ids(f"TaskingCapabilities({grid.capability_b})/Tasks") == []
    assert len(admin.ids(f"Datastreams({grid.stream_b})/Observations")) == 3


def test_household_data_needs_a_grant(secure_client: FlaskClient, grid: Grid) -> None:
    """Privacy: a resident of site B reads nothing of site A, whatever the path."""
    neighbour = As(secure_client, "neighbour")
    assert neighbour.ids("Observations") == grid.observations_b
    for path in (f"Datastreams({grid.stream_a})/Observations", f"Things({grid.thing_a})/Datastreams",
                 f"Observations({grid.observations_a[0]})"):
        assert neighbour.get(path)[0] == 404


def _household_capability(admin: As, thing: int, tasked_by: Any) -> int:
    """A capability of the household's own (D3.1 T11: the resident's manual set-point)."""
    status, body = admin.post(f"Things({thing})/TaskingCapabilities", {
        "name": "manual set-point", "description": "the resident's set-point", "taskingParameters": ESS_SETPOINT,
        "properties": {"taskedBy": tasked_by},
        "Actuator": {"name": "household inverter", "description": "inverter", "encodingType": "text/html",
                     "metadata": "https://example.org/inverter"}})
    assert status == 201, body
    return int(body["@iot.id"])


def test_residents_task_only_the_capabilities_that_name_them(secure_client: FlaskClient, grid: Grid) -> None:
    """A resident may not task the DSO's set-point (no `taskedBy`), only its household's capability,
    over POST, the capability's Tasks, `$batch` and a reference in the body; a neighbour not even that."""
    admin = As(secure_client, "admin")
    own = _household_capability(admin, grid.thing_a, ["resident", "grid_operator"])
    operator_excluded = _household_capability(admin, grid.thing_a, ["resident"])
    resident, neighbour, operator = (As(secure_client, n) for n in ("resident", "neighbour", "operator"))
    assert resident.post(f"TaskingCapabilities({own})/Tasks", TASK)[0] == 201
    assert resident.post("Tasks", {**TASK, "TaskingCapability": {"@iot.id": own}})[0] == 201
    status, body = resident.post(f"TaskingCapabilities({grid.capability_a})/Tasks", TASK)
    assert status == 403 and "taskedBy" in body["error"]["message"]
    status, body = resident.post("$batch", {"requests": [
        {"id": "1", "method": "post", "url": f"TaskingCapabilities({own})/Tasks", "body": TASK},
        {"id": "2", "method": "post", "url": f"TaskingCapabilities({grid.capability_a})/Tasks", "body": TASK},
        {"id": "3", "method": "post", "url": "Tasks",
         "body": {**TASK, "TaskingCapability": {"@iot.id": grid.capability_a}}},
        {"id": "4", "method": "post", "url": f"TaskingCapabilities({grid.capability_b})/Tasks", "body": TASK},
    ]})
    assert status == 200
    assert {r["id"]: r["status"] for r in body["responses"]} == {"1": 201, "2": 403, "3": 403, "4": 404}
    # the neighbour (site B) does not see site A's household capability; the operator is not named
    assert neighbour.post(f"TaskingCapabilities({own})/Tasks", TASK)[0] == 404
    assert neighbour.post("Tasks", {**TASK, "TaskingCapability": {"@iot.id": own}})[0] in (400, 404)
    assert operator.post(f"TaskingCapabilities({operator_excluded})/Tasks", TASK)[0] == 403
    assert operator.post(f"TaskingCapabilities({own})/Tasks", TASK)[0] == 201
    # a deep insert cannot smuggle a capability in: residents create no capabilities
    assert resident.post(f"Things({grid.thing_a})/TaskingCapabilities", {
        "name": "x", "description": "x", "taskingParameters": ESS_SETPOINT, "properties": {"taskedBy": ["resident"]},
        "Actuator": {"@iot.id": 1}, "Tasks": [TASK]})[0] == 403
    assert len(admin.ids(f"TaskingCapabilities({own})/Tasks")) == 4  # 2 + $batch's one + the operator's
    assert admin.ids(f"TaskingCapabilities({grid.capability_a})/Tasks") == []
    assert admin.ids(f"TaskingCapabilities({operator_excluded})/Tasks") == []


@pytest.mark.parametrize("tasked_by", ["resident", {"resident": True}, 7, None])
def test_a_taskedby_that_is_not_a_list_names_nobody(secure_client: FlaskClient, grid: Grid, tasked_by: Any) -> None:
    capability = _household_capability(As(secure_client, "admin"), grid.thing_a, tasked_by)
    assert As(secure_client, "resident").post(f"TaskingCapabilities({capability})/Tasks", TASK)[0] == 403
    assert As(secure_client, "operator").post(f"TaskingCapabilities({capability})/Tasks", TASK)[0] == 201
