"""What the simulation writes on the server, as data: its Thing, one Datastream per bus and line
quantity, phase-voltage MultiDatastreams, and a FeatureOfInterest per bus and line with its geometry.

Pure: a `GridModel` in, JSON bodies out (wire names of S4G-SYSTEM.md §1.2). Keys (`properties.key`)
make commissioning idempotent: `bus7.vm`, `line3.loading`, `grid.v_max`, `bus7.V`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulation.grid import GridModel

JSON = dict[str, Any]
OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
MEASUREMENT, CATEGORY = OM + "OM_Measurement", OM + "OM_CategoryObservation"
MANAGED_BY = "dsf-se"
SENSOR_NAME = "DSF-SE pandapower power flow"
PHASES = ("L1", "L2", "L3")


@dataclass(frozen=True)
class Unit:
    name: str
    symbol: str
    definition: str

    def body(self) -> JSON:
        return {"name": self.name, "symbol": self.symbol, "definition": self.definition}


PER_UNIT = Unit("per unit", "/", "ucum:1")
PERCENT = Unit("percent", "%", "ucum:%")
AMPERE = Unit("ampere", "A", "ucum:A")
KILOWATT = Unit("kilowatt", "kW", "ucum:kW")
VOLT = Unit("volt", "V", "ucum:V")


@dataclass(frozen=True)
class Quantity:
    """One result quantity: its ObservedProperty key, name, unit and observation type."""

    op: str
    name: str
    unit: Unit | None
    observation_type: str = MEASUREMENT


BUS_QUANTITIES = {"vm": Quantity("bus-voltage-pu", "Bus voltage", PER_UNIT)}
LINE_QUANTITIES = {"loading": Quantity("line-loading", "Line loading", PERCENT),
                   "current": Quantity("line-current", "Line current", AMPERE),
                   "loss": Quantity("line-losses", "Line losses", KILOWATT)}
GRID_QUANTITIES = {"v_max": Quantity("bus-voltage-max-pu", "Highest bus voltage", PER_UNIT),
                   "v_min": Quantity("bus-voltage-min-pu", "Lowest bus voltage", PER_UNIT),
                   "loss": Quantity("grid-losses", "Grid losses (lines and transformer)", KILOWATT),
                   "grid_p": Quantity("grid-power", "Power from the upstream grid (P > 0: import)", KILOWATT),
                   "trafo_loading": Quantity("trafo-loading", "Transformer loading", PERCENT),
                   "status": Quantity("simulation-status", "Power-flow status", None, CATEGORY)}
OBSERVED_PROPERTIES = {q.op: q.name for q in (*BUS_QUANTITIES.values(), *LINE_QUANTITIES.values(),
                                              *GRID_QUANTITIES.values())} | {"phase-voltage": "Phase voltage"}


def op_definition(key: str) -> str:
    return f"urn:s4g:op:{key}"


def simulation_id(model: GridModel) -> str:
    return f"dsf-se/{model.name}"


def thing_body(model: GridModel) -> JSON:
    point = model.bus_geometry(model.transformer_bus)
    body: JSON = {"name": f"DSF-SE {model.name} grid", "description": f"Power flows of SimBench {model.code}",
                  "properties": {"kind": "simulation", "simulationId": simulation_id(model), "grid": model.code,
                                 "managedBy": MANAGED_BY}}
    if point is not None:
        body["Locations"] = [{"name": f"{simulation_id(model)}/transformer", "description": "LV transformer bus",
                              "encodingType": "application/geo+json", "location": point}]
    return body


def feature_bodies(model: GridModel) -> dict[str, JSON]:
    """FeatureOfInterest per LV bus, per line and one for the grid (its transformer), by key."""
    sim = simulation_id(model)
    features: dict[str, JSON] = {}
    for bus in model.lv_buses:
        if (geometry := model.bus_geometry(bus)) is not None:
            features[f"bus{bus}"] = _feature(sim, f"bus{bus}", model.bus_name(bus), geometry, {"bus": bus})
    for line in (int(i) for i in model.net.line.index):
        if (geometry := model.line_geometry(line)) is not None:
            features[f"line{line}"] = _feature(sim, f"line{line}", model.line_name(line), geometry, {"line": line})
    if (point := model.bus_geometry(model.transformer_bus)) is not None:
        features["grid"] = _feature(sim, "grid", f"{model.name} grid", point, {"bus": model.transformer_bus})
    return features


def _feature(sim: str, key: str, name: str, geometry: JSON, extra: JSON) -> JSON:
    return {"name": f"{sim}/{key}", "description": name, "encodingType": "application/geo+json",
            "feature": geometry, "properties": {"simulationId": sim, "key": key, "managedBy": MANAGED_BY, **extra}}


def stream_specs(model: GridModel) -> dict[str, tuple[Quantity, str]]:
    """Datastream key -> (quantity, FeatureOfInterest key) for every bus, line and grid quantity."""
    specs: dict[str, tuple[Quantity, str]] = {}
    for bus in model.lv_buses:
        specs |= {f"bus{bus}.{name}": (q, f"bus{bus}") for name, q in BUS_QUANTITIES.items()}
    for line in (int(i) for i in model.net.line.index):
        specs |= {f"line{line}.{name}": (q, f"line{line}") for name, q in LINE_QUANTITIES.items()}
    specs |= {f"grid.{name}": (q, "grid") for name, q in GRID_QUANTITIES.items()}
    return specs


def datastream_body(model: GridModel, key: str, quantity: Quantity, op_id: Any, sensor_id: Any) -> JSON:
    unit = quantity.unit.body() if quantity.unit else {"name": None, "symbol": None, "definition": None}
    return {"name": f"{simulation_id(model)} {key}", "description": f"{quantity.name} ({key})",
            "unitOfMeasurement": unit, "observationType": quantity.observation_type,
            "properties": {"key": key, "simulationId": simulation_id(model), "managedBy": MANAGED_BY},
            "ObservedProperty": {"@iot.id": op_id}, "Sensor": {"@iot.id": sensor_id}}


def phase_voltage_body(model: GridModel, bus: int, op_id: Any, sensor_id: Any) -> JSON:
    """Phase voltages of a bus hosting a site (balanced power flow: the three phases are equal)."""
    return {"name": f"{simulation_id(model)} bus{bus}.V", "description": f"Phase voltages at {model.bus_name(bus)}",
            "observationType": OM + "OM_ComplexObservation",
            "multiObservationDataTypes": [MEASUREMENT] * len(PHASES),
            "unitOfMeasurements": [VOLT.body()] * len(PHASES),
            "properties": {"key": f"bus{bus}.V", "simulationId": simulation_id(model), "managedBy": MANAGED_BY,
                           "components": list(PHASES), "balanced": True},
            "ObservedProperties": [{"@iot.id": op_id}] * len(PHASES), "Sensor": {"@iot.id": sensor_id}}
