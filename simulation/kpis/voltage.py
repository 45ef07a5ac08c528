"""Voltage band violations against EN 50160: the supply voltage within ±10 % of nominal (230 V, or
1.0 pu for simulated node voltages). EN 50160 asks 95 % of the 10-minute means of a week inside the
band; `en50160_ok` applies that share to the samples given, `violations` counts every sample outside."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

NOMINAL_V = 230.0
TOLERANCE = 0.10
EN50160_SHARE = 0.95


@dataclass(frozen=True)
class VoltageBand:
    samples: int
    below: int  # samples under (1 − tolerance) × nominal
    above: int  # samples over (1 + tolerance) × nominal
    v_min: float | None
    v_max: float | None

    def merged(self, other: VoltageBand) -> VoltageBand:
        """The band of both sample sets together (a study adds one power flow at a time)."""
        lows = [value for value in (self.v_min, other.v_min) if value is not None]
        highs = [value for value in (self.v_max, other.v_max) if value is not None]
        return VoltageBand(self.samples + other.samples, self.below + other.below, self.above + other.above,
                           min(lows, default=None), max(highs, default=None))

    @property
    def violations(self) -> int:
        return self.below + self.above

    @property
    def share_within(self) -> float | None:
        return None if self.samples == 0 else 1.0 - self.violations / self.samples

    @property
    def en50160_ok(self) -> bool | None:
        share = self.share_within
        return None if share is None else share >= EN50160_SHARE


def voltage_band(values: Iterable[float], nominal: float = NOMINAL_V, tolerance: float = TOLERANCE) -> VoltageBand:
    """Counts of samples outside [nominal·(1−tolerance), nominal·(1+tolerance)] (the edges are inside)."""
    low, high = nominal * (1.0 - tolerance), nominal * (1.0 + tolerance)
    samples = below = above = 0
    v_min: float | None = None
    v_max: float | None = None
    for value in values:
        samples += 1
        below += value < low
        above += value > high
        v_min = value if v_min is None else min(v_min, value)
        v_max = value if v_max is None else max(v_max, value)
    return VoltageBand(samples, below, above, v_min, v_max)
