"""taskingParameters checked against SWE Common descriptions (pure, no database)."""
from __future__ import annotations

from typing import Any

import pytest

from sta_server.errors import InvalidEntity
from sta_server.swe_common import check_description, validate_task_parameters
from tests.s4g_capabilities import ENERGY_ROUTER_MODE, ESS_DAY_SCHEDULE, ESS_SETPOINT, EV_LOAD_REDUCTION

T0 = "2026-06-01T12:00:00Z"


@pytest.mark.parametrize(("description", "parameters"), [
    (ESS_SETPOINT, {"powerSetpoint": -2500, "priority": 1, "startTime": T0}),
    (ESS_SETPOINT, {"powerSetpoint": 10000.0, "priority": 10, "startTime": T0, "stopTime": T0}),
    (ESS_DAY_SCHEDULE, {"startTime": T0, "powerProfile": [0.0] * 1440}),
    (EV_LOAD_REDUCTION, {"startTime": T0, "maxPowerProfile": [11000] * 4}),
    (ENERGY_ROUTER_MODE, {"operationMode": 3, "gridPowerMin": -3000, "gridPowerMax": 3000}),
    (ENERGY_ROUTER_MODE, {"operationMode": 5, "gridPowerMin": 0, "gridPowerMax": 1, "enabled": True,
                          "reason": "dso-request"}),
])
def test_fitting_parameters_are_accepted(description: dict[str, Any], parameters: dict[str, Any]) -> None:
    validate_task_parameters(description, parameters)


@pytest.mark.parametrize(("description", "parameters", "message"), [
    (ESS_SETPOINT, {"powerSetpoint": 20000, "priority": 1, "startTime": T0}, "powerSetpoint"),
    (ESS_SETPOINT, {"powerSetpoint": "high", "priority": 1, "startTime": T0}, "must be a number"),
    (ESS_SETPOINT, {"powerSetpoint": 1, "priority": 1.5, "startTime": T0}, "integer"),
    (ESS_SETPOINT, {"powerSetpoint": 1, "priority": 1}, "startTime: is missing"),
    (ESS_SETPOINT, {"powerSetpoint": 1, "priority": 1, "startTime": "noon"}, "ISO 8601"),
    (ESS_SETPOINT, {"powerSetpoint": 1, "priority": 1, "startTime": T0, "colour": "red"}, "unknown"),
    (ESS_DAY_SCHEDULE, {"startTime": T0, "powerProfile": [0.0] * 1439}, "1440 elements"),
    (ESS_DAY_SCHEDULE, {"startTime": T0, "powerProfile": [0.0] * 1439 + [1e6]}, "powerProfile/1439"),
    (EV_LOAD_REDUCTION, {"startTime": T0, "maxPowerProfile": []}, "1 to 96 elements"),
    (ENERGY_ROUTER_MODE, {"operationMode": 6, "gridPowerMin": 0, "gridPowerMax": 1}, "operationMode"),
    (ENERGY_ROUTER_MODE, {"operationMode": 1, "gridPowerMin": 0, "gridPowerMax": 1, "enabled": "yes"},
     "true or false"),
    (ENERGY_ROUTER_MODE, {"operationMode": 1, "gridPowerMin": 0, "gridPowerMax": 1, "reason": "fun"},
     "not one of"),
    (ESS_SETPOINT, [1, 2, 3], "JSON object"),
])
def test_parameters_that_do_not_fit_are_rejected(description: dict[str, Any], parameters: Any,
                                                 message: str) -> None:
    with pytest.raises(InvalidEntity, match=message):
        validate_task_parameters(description, parameters)


def test_a_boolean_is_not_a_number() -> None:
    with pytest.raises(InvalidEntity, match="number"):
        validate_task_parameters(ESS_SETPOINT, {"powerSetpoint": True, "priority": 1, "startTime": T0})


@pytest.mark.parametrize("description", [{"type": "Banana"}, [], "DataRecord", None])
def test_capability_descriptions_are_objects_with_a_known_type_if_any(description: Any) -> None:
    with pytest.raises(InvalidEntity):
        check_description(description)


@pytest.mark.parametrize("description", [{}, {"todo": "yes"}, {"field": []}])
def test_descriptions_without_a_swe_common_type_are_free_form(description: Any) -> None:
    check_description(description)  # accepted as given (the OGC suites post {"todo": "yes"})
    validate_task_parameters(description, {"todo": "no"})
    with pytest.raises(InvalidEntity, match="JSON object"):
        validate_task_parameters(description, ["not", "an", "object"])
