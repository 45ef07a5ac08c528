"""Where a study's added units go: households of the grid (its H0/L/G profile loads on LV buses) get
PV, an EV or a battery for the given share of households. Placements: `uniform` (spread evenly over
the households in bus order), `random` (a seeded draw), `feeder-end` (the electrically farthest
first: most line length from the transformer). Pure: the grid comes in as plain tables."""
from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

HOUSEHOLD_PROFILES = ("H0", "L1", "L2", "G")


@dataclass(frozen=True)
class House:
    load: int  # pandapower load index (its profile is the household's consumption)
    bus: int
    distance_km: float  # line length from the transformer


@dataclass(frozen=True)
class Fleet:
    """The households that get each kind of unit."""

    pv: tuple[House, ...]
    ev: tuple[House, ...]
    ess: tuple[House, ...]


def is_household(profile: str) -> bool:
    return any(profile.startswith(prefix) for prefix in HOUSEHOLD_PROFILES)


def unit_count(households: int, pct: float) -> int:
    """Households given a unit: the share rounded half up (50 % of 7 is 4)."""
    return min(households, math.floor(households * pct / 100.0 + 0.5))


def choose(houses: Sequence[House], count: int, placement: str, seed: int) -> tuple[House, ...]:
    if count <= 0:
        return ()
    ordered = sorted(houses, key=lambda house: (house.bus, house.load))
    if placement == "random":
        return tuple(sorted(random.Random(seed).sample(ordered, count), key=lambda house: house.load))
    if placement == "feeder-end":
        farthest = sorted(ordered, key=lambda house: (-house.distance_km, house.load))
        return tuple(farthest[:count])
    if placement == "uniform":
        return tuple(ordered[math.floor(i * len(ordered) / count)] for i in range(count))
    raise ValueError(f"unknown placement {placement!r}")


def place_fleet(houses: Sequence[House], pv_pct: float, ev_pct: float, ess_pct: float, placement: str,
                seed: int = 0) -> Fleet:
    """Each kind placed on its own; batteries go where PV goes first when both follow the same rule."""
    total = len(houses)
    return Fleet(pv=choose(houses, unit_count(total, pv_pct), placement, seed),
                 ev=choose(houses, unit_count(total, ev_pct), placement, seed + 1),
                 ess=choose(houses, unit_count(total, ess_pct), placement, seed))


def households(load_bus: Mapping[int, int], load_profile: Mapping[int, str], lv_buses: Sequence[int],
               bus_distance_km: Mapping[int, float]) -> list[House]:
    """The grid's household loads on LV buses."""
    lv = set(lv_buses)
    return [House(load, bus, bus_distance_km.get(bus, 0.0)) for load, bus in sorted(load_bus.items())
            if bus in lv and is_household(load_profile.get(load, ""))]
