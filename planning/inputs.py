"""The typed inputs of the day-ahead problem of one radial (frozen, validated at construction).

Sign convention (consumer, as the agents): P > 0 is consumption, battery charging, import at a PCC;
so a PV forecast is <= 0. Powers in W, energies in Wh, prices in EUR/kWh, one value per step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ProblemError(ValueError):
    """Inputs that cannot describe a day-ahead problem (lengths, signs, limits)."""


class SolutionCode(StrEnum):
    """The aggregator's radial solution code (S4G-SYSTEM.md T5); selects the extra objective term."""

    ECONOMIC = "economic"
    PEAK_SHAVING = "peak_shaving"
    PREVENT_FLICKER = "prevent_flicker"
    VOLTAGE_CONTROL = "voltage_control"


@dataclass(frozen=True)
class EssParams:
    """One battery: ratings from its Thing's properties, the SoC now (energy Wh at the start of the day)."""

    key: str
    site_id: str
    capacity_wh: float
    max_charge_w: float
    max_discharge_w: float
    soc_initial_wh: float
    min_soc_pct: float = 0.0
    max_soc_pct: float = 100.0
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    wear_eur_per_kwh: float = 0.0
    terminal_soc_min_wh: float | None = None
    available: bool = True

    def __post_init__(self) -> None:
        if self.capacity_wh <= 0 or self.max_charge_w < 0 or self.max_discharge_w < 0:
            raise ProblemError(f"{self.key}: capacity must be > 0 and power limits >= 0")
        if not (0 < self.charge_efficiency <= 1 and 0 < self.discharge_efficiency <= 1):
            raise ProblemError(f"{self.key}: efficiencies must be in (0, 1]")
        if not 0 <= self.min_soc_pct <= self.max_soc_pct <= 100:
            raise ProblemError(f"{self.key}: need 0 <= min_soc_pct <= max_soc_pct <= 100")

    @property
    def min_wh(self) -> float:
        return self.capacity_wh * self.min_soc_pct / 100

    @property
    def max_wh(self) -> float:
        return self.capacity_wh * self.max_soc_pct / 100


@dataclass(frozen=True)
class SiteForecast:
    """One site (PCC) of the radial: its uncontrollable load and PV per step, its contract limits."""

    site_id: str
    load_w: tuple[float, ...]
    pv_w: tuple[float, ...]
    contract_in_w: float = math.inf
    contract_out_w: float = math.inf
    flags: tuple[str, ...] = ()  # e.g. "pv:persistence" when a forecast fell back (reported, not used)

    @property
    def base_w(self) -> tuple[float, ...]:
        return tuple(load + pv for load, pv in zip(self.load_w, self.pv_w, strict=True))


@dataclass(frozen=True)
class Prices:
    """Import price and export revenue per step (EUR/kWh); export 0 = no feed-in tariff (Fur)."""

    import_eur_per_kwh: tuple[float, ...]
    export_eur_per_kwh: tuple[float, ...]


@dataclass(frozen=True)
class Objective:
    """The objective's terms: the last one (peak, flicker or voltage) only when the aggregator's command
    selects it. Flicker: every kW the radial's exchange changes from one step to the next is paid. Voltage:
    on a radial, the voltage rises with export (reverse flow from PV) and falls with import (ΔV ≈ R·P/V), so
    energy exchanged beyond a band at the transformer is paid, and the day's highest export beyond the band
    once more per kW (the further above the band, the dearer: the batteries flatten the PV peak from the top,
    where the voltage is highest). While the radial's own load and PV export beyond the band, its batteries
    may not discharge: discharging there raises the voltage, and charge/discharge cycles would otherwise
    "pay" by burning exported energy in the batteries' losses (docs/controllers.md)."""

    solution: SolutionCode = SolutionCode.ECONOMIC
    peak_eur_per_kw: float = 0.5  # per day, on the radial's highest import
    flicker_eur_per_kw: float = 0.05  # per kW of change of the radial's exchange between two steps
    voltage_eur_per_kwh: float = 0.5  # per kWh exchanged beyond the voltage band
    voltage_peak_eur_per_kw: float = 2.0  # per day, on the highest export beyond the band
    voltage_export_w: float = 0.0  # the band: export above this raises the feeder's voltage
    voltage_import_w: float = math.inf  # import above this lowers it
    slack_eur_per_kwh: float = 1000.0  # violating a contract/transformer limit (infeasible days)
    overlap_tolerance_w: float = 1.0  # radial charge and discharge at once: at most this (min of both)
    max_milp_rounds: int = 5
    milp_time_limit_s: float = 20.0  # per MILP round; its best incumbent is used (gap reported in status)


@dataclass(frozen=True)
class RadialProblem:
    """The day ahead of one radial: its sites, batteries, prices and transformer limits."""

    radial_id: str
    start: datetime
    step_s: int
    sites: tuple[SiteForecast, ...]
    batteries: tuple[EssParams, ...]
    prices: Prices
    transformer_in_w: float = math.inf
    transformer_out_w: float = math.inf
    objective: Objective = field(default_factory=Objective)

    def __post_init__(self) -> None:
        steps = len(self.prices.import_eur_per_kwh)
        if steps == 0 or self.step_s <= 0:
            raise ProblemError("need at least one step and step_s > 0")
        lengths = {len(self.prices.export_eur_per_kwh)}
        lengths |= {len(s.load_w) for s in self.sites} | {len(s.pv_w) for s in self.sites}
        if lengths != {steps}:
            raise ProblemError(f"every series must have {steps} steps, got lengths {sorted(lengths)}")
        site_ids = [s.site_id for s in self.sites]
        if len(set(site_ids)) != len(site_ids):
            raise ProblemError("duplicate site_id")
        unknown = {b.site_id for b in self.batteries} - set(site_ids)
        if unknown:
            raise ProblemError(f"batteries at unknown sites: {sorted(unknown)}")
        if any(pv > 0 for s in self.sites for pv in s.pv_w):
            raise ProblemError("pv_w must be <= 0 (consumer sign)")

    @property
    def steps(self) -> int:
        return len(self.prices.import_eur_per_kwh)

    @property
    def step_h(self) -> float:
        return self.step_s / 3600
