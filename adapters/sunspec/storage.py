"""SunSpec model 124 storage control as pure functions (the way Fronius hybrid inverters take commands).

`StorCtl_Mod` bit 0 activates the charge limit `InWRte`, bit 1 the discharge limit `OutWRte`, both in %
of `WChaMax`. With both bits the battery power stays in the window [-OutWRte, InWRte] · WChaMax; a
negative `OutWRte` forces charging, a negative `InWRte` forces discharging. A set-point P (consumer
convention: P > 0 charges) is therefore `InWRte = P / WChaMax`, `OutWRte = -P / WChaMax`, mode 3: a
window of one point. `InOutWRte_RvrtTms` (s) makes the device fall back to mode 0 (its own
self-consumption control) when no new command arrives in time.
"""
from __future__ import annotations

from dataclasses import dataclass

CHARGE_LIMIT = 1
DISCHARGE_LIMIT = 2
BOTH_LIMITS = CHARGE_LIMIT | DISCHARGE_LIMIT
MAX_RATE_PCT = 100.0


@dataclass(frozen=True)
class StorageControl:
    """The model 124 control points in computed units (% of WChaMax, seconds)."""

    mode: int = 0  # StorCtl_Mod bits
    in_pct: float = MAX_RATE_PCT  # InWRte
    out_pct: float = MAX_RATE_PCT  # OutWRte
    revert_s: int = 0  # InOutWRte_RvrtTms; 0 = no timeout


RELEASED = StorageControl()


def encode_setpoint(power_w: float, wchamax_w: float, revert_s: int) -> StorageControl:
    """The control that holds the battery at `power_w` (clipped to ±WChaMax) until `revert_s` passes."""
    if wchamax_w <= 0:
        raise ValueError(f"WChaMax must be positive, not {wchamax_w}")
    pct = max(-MAX_RATE_PCT, min(MAX_RATE_PCT, power_w / wchamax_w * 100.0))
    return StorageControl(BOTH_LIMITS, pct, -pct, revert_s)


def power_window_w(control: StorageControl, wchamax_w: float) -> tuple[float, float]:
    """The battery power range (consumer convention) the control allows."""
    high = control.in_pct / 100.0 * wchamax_w if control.mode & CHARGE_LIMIT else wchamax_w
    low = -control.out_pct / 100.0 * wchamax_w if control.mode & DISCHARGE_LIMIT else -wchamax_w
    return low, high


def setpoint_in_force_w(control: StorageControl, wchamax_w: float, resolution_pct: float = 0.01) -> float | None:
    """The set-point a control amounts to: a window of one point (within the register resolution) holds
    the battery there; anything wider (or released) is no set-point."""
    if control.mode != BOTH_LIMITS:
        return None
    low, high = power_window_w(control, wchamax_w)
    if abs(high - low) > resolution_pct / 100.0 * wchamax_w * 2:
        return None
    return round((low + high) / 2, 3)


def control_error(control: StorageControl) -> str | None:
    """Why a device would refuse these values (Modbus exception 3), or None."""
    if control.mode & ~BOTH_LIMITS:
        return f"StorCtl_Mod {control.mode}: only bits 0 and 1 exist"
    for name, pct in (("InWRte", control.in_pct), ("OutWRte", control.out_pct)):
        if not -MAX_RATE_PCT <= pct <= MAX_RATE_PCT:
            return f"{name} {pct} % is outside -100..100 %"
    if control.revert_s < 0:
        return f"InOutWRte_RvrtTms {control.revert_s} is negative"
    return None


def dispatch_w(control: StorageControl, wchamax_w: float, wanted_w: float) -> float:
    """The battery power a device runs: what its own control wants (`wanted_w`), kept in the window."""
    low, high = power_window_w(control, wchamax_w)
    if low > high:  # contradictory limits: a device holds still
        return 0.0
    return max(low, min(high, wanted_w))
