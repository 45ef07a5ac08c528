"""Batteries that absorb PV: one beside each PV system of a grid, charging what the PV feeds in above
a share of its peak (a feed-in cap, the local rule of HLUC-3-PUC-2's voltage control), within the
battery's power and SoC window. ``decide_charge_w`` is the pure decision; ``run_day`` the loop that
compares a day with and without them (docs/simulation.md)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.simulated.battery import BatterySpec, feasible_power_w, soc_after
from simulation.grid import GridModel, Injection, StepResult
from simulation.profiles import PROFILE_STEP, profile_times


@dataclass(frozen=True)
class PvBattery:
    bus: int
    sgen: int
    spec: BatterySpec
    feed_in_cap_w: float


@dataclass(frozen=True)
class DayStats:
    steps: int
    v_max_pu: float
    steps_above: int  # quarter hours with a bus above the threshold
    threshold_pu: float
    charged_kwh: float
    not_ok: int


def decide_charge_w(pv_w: float, load_w: float, feed_in_cap_w: float) -> float:
    """The charging power that keeps the bus's feed-in (PV minus local load) at or below the cap."""
    return max(0.0, pv_w - load_w - feed_in_cap_w)


def pv_batteries(model: GridModel, power_share: float = 0.5, hours: float = 3.0,
                 cap_share: float = 0.3) -> list[PvBattery]:
    """A battery per PV sgen: power ``power_share`` of the PV peak, ``hours`` of capacity at that power,
    feed-in capped at ``cap_share`` of the peak."""
    batteries = []
    for sgen, row in model.net.sgen.iterrows():
        peak_w = model.sgen_rated_w[int(sgen)]
        power_w = peak_w * power_share
        spec = BatterySpec(capacity_wh=power_w * hours, max_charge_w=power_w, max_discharge_w=power_w,
                           min_soc_pct=10.0, max_soc_pct=95.0)
        batteries.append(PvBattery(int(row.bus), int(sgen), spec, peak_w * cap_share))
    return batteries


def _bus_load_w(model: GridModel, when: datetime, bus: int) -> float:
    step = model.profiles.at(when)
    if step is None:
        return 0.0
    loads = model.net.load.loc[step.load_p_mw.index]
    return float(step.load_p_mw[loads.index[loads.bus == bus]].sum()) * 1e6


def run_day(model: GridModel, day: datetime, batteries: list[PvBattery] | None,
            threshold_pu: float = 1.05, step: timedelta = PROFILE_STEP) -> tuple[DayStats, list[StepResult]]:
    """One day of power flows; with ``batteries`` each charges by ``decide_charge_w`` at every step."""
    soc = {b.sgen: b.spec.min_soc_pct for b in batteries or []}
    charged_wh = 0.0
    results = []
    for when in profile_times(day, day + timedelta(days=1), step):
        injections = []
        profile = model.profiles.at(when)
        for battery in batteries or []:
            pv_w = float(profile.sgen_p_mw[battery.sgen]) * 1e6 if profile is not None else 0.0
            wanted = decide_charge_w(pv_w, _bus_load_w(model, when, battery.bus), battery.feed_in_cap_w)
            power_w = feasible_power_w(battery.spec, soc[battery.sgen], wanted, step.total_seconds())
            soc[battery.sgen] = soc_after(battery.spec, soc[battery.sgen], power_w, step.total_seconds())
            charged_wh += power_w * step.total_seconds() / 3600
            injections.append(Injection(battery.bus, power_w))
        results.append(model.run_step(when, injections))
    ok = [r for r in results if r.status == "ok"]
    stats = DayStats(len(results), max((r.v_max_pu for r in ok), default=float("nan")),
                     sum(r.v_max_pu > threshold_pu for r in ok), threshold_pu, charged_wh / 1e3,
                     len(results) - len(ok))
    return stats, results
