"""All KPIs of one site over a period, from its fetched series (pure): the energy balance at the PCC,
self-consumption, self-sufficiency, curtailment, the Bucharest KPIs, the PCC peak against the contract,
the EN 50160 voltage band and the credibility of each series."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simulation.kpis.bucharest import BucharestKpis, bucharest_kpis
from simulation.kpis.credibility import Credibility, credibility
from simulation.kpis.energy import EnergyBalance, curtailment_share, self_consumption, self_sufficiency
from simulation.kpis.pcc import PccPeak, pcc_peak
from simulation.kpis.series import Series, split_energy_wh
from simulation.kpis.voltage import NOMINAL_V, VoltageBand, voltage_band


@dataclass(frozen=True)
class SiteSeries:
    """The series of a site (consumer sign, W; voltages in V, every phase sample)."""

    p_grid: Series
    p_load: Series
    p_pv: Series | None = None
    p_pv_forecast: Series | None = None
    voltages: tuple[float, ...] = ()
    contract_in_w: float | None = None
    contract_out_w: float | None = None
    # every series fetched, by key, for data credibility (sample times only matter)
    all_series: Mapping[str, Series] = field(default_factory=dict)


@dataclass(frozen=True)
class SiteKpis:
    balance: EnergyBalance
    self_consumption: float | None
    self_sufficiency: float | None
    curtailment: float | None
    bucharest: BucharestKpis
    pcc: PccPeak
    voltage: VoltageBand
    credibility: Mapping[str, Credibility]

    def as_dict(self) -> dict[str, Any]:
        """Flat name → value (None where not defined), e.g. for a KPI Observation's result."""
        return {
            "import_kWh": self.balance.import_wh / 1000, "export_kWh": self.balance.export_wh / 1000,
            "pv_kWh": self.balance.pv_wh / 1000, "consumption_kWh": self.balance.consumption_wh / 1000,
            "selfConsumption": self.self_consumption, "selfSufficiency": self.self_sufficiency,
            "curtailment": self.curtailment, "exportRatio": self.bucharest.export_ratio,
            "curtailmentRatio": self.bucharest.curtailment_ratio, "gridRatio": self.bucharest.grid_ratio,
            "maxImport_W": self.pcc.max_import_w, "maxExport_W": self.pcc.max_export_w,
            "contractImportOk": self.pcc.import_ok, "contractExportOk": self.pcc.export_ok,
            "voltageViolations": self.voltage.violations, "voltageShareWithin": self.voltage.share_within,
            "en50160Ok": self.voltage.en50160_ok,
            "credibility": {key: value.share for key, value in self.credibility.items()},
        }


def _negative_wh(series: Series | None, end: datetime, max_hold_s: float | None) -> float | None:
    return None if series is None else split_energy_wh(series, end, max_hold_s)[1]


def site_balance(series: SiteSeries, end: datetime, max_hold_s: float | None = None) -> EnergyBalance:
    import_wh, export_wh = split_energy_wh(series.p_grid, end, max_hold_s)
    consumption_wh, _ = split_energy_wh(series.p_load, end, max_hold_s)
    return EnergyBalance(import_wh=import_wh, export_wh=export_wh,
                         pv_wh=_negative_wh(series.p_pv, end, max_hold_s) or 0.0, consumption_wh=consumption_wh,
                         pv_forecast_wh=_negative_wh(series.p_pv_forecast, end, max_hold_s))


def site_kpis(series: SiteSeries, start: datetime, end: datetime, sample_period_s: float,
              max_hold_s: float | None = None, nominal_v: float = NOMINAL_V) -> SiteKpis:
    balance = site_balance(series, end, max_hold_s)
    return SiteKpis(
        balance=balance, self_consumption=self_consumption(balance), self_sufficiency=self_sufficiency(balance),
        curtailment=curtailment_share(balance), bucharest=bucharest_kpis(balance),
        pcc=pcc_peak(series.p_grid.values, series.contract_in_w, series.contract_out_w),
        voltage=voltage_band(series.voltages, nominal_v),
        credibility={key: credibility(values.times, start, end, sample_period_s)
                     for key, values in series.all_series.items()},
    )
