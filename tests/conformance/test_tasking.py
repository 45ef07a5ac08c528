"""Tasking Core over HTTP: Actuators, TaskingCapabilities and Tasks with S4G set-point capabilities."""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import get, make_thing, post
from tests.s4g_capabilities import ENERGY_ROUTER_MODE, ESS_SETPOINT

ACTUATOR = {"name": "Battery inverter", "description": "ESS inverter control",
            "encodingType": "application/pdf", "metadata": "https://example.org/inverter.pdf"}


def make_capability(client: FlaskClient, parameters: dict[str, Any] = ESS_SETPOINT) -> Any:
    thing = make_thing(client, "ESS 1")
    return post(client, "TaskingCapabilities", {
        "name": "ESS power set-point", "description": "Active power set-point of the battery",
        "taskingParameters": parameters, "properties": {"deviceId": "ess-1"},
        "Thing": {"@iot.id": thing["@iot.id"]}, "Actuator": ACTUATOR,
    })


def test_capability_links_thing_and_actuator(client: FlaskClient) -> None:
    capability = make_capability(client)
    ident = capability["@iot.id"]
    assert get(client, f"TaskingCapabilities({ident})/Thing")["name"] == "ESS 1"
    assert get(client, f"TaskingCapabilities({ident})/Actuator")["name"] == "Battery inverter"
    assert get(client, "Things(1)/TaskingCapabilities")["value"][0]["@iot.id"] == ident
    assert capability["Tasks@iot.navigationLink"].endswith(f"TaskingCapabilities({ident})/Tasks")


def test_task_that_fits_is_created_with_a_creation_time(client: FlaskClient) -> None:
    capability = make_capability(client)
    task = post(client, f"TaskingCapabilities({capability['@iot.id']})/Tasks", {
        "taskingParameters": {"powerSetpoint": -2500, "priority": 2, "startTime": "2026-06-01T12:00:00Z"},
    })
    assert task["taskingParameters"]["powerSetpoint"] == -2500
    assert task["creationTime"].endswith("Z")
    listed = get(client, f"TaskingCapabilities({capability['@iot.id']})/Tasks")["value"]
    assert [t["@iot.id"] for t in listed] == [task["@iot.id"]]


def test_task_outside_the_allowed_range_is_rejected(client: FlaskClient) -> None:
    capability = make_capability(client)
    error = post(client, "Tasks", {
        "taskingParameters": {"powerSetpoint": 50000, "priority": 2, "startTime": "2026-06-01T12:00:00Z"},
        "TaskingCapability": {"@iot.id": capability["@iot.id"]},
    }, status=400)
    assert "powerSetpoint" in error["error"]["message"]
    assert get(client, "Tasks")["value"] == []


def test_energy_router_mode_must_be_one_to_five(client: FlaskClient) -> None:
    capability = make_capability(client, ENERGY_ROUTER_MODE)
    path = f"TaskingCapabilities({capability['@iot.id']})/Tasks"
    post(client, path, {"taskingParameters": {"operationMode": 4, "gridPowerMin": -1, "gridPowerMax": 1}})
    post(client, path, {"taskingParameters": {"operationMode": 0, "gridPowerMin": -1, "gridPowerMax": 1}},
         status=400)


def test_task_needs_a_capability(client: FlaskClient) -> None:
    post(client, "Tasks", {"taskingParameters": {}}, status=400)


def test_capability_needs_a_swe_common_description(client: FlaskClient) -> None:
    thing = make_thing(client)
    post(client, "TaskingCapabilities", {
        "name": "x", "description": "y", "taskingParameters": {"type": "Nonsense"},
        "Thing": {"@iot.id": thing["@iot.id"]}, "Actuator": ACTUATOR,
    }, status=400)


def test_deleting_a_capability_deletes_its_tasks(client: FlaskClient) -> None:
    capability = make_capability(client)
    ident = capability["@iot.id"]
    post(client, f"TaskingCapabilities({ident})/Tasks", {
        "taskingParameters": {"powerSetpoint": 1, "priority": 1, "startTime": "2026-06-01T12:00:00Z"}})
    assert client.delete(f"/v1.1/TaskingCapabilities({ident})").status_code == 200
    assert get(client, "Tasks")["value"] == []
    assert len(get(client, "Actuators")["value"]) == 1


def test_tasking_is_not_part_of_version_1_0(client: FlaskClient) -> None:
    assert client.get("/v1.0/Tasks").status_code == 404
    thing = make_thing(client)
    body = client.get(f"/v1.0/Things({thing['@iot.id']})").get_json()
    assert "TaskingCapabilities@iot.navigationLink" not in body
    assert "properties" in body


def test_tasks_filter_by_parameters(client: FlaskClient) -> None:
    capability = make_capability(client)
    path = f"TaskingCapabilities({capability['@iot.id']})/Tasks"
    for power in (-1000, 500, 2000):
        post(client, path, {"taskingParameters": {"powerSetpoint": power, "priority": 1,
                                                  "startTime": "2026-06-01T12:00:00Z"}})
    found = get(client, "Tasks", **{"$filter": "taskingParameters/powerSetpoint gt 0",
                                    "$orderby": "id desc"})["value"]
    assert [t["taskingParameters"]["powerSetpoint"] for t in found] == [2000, 500]


# --- the OGC suites' requests (ets-sta10 TestEntityCreator, FROST Capability2Tests) -----------------

TASKING_REQUIREMENTS = [  # FROST-Server.Tests Requirement: a claimed class covers what it prefixes
    "http://www.opengis.net/spec/iot_tasking/1.0/req/tasking-capability/properties",
    "http://www.opengis.net/spec/iot_tasking/1.0/req/tasking-capability/relations",
    "http://www.opengis.net/spec/iot_tasking/1.0/req/task/properties",
    "http://www.opengis.net/spec/iot_tasking/1.0/req/task/relations",
    "http://www.opengis.net/spec/iot_tasking/1.0/req/actuator/properties",
    "http://www.opengis.net/spec/iot_tasking/1.0/req/actuator/relations",
    "http://www.opengis.net/spec/iot_tasking/1.0/req/create-tasks/task-creation",
]


def test_service_root_claims_tasking_core(client: FlaskClient) -> None:
    conformance = get(client, "")["serverSettings"]["conformance"]
    for requirement in TASKING_REQUIREMENTS:
        assert any(requirement.startswith(claimed) for claimed in conformance), requirement


def test_capability_without_swe_common_description_is_stored_as_given(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    body = {"name": "TaskingCapability 1", "description": "This is a tasking capability",
            "properties": {"cool": True}, "taskingParameters": {"todo": "yes"},
            "Actuator": {"description": "actuator 1", "name": "actuator name 1",
                         "properties": {"reference": "firstActuator "}, "encodingType": "application/pdf",
                         "metadata": "Window opener"},
            "Tasks": [{"creationTime": "2015-03-05T00:00:00Z", "taskingParameters": {"todo": "yes"}},
                      {"creationTime": "2015-03-05T00:00:00Z", "taskingParameters": {"todo": "no"}}]}
    capability = post(client, f"Things({thing})/TaskingCapabilities", body)
    assert capability["taskingParameters"] == {"todo": "yes"}
    tasks = get(client, f"TaskingCapabilities({capability['@iot.id']})/Tasks", **{"$orderby": "id"})["value"]
    assert [t["taskingParameters"] for t in tasks] == [{"todo": "yes"}, {"todo": "no"}]


def test_empty_capability_takes_any_task_object(client: FlaskClient) -> None:
    thing = make_thing(client)["@iot.id"]
    actuator = post(client, "Actuators", {"name": "Test Thing", "description": "From TestNG",
                                          "encodingType": "none", "metadata": "none"})["@iot.id"]
    capability = post(client, "TaskingCapabilities", {
        "name": "Test Thing", "description": "From TestNG", "taskingParameters": {},
        "Actuator": {"@iot.id": actuator}, "Thing": {"@iot.id": thing}})["@iot.id"]
    post(client, "Tasks", {"taskingParameters": {}, "TaskingCapability": {"@iot.id": capability}})
    post(client, "Tasks", {"taskingParameters": {"anything": [1, 2]}, "TaskingCapability": {"@iot.id": capability}})
    post(client, "Tasks", {"taskingParameters": "on", "TaskingCapability": {"@iot.id": capability}}, status=400)


@pytest.mark.parametrize("parameters", ["on", [1, 2], 5])
def test_capability_parameters_must_be_an_object(client: FlaskClient, parameters: Any) -> None:
    thing = make_thing(client)
    post(client, "TaskingCapabilities", {
        "name": "x", "description": "y", "taskingParameters": parameters,
        "Thing": {"@iot.id": thing["@iot.id"]}, "Actuator": ACTUATOR,
    }, status=400)


def test_swe_common_capability_still_checks_its_tasks(client: FlaskClient) -> None:
    capability = make_capability(client)
    post(client, f"TaskingCapabilities({capability['@iot.id']})/Tasks", {"taskingParameters": {"todo": "yes"}},
         status=400)
