"""Site and radial overviews from the newest values (reads.Latest): the map's colours, the radial table
(D3.1 table 8's "simple overview of radials", "all ESS within normal bounds") when GESSCon publishes no
status of its own. Pure.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gui.professional.reads import Latest
from gui.professional.status import Band, SiteStatus, State, device_state, voltage_band, worst_band, worst_voltage
from gui.professional.topology import Grid

STATUS_KEYS = frozenset({"essStatus", "cpStatus", "status", "erStatus"})


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _voltages(row: Latest) -> list[float]:
    values = row.result if isinstance(row.result, list) else [row.result]
    return [v for v in (_number(value) for value in values) if v is not None]


def site_statuses(rows: Iterable[Latest], now: datetime) -> dict[str, SiteStatus]:
    by_site: dict[str, list[Latest]] = {}
    for row in rows:
        if row.site_id is not None:
            by_site.setdefault(row.site_id, []).append(row)
    statuses = {}
    for site_id, site_rows in by_site.items():
        voltage = worst_voltage(v for row in site_rows if row.multi or row.unit == "V" for v in _voltages(row))
        times = [row.time for row in site_rows if row.time is not None]
        codes = [str(row.result) for row in site_rows if row.key in STATUS_KEYS and row.result is not None]
        power = next((_number(row.result) for row in site_rows if row.key == "P_grid"), None)
        soc = next((_number(row.result) for row in site_rows if row.key == "SoC"), None)
        statuses[site_id] = SiteStatus(site_id, voltage, voltage_band(voltage),
                                       device_state(codes, max(times) if times else None, now),
                                       max(times) if times else None, power, soc)
    return statuses


@dataclass(frozen=True)
class EssSummary:
    thing_id: int
    site_id: str | None
    name: str
    soc_pct: float | None
    power_w: float | None
    within_bounds: bool | None  # SoC within [minSoC_pct, maxSoC_pct]


def ess_summaries(rows: Iterable[Latest]) -> list[EssSummary]:
    """One line per ESS Thing that has a SoC or P_ess stream."""
    by_thing: dict[int, list[Latest]] = {}
    for row in rows:
        if row.thing_properties.get("kind") in ("ess", "grid-ess") and row.key in ("SoC", "P_ess"):
            by_thing.setdefault(row.thing_id, []).append(row)
    out = []
    for thing_id, thing_rows in sorted(by_thing.items()):
        props = thing_rows[0].thing_properties
        soc = next((_number(r.result) for r in thing_rows if r.key == "SoC"), None)
        power = next((_number(r.result) for r in thing_rows if r.key == "P_ess"), None)
        low, high = _number(props.get("minSoC_pct")), _number(props.get("maxSoC_pct"))
        within = None if soc is None else (low is None or soc >= low) and (high is None or soc <= high)
        out.append(EssSummary(thing_id, thing_rows[0].site_id, str(props.get("key") or thing_id), soc, power,
                              within))
    return out


@dataclass(frozen=True)
class RadialRow:
    radial_id: str
    sites: int
    worst_voltage_v: float | None
    band: Band
    faults: int
    stale: int
    ess_count: int
    ess_within_bounds: bool | None
    ess_power_w: float | None


def radial_rows(grid: Grid, statuses: Mapping[str, SiteStatus], ess: Sequence[EssSummary]) -> list[RadialRow]:
    rows = []
    for radial in grid.radials:
        members = [statuses[s] for s in radial.site_ids if s in statuses]
        voltage = worst_voltage(s.voltage_v for s in members if s.voltage_v is not None)
        radial_ess = [e for e in ess if e.site_id in radial.site_ids]
        known = [e.within_bounds for e in radial_ess if e.within_bounds is not None]
        powers = [e.power_w for e in radial_ess if e.power_w is not None]
        rows.append(RadialRow(radial.radial_id, len(radial.site_ids), voltage,
                              worst_band(s.band for s in members),
                              sum(s.state is State.fault for s in members),
                              sum(s.state is State.stale for s in members),
                              len(radial_ess), all(known) if known else None, sum(powers) if powers else None))
    return rows
