"""What colour a site or radial gets: its voltage against EN 50160 (230 V ± 10 %) and its device state.

Pure decisions over the latest values; the same rules run in the browser (static/professional/pro.js
repeats `voltage_band` for live updates, tested against this module by the browser test).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

NOMINAL_V = 230.0
LIMIT_PCT = 10.0  # EN 50160: a violation beyond ± 10 %
WARN_PCT = 5.0  # shown as a warning beyond ± 5 %
STALE_AFTER = timedelta(minutes=15)
FAULT_CODES = frozenset({"faulted", "fault", "error", "unavailable", "offline", "alarm"})


class Band(StrEnum):
    ok = "ok"
    warn = "warn"
    violation = "violation"
    unknown = "unknown"


class State(StrEnum):
    ok = "ok"
    fault = "fault"
    stale = "stale"
    unknown = "unknown"


BAND_COLOURS = {Band.ok: "#2e7d32", Band.warn: "#f9a825", Band.violation: "#c62828", Band.unknown: "#9e9e9e"}


def deviation_pct(voltage_v: float, nominal_v: float = NOMINAL_V) -> float:
    return (voltage_v - nominal_v) / nominal_v * 100.0


def worst_voltage(voltages_v: Iterable[float], nominal_v: float = NOMINAL_V) -> float | None:
    """The phase voltage farthest from nominal (None when there is none)."""
    values = [float(v) for v in voltages_v]
    return max(values, key=lambda v: abs(v - nominal_v)) if values else None


def voltage_band(voltage_v: float | None, nominal_v: float = NOMINAL_V) -> Band:
    if voltage_v is None:
        return Band.unknown
    deviation = abs(deviation_pct(voltage_v, nominal_v))
    if deviation > LIMIT_PCT:
        return Band.violation
    return Band.warn if deviation > WARN_PCT else Band.ok


def worst_band(bands: Iterable[Band]) -> Band:
    order = [Band.violation, Band.warn, Band.ok, Band.unknown]
    present = set(bands)
    return next((band for band in order if band in present), Band.unknown)


def device_state(status_codes: Sequence[str], last_contact: datetime | None, now: datetime) -> State:
    """Fault when any device status names a fault; stale when nothing arrived for 15 minutes."""
    if last_contact is None:
        return State.unknown
    if any(code.strip().lower() in FAULT_CODES for code in status_codes):
        return State.fault
    return State.stale if now - last_contact > STALE_AFTER else State.ok


@dataclass(frozen=True)
class SiteStatus:
    site_id: str
    voltage_v: float | None
    band: Band
    state: State
    last_contact: datetime | None
    power_w: float | None  # the PCC's active power (consumer sign)
    soc_pct: float | None

    @property
    def colour(self) -> str:
        return BAND_COLOURS[self.band]
