"""A faster power flow for long studies: Newton-Raphson on pandapower's own bus admittance matrix
(dense numpy: LV feeders have tens of buses), fed each step from the net's load/sgen/storage tables,
reading bus voltages, line currents, loadings and losses, transformer loading and the slack power the
way pandapower does. What it saves is pandapower's per-call overhead (building its internal model,
writing every result table into pandas), which is most of a step on these small grids.

It is built from a net pandapower has just solved and checks itself there: the injections it
computes must equal pandapower's `Sbus`, and its solution every result pandapower wrote (within
1e-6 pu and 1 W, what pandapower's own 1e-8 MVA tolerance leaves). If
anything differs, or the net has what it does not model (PV buses, voltage-dependent loads,
out-of-service or auxiliary buses), `build` answers None and the study keeps calling pandapower."""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from simulation.grid import GridModel, Injection, StepResult

log = logging.getLogger(__name__)
TOLERANCE_PU = 1e-10
MAX_ITERATIONS = 10
SQRT3 = math.sqrt(3.0)


def _element_buses(buses: np.ndarray, lookup: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Each element's internal bus, −1 for elements out of service."""
    return np.where(active, lookup[buses.astype(int)], -1)


def _per_bus(element_bus: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Element powers summed per internal bus (a bincount: no BLAS call, which contention makes slow)."""
    on = element_bus >= 0
    real = np.bincount(element_bus[on], weights=values.real[on], minlength=n)
    imag = np.bincount(element_bus[on], weights=values.imag[on], minlength=n)
    result: np.ndarray = real + 1j * imag
    return result


@dataclass
class FastFlow:
    model: GridModel
    y: np.ndarray
    yf: np.ndarray
    yt: np.ndarray
    base_mva: float
    ref: int
    pq: np.ndarray
    voltage: np.ndarray
    loads: np.ndarray
    sgens: np.ndarray
    storages: np.ndarray
    bus_of: dict[int, int]
    lines: list[tuple[int, int, int, int, float]]  # line index, branch, from, to, rated kA (max_i_ka·df·parallel)
    trafo: tuple[int, int, int, float, float] | None  # branch, hv, lv, hv and lv nominal kA (·df·parallel)
    vn_kv: np.ndarray
    bus_lookup: np.ndarray  # pandapower bus → internal bus

    def injections(self) -> np.ndarray:
        """Complex bus injections (p.u., generation > 0) from the net's element tables."""
        net = self.model.net
        return self.injections_of(net.load.p_mw.to_numpy(float) + 1j * net.load.q_mvar.to_numpy(float),
                                  net.sgen.p_mw.to_numpy(float) + 1j * net.sgen.q_mvar.to_numpy(float),
                                  net.storage.p_mw.to_numpy(float) + 1j * net.storage.q_mvar.to_numpy(float))

    def injections_of(self, load_mva: np.ndarray, sgen_mva: np.ndarray, storage_mva: np.ndarray,
                      injections: Sequence[Injection] = ()) -> np.ndarray:
        """Bus injections (p.u.) from element powers in the net's row order (before scaling; loads and
        storages consuming, sgens generating) and extra injections (consumer sign, W/var)."""
        net, n = self.model.net, self.y.shape[0]
        total = (_per_bus(self.sgens, sgen_mva * net.sgen.scaling.to_numpy(float), n)
                 - _per_bus(self.loads, load_mva * net.load.scaling.to_numpy(float), n)
                 - _per_bus(self.storages, storage_mva * net.storage.scaling.to_numpy(float), n))
        for injection in injections:
            total[self.bus_lookup[injection.bus]] -= complex(injection.p_w, injection.q_var) / 1e6
        injected: np.ndarray = total / self.base_mva
        return injected

    def solve_voltage(self, s_bus: np.ndarray) -> np.ndarray | None:
        v = self.voltage.copy()
        pq, n_pq = self.pq, len(self.pq)
        for _ in range(MAX_ITERATIONS + 1):
            current = self.y @ v
            mismatch = v * np.conj(current) - s_bus
            f = np.concatenate([mismatch[pq].real, mismatch[pq].imag])
            if np.max(np.abs(f)) < TOLERANCE_PU:
                return v
            v_norm = v / np.abs(v)
            ds_dvm = v[:, None] * np.conj(self.y * v_norm[None, :]) + np.diag(np.conj(current) * v_norm)
            ds_dva = 1j * v[:, None] * np.conj(np.diag(current) - self.y * v[None, :])
            jacobian = np.block([[ds_dva[np.ix_(pq, pq)].real, ds_dvm[np.ix_(pq, pq)].real],
                                 [ds_dva[np.ix_(pq, pq)].imag, ds_dvm[np.ix_(pq, pq)].imag]])
            dx = np.linalg.solve(jacobian, -f)
            angle, magnitude = np.angle(v), np.abs(v)
            angle[pq] += dx[:n_pq]
            magnitude[pq] += dx[n_pq:]
            v = magnitude * np.exp(1j * angle)
        return None

    def result(self, time: datetime, v: np.ndarray, s_bus: np.ndarray) -> StepResult:
        i_from, i_to = self.yf @ v, self.yt @ v
        loading, current, loss = {}, {}, {}
        for line, branch, f, t, rated_ka in self.lines:
            s_from = v[f] * np.conj(i_from[branch]) * self.base_mva
            s_to = v[t] * np.conj(i_to[branch]) * self.base_mva
            i_ka = max(abs(i_from[branch]) * self.base_mva / (SQRT3 * self.vn_kv[f]),
                       abs(i_to[branch]) * self.base_mva / (SQRT3 * self.vn_kv[t]))
            current[line] = float(i_ka) * 1e3
            loading[line] = float(i_ka / rated_ka * 100.0)
            loss[line] = float((s_from + s_to).real) * 1e3
        trafo_loss_kw, trafo_loading = 0.0, math.nan
        if self.trafo is not None:
            branch, hv, lv, hv_ka, lv_ka = self.trafo
            trafo_loss_kw = float((v[hv] * np.conj(i_from[branch]) + v[lv] * np.conj(i_to[branch])).real
                                  * self.base_mva) * 1e3
            i_hv = abs(i_from[branch]) * self.base_mva / (SQRT3 * self.vn_kv[hv])
            i_lv = abs(i_to[branch]) * self.base_mva / (SQRT3 * self.vn_kv[lv])
            trafo_loading = float(max(i_hv / hv_ka, i_lv / lv_ka) * 100.0)
        slack = (v[self.ref] * np.conj(self.y[self.ref] @ v) - s_bus[self.ref]) * self.base_mva
        magnitude = np.abs(v)
        return StepResult(time, "ok", vm_pu={bus: float(magnitude[i]) for bus, i in self.bus_of.items()},
                          line_loading_pct=loading, line_current_a=current, line_loss_kw=loss,
                          loss_kw=sum(loss.values()) + trafo_loss_kw, trafo_loading_pct=trafo_loading,
                          grid_p_kw=float(slack.real) * 1e3)

    def solve(self, time: datetime, s_bus: np.ndarray | None = None) -> StepResult:
        """The power flow of the net's element tables as they stand, or of the given bus injections."""
        s_bus = self.injections() if s_bus is None else s_bus
        v = self.solve_voltage(s_bus)
        if v is None:
            return StepResult(time, "not-converged", detail=f"no convergence in {MAX_ITERATIONS} iterations")
        self.voltage = v
        return self.result(time, v, s_bus)


def _differs(fast: StepResult, slow: StepResult) -> str | None:
    """The first result that differs beyond what pandapower's own tolerance (1e-8 MVA) explains."""
    pairs: list[tuple[str, float, float, float]] = [
        ("loss_kw", fast.loss_kw, slow.loss_kw, 1e-3), ("grid_p_kw", fast.grid_p_kw, slow.grid_p_kw, 1e-3),
        ("trafo_loading_pct", fast.trafo_loading_pct, slow.trafo_loading_pct, 1e-3)]
    for name, tolerance in (("vm_pu", 1e-6), ("line_loading_pct", 1e-3), ("line_current_a", 1e-3),
                            ("line_loss_kw", 1e-3)):
        a, b = getattr(fast, name), getattr(slow, name)
        if a.keys() != b.keys():
            return f"{name}: other elements"
        pairs += [(f"{name}[{key}]", a[key], b[key], tolerance) for key in b]
    for name, a, b, tolerance in pairs:
        if not (math.isnan(a) and math.isnan(b)) and not abs(a - b) <= tolerance:
            return f"{name}: {a} against pandapower's {b}"
    return None


def build(model: GridModel, solved: StepResult) -> FastFlow | None:
    """A fast flow for `model`'s net, which pandapower has just solved into `solved`; None when it
    cannot reproduce that solution."""
    net = model.net
    try:
        internal = net._ppc["internal"]  # noqa: SLF001 (pandapower's model of the last power flow)
        lookups = net._pd2ppc_lookups  # noqa: SLF001
    except (AttributeError, KeyError):
        return None
    n = internal["bus"].shape[0]
    unsupported = (len(internal["pv"]) or len(internal["ref"]) != 1 or net._ppc["bus"].shape[0] != n  # noqa: SLF001
                   or lookups.get("aux") or len(net.gen) or len(net.shunt) or len(net.ward) or len(net.xward)
                   or len(net.trafo) > 1 or len(net.trafo3w)
                   or any(net.load[c].abs().sum() for c in net.load.columns if c.startswith("const_")))
    if unsupported:
        log.info("fast power flow not used: the net has elements it does not model")
        return None
    bus_lookup = np.asarray(lookups["bus"])
    vn_kv = internal["bus"][:, 9].astype(float)
    line_start, _ = lookups["branch"].get("line", (0, 0))
    lines = [(int(line), line_start + position, int(bus_lookup[f]), int(bus_lookup[t]),
              float(max_i * df * parallel))
             for position, (line, f, t, max_i, df, parallel) in enumerate(zip(
                 net.line.index, net.line.from_bus, net.line.to_bus, net.line.max_i_ka, net.line.df, net.line.parallel,
                 strict=True))]
    trafo = None
    if len(net.trafo):
        row = net.trafo.iloc[0]
        scale = float(row.get("df", 1.0)) * float(row.parallel)
        trafo = (int(lookups["branch"]["trafo"][0]), int(bus_lookup[row.hv_bus]), int(bus_lookup[row.lv_bus]),
                 float(row.sn_mva) / (SQRT3 * float(row.vn_hv_kv)) * scale,
                 float(row.sn_mva) / (SQRT3 * float(row.vn_lv_kv)) * scale)
    flow = FastFlow(
        model=model, y=internal["Ybus"].toarray(), yf=internal["Yf"].toarray(), yt=internal["Yt"].toarray(),
        base_mva=float(internal["baseMVA"]), ref=int(internal["ref"][0]), pq=np.asarray(internal["pq"], dtype=int),
        voltage=np.asarray(internal["V"], dtype=complex).copy(),
        loads=_element_buses(net.load.bus.to_numpy(), bus_lookup, net.load.in_service.to_numpy(bool)),
        sgens=_element_buses(net.sgen.bus.to_numpy(), bus_lookup, net.sgen.in_service.to_numpy(bool)),
        storages=_element_buses(net.storage.bus.to_numpy(), bus_lookup, net.storage.in_service.to_numpy(bool)),
        bus_of={bus: int(bus_lookup[bus]) for bus in model.lv_buses}, lines=lines, trafo=trafo, vn_kv=vn_kv,
        bus_lookup=bus_lookup)
    others = np.arange(n) != flow.ref  # pandapower's Sbus holds the slack's solved generation at ref
    if not np.allclose(flow.injections()[others], np.asarray(internal["Sbus"])[others], atol=1e-9):
        log.info("fast power flow not used: its injections differ from pandapower's")
        return None
    reason = _differs(flow.solve(solved.time), solved)
    if reason is not None:
        log.info("fast power flow not used: %s", reason)
        return None
    return flow
