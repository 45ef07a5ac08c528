"""Configuration of the what-if runner from the environment (read once, in the entrypoint)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class WhatIfSettings:
    name: str = "DSF-SE what-if engine"  # WHATIF_NAME: the engine Thing's name
    poll_s: float = 5.0  # WHATIF_POLL_S: seconds of the project clock between Task polls
    flush_every: int = 96  # WHATIF_FLUSH_STEPS: steps per result batch and progress Observation
    position: tuple[float, float] = (11.3548, 46.4983)  # WHATIF_POSITION "lon,lat": the engine's Location
    log_level: str = "INFO"  # WHATIF_LOG_LEVEL

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WhatIfSettings:
        defaults = cls()
        position = defaults.position
        if "WHATIF_POSITION" in environ:
            lon, lat = (float(part) for part in environ["WHATIF_POSITION"].split(","))
            position = (lon, lat)
        settings = cls(name=environ.get("WHATIF_NAME", defaults.name),
                       poll_s=float(environ.get("WHATIF_POLL_S", defaults.poll_s)),
                       flush_every=int(environ.get("WHATIF_FLUSH_STEPS", defaults.flush_every)),
                       position=position, log_level=environ.get("WHATIF_LOG_LEVEL", defaults.log_level))
        if settings.poll_s <= 0 or settings.flush_every <= 0:
            raise ValueError("WHATIF_POLL_S and WHATIF_FLUSH_STEPS must be positive")
        return settings
