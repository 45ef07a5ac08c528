"""A fetched time series and its energy: each sample holds until the next one (step function, as the
server's `timeweighted` aggregate), the last one until the end of the period; a sample holds at
most `max_hold_s` (a gap longer than that counts as no energy, not as the last value repeated)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Series:
    """Samples of one Datastream in time order (aware datetimes, finite floats)."""

    times: tuple[datetime, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.times) != len(self.values):
            raise ValueError(f"{len(self.times)} times but {len(self.values)} values")
        if any(later < earlier for earlier, later in zip(self.times, self.times[1:], strict=False)):
            raise ValueError("series times must be in order")

    @classmethod
    def of(cls, samples: Sequence[tuple[datetime, float]]) -> Series:
        ordered = sorted(samples, key=lambda sample: sample[0])
        return cls(tuple(time for time, _ in ordered), tuple(float(value) for _, value in ordered))

    def __len__(self) -> int:
        return len(self.values)


def hold_durations_s(series: Series, end: datetime, max_hold_s: float | None = None) -> list[float]:
    """How long each sample holds: until the next sample (or `end`), at most `max_hold_s`."""
    if not series.times:
        return []
    edges = [*series.times[1:], end]
    durations = [max(0.0, (edge - start).total_seconds()) for start, edge in zip(series.times, edges, strict=True)]
    if max_hold_s is not None:
        durations = [min(duration, max_hold_s) for duration in durations]
    return durations


def split_energy_wh(series: Series, end: datetime, max_hold_s: float | None = None) -> tuple[float, float]:
    """(positive energy, negative energy as a positive number) of a power series in W, in Wh."""
    positive_wh = negative_wh = 0.0
    for value, duration_s in zip(series.values, hold_durations_s(series, end, max_hold_s), strict=True):
        energy_wh = value * duration_s / 3600.0
        if energy_wh >= 0:
            positive_wh += energy_wh
        else:
            negative_wh -= energy_wh
    return positive_wh, negative_wh
