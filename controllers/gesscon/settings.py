"""GESSCon's loop configuration from environment variables (GESSCON_*; docs/controllers.md)."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from controllers.gesscon.radial_data import PlanSettings
from controllers.gesscon.replan import ReplanPolicy


class SettingsError(ValueError):
    """A missing or invalid GESSCON_* variable."""


@dataclass(frozen=True)
class GessconSettings:
    radials: tuple[str, ...]
    plan: PlanSettings = PlanSettings()
    policy: ReplanPolicy = ReplanPolicy()
    lead_s: float = 3600.0  # plan the next day this long before it starts
    check_s: float = 60.0  # period of the checks (commands, re-planning, status)
    status_s: float = 900.0  # essOverview/essWithinBounds at least this often (and on change)
    price_key: str | None = None  # the forecast Thing of day-ahead prices, e.g. "price:DK-1"
    peak_eur_per_kw: float = 0.5
    priority: int = 2
    latitude: float = 0.0
    longitude: float = 0.0
    log_level: str = "INFO"
    # voltage_control (planning/inputs.py Objective): the band at the transformer when the command names none
    voltage_export_w: float = 0.0
    voltage_import_w: float = math.inf
    voltage_eur_per_kwh: float = 0.5
    voltage_peak_eur_per_kw: float = 2.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GessconSettings:
        radials = tuple(r.strip() for r in env.get("GESSCON_RADIALS", "").split(",") if r.strip())
        if not radials:
            raise SettingsError("GESSCON_RADIALS: give at least one radial id (comma-separated)")

        def number(name: str, default: float) -> float:
            try:
                return float(env.get(f"GESSCON_{name}", default))
            except ValueError:
                raise SettingsError(f"GESSCON_{name} must be a number") from None

        bands = [number(f"VOLTAGE_{side}_W", math.inf if side == "IMPORT" else 0.0) for side in ("EXPORT", "IMPORT")]
        if any(not band >= 0 for band in bands):
            raise SettingsError("GESSCON_VOLTAGE_EXPORT_W and GESSCON_VOLTAGE_IMPORT_W must be >= 0")
        step_s = int(number("STEP_S", 900))
        if step_s <= 0 or 86_400 % step_s or (step_s % 60 and 60 % step_s):
            raise SettingsError("GESSCON_STEP_S must divide a day and be a multiple or divisor of 60")
        plan = PlanSettings(step_s, int(number("HOLD_S", 3600)), number("TARIFF_EUR_PER_KWH", 0.30),
                            number("EXPORT_EUR_PER_KWH", 0.0), number("EFFICIENCY", 0.95),
                            number("WEAR_EUR_PER_KWH", 0.02))
        policy = ReplanPolicy(number("DEVIATION_PCT", 10), number("STALE_S", 900), number("ACK_TIMEOUT_S", 600),
                              number("REPLAN_MIN_S", 900))
        return cls(radials, plan, policy, number("LEAD_S", 3600), number("CHECK_S", 60), number("STATUS_S", 900),
                   env.get("GESSCON_PRICE_KEY") or None, number("PEAK_EUR_PER_KW", 0.5), int(number("PRIORITY", 2)),
                   number("LATITUDE", 0.0), number("LONGITUDE", 0.0), env.get("GESSCON_LOG_LEVEL", "INFO"),
                   number("VOLTAGE_EXPORT_W", 0.0), number("VOLTAGE_IMPORT_W", math.inf),
                   number("VOLTAGE_EUR_PER_KWH", 0.5), number("VOLTAGE_PEAK_EUR_PER_KW", 2.0))
