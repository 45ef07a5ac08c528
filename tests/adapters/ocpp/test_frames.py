"""Pure parsing of charge-point frames (recorded OCPP 1.6J shapes, camelCase on the wire) into readings."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ocpp.charge_point import camel_to_snake_case

from adapters.ocpp.frames import (
    FrameError,
    clock_offset_s,
    format_ocpp_time,
    parse_meter_values,
    parse_ocpp_time,
    parse_status,
)
from adapters.ocpp.variables import stream_keys

KEYS = stream_keys("cp1", {"power": "cp1.P_ev", "status": "cp1.cpStatus"})

# a three-phase 22 kW wall box: per-phase power in kW, phase voltages, the register in kWh, SoC from the EV
THREE_PHASE = """[2, "4711", "MeterValues", {"connectorId": 1, "transactionId": 17, "meterValue": [
  {"timestamp": "2026-12-07T20:00:10Z", "sampledValue": [
    {"value": "3.68", "measurand": "Power.Active.Import", "unit": "kW", "phase": "L1"},
    {"value": "3.70", "measurand": "Power.Active.Import", "unit": "kW", "phase": "L2"},
    {"value": "3.62", "measurand": "Power.Active.Import", "unit": "kW", "phase": "L3"},
    {"value": "229.1", "measurand": "Voltage", "unit": "V", "phase": "L1-N"},
    {"value": "231.3", "measurand": "Voltage", "unit": "V", "phase": "L2-N"},
    {"value": "230.2", "measurand": "Voltage", "unit": "V", "phase": "L3-N"},
    {"value": "12.345", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
    {"value": "61", "measurand": "SoC", "unit": "Percent", "location": "EV"},
    {"value": "16.0", "measurand": "Current.Offered", "unit": "A"},
    {"value": "49.98", "measurand": "Frequency"}]}]}]"""

# a minimal charger: the default measurand (the energy register in Wh) and a total power without phase
MINIMAL = """[2, "9", "MeterValues", {"connectorId": 1, "meterValue": [
  {"timestamp": "2026-12-07T21:00:00+01:00", "sampledValue": [
    {"value": "5120"},
    {"value": "7360.5", "measurand": "Power.Active.Import"},
    {"value": "2400", "measurand": "Power.Active.Import", "phase": "L1"}]}]}]"""


def payload(frame: str) -> dict[str, Any]:
    message = json.loads(frame)
    snake: dict[str, Any] = camel_to_snake_case(message[3])
    return snake


def test_three_phase_values_are_summed_or_averaged_and_scaled() -> None:
    readings = parse_meter_values(payload(THREE_PHASE)["meter_value"], KEYS)
    values = {r.datastream: r.value for r in readings}
    assert values == {"cp1.P_ev": 11000.0, "cp1.V_ev": pytest.approx(230.2), "cp1.E_ev": 12345.0,
                      "cp1.SoC_ev": 61.0}  # Current.Offered and Frequency are not mapped
    assert {r.time for r in readings} == {datetime(2026, 12, 7, 20, 0, 10, tzinfo=UTC)}
    assert all(r.parameters == {} for r in readings)


def test_defaults_and_a_value_without_phase_win() -> None:
    readings = parse_meter_values(payload(MINIMAL)["meter_value"], KEYS)
    assert {r.datastream: r.value for r in readings} == {"cp1.E_ev": 5120.0, "cp1.P_ev": 7360.5}
    assert readings[0].time == datetime(2026, 12, 7, 20, tzinfo=UTC)


def test_a_clock_offset_beyond_the_tolerance_moves_the_times() -> None:
    values = payload(MINIMAL)["meter_value"]
    received = datetime(2026, 12, 7, 22, tzinfo=UTC)
    offset = clock_offset_s(values, received)
    assert offset == -7200.0
    readings = parse_meter_values(values, KEYS, offset, max_skew_s=60)
    assert readings[0].time == received
    assert readings[0].parameters == {"chargerTime": "2026-12-07T20:00:00.000Z", "clockOffset_s": -7200.0}
    small = parse_meter_values(values, KEYS, 30.0, max_skew_s=60)
    assert small[0].time == datetime(2026, 12, 7, 20, tzinfo=UTC) and small[0].parameters == {}


@pytest.mark.parametrize("sample, message", [
    ({"value": "abc", "measurand": "Voltage"}, "not a number"),
    ({"value": "1", "measurand": "Voltage", "unit": "mV"}, "unknown unit"),
])
def test_nonsense_values_raise_frame_error(sample: dict[str, str], message: str) -> None:
    with pytest.raises(FrameError, match=message):
        parse_meter_values([{"timestamp": "2026-12-07T20:00:00Z", "sampled_value": [sample]}], KEYS)


def test_status_notification_is_a_category_reading_with_its_error_code() -> None:
    received = datetime(2026, 12, 7, 20, tzinfo=UTC)
    faulted = parse_status("Faulted", "GroundFailure", "2026-12-07T19:59:58Z", received, KEYS)
    assert (faulted.datastream, faulted.value, faulted.parameters) == ("cp1.cpStatus", "Faulted",
                                                                       {"errorCode": "GroundFailure"})
    assert faulted.time == received - timedelta(seconds=2)
    untimed = parse_status("Charging", "NoError", None, received, KEYS)
    assert untimed.time == received and untimed.parameters == {}


def test_ocpp_times() -> None:
    assert parse_ocpp_time("2026-12-07T20:00:00.123Z") == datetime(2026, 12, 7, 20, 0, 0, 123000, tzinfo=UTC)
    assert parse_ocpp_time("2026-12-07T20:00:00") == datetime(2026, 12, 7, 20, tzinfo=UTC)
    assert format_ocpp_time(datetime(2026, 12, 7, 21, tzinfo=UTC)) == "2026-12-07T21:00:00.000Z"
    with pytest.raises(FrameError):
        parse_ocpp_time("yesterday")
