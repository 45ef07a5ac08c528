"""The Datastreams of the what-if engine and of a study, declared once: key, name, unit, observed
property, observation type. Keys follow what the professional GUI sorts by (`vm_pu:…` bus voltages,
`loading_pct:…` line loading, `losses_kW`, `kpis`, `progress`, `status`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
CATEGORY = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CategoryObservation"
JSON_OBSERVATION = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Observation"
UNITS: dict[str, dict[str, str]] = {
    "pu": {"name": "per unit", "symbol": "pu", "definition": "urn:s4g:unit:pu"},
    "%": {"name": "percent", "symbol": "%", "definition": "ucum:%"},
    "A": {"name": "ampere", "symbol": "A", "definition": "ucum:A"},
    "kW": {"name": "kilowatt", "symbol": "kW", "definition": "ucum:kW"},
    "": {"name": "none", "symbol": "", "definition": ""},
}


@dataclass(frozen=True)
class StreamKind:
    key_prefix: str
    name: str
    unit: str
    observed_property: str  # the ObservedProperty's definition URI
    observation_type: str = MEASUREMENT


BUS_VOLTAGE = StreamKind("vm_pu", "Bus voltage", "pu", "urn:s4g:op:bus-voltage-pu")
LINE_LOADING = StreamKind("loading_pct", "Line loading", "%", "urn:s4g:op:line-loading")
LINE_CURRENT = StreamKind("i_a", "Line current", "A", "urn:s4g:op:line-current")
LOSSES = StreamKind("losses_kW", "Grid losses (lines and transformer)", "kW", "urn:s4g:op:grid-losses")
GRID_POWER = StreamKind("P_trafo_kW", "Transformer power (import > 0)", "kW", "urn:s4g:op:transformer-power")
V_MAX = StreamKind("v_max_pu", "Highest bus voltage", "pu", "urn:s4g:op:bus-voltage-max")
V_MIN = StreamKind("v_min_pu", "Lowest bus voltage", "pu", "urn:s4g:op:bus-voltage-min")
MAX_LOADING = StreamKind("max_loading_pct", "Highest line loading", "%", "urn:s4g:op:line-loading-max")
KPIS = StreamKind("kpis", "Study KPIs", "", "urn:s4g:op:whatif-kpis", JSON_OBSERVATION)
PROGRESS = StreamKind("progress", "What-if job progress", "%", "urn:s4g:op:job-progress")
STATUS = StreamKind("status", "What-if job status", "", "urn:s4g:op:job-status", CATEGORY)
SUMMARY_KINDS = (LOSSES, GRID_POWER, V_MAX, V_MIN, MAX_LOADING)


def datastream_body(kind: StreamKind, key: str, name: str, sensor_id: Any, property_ids: dict[str, Any],
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Datastream create body (deep-insert member of its Thing)."""
    return {"name": name, "description": f"{kind.name} ({key})", "observationType": kind.observation_type,
            "unitOfMeasurement": UNITS[kind.unit], "properties": {"key": key, **(extra or {})},
            "Sensor": {"@iot.id": sensor_id}, "ObservedProperty": {"@iot.id": property_ids[kind.observed_property]}}
