"""Energy KPIs of a site over a period: self-consumption, self-sufficiency, curtailment. Ratios are
None when their denominator is zero (no PV, no consumption): "not defined", never a division error."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnergyBalance:
    """A site's energies over a period, all positive numbers in Wh."""

    import_wh: float  # from the grid at the PCC
    export_wh: float  # to the grid at the PCC
    pv_wh: float  # PV produced
    consumption_wh: float  # site load (without battery charging)
    pv_forecast_wh: float | None = None  # PV the forecast (or the unconstrained model) promised
    curtailed_wh: float | None = None  # PV curtailed, when known directly

    def __post_init__(self) -> None:
        for name in ("import_wh", "export_wh", "pv_wh", "consumption_wh"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    @property
    def pv_curtailed_wh(self) -> float | None:
        """The curtailed PV: as given, else forecast − produced (never below zero)."""
        if self.curtailed_wh is not None:
            return self.curtailed_wh
        if self.pv_forecast_wh is None:
            return None
        return max(0.0, self.pv_forecast_wh - self.pv_wh)


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else numerator / denominator


def self_consumption(balance: EnergyBalance) -> float | None:
    """Share of the PV energy used on site (loads and battery): (PV − export) / PV, in [0, 1]."""
    share = _ratio(balance.pv_wh - balance.export_wh, balance.pv_wh)
    return None if share is None else min(1.0, max(0.0, share))


def self_sufficiency(balance: EnergyBalance) -> float | None:
    """Share of the consumption not bought from the grid: (consumption − import) / consumption, in
    [0, 1] (a battery charged from the grid can make import exceed consumption: 0 then)."""
    share = _ratio(balance.consumption_wh - balance.import_wh, balance.consumption_wh)
    return None if share is None else min(1.0, max(0.0, share))


def curtailment_share(balance: EnergyBalance) -> float | None:
    """Curtailed PV / forecast (available) PV."""
    curtailed = balance.pv_curtailed_wh
    available = balance.pv_forecast_wh if balance.pv_forecast_wh is not None else (
        None if curtailed is None else balance.pv_wh + curtailed)
    if curtailed is None or available is None:
        return None
    return _ratio(curtailed, available)
