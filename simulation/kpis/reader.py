"""The thin reader: a site's series out of the server through sta_client. Datastreams are found by
`properties.siteId` and `properties.key` (as the site files commission them); phase voltages may be a
MultiDatastream (every phase sample counts); contract limits come from the site's Thing properties."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simulation.kpis.series import Series
from simulation.kpis.site import SiteKpis, SiteSeries, site_kpis
from sta_client import EntityId, Query, StaClient, datetime_literal, literal

log = logging.getLogger(__name__)
PAGE = 10000


class MissingSeries(LookupError):
    """A series the KPIs need is not on the server."""


@dataclass(frozen=True)
class SiteKeys:
    """Datastream keys of the series a site's KPIs read (the site files' names by default)."""

    p_grid: str = "P_grid"
    p_load: str = "P_load"
    p_pv: str = "P_pv"
    p_pv_forecast: str = "P_pv_forecast"
    voltage: str = "V_grid"


def parse_time(value: str) -> datetime:
    """An ISO time, or the start of an ISO interval `start/end`."""
    return datetime.fromisoformat(value.split("/", maxsplit=1)[0].replace("Z", "+00:00"))


def find_stream(sta: StaClient, site_id: str, key: str, entity_set: str = "Datastreams") -> EntityId | None:
    query = Query().filter(f"properties/siteId eq {literal(site_id)} and properties/key eq {literal(key)}")
    rows = sta.page(entity_set, query.select("id").top(2)).values
    if len(rows) > 1:
        log.warning("%d %s of site %s have key %s: the first is read", len(rows), entity_set, site_id, key)
    return rows[0]["@iot.id"] if rows else None


def read_samples(sta: StaClient, path: str, start: datetime, end: datetime) -> list[tuple[datetime, Any]]:
    """(phenomenonTime start, result) of a stream's Observations in [start, end), in time order."""
    period = f"phenomenonTime ge {datetime_literal(start)} and phenomenonTime lt {datetime_literal(end)}"
    query = (Query().filter(period)
             .orderby("phenomenonTime").select("phenomenonTime", "result").top(PAGE))
    return [(parse_time(row["phenomenonTime"]), row["result"]) for row in sta.iter(f"{path}/Observations", query)]


def numeric_series(samples: list[tuple[datetime, Any]]) -> Series:
    """Numbers only: results that are not finite numbers are left out (and logged)."""
    kept = [(time, float(value)) for time, value in samples
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)]
    if len(kept) < len(samples):
        log.warning("%d non-numeric results left out", len(samples) - len(kept))
    return Series.of(kept)


def read_stream(sta: StaClient, site_id: str, key: str, start: datetime, end: datetime) -> Series | None:
    stream = find_stream(sta, site_id, key)
    return None if stream is None else numeric_series(read_samples(sta, f"Datastreams({stream})", start, end))


def read_voltages(sta: StaClient, site_id: str, key: str, start: datetime,
                  end: datetime) -> tuple[Series | None, tuple[float, ...]]:
    """Voltage samples of a Datastream or of every phase of a MultiDatastream."""
    single = read_stream(sta, site_id, key, start, end)
    if single is not None:
        return single, single.values
    multi = find_stream(sta, site_id, key, "MultiDatastreams")
    if multi is None:
        return None, ()
    samples = read_samples(sta, f"MultiDatastreams({multi})", start, end)
    phases = [float(value) for _, result in samples if isinstance(result, list) for value in result
              if isinstance(value, int | float) and not isinstance(value, bool)]
    return Series.of([(time, 0.0) for time, _ in samples]), tuple(phases)


def read_contract(sta: StaClient, site_id: str) -> tuple[float | None, float | None]:
    query = Query().filter(f"properties/siteId eq {literal(site_id)} and properties/kind eq 'site'").top(1)
    rows = sta.page("Things", query.select("properties")).values
    properties: dict[str, Any] = (rows[0].get("properties") or {}) if rows else {}
    limit_in, limit_out = properties.get("contractLimitIn_W"), properties.get("contractLimitOut_W")
    return (float(limit_in) if isinstance(limit_in, int | float) else None,
            float(limit_out) if isinstance(limit_out, int | float) else None)


def read_site_series(sta: StaClient, site_id: str, start: datetime, end: datetime,
                     keys: SiteKeys = SiteKeys()) -> SiteSeries:
    p_grid = read_stream(sta, site_id, keys.p_grid, start, end)
    p_load = read_stream(sta, site_id, keys.p_load, start, end)
    if p_grid is None or p_load is None:
        raise MissingSeries(f"site {site_id} has no {keys.p_grid if p_grid is None else keys.p_load} Datastream")
    p_pv = read_stream(sta, site_id, keys.p_pv, start, end)
    forecast = read_stream(sta, site_id, keys.p_pv_forecast, start, end)
    voltage_times, voltages = read_voltages(sta, site_id, keys.voltage, start, end)
    contract_in, contract_out = read_contract(sta, site_id)
    found = {keys.p_grid: p_grid, keys.p_load: p_load, keys.p_pv: p_pv, keys.voltage: voltage_times}
    return SiteSeries(p_grid=p_grid, p_load=p_load, p_pv=p_pv, p_pv_forecast=forecast, voltages=voltages,
                      contract_in_w=contract_in, contract_out_w=contract_out,
                      all_series={key: series for key, series in found.items() if series is not None})


def read_site_kpis(sta: StaClient, site_id: str, start: datetime, end: datetime, sample_period_s: float,
                   keys: SiteKeys = SiteKeys()) -> SiteKpis:
    """The KPIs of a site over [start, end); a sample holds at most three sample periods."""
    series = read_site_series(sta, site_id, start, end, keys)
    return site_kpis(series, start, end, sample_period_s, max_hold_s=3 * sample_period_s)
