"""A what-if request: the TaskingCapability's SWE Common description, and the Task's parameters read
into a `StudyRequest` (checked beyond what the server's SWE validation can say: times in order, a
period of at most a year)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from simulation.grid import GRID_CODES

MAX_PERIOD = timedelta(days=366)
PLACEMENTS = ("uniform", "random", "feeder-end")
CONTROL_MODES = ("none", "local", "gesscon")
DETAILS = ("full", "summary")
Placement = Literal["uniform", "random", "feeder-end"]
ControlMode = Literal["none", "local", "gesscon"]
Detail = Literal["full", "summary"]
_TIME_UOM = {"href": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}


def _pct(name: str, label: str) -> dict[str, Any]:
    return {"name": name, "label": label, "type": "Quantity", "uom": {"code": "%"},
            "constraint": {"type": "AllowedValues", "interval": [[0, 100]]}}


def _optional_quantity(name: str, code: str, high: float) -> dict[str, Any]:
    return {"name": name, "type": "Quantity", "optional": True, "uom": {"code": code},
            "constraint": {"type": "AllowedValues", "interval": [[0, high]]}}


def _tokens(name: str, values: tuple[str, ...], optional: bool = False) -> dict[str, Any]:
    return {"name": name, "type": "Category", "optional": optional,
            "constraint": {"type": "AllowedTokens", "value": list(values)}}


STUDY_PARAMETERS: dict[str, Any] = {
    "type": "DataRecord",
    "field": [
        _tokens("grid", tuple(GRID_CODES) + tuple(GRID_CODES.values())),
        {"name": "startTime", "type": "Time", "uom": _TIME_UOM},
        {"name": "stopTime", "type": "Time", "uom": _TIME_UOM},
        _pct("pvPenetration", "share of households given a PV system"),
        _pct("evPenetration", "share of households given an EV charging at home"),
        _pct("essPenetration", "share of households given a battery"),
        _tokens("placement", PLACEMENTS),
        _tokens("controlMode", CONTROL_MODES),
        _tokens("detail", DETAILS, optional=True),
        {"name": "seed", "type": "Count", "optional": True},
        _optional_quantity("pvPeak_kW", "kW", 100),
        _optional_quantity("evPower_kW", "kW", 50),
        _optional_quantity("essCapacity_kWh", "kW.h", 500),
        _optional_quantity("essPower_kW", "kW", 250),
    ],
}

CANCEL_PARAMETERS: dict[str, Any] = {
    "type": "DataRecord",
    "field": [{"name": "taskId", "label": "the what-if Task to cancel", "type": "Count"}],
}


class RequestError(ValueError):
    """A Task's parameters this engine cannot run (reported as a `rejected` status, never raised out)."""


@dataclass(frozen=True)
class StudyRequest:
    grid: str
    start: datetime
    stop: datetime
    pv_pct: float
    ev_pct: float
    ess_pct: float
    placement: Placement
    control: ControlMode
    detail: Detail = "full"
    seed: int = 0
    pv_peak_kw: float = 5.0
    ev_power_kw: float = 11.0
    ess_capacity_kwh: float = 10.0
    ess_power_kw: float = 5.0


def _time(params: Mapping[str, Any], name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(params[name]).replace("Z", "+00:00"))
    except (KeyError, ValueError) as err:
        raise RequestError(f"{name} must be an ISO 8601 time") from err
    if moment.tzinfo is None:
        raise RequestError(f"{name} needs a time zone")
    return moment


def _number(params: Mapping[str, Any], name: str, default: float | None = None) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RequestError(f"{name} must be a number")
    return float(value)


def _share(params: Mapping[str, Any], name: str) -> float:
    value = _number(params, name)
    if not 0 <= value <= 100:
        raise RequestError(f"{name} must be within 0-100 %, not {value}")
    return value


def _choice(params: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str | None = None) -> Any:
    value = params.get(name, default)
    if value not in allowed:
        raise RequestError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def parse_request(params: Mapping[str, Any]) -> StudyRequest:
    """The study a Task asks for, or `RequestError` naming what is wrong."""
    grid = _choice(params, "grid", tuple(GRID_CODES) + tuple(GRID_CODES.values()))
    start, stop = _time(params, "startTime"), _time(params, "stopTime")
    if stop <= start:
        raise RequestError("stopTime must be after startTime")
    if stop - start > MAX_PERIOD:
        raise RequestError(f"a study covers at most {MAX_PERIOD.days} days")
    control = _choice(params, "controlMode", CONTROL_MODES)
    return StudyRequest(
        grid=grid, start=start, stop=stop, pv_pct=_share(params, "pvPenetration"),
        ev_pct=_share(params, "evPenetration"), ess_pct=_share(params, "essPenetration"),
        placement=_choice(params, "placement", PLACEMENTS), control=control,
        detail=_choice(params, "detail", DETAILS, "full"), seed=int(_number(params, "seed", 0)),
        pv_peak_kw=_number(params, "pvPeak_kW", 5.0), ev_power_kw=_number(params, "evPower_kW", 11.0),
        ess_capacity_kwh=_number(params, "essCapacity_kWh", 10.0), ess_power_kw=_number(params, "essPower_kW", 5.0))
