"""Pure parsing of what charge points send (OCPP 1.6J payloads, snake_case as the ocpp library hands them
to handlers) into site readings, and OCPP's time format.

Charger clocks drift: a charger's timestamps are moved by the clock offset the CSMS measured
(`parameters.chargerTime` keeps the original) when the offset is larger than the tolerance."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.connector import Reading
from adapters.ocpp.variables import STATUS_ROLE, UNIT_FACTOR, VARIABLE_MAP

DEFAULT_MEASURAND = "Energy.Active.Import.Register"


class FrameError(ValueError):
    """A payload that passed the schema but makes no sense (bad number, bad time, unknown unit)."""


def parse_ocpp_time(text: str) -> datetime:
    """An OCPP dateTime (ISO 8601, `Z` or an offset; a naive one is taken as UTC)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as error:
        raise FrameError(f"bad dateTime {text!r}") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_ocpp_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clock_offset_s(meter_value: Iterable[Mapping[str, Any]], received: datetime) -> float | None:
    """The charger clock's offset measured on a live MeterValues message: its newest timestamp minus
    the CSMS's time of receipt (None when it carries no timestamp)."""
    times = [parse_ocpp_time(str(value["timestamp"])) for value in meter_value if value.get("timestamp")]
    return (max(times) - received).total_seconds() if times else None


def corrected_time(charger_time: datetime, offset_s: float, max_skew_s: float) -> tuple[datetime, dict[str, Any]]:
    """The reading time of a charger timestamp, and the parameters recording a correction."""
    if abs(offset_s) <= max_skew_s:
        return charger_time, {}
    return (charger_time - timedelta(seconds=offset_s),
            {"chargerTime": format_ocpp_time(charger_time), "clockOffset_s": round(offset_s, 1)})


def parse_meter_values(meter_value: Iterable[Mapping[str, Any]], keys: Mapping[str, str], offset_s: float = 0.0,
                       max_skew_s: float = 60.0) -> list[Reading]:
    """One reading per known measurand per MeterValue (per-phase values summed or averaged; a value
    without phase wins); measurands the map does not know are left out."""
    readings = []
    for value in meter_value:
        time, parameters = corrected_time(parse_ocpp_time(str(value["timestamp"])), offset_s, max_skew_s)
        for measurand, number in _values_by_measurand(value.get("sampled_value", [])).items():
            readings.append(Reading(keys[VARIABLE_MAP[measurand].role], number, time, dict(parameters)))
    return readings


def _values_by_measurand(sampled: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    totals: dict[str, float] = {}
    phased: dict[str, list[float]] = {}
    for sample in sampled:
        measurand = str(sample.get("measurand", DEFAULT_MEASURAND))
        spec = VARIABLE_MAP.get(measurand)
        if spec is None:
            continue
        unit = str(sample.get("unit", spec.default_ocpp_unit))
        if unit not in UNIT_FACTOR:
            raise FrameError(f"{measurand}: unknown unit {unit!r}")
        try:
            number = float(sample["value"]) * UNIT_FACTOR[unit]
        except (KeyError, ValueError) as error:
            raise FrameError(f"{measurand}: value {sample.get('value')!r} is not a number") from error
        if sample.get("phase"):
            phased.setdefault(measurand, []).append(number)
        else:
            totals[measurand] = number
    for measurand, numbers in phased.items():
        if measurand not in totals:
            total = sum(numbers)
            totals[measurand] = total if VARIABLE_MAP[measurand].phases == "sum" else total / len(numbers)
    return {measurand: round(number, 3) for measurand, number in totals.items()}


def parse_status(status: str, error_code: str, timestamp: str | None, received: datetime,
                 keys: Mapping[str, str], offset_s: float = 0.0, max_skew_s: float = 60.0) -> Reading:
    """A StatusNotification as a `cpStatus` category reading (the vendor error code in parameters)."""
    charger_time = parse_ocpp_time(timestamp) if timestamp else received
    time, parameters = corrected_time(charger_time, offset_s if timestamp else 0.0, max_skew_s)
    if error_code and error_code != "NoError":
        parameters["errorCode"] = error_code
    return Reading(keys[STATUS_ROLE], status, time, parameters)
