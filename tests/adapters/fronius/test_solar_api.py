"""Solar API v1 answers (recorded) → readings: signs flipped into the consumer convention, night nulls,
status codes, truncated JSON."""
from __future__ import annotations

import pathlib
from datetime import UTC, datetime

import pytest

from adapters.fronius.solar_api import SolarApiError, parse_document, parse_readings
from adapters.fronius.variables import INVERTER, METER, POWER_FLOW, STORAGE

FIXTURES = pathlib.Path(__file__).parents[2] / "fixtures" / "fronius"
NOW = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


def recorded(name: str, endpoint: str) -> dict[str, object]:
    return parse_document((FIXTURES / name).read_bytes(), endpoint)


def values(documents: dict[str, dict[str, object]]) -> dict[str, object]:
    return {r.datastream: r.value for r in parse_readings(documents, NOW)}  # type: ignore[arg-type]


def test_day_power_flow_in_the_consumer_convention() -> None:
    got = values({POWER_FLOW: recorded("powerflow_day.json", POWER_FLOW)})
    # PV produces (< 0), the battery charges (> 0), the house exports (< 0), the load consumes (> 0)
    assert got == {"P_pv": -5371.5, "P_ess": 1520.3, "P_grid": -2410.7, "P_load": 1440.5, "SoC": 62.4}
    assert got["P_grid"] == pytest.approx(got["P_load"] + got["P_pv"] + got["P_ess"], abs=1)  # type: ignore[operator]


def test_night_nulls_mean_a_sleeping_pv_and_missing_inverter_values() -> None:
    readings = parse_readings({POWER_FLOW: recorded("powerflow_night.json", POWER_FLOW),
                               INVERTER: recorded("inverter_night.json", INVERTER)}, NOW)
    got = {r.datastream: r for r in readings}
    assert got["P_pv"].value == 0.0 and got["P_pv"].parameters == {"null": True}
    assert got["P_ess"].value == -431.6  # discharging at night
    assert got["P_inv"].value == 0.0  # PAC absent while the inverter sleeps
    assert (got["essStatus"].value, got["essStatus"].parameters["detail"]) == ("13", "Sleeping")
    assert got["E_day"].value == pytest.approx(31.82)


def test_meter_of_a_system_scope() -> None:
    got = values({METER: recorded("meter_system.json", METER)})
    assert got == {"V_L1": 232.1, "V_L2": 233.4, "V_L3": 231.0, "P_meter": 12.5}


def test_keys_option_renames_streams() -> None:
    readings = parse_readings({POWER_FLOW: recorded("powerflow_day.json", POWER_FLOW)}, NOW, keys={"soc": "SoC_bat"})
    assert "SoC_bat" in {r.datastream for r in readings}


def test_status_code_other_than_zero_is_refused() -> None:
    with pytest.raises(SolarApiError, match="Status.Code 8 'Transfer timeout.'"):
        recorded("storage_error.json", STORAGE)


@pytest.mark.parametrize("cut", [10, 200, -1])
def test_truncated_json_is_refused(cut: int) -> None:
    body = (FIXTURES / "powerflow_day.json").read_bytes().strip()[:cut]
    with pytest.raises(SolarApiError, match="invalid or truncated JSON"):
        parse_document(body, POWER_FLOW)
