"""A study's results on the server: one `simulation` Thing per job (properties: taskId, the request,
status, KPIs) whose Datastreams hold the step results. `full` detail: a voltage Datastream per bus and
a loading and a current Datastream per line, each Observation on the bus's or line's
FeatureOfInterest (GeoJSON, so `st_within` finds them); both details: losses, transformer power, the
highest/lowest voltage and highest loading per step; at the end one KPI Observation (a JSON object).
Steps go out in batches (one CreateObservations request of many groups every `flush_every` steps); after each
batch the Thing's `properties.checkpoint` holds the steps written and the study's state after them, so a
restarted engine continues the job where it was (`resume`), after deleting anything written past it."""
from __future__ import annotations

import logging
import math
from dataclasses import asdict
from datetime import datetime
from typing import Any

from simulation.grid import StepResult
from simulation.whatif import registry
from simulation.whatif.streams import (
    BUS_VOLTAGE,
    GRID_POWER,
    KPIS,
    LINE_CURRENT,
    LINE_LOADING,
    LOSSES,
    MAX_LOADING,
    SUMMARY_KINDS,
    V_MAX,
    V_MIN,
    StreamKind,
    datastream_body,
)
from simulation.whatif.study import Study
from sta_client import EntityId, Query, StaClient
from sta_client.calls import Call
from sta_client.requests import create_request
from sta_client.responses import ERROR_ROW, created_ids

log = logging.getLogger(__name__)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _request_properties(study: Study) -> dict[str, Any]:
    request = {name: (_iso(value) if isinstance(value, datetime) else value)
               for name, value in asdict(study.request).items()}
    return {**request, "gridCode": study.model.code,
            "units": {"pv": len(study.fleet.pv), "ev": len(study.fleet.ev), "ess": len(study.fleet.ess),
                      "households": len(study.houses)}}


class ResultWriter:
    """Writes one study's results; `open` before the first step, `finish` after the last."""

    def __init__(self, sta: StaClient, study: Study, task_id: EntityId, issued: datetime,
                 flush_every: int = 96) -> None:
        self.sta, self.study, self.task_id, self.issued = sta, study, task_id, issued
        self.flush_every = max(1, flush_every)
        self.thing_id: EntityId | None = None
        self.streams: dict[str, EntityId] = {}
        self.features: dict[str, EntityId] = {}
        self._rows: dict[str, list[list[Any]]] = {}
        self._buffered_steps = 0
        self.refused_rows = 0
        self.steps_added = 0
        self.properties: dict[str, Any] = {}

    # -- commissioning ----------------------------------------------------------------------------
    def _planned(self) -> list[tuple[StreamKind, str, str, str | None]]:
        """(kind, key, name, feature key) of every result Datastream."""
        model = self.study.model
        planned: list[tuple[StreamKind, str, str, str | None]] = [
            (kind, kind.key_prefix, kind.name, None) for kind in (*SUMMARY_KINDS, KPIS)]
        if self.study.request.detail == "full":
            for bus in model.lv_buses:
                planned.append((BUS_VOLTAGE, f"vm_pu:{model.bus_name(bus)}", f"Voltage {model.bus_name(bus)}",
                                f"simbench:{model.code}:bus:{bus}"))
            for line in (int(index) for index in model.net.line.index):
                feature = f"simbench:{model.code}:line:{line}"
                name = model.line_name(line)
                planned.append((LINE_LOADING, f"loading_pct:{name}", f"Loading {name}", feature))
                planned.append((LINE_CURRENT, f"i_a:{name}", f"Current {name}", feature))
        return planned

    def _features(self) -> None:
        model = self.study.model
        for bus in model.lv_buses:
            geometry = model.bus_geometry(bus)
            if geometry is not None:
                key = f"simbench:{model.code}:bus:{bus}"
                self.features[key] = registry.feature(self.sta, key, f"{model.code} bus {model.bus_name(bus)}",
                                                      geometry)
        if self.study.request.detail != "full":
            return
        for line in (int(index) for index in model.net.line.index):
            geometry = model.line_geometry(line)
            if geometry is not None:
                key = f"simbench:{model.code}:line:{line}"
                self.features[key] = registry.feature(self.sta, key, f"{model.code} line {model.line_name(line)}",
                                                      geometry)

    def open(self) -> EntityId:
        """Create the study's Thing (at the transformer) with every result Datastream."""
        planned = self._planned()
        sensor = registry.sensor(self.sta)
        properties = registry.observed_properties(self.sta, [kind for kind, *_ in planned])
        self._features()
        self._feature_of = {key: feature for _, key, _, feature in planned}
        self.properties = {"kind": "simulation", "role": "whatif-study", "taskId": self.task_id, "status": "running",
                           "request": _request_properties(self.study), "issued": _iso(self.issued)}
        model = self.study.model
        location = model.bus_geometry(model.transformer_bus) or {"type": "Point", "coordinates": [0.0, 0.0]}
        body = {"name": f"what-if {self.task_id}", "description": f"What-if study of Task {self.task_id}",
                "properties": self.properties,
                "Locations": [{"name": f"{model.code} transformer", "description": "the grid's transformer",
                               "encodingType": "application/geo+json", "location": location}],
                "Datastreams": [datastream_body(kind, key, name, sensor, properties, {"taskId": self.task_id})
                                for kind, key, name, _ in planned]}
        self.thing_id = self.sta.create("Things", body)
        query = Query().select("id", "properties").top(10000)
        for row in self.sta.iter(f"Things({self.thing_id})/Datastreams", query):
            self.streams[str(row["properties"]["key"])] = row["@iot.id"]
        return self.thing_id

    def resume(self, thing: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        """Continue writing into a study Thing a stopped engine left (`thing`: its id and properties): the
        steps its checkpoint counts and the study state to restore (0 and None: none, start over). Observations
        past the checkpoint (a batch written just before the engine died, before its checkpoint) and a KPI
        Observation are deleted, so no step is written twice."""
        self.thing_id = thing["@iot.id"]
        self.properties = dict(thing.get("properties") or {})
        issued = str(self.properties.get("issued", _iso(self.issued)))
        self.issued = datetime.fromisoformat(issued.replace("Z", "+00:00"))
        self.refused_rows = int(self.properties.get("refusedRows", 0))
        planned = self._planned()
        self._features()
        self._feature_of = {key: feature for _, key, _, feature in planned}
        query = Query().select("id", "properties").top(10000)
        for row in self.sta.iter(f"Things({self.thing_id})/Datastreams", query):
            self.streams[str(row["properties"]["key"])] = row["@iot.id"]
        checkpoint = self.properties.get("checkpoint") or {}
        steps = int(checkpoint.get("steps", 0))
        stale = [row["@iot.id"] for row in self.sta.iter(f"Datastreams({self.streams[KPIS.key_prefix]})/Observations",
                                                          Query().select("id"))]
        self._delete(stale)
        times = self.study.times
        if steps < len(times):
            condition = f"Datastream/Thing/id eq {self.thing_id} and phenomenonTime ge {_iso(times[steps])}"
            self._delete([row["@iot.id"] for row in self.sta.iter("Observations",
                                                                  Query().filter(condition).select("id").top(10000))])
        self.steps_added = steps
        return steps, checkpoint.get("state")

    def _delete(self, observations: list[EntityId]) -> None:
        for observation in observations:
            self.sta.delete(f"Observations({observation})")
        if observations:
            log.info("what-if %s: %d Observations past the checkpoint deleted", self.task_id, len(observations))

    # -- steps -------------------------------------------------------------------------------------
    def _values(self, result: StepResult) -> dict[str, float]:
        model = self.study.model
        values = {LOSSES.key_prefix: result.loss_kw, GRID_POWER.key_prefix: result.grid_p_kw,
                  V_MAX.key_prefix: result.v_max_pu, V_MIN.key_prefix: result.v_min_pu,
                  MAX_LOADING.key_prefix: max(result.line_loading_pct.values(), default=math.nan)}
        if self.study.request.detail == "full":
            values.update((f"vm_pu:{model.bus_name(bus)}", vm) for bus, vm in result.vm_pu.items())
            values.update((f"loading_pct:{model.line_name(line)}", loading)
                          for line, loading in result.line_loading_pct.items())
            values.update((f"i_a:{model.line_name(line)}", current) for line, current in result.line_current_a.items())
        return values

    def add(self, result: StepResult) -> None:
        """Buffer one step (a gap or a non-converged step has no values to write)."""
        if result.status == "ok":
            time, issued = _iso(result.time), _iso(self.issued)
            for key, value in self._values(result).items():
                if key in self.streams and math.isfinite(value):
                    feature = self.features.get(self._feature_of.get(key) or "")
                    row = [time, value, issued] + ([feature] if feature is not None else [])
                    self._rows.setdefault(key, []).append(row)
        self._buffered_steps += 1
        self.steps_added += 1
        if self._buffered_steps >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        groups = []
        for key, rows in self._rows.items():
            components = ["phenomenonTime", "result", "resultTime"]
            if len(rows[0]) == 4:
                components.append("FeatureOfInterest/id")
            groups.append({"Datastream": {"@iot.id": self.streams[key]}, "components": components,
                           "dataArray@iot.count": len(rows), "dataArray": rows})
        self._rows, self._buffered_steps = {}, 0
        if groups:
            answers = self.sta.run(Call(create_request("CreateObservations", groups), created_ids))
            refused = sum(answer == ERROR_ROW for answer in answers)
            if refused:
                self.refused_rows += refused
                log.warning("what-if %s: the server refused %d result rows", self.task_id, refused)
        self.properties["refusedRows"] = self.refused_rows
        self.properties["checkpoint"] = {"steps": self.steps_added, "state": self.study.checkpoint()}
        self.sta.patch(f"Things({self.thing_id})", {"properties": self.properties})

    def finish(self, status: str, kpis: dict[str, Any] | None) -> None:
        """Flush, then the KPI Observation and the Thing's final status."""
        self.flush()
        if kpis is not None:
            when = _iso(self.study.request.stop)
            self.sta.create(f"Datastreams({self.streams[KPIS.key_prefix]})/Observations",
                            {"phenomenonTime": f"{_iso(self.study.request.start)}/{when}", "result": kpis,
                             "resultTime": _iso(self.issued), "parameters": {"taskId": self.task_id}})
        properties = {**self.properties, "status": status, "refusedRows": self.refused_rows}
        properties.pop("checkpoint", None)
        if kpis is not None:
            properties["kpis"] = kpis
        self.sta.patch(f"Things({self.thing_id})", {"properties": properties})
