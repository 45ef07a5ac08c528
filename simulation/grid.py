"""A SimBench low-voltage grid on pandapower: profiles, Things on buses, GeoJSON, power flows.

``GridModel.load("fur")`` (SimBench ``1-LV-rural1--2-sw``) or ``"bolzano"`` (``1-LV-semiurb4--2-sw``),
optionally moved to a site's position. ``run_step`` sets the loads and PV of one quarter hour from the
profiles, adds the Things' powers at their buses (``Injection``, consumer convention) and runs one
power flow; a power flow that does not converge, or a profile gap, is a ``StepResult`` with that
status, never an exception.
"""
from __future__ import annotations

import copy
import functools
import logging
import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandapower
import simbench

from simulation.geometry import JSON, LonLat, bus_points, line_geojson, nearest_bus, point_geojson
from simulation.profiles import Profiles, StepProfile, read_profiles

log = logging.getLogger(__name__)

GRID_CODES: dict[str, str] = {"fur": "1-LV-rural1--2-sw", "bolzano": "1-LV-semiurb4--2-sw"}
EXTRA_LOAD_PREFIX = "s4g-bus-"
StepStatus = Literal["ok", "not-converged", "gap"]


@dataclass(frozen=True)
class Injection:
    """A Thing's power at a bus, consumer convention (W, var): > 0 consumes (battery charging, EV)."""

    bus: int
    p_w: float
    q_var: float = 0.0


@dataclass(frozen=True)
class StepResult:
    """One power flow: voltages per bus (pu), loading (%), current (A) and losses (kW) per line."""

    time: datetime
    status: StepStatus
    vm_pu: dict[int, float] = field(default_factory=dict)
    line_loading_pct: dict[int, float] = field(default_factory=dict)
    line_current_a: dict[int, float] = field(default_factory=dict)
    line_loss_kw: dict[int, float] = field(default_factory=dict)
    loss_kw: float = math.nan
    trafo_loading_pct: float = math.nan
    grid_p_kw: float = math.nan
    detail: str = ""

    @property
    def v_max_pu(self) -> float:
        return max(self.vm_pu.values(), default=math.nan)

    @property
    def v_min_pu(self) -> float:
        return min(self.vm_pu.values(), default=math.nan)


@functools.lru_cache(maxsize=4)
def _simbench_net(code: str) -> Any:
    return simbench.get_simbench_net(code)


class GridModel:
    """One pandapower net with its profiles and bus positions; ``net`` stays open for what-if edits."""

    def __init__(self, name: str, code: str, net: Any, profiles: Profiles, anchor: LonLat | None) -> None:
        self.name, self.code, self.net, self.profiles = name, code, net, profiles
        self.counters: Counter[str] = Counter()
        self._profile_loads = list(profiles.load_p_mw.columns)
        self.sgen_rated_w = {int(i): float(v) * 1e6 for i, v in net.sgen.p_mw.items()}  # before any step
        self.lv_buses = [int(b) for b in net.bus.index[net.bus.vn_kv < 1.0]]
        self.transformer_bus = int(net.trafo.lv_bus.iloc[0]) if len(net.trafo) else self.lv_buses[0]
        geo = {int(b): g for b, g in net.bus.geo.items()}
        self.points = bus_points(geo, self.transformer_bus, anchor)
        self._extra_load = {bus: int(pandapower.create_load(net, bus, p_mw=0.0, q_mvar=0.0,
                                                            name=f"{EXTRA_LOAD_PREFIX}{bus}"))
                            for bus in self.lv_buses}

    @classmethod
    def load(cls, name: str, anchor: LonLat | None = None, label: str | None = None) -> GridModel:
        """A fresh copy of the named grid (``GRID_CODES`` key, or a SimBench code); ``label`` names this
        model on the server (default: ``name``)."""
        code = GRID_CODES.get(name, name)
        net = copy.deepcopy(_simbench_net(code))
        return cls(label or name, code, net, read_profiles(net), anchor)

    # -- Things on buses ------------------------------------------------------------------------
    def bus_of(self, properties: Mapping[str, Any], position: LonLat | None,
               max_distance_m: float = 2_000.0) -> int | None:
        """A Thing's bus: its ``bus`` property (index or bus name), else the nearest LV bus."""
        named = properties.get("bus")
        if named is not None:
            bus = self._bus_by_id(str(named))
            if bus is not None:
                return bus
            log.warning("grid %s has no bus %r", self.name, named)
            return None
        if position is None:
            return None
        lv_points = {b: p for b, p in self.points.items() if b in self.lv_buses}
        return nearest_bus(lv_points, position, max_distance_m)

    def _bus_by_id(self, text: str) -> int | None:
        if text.isdigit() and int(text) in self.net.bus.index:
            return int(text)
        matches = self.net.bus.index[self.net.bus.name == text]
        return int(matches[0]) if len(matches) else None

    def bus_name(self, bus: int) -> str:
        return str(self.net.bus.at[bus, "name"])

    def line_name(self, line: int) -> str:
        return str(self.net.line.at[line, "name"])

    # -- geometry -------------------------------------------------------------------------------
    def bus_geometry(self, bus: int) -> JSON | None:
        point = self.points.get(bus)
        return point_geojson(point) if point else None

    def line_geometry(self, line: int) -> JSON | None:
        start = self.points.get(int(self.net.line.at[line, "from_bus"]))
        end = self.points.get(int(self.net.line.at[line, "to_bus"]))
        return line_geojson(start, end) if start and end else None

    def feature_collection(self) -> JSON:
        """All LV buses and lines as one GeoJSON FeatureCollection (for GIS tools)."""
        features = [{"type": "Feature", "geometry": self.bus_geometry(b),
                     "properties": {"kind": "bus", "bus": b, "name": self.bus_name(b)}}
                    for b in self.lv_buses if b in self.points]
        features += [{"type": "Feature", "geometry": self.line_geometry(int(line)),
                      "properties": {"kind": "line", "line": int(line), "name": self.line_name(int(line))}}
                     for line in self.net.line.index]
        return {"type": "FeatureCollection", "features": features}

    # -- power flows ----------------------------------------------------------------------------
    def set_inputs(self, step: StepProfile, injections: Iterable[Injection] = (),
                   storage_from_profile: bool = False) -> None:
        """Write one quarter hour's powers into the net (the Things' injections summed per bus)."""
        net = self.net
        net.load.loc[self._profile_loads, "p_mw"] = step.load_p_mw.to_numpy(dtype=float)
        net.load.loc[self._profile_loads, "q_mvar"] = step.load_q_mvar.to_numpy(dtype=float)
        net.sgen.loc[step.sgen_p_mw.index, "p_mw"] = step.sgen_p_mw.to_numpy(dtype=float)
        storage = step.storage_p_mw.to_numpy(dtype=float) if storage_from_profile else 0.0
        net.storage.loc[step.storage_p_mw.index, "p_mw"] = storage
        extra_p = dict.fromkeys(self._extra_load.values(), 0.0)
        extra_q = dict.fromkeys(self._extra_load.values(), 0.0)
        for injection in injections:
            load = self._extra_load.get(injection.bus)
            if load is None:
                self.counters["injection_off_grid"] += 1
                continue
            extra_p[load] += injection.p_w / 1e6
            extra_q[load] += injection.q_var / 1e6
        net.load.loc[list(extra_p), "p_mw"] = list(extra_p.values())
        net.load.loc[list(extra_q), "q_mvar"] = list(extra_q.values())

    def run_step(self, time: datetime, injections: Sequence[Injection] = (),
                 storage_from_profile: bool = False) -> StepResult:
        """One power flow at ``time`` with the profiles' loads and PV and the given injections."""
        self.counters["steps"] += 1
        step = self.profiles.at(time)
        if step is None:
            self.counters["profile_gaps"] += 1
            log.warning("grid %s: no profile row at %s", self.name, time.isoformat())
            return StepResult(time, "gap", detail="no profile values at this time")
        self.set_inputs(step, injections, storage_from_profile)
        return self.solve(time)

    def solve(self, time: datetime) -> StepResult:
        """Run the power flow on the net as it stands."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pandapower.runpp(self.net, numba=False)
        except (pandapower.LoadflowNotConverged, np.linalg.LinAlgError) as err:
            self.counters["not_converged"] += 1
            log.warning("grid %s: power flow at %s did not converge: %s", self.name, time.isoformat(), err)
            return StepResult(time, "not-converged", detail=str(err) or type(err).__name__)
        return self.read_result(time)

    def read_result(self, time: datetime) -> StepResult:
        """The results of the last power flow run on ``net`` (by ``solve`` or the caller's own runpp)."""
        net = self.net
        res_bus, res_line = net.res_bus, net.res_line
        line_loss_kw = {int(i): float(v) * 1e3 for i, v in res_line.pl_mw.items()}
        trafo_loss_kw = float(net.res_trafo.pl_mw.sum()) * 1e3
        return StepResult(
            time, "ok",
            vm_pu={b: float(res_bus.vm_pu.at[b]) for b in self.lv_buses},
            line_loading_pct={int(i): float(v) for i, v in res_line.loading_percent.items()},
            line_current_a={int(i): float(v) * 1e3 for i, v in res_line.i_ka.items()},
            line_loss_kw=line_loss_kw,
            loss_kw=sum(line_loss_kw.values()) + trafo_loss_kw,
            trafo_loading_pct=float(net.res_trafo.loading_percent.max()) if len(net.trafo) else math.nan,
            grid_p_kw=float(net.res_ext_grid.p_mw.sum()) * 1e3)

    _result = read_result  # the name simulation.whatif used first

    def run_series(self, times: Sequence[datetime],
                   injections_at: Callable[[datetime], Sequence[Injection]] | None = None,
                   storage_from_profile: bool = False) -> list[StepResult]:
        """A time series as a loop of ``run_step`` (one result per time, whatever its status)."""
        return [self.run_step(t, injections_at(t) if injections_at else (), storage_from_profile)
                for t in times]
