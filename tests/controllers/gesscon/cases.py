"""Small builders of day-ahead problems for the GESSCon tests (a synthetic day: PV noon, evening load)."""
from __future__ import annotations

import math
from datetime import UTC, datetime

from controllers.gesscon import EssParams, Objective, Prices, RadialProblem, SiteForecast

START = datetime(2026, 6, 21, tzinfo=UTC)


def day_profile(steps: int, load_w: float, pv_kwp: float, phase: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    hours = [24 * t / steps for t in range(steps)]
    load = tuple(load_w * (1 + 0.6 * math.sin(2 * math.pi * (h - 13 + phase) / 24) ** 2) for h in hours)
    pv = tuple(-pv_kwp * 1000 * max(0.0, math.sin(math.pi * (h - 5) / 15)) for h in hours)
    return load, pv


def radial(n_ess: int, steps: int, *, contract_w: float = 11_000, objective: Objective | None = None,
           export_price: float = 0.0, transformer_w: float = math.inf) -> RadialProblem:
    sites, batteries = [], []
    for k in range(n_ess):
        load, pv = day_profile(steps, 400 + 60 * k, 3 + k % 4, 0.3 * k)
        sites.append(SiteForecast(f"house{k}", load, pv, contract_w, contract_w))
        batteries.append(EssParams(f"ess{k}", f"house{k}", capacity_wh=9600 + 500 * (k % 3), max_charge_w=6400,
                                   max_discharge_w=6400, soc_initial_wh=3000 + 200 * k, min_soc_pct=10,
                                   max_soc_pct=95, wear_eur_per_kwh=0.02))
    hours = [24 * t / steps for t in range(steps)]
    imp = tuple(0.20 + 0.15 * (17 <= h < 21) - 0.08 * (h < 6) for h in hours)
    return RadialProblem("radial1", START, 86_400 // steps, tuple(sites), tuple(batteries),
                         Prices(imp, tuple(export_price for _ in hours)), transformer_w, transformer_w,
                         objective or Objective())
