"""A power flow's results as CreateObservations groups (pure): one row per Datastream, each with the
FeatureOfInterest of its bus or line; phase voltages for the MultiDatastreams; the status row always."""
from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from simulation.commission import SimulationIds
from simulation.entities import PHASES
from simulation.grid import StepResult

JSON = dict[str, Any]
COMPONENTS = ["phenomenonTime", "result", "FeatureOfInterest/id"]


def result_values(result: StepResult) -> dict[str, float]:
    """Datastream key -> value (finite values only)."""
    values: dict[str, float] = {f"bus{b}.vm": v for b, v in result.vm_pu.items()}
    for name, per_line in (("loading", result.line_loading_pct), ("current", result.line_current_a),
                           ("loss", result.line_loss_kw)):
        values |= {f"line{line}.{name}": v for line, v in per_line.items()}
    values |= {"grid.v_max": result.v_max_pu, "grid.v_min": result.v_min_pu, "grid.loss": result.loss_kw,
               "grid.grid_p": result.grid_p_kw, "grid.trafo_loading": result.trafo_loading_pct}
    return {key: round(value, 6) for key, value in values.items() if math.isfinite(value)}


def observation_groups(ids: SimulationIds, result: StepResult, when: datetime, nominal_phase_v: float,
                       status_parameters: Mapping[str, Any]) -> list[JSON]:
    """The CreateObservations body of one step (``when``: the clock's time of the step)."""
    time = when.isoformat()
    groups: list[JSON] = []
    for key, value in result_values(result).items():
        stream = ids.datastreams.get(key)
        if stream is not None:
            groups.append(_group("Datastream", stream, COMPONENTS, [[time, value, _foi(ids, key)]]))
    status = ids.datastreams.get("grid.status")
    if status is not None:
        groups.append(_group("Datastream", status, [*COMPONENTS, "parameters"],
                             [[time, result.status, ids.features.get("grid"), dict(status_parameters)]]))
    for key, stream in ids.multidatastreams.items():
        bus = int(key.removeprefix("bus").removesuffix(".V"))
        if bus in result.vm_pu:
            volts = round(result.vm_pu[bus] * nominal_phase_v, 3)
            groups.append(_group("MultiDatastream", stream, COMPONENTS,
                                 [[time, [volts] * len(PHASES), ids.features.get(f"bus{bus}")]]))
    return groups


def _foi(ids: SimulationIds, key: str) -> Any:
    return ids.features.get(ids.stream_feature.get(key, ""))


def _group(kind: str, stream: Any, components: list[str], rows: list[list[Any]]) -> JSON:
    return {kind: {"@iot.id": stream}, "components": components, "dataArray@iot.count": len(rows),
            "dataArray": rows}
