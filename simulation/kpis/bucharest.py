"""The Bucharest prosumer KPIs (D6.3 table 5): KPI2.2 export / consumption < 10 %, KPI2.3 curtailed /
forecast PV < 20 %, KPI2.4 grid energy / consumption < 70 %."""
from __future__ import annotations

from dataclasses import dataclass

from simulation.kpis.energy import EnergyBalance, curtailment_share

EXPORT_LIMIT = 0.10
CURTAILMENT_LIMIT = 0.20
GRID_LIMIT = 0.70


@dataclass(frozen=True)
class BucharestKpis:
    export_ratio: float | None  # KPI2.2
    curtailment_ratio: float | None  # KPI2.3
    grid_ratio: float | None  # KPI2.4

    @property
    def export_ok(self) -> bool | None:
        return None if self.export_ratio is None else self.export_ratio < EXPORT_LIMIT

    @property
    def curtailment_ok(self) -> bool | None:
        return None if self.curtailment_ratio is None else self.curtailment_ratio < CURTAILMENT_LIMIT

    @property
    def grid_ok(self) -> bool | None:
        return None if self.grid_ratio is None else self.grid_ratio < GRID_LIMIT


def bucharest_kpis(balance: EnergyBalance) -> BucharestKpis:
    consumption = balance.consumption_wh
    return BucharestKpis(
        export_ratio=None if consumption <= 0 else balance.export_wh / consumption,
        curtailment_ratio=curtailment_share(balance),
        grid_ratio=None if consumption <= 0 else balance.import_wh / consumption,
    )
