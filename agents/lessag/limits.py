"""The limits every LESSAg decision stays within: the battery's power rating and SoC window (with
efficiency, over the coming cycle) are hard; the site's contract limits at the PCC are kept as far as
the battery can; PV curtailment takes what the battery cannot (export beyond the contract).

Consumer sign convention: ESS power > 0 charges; PCC power > 0 imports; PV power <= 0."""
from __future__ import annotations

from dataclasses import dataclass

from adapters.simulated.battery import BatterySpec, max_charge_w, max_discharge_w


@dataclass(frozen=True)
class EssLimits:
    battery: BatterySpec
    contract_in_w: float | None = None  # largest import at the PCC
    contract_out_w: float | None = None  # largest export at the PCC (a positive number)


@dataclass(frozen=True)
class PowerWindow:
    low_w: float
    high_w: float

    def clip(self, value_w: float) -> float:
        return min(self.high_w, max(self.low_w, value_w))


def battery_window(limits: EssLimits, soc_pct: float, dt_s: float) -> PowerWindow:
    """ESS powers the battery can hold for `dt_s` without leaving its rating or SoC window."""
    return PowerWindow(-max_discharge_w(limits.battery, soc_pct, dt_s), max_charge_w(limits.battery, soc_pct, dt_s))


def contract_window(contract_in_w: float | None, contract_out_w: float | None, base_w: float) -> PowerWindow:
    """ESS powers that keep the PCC (`base_w` + ESS) within the contract (unbounded where none is set)."""
    high = float("inf") if contract_in_w is None else contract_in_w - base_w
    low = float("-inf") if contract_out_w is None else -contract_out_w - base_w
    return PowerWindow(low, high)


def limit_ess_w(requested_w: float, battery: PowerWindow, contract: PowerWindow) -> float:
    """`requested_w` within the battery window, and within the contract window where both meet; when they
    do not meet, the battery bound nearest to the contract."""
    low = max(battery.low_w, contract.low_w)
    high = min(battery.high_w, contract.high_w)
    if low <= high:
        return PowerWindow(low, high).clip(requested_w)
    return battery.high_w if contract.low_w > battery.high_w else battery.low_w


def pv_limit_w(load_w: float, ess_w: float, export_allowed_w: float | None) -> float | None:
    """The largest PV generation that keeps export within `export_allowed_w` given the load and the ESS
    power (None: no export limit, no curtailment)."""
    if export_allowed_w is None:
        return None
    return max(0.0, load_w + ess_w + export_allowed_w)


def ev_limit_w(pcc_w: float, ev_power_w: float, contract_in_w: float | None) -> float | None:
    """The total EV charging power that brings the PCC back within the import contract, when the battery
    alone could not (None: no reduction needed)."""
    if contract_in_w is None or pcc_w <= contract_in_w or ev_power_w <= 0:
        return None
    return max(0.0, ev_power_w - (pcc_w - contract_in_w))
