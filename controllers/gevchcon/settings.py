"""GEVChCon's configuration from environment variables (the server connection: `STA_CLIENT_*`)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from controllers.gevchcon.decide import Policy
from controllers.gevchcon.sessions import EvAssumptions


class SettingsError(ValueError):
    """A variable that cannot be used (named in the message)."""


@dataclass(frozen=True)
class StreamKeys:
    """`properties.key` of the site streams GEVChCon reads (consumer sign convention)."""

    load: str = "P_load"
    pv: str = "P_pv"
    ess: str = "P_ess"
    forecast: str = "evLoadForecast"


@dataclass(frozen=True)
class Settings:
    sites: tuple[str, ...]
    policy: Policy = field(default_factory=Policy)
    assumptions: EvAssumptions = field(default_factory=EvAssumptions)
    keys: StreamKeys = field(default_factory=StreamKeys)
    overload_fraction: float = 0.7
    voltage_fraction: float = 0.5
    history_h: float = 24.0  # how far back a charge point's Observations are read

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """`GEVCHCON_SITES` (comma-separated site ids, required), `GEVCHCON_ID` (gevchcon), `_STEP_S` (900: the
        cycle and the length of each Task's profile), `_LEAD_S` (60: a cycle runs that long before its step),
        `_HORIZON_STEPS` (96), `_MARGIN_W` (3000), `_PRIORITY` (5), `_ENERGY_NEED_WH`
        (9000), `_DEPARTURE_H` (7.32 UTC, the site Thing's `evForecast.departure_mean_h` wins),
        `_OVERSTAY_S` (3600), `_OVERLOAD_FRACTION` (0.7), `_VOLTAGE_FRACTION` (0.5), `_LOAD_KEY` (P_load),
        `_PV_KEY` (P_pv), `_ESS_KEY` (P_ess), `_FORECAST_KEY` (evLoadForecast)."""
        env = os.environ if environ is None else environ

        def number(name: str, default: float, low: float = 0.0) -> float:
            text = env.get(f"GEVCHCON_{name}", "").strip()
            try:
                value = float(text) if text else default
            except ValueError as error:
                raise SettingsError(f"GEVCHCON_{name} must be a number, got {text!r}") from error
            if value < low:
                raise SettingsError(f"GEVCHCON_{name} must be >= {low:g}, got {value:g}")
            return value

        sites = tuple(s.strip() for s in env.get("GEVCHCON_SITES", "").split(",") if s.strip())
        if not sites:
            raise SettingsError("GEVCHCON_SITES must name at least one charging site id")
        policy = Policy(int(number("STEP_S", 900, 60)), int(number("HORIZON_STEPS", 96, 1)),
                        number("MARGIN_W", 3000), int(number("PRIORITY", 5, 1)), int(number("LEAD_S", 60)),
                        env.get("GEVCHCON_ID", "gevchcon").strip() or "gevchcon")
        assumptions = EvAssumptions(number("ENERGY_NEED_WH", 9000), number("DEPARTURE_H", 7.32),
                                    number("OVERSTAY_S", 3600))
        keys = StreamKeys(*(env.get(f"GEVCHCON_{name}_KEY", default).strip() or default
                            for name, default in (("LOAD", "P_load"), ("PV", "P_pv"), ("ESS", "P_ess"),
                                                  ("FORECAST", "evLoadForecast"))))
        return cls(sites, policy, assumptions, keys,
                   number("OVERLOAD_FRACTION", 0.7), number("VOLTAGE_FRACTION", 0.5))
