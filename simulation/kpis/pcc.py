"""Maximum power at the point of common coupling against the contract (consumer sign: P > 0 import)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class PccPeak:
    max_import_w: float  # 0 when the site never imported
    max_export_w: float  # as a positive number; 0 when it never exported
    contract_in_w: float | None
    contract_out_w: float | None
    samples: int
    over_in: int  # samples importing more than the contract allows
    over_out: int  # samples exporting more than the contract allows

    @property
    def import_ok(self) -> bool | None:
        return None if self.contract_in_w is None else self.max_import_w <= self.contract_in_w

    @property
    def export_ok(self) -> bool | None:
        return None if self.contract_out_w is None else self.max_export_w <= self.contract_out_w

    @property
    def import_utilisation(self) -> float | None:
        """Peak import / contract (above 1: the contract was exceeded)."""
        if self.contract_in_w is None or self.contract_in_w <= 0:
            return None
        return self.max_import_w / self.contract_in_w


def pcc_peak(p_grid_w: Iterable[float], contract_in_w: float | None, contract_out_w: float | None) -> PccPeak:
    max_import = max_export = 0.0
    samples = over_in = over_out = 0
    for power_w in p_grid_w:
        samples += 1
        max_import = max(max_import, power_w)
        max_export = max(max_export, -power_w)
        over_in += contract_in_w is not None and power_w > contract_in_w
        over_out += contract_out_w is not None and -power_w > contract_out_w
    return PccPeak(max_import, max_export, contract_in_w, contract_out_w, samples, over_in, over_out)
