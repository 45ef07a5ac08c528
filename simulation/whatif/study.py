"""A what-if study: the SimBench grid's own loads and PV from its profiles, plus the added households'
PV, EVs and batteries, one power flow per quarter hour. Added PV follows the grid's PV profiles
(normalised by their rating), added EVs its home-charger (HLS) profiles (normalised by their peak),
batteries stay idle (`none`), follow `local.decide_battery` (`local`) or GESSCon's day-ahead plan, made at
the first step of each day from the study's own profiles (`gesscon`, dayahead.py). The first step runs pandapower,
the others the fast power flow built from it (fastflow.py) when it reproduces pandapower's solution.
Each step's result goes to a
sink; the study's KPIs (kpis package) are accumulated on the way. A gap or a non-converging power flow
is counted and reported, never raised; `cancelled()` is checked before every step."""
from __future__ import annotations

import logging
import math
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandapower
import pandapower.topology

from simulation.grid import GridModel, Injection, StepResult
from simulation.kpis import EnergyBalance, VoltageBand, bucharest_kpis, self_consumption, self_sufficiency
from simulation.kpis.voltage import voltage_band
from simulation.profiles import PROFILE_STEP, profile_times
from simulation.whatif import fastflow
from simulation.whatif.dayahead import EXPORT_EUR_PER_KWH, IMPORT_EUR_PER_KWH, DayInputs, DaySchedule, plan_day
from simulation.whatif.fleet import Fleet, households, place_fleet
from simulation.whatif.local import Battery, decide_battery, next_soc_wh
from simulation.whatif.request import StudyRequest

log = logging.getLogger(__name__)
STEP_S = PROFILE_STEP.total_seconds()
OVERLOAD_PCT = 100.0
# pandapower re-uses its internal model between steps (only P/Q of loads and sgens change): ~2-4x faster
RECYCLE = {"trafo": False, "gen": False, "bus_pq": True}


class Cancelled(Exception):
    """The study was cancelled between two steps."""


@dataclass
class Tally:
    """What a study accumulates for its KPIs (energies in Wh, powers of the transformer: > 0 import)."""

    steps: Counter[str] = field(default_factory=Counter)
    import_wh: float = 0.0
    export_wh: float = 0.0
    pv_wh: float = 0.0
    consumption_wh: float = 0.0
    ev_wh: float = 0.0
    loss_wh: float = 0.0
    max_loading_pct: float = 0.0
    overloaded_line_steps: int = 0
    max_import_kw: float = 0.0
    voltage: VoltageBand = field(default_factory=lambda: voltage_band([], nominal=1.0))
    planned_days: int = 0  # `gesscon`: days planned by the LP, and those whose plan was not "optimal"
    plans_not_optimal: int = 0

    def state(self) -> dict[str, Any]:
        """Everything accumulated so far as JSON (floats round-trip exactly), for a checkpoint."""
        return {**{name: value for name, value in vars(self).items() if name not in ("steps", "voltage")},
                "steps": dict(self.steps), "voltage": asdict(self.voltage)}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Tally:
        values = dict(state)
        return cls(**{**values, "steps": Counter(values.pop("steps")), "voltage": VoltageBand(**values.pop("voltage"))})

    def kpis(self) -> dict[str, Any]:
        balance = EnergyBalance(import_wh=self.import_wh, export_wh=self.export_wh, pv_wh=self.pv_wh,
                                consumption_wh=self.consumption_wh, curtailed_wh=0.0)
        bucharest = bucharest_kpis(balance)
        return {
            "steps": self.steps.total(), "stepsOk": self.steps["ok"], "stepsNotConverged": self.steps["not-converged"],
            "profileGaps": self.steps["gap"],
            "import_kWh": self.import_wh / 1000, "export_kWh": self.export_wh / 1000, "pv_kWh": self.pv_wh / 1000,
            "consumption_kWh": self.consumption_wh / 1000, "ev_kWh": self.ev_wh / 1000,
            "losses_kWh": self.loss_wh / 1000, "selfConsumption": self_consumption(balance),
            "selfSufficiency": self_sufficiency(balance), "curtailment": 0.0,
            "exportRatio": bucharest.export_ratio, "gridRatio": bucharest.grid_ratio,
            "voltageSamples": self.voltage.samples, "voltageViolations": self.voltage.violations,
            "voltageAbove": self.voltage.above, "voltageBelow": self.voltage.below,
            "voltageShareWithin": self.voltage.share_within, "en50160Ok": self.voltage.en50160_ok,
            "vMax_pu": self.voltage.v_max, "vMin_pu": self.voltage.v_min, "maxLineLoading_pct": self.max_loading_pct,
            "overloadedLineSteps": self.overloaded_line_steps, "maxTransformerImport_kW": self.max_import_kw,
            "energyCost_EUR": (self.import_wh * IMPORT_EUR_PER_KWH - self.export_wh * EXPORT_EUR_PER_KWH) / 1000,
            "plannedDays": self.planned_days, "plansNotOptimal": self.plans_not_optimal,
        }


def _normalised(columns: np.ndarray, scale: np.ndarray) -> np.ndarray:
    safe = np.where(scale > 0, scale, 1.0)
    return np.nan_to_num(columns / safe, nan=0.0)


class Study:
    """One study on a fresh copy of its grid (`model`)."""

    def __init__(self, request: StudyRequest, model: GridModel | None = None, fast: bool = True) -> None:
        self.request = request
        self.fast = fast
        self.flow: fastflow.FastFlow | None = None  # built after pandapower's first solution
        self.model = model if model is not None else GridModel.load(request.grid)
        net, profiles = self.model.net, self.model.profiles
        self.houses = households({int(i): int(b) for i, b in net.load.bus.items()},
                                 {int(i): str(p) for i, p in net.load.profile.items() if isinstance(p, str)},
                                 self.model.lv_buses, self._distances())
        self.fleet: Fleet = place_fleet(self.houses, request.pv_pct, request.ev_pct, request.ess_pct,
                                        request.placement, request.seed)
        pv_sgens = [int(i) for i in net.sgen.index if str(net.sgen.at[i, "type"]).upper().startswith("PV")]
        self.pv_shapes = _normalised(profiles.sgen_p_mw[pv_sgens].to_numpy(dtype=float),
                                     net.sgen.sn_mva[pv_sgens].to_numpy(dtype=float))
        hls = [int(i) for i, p in net.load.profile.items() if isinstance(p, str) and p.startswith("HLS")]
        hls_p = profiles.load_p_mw[hls].to_numpy(dtype=float)
        self.ev_shapes = _normalised(hls_p, np.nanmax(hls_p, axis=0) if hls else np.ones(0))
        house_loads = [house.load for house in self.houses]
        self.house_load_w = dict(zip(house_loads, (profiles.load_p_mw[house_loads].to_numpy(dtype=float) * 1e6).T,
                                     strict=True))
        self.battery = Battery(request.ess_capacity_kwh * 1000, request.ess_power_kw * 1000)
        self.soc_wh = {house.load: self.battery.capacity_wh / 2 for house in self.fleet.ess}
        self.bus_of = {house.load: house.bus for house in self.houses}
        self.tally = Tally()
        self.schedule: DaySchedule | None = None  # `gesscon`: the current day's plan
        self.day_start_soc_wh: dict[int, float] = dict(self.soc_wh)  # the SoC it was planned from
        self.battery_w: dict[int, float] = {}  # each battery's power in the last step (W, > 0 charging)
        self.plan_solve_s = 0.0  # `gesscon`: time in the LP (bench), not a KPI
        self._profile_arrays()

    def _profile_arrays(self) -> None:
        """The profiles as numpy rows in the net's element order (the fast path skips pandas)."""
        net, profiles = self.model.net, self.model.profiles
        self.load_pos = net.load.index.get_indexer(profiles.load_p_mw.columns)
        self.sgen_pos = net.sgen.index.get_indexer(profiles.sgen_p_mw.columns)
        self.load_mva = profiles.load_p_mw.to_numpy(float) + 1j * profiles.load_q_mvar.to_numpy(float)
        self.sgen_mw = profiles.sgen_p_mw.to_numpy(float)
        self.sgen_q = net.sgen.q_mvar.to_numpy(float)
        self.storage_q = net.storage.q_mvar.to_numpy(float)
        self.row_ok = ~(np.isnan(self.load_mva).any(axis=1) | np.isnan(self.sgen_mw).any(axis=1))

    def _distances(self) -> dict[int, float]:
        distances = pandapower.topology.calc_distance_to_bus(self.model.net, self.model.transformer_bus)
        return {int(bus): float(km) for bus, km in distances.items() if math.isfinite(float(km))}

    @cached_property
    def times(self) -> list[datetime]:
        return profile_times(self.request.start, self.request.stop)

    @cached_property
    def _index(self) -> dict[datetime, int]:
        return {moment: i for i, moment in enumerate(self.times)}

    def _unit_power_w(self, row: int) -> tuple[dict[int, float], float, float]:
        """Each house's added power (consumer sign), and the added PV and EV energies' powers (W)."""
        added: dict[int, float] = {}
        pv_total_w = ev_total_w = 0.0
        for i, house in enumerate(self.fleet.pv):
            shape = self.pv_shapes[row, i % self.pv_shapes.shape[1]] if self.pv_shapes.size else 0.0
            power_w = -self.request.pv_peak_kw * 1000 * float(shape)
            added[house.load] = added.get(house.load, 0.0) + power_w
            pv_total_w -= power_w
        for i, house in enumerate(self.fleet.ev):
            shape = self.ev_shapes[row, i % self.ev_shapes.shape[1]] if self.ev_shapes.size else 0.0
            power_w = self.request.ev_power_kw * 1000 * float(shape)
            added[house.load] = added.get(house.load, 0.0) + power_w
            ev_total_w += power_w
        return added, pv_total_w, ev_total_w

    def _batteries(self, time: datetime, row: int, added: dict[int, float]) -> None:
        if self.request.control == "none" or not self.fleet.ess:
            return
        planned = self._planned(time) if self.request.control == "gesscon" else None
        for house in self.fleet.ess:
            if planned is None:
                net_w = float(self.house_load_w[house.load][row]) + added.get(house.load, 0.0)
                battery_w = decide_battery(net_w, self.soc_wh[house.load], self.battery, STEP_S)
            else:
                battery_w = planned[house.load]
            self.soc_wh[house.load] = next_soc_wh(self.soc_wh[house.load], battery_w, self.battery, STEP_S)
            self.battery_w[house.load] = battery_w
            added[house.load] = added.get(house.load, 0.0) + battery_w

    def _planned(self, time: datetime) -> Mapping[int, float]:
        """`gesscon`: this step's planned powers; the day is planned at its first step (or after a restart)."""
        if self.schedule is None or time not in self.schedule.times:
            self.day_start_soc_wh = dict(self.soc_wh)
            self.schedule = self.plan_day(time, self.day_start_soc_wh)
            self.tally.planned_days += 1
            self.tally.plans_not_optimal += not self.schedule.status.startswith("optimal")
        return self.schedule.at(time)

    def plan_day(self, time: datetime, soc_wh: Mapping[int, float]) -> DaySchedule:
        """GESSCon's plan from `time` to the end of its (UTC) day, the steps with profile values only, from
        the study's own profiles (perfect forecasts) and the batteries' energy `soc_wh`."""
        times: list[datetime] = []
        house_w: dict[int, list[float]] = {house.load: [] for house in self.fleet.ess}
        rest_w: list[float] = []
        for moment in self.times[self._index[time]:]:
            if moment.date() != time.date():
                break
            row = self.model.profiles.row_of(moment)
            if row is None or not self.row_ok[row]:
                continue
            added, _, _ = self._unit_power_w(row)
            total_w = (float(self.load_mva[row].real.sum()) - float(self.sgen_mw[row].sum())) * 1e6
            total_w += sum(added.values())
            for load, series in house_w.items():
                series.append(float(self.house_load_w[load][row]) + added.get(load, 0.0))
            times.append(moment)
            rest_w.append(total_w - sum(series[-1] for series in house_w.values()))
        schedule = plan_day(DayInputs(tuple(times), int(STEP_S), house_w, rest_w, soc_wh, self.battery.capacity_wh,
                                      self.battery.power_w))
        self.plan_solve_s += schedule.solve_s
        log.debug("study day %s planned: %s, %.3f s", time.date(), schedule.status, schedule.solve_s)
        return schedule

    def step(self, time: datetime) -> StepResult:
        """One quarter hour: inputs, power flow, tally."""
        row = self.model.profiles.row_of(time)
        if row is None or not self.row_ok[row]:
            self.tally.steps["gap"] += 1
            return StepResult(time, "gap", detail="no profile values at this time")
        added, pv_added_w, ev_w = self._unit_power_w(row)
        self._batteries(time, row, added)
        injections = [Injection(self.bus_of[load], power_w) for load, power_w in added.items()]
        result = self._solve_fast(time, row, injections)
        if result is None:
            step = self.model.profiles.at(time)
            assert step is not None  # row_ok said the row is complete
            self.model.set_inputs(step, injections)
            result = self.solve(time)
        self.tally.steps[result.status] += 1
        if result.status == "ok":
            self._count(result, float(self.sgen_mw[row].sum()) * 1e6 + pv_added_w,
                        float(self.load_mva[row].real.sum()) * 1e6 + ev_w, ev_w)
        return result

    def _solve_fast(self, time: datetime, row: int, injections: list[Injection]) -> StepResult | None:
        """The fast power flow straight from the profile row; None when there is none or it failed."""
        if self.flow is None:
            return None
        net = self.model.net
        load = np.zeros(len(net.load), dtype=complex)
        load[self.load_pos] = self.load_mva[row]
        sgen = self.sgen_q * 1j
        sgen[self.sgen_pos] += self.sgen_mw[row]
        storage = self.storage_q * 1j  # SimBench storages at 0 W, as GridModel.run_step
        result = self.flow.solve(time, self.flow.injections_of(load, sgen, storage, injections))
        return result if result.status == "ok" else None

    def solve(self, time: datetime) -> StepResult:
        """The net's inputs as they stand: the fast power flow once it exists and converges, else pandapower."""
        if self.flow is not None:
            result = self.flow.solve(time)
            if result.status == "ok":
                return result
        result = self.solve_pandapower(time)
        if self.fast and self.flow is None and result.status == "ok":
            self.flow = fastflow.build(self.model, result)
            self.fast = self.flow is not None
        return result

    def solve_pandapower(self, time: datetime) -> StepResult:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pandapower.runpp(self.model.net, numba=False, init="results", check_connectivity=False,
                                 recycle=RECYCLE)
        except (pandapower.LoadflowNotConverged, np.linalg.LinAlgError) as err:
            log.warning("study step %s did not converge: %s", time.isoformat(), err)
            return StepResult(time, "not-converged", detail=str(err) or type(err).__name__)
        return self.model.read_result(time)

    def _count(self, result: StepResult, pv_w: float, consumption_w: float, ev_w: float) -> None:
        tally, hours = self.tally, STEP_S / 3600.0
        grid_w = result.grid_p_kw * 1000
        tally.import_wh += max(0.0, grid_w) * hours
        tally.export_wh += max(0.0, -grid_w) * hours
        tally.pv_wh += pv_w * hours
        tally.consumption_wh += consumption_w * hours
        tally.ev_wh += ev_w * hours
        tally.loss_wh += result.loss_kw * 1000 * hours
        tally.max_import_kw = max(tally.max_import_kw, result.grid_p_kw)
        loadings = list(result.line_loading_pct.values())
        tally.max_loading_pct = max([tally.max_loading_pct, *loadings])
        tally.overloaded_line_steps += sum(loading > OVERLOAD_PCT for loading in loadings)
        tally.voltage = tally.voltage.merged(voltage_band(result.vm_pu.values(), nominal=1.0))

    def checkpoint(self) -> dict[str, Any]:
        """The state after the steps run so far (JSON): the KPI tally, each battery's energy, in `gesscon`
        mode where and from what energy the current day was planned (re-planned identically on restore), and
        the fast power flow's last voltages (its next Newton-Raphson starts from them)."""
        schedule, flow = self.schedule, self.flow
        return {"tally": self.tally.state(), "socWh": {str(load): wh for load, wh in self.soc_wh.items()},
                "planFrom": schedule.times[0].isoformat() if schedule is not None else None,
                "planSocWh": {str(load): wh for load, wh in self.day_start_soc_wh.items()},
                "voltage": None if flow is None else [list(map(float, flow.voltage.real)),
                                                      list(map(float, flow.voltage.imag))]}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from a `checkpoint()` of a study of the same request: the first step is run again (its
        pandapower solution builds the fast power flow, as in the first run), then the state is the checkpoint's,
        so the steps after it compute exactly what an uninterrupted run would."""
        if state.get("voltage") is not None and self.fast and self.times:
            self.step(self.times[0])
            if self.flow is not None:
                real, imag = state["voltage"]
                self.flow.voltage = np.asarray(real, dtype=float) + 1j * np.asarray(imag, dtype=float)
        self.battery_w = {}
        self.tally = Tally.from_state(state["tally"])
        self.soc_wh = {int(load): float(wh) for load, wh in state["socWh"].items()}
        self.day_start_soc_wh = {int(load): float(wh) for load, wh in state["planSocWh"].items()}
        if state.get("planFrom"):
            self.schedule = self.plan_day(datetime.fromisoformat(state["planFrom"]), self.day_start_soc_wh)

    def run(self, sink: Callable[[StepResult], None], cancelled: Callable[[], bool] = lambda: False,
            progress: Callable[[int, int], None] = lambda done, total: None, start: int = 0) -> dict[str, Any]:
        """Every step from the `start`-th (0: the first; after a `restore`, where its checkpoint was) into
        `sink`; `progress(done, total)` after each; the KPIs at the end."""
        times = self.times
        for done, time in enumerate(times[start:], start=start + 1):
            if cancelled():
                raise Cancelled(f"cancelled after {done - 1} of {len(times)} steps")
            sink(self.step(time))
            progress(done, len(times))
        return self.tally.kpis()
