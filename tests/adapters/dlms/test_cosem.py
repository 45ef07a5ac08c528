"""Pure DLMS/COSEM decoding: a recorded Get-Response-With-List (bytes as a ZMG310-like meter sends them at
noon on a sunny day, exporting), scalers and units, refused registers, and the consumer sign convention."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dlms_cosem.enumerations import DataAccessResult
from dlms_cosem.protocol import xdlms

from adapters.dlms.cosem import get_request, parse_values, readings
from adapters.dlms.errors import GarbledFrame, RegisterError
from adapters.dlms.variables import DEFAULT_KEYS, VARIABLE_MAP
from adapters.dlms.wrapper import parse_header, wrap

NOW = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
# Get-Response-With-List, invoke id 1, 18 results: per register (value, structure{scaler, unit}):
# P+ 0 W, P- 4321 W, Q+ 0 var, Q- 1083 var, V L1..L3 2316/2302/2308 × 10^-1 V, A+ 1,250,000 Wh, A- 310,200 Wh.
RECORDED = bytes.fromhex(
    "c40381120006000000000002020f00161b0006000010e10002020f00161b0006000000000002020f00161d0006000004"
    "3b0002020f00161d0012090c0002020fff1623001208fe0002020fff1623001209040002020fff16230006001312d000"
    "02020f00161e00060004bbb80002020f00161e")


def recorded() -> bytes:
    return RECORDED


def test_a_recorded_answer_gives_every_variable_in_site_units() -> None:
    answer = xdlms.GetResponseWithList.from_bytes(recorded())
    values = parse_values(answer.result)
    assert values["active_export"] == 4321.0 and values["voltage_l1"] == pytest.approx(231.6)
    assert values["energy_import"] == pytest.approx(1250.0)  # Wh → kWh
    by_key = {reading.datastream: reading.value for reading in readings(values, NOW, DEFAULT_KEYS)}
    assert by_key == {"P_grid": -4321.0, "Q_grid": -1083.0, "V_grid": [231.6, 230.2, 230.8],
                      "A_plus": 1250.0, "A_minus": 310.2}


def test_the_request_asks_value_and_scaler_unit_of_each_obis_code() -> None:
    request = get_request()
    encoded = request.to_bytes()
    assert encoded[:2] == bytes([0xC0, 0x03]) and encoded[3] == 2 * len(VARIABLE_MAP)
    assert bytes([0, 3, 1, 0, 32, 7, 0, 255, 3]) in encoded  # class 3, OBIS 1.0.32.7.0.255, attribute 3


def test_a_scaler_is_applied_with_the_value_read_in_the_same_answer() -> None:
    results = list(xdlms.GetResponseWithList.from_bytes(recorded()).result)
    results[2:4] = [4, [3, 27]]  # P- = 4 kW as 4 × 10^3 W
    assert parse_values(results)["active_export"] == 4000.0


@pytest.mark.parametrize(("value", "scaler_unit", "message"), [
    (10, [0, 30], "unit 30, expected 27"),
    ("x", [0, 27], "not a number"),
    (10, [0], "not a structure"),
])
def test_a_wrong_register_is_refused(value: object, scaler_unit: object, message: str) -> None:
    results = list(xdlms.GetResponseWithList.from_bytes(recorded()).result)
    results[0:2] = [value, scaler_unit]
    with pytest.raises(RegisterError, match=message):
        parse_values(results)


def test_a_data_access_error_is_refused_and_a_short_answer_is_garbled() -> None:
    results = list(xdlms.GetResponseWithList.from_bytes(recorded()).result)
    results[0] = DataAccessResult.OBJECT_UNDEFINED
    with pytest.raises(RegisterError, match="OBJECT_UNDEFINED"):
        parse_values(results)
    with pytest.raises(GarbledFrame):
        parse_values([1, [0, 27]])


def test_the_wrapper_header() -> None:
    frame = wrap(b"\xc0\x01", 16, 1)
    assert frame == bytes.fromhex("0001 0010 0001 0002 c001".replace(" ", ""))
    assert parse_header(frame[:8]) == (16, 1, 2)
    with pytest.raises(GarbledFrame, match="version 7"):
        parse_header(bytes.fromhex("0007001000010002"))
