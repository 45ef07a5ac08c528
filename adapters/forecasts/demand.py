"""Site demand forecasts for day D: the load of every `site` Thing and the EV charging of every site
with charge points (or an `evForecast` property), from the server's own data.

- Load history: the site's `P_load` Datastream (`properties.key`, on a Thing of the same
  `properties.siteId`), hourly means over the eight days before D through the server's aggregation
  (`$apply=filter(...)/groupby((bucket(phenomenonTime,'PT1H')),aggregate(result with average as avg))`).
  No such Datastream, or no data: the standard profile (load.py).
- EV: distributions from the site Thing's `evForecast` property, else the defaults with one vehicle per
  charge point.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from adapters.forecasts import store, streams
from adapters.forecasts.ev import EvDistributions, EvParameterError, ev_forecast_w
from adapters.forecasts.load import DEFAULT_ANNUAL_KWH, load_forecast_w
from adapters.forecasts.runs import ForecastRun, day_steps
from sta_client.paths import EntityId, entity_path
from sta_client.query import Query, datetime_literal, string_literal

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
HISTORY_DAYS = 8


def demand_runs(sta: store.ForecastServer, day: date, issued_at: datetime, default_zone: str,
                sites: str = "properties/kind eq 'site'"
                ) -> tuple[list[tuple[EntityId, ForecastRun]], list[tuple[EntityId, str]]]:
    """The load and EV runs of the site Things `sites` selects, and the streams to mark stale (with the
    reason)."""
    runs: list[tuple[EntityId, ForecastRun]] = []
    stale: list[tuple[EntityId, str]] = []
    for site in sta.iter("Things", Query().filter(sites).select("id", "properties").top(1000)):
        properties = site.get("properties") or {}
        zone = str(properties.get("timezone") or default_zone)
        steps = day_steps(day, zone, HOUR)
        runs.append(_load_run(sta, site["@iot.id"], properties, steps, zone, issued_at))
        ev = _ev_run(sta, site["@iot.id"], properties, steps, zone, issued_at)
        if isinstance(ev, str):
            stale.append((store.find_or_create_stream(sta, site["@iot.id"], streams.EV_FORECAST), ev))
        elif ev is not None:
            runs.append(ev)
    return runs, stale


def load_history_w(sta: store.ForecastServer, site_id: str | None, until: datetime) -> pd.Series:
    """Hourly mean site load (W) over the `HISTORY_DAYS` days before `until` (empty if unknown)."""
    empty = pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype="float64")
    if not site_id:
        return empty
    query = Query().filter(f"properties/key eq 'P_load' and Thing/properties/siteId eq {string_literal(site_id)}")
    found = sta.page("Datastreams", query.select("id").top(1)).values
    if not found:
        return empty
    since = until - timedelta(days=HISTORY_DAYS)
    apply = (f"filter(phenomenonTime ge {datetime_literal(since)} and phenomenonTime lt {datetime_literal(until)})"
             "/groupby((bucket(phenomenonTime,'PT1H')),aggregate(result with average as avg))")
    rows = sta.page(entity_path("Datastreams", found[0]["@iot.id"], "Observations"), Query().apply(apply)).values
    values = {pd.Timestamp(row["phenomenonTime"]).tz_convert("UTC"): row["avg"] for row in rows
              if row.get("avg") is not None}
    return pd.Series(values, dtype="float64").sort_index() if values else empty


def _load_run(sta: store.ForecastServer, thing: EntityId, properties: dict[str, Any], steps: pd.DatetimeIndex,
              zone: str, issued_at: datetime) -> tuple[EntityId, ForecastRun]:
    history = load_history_w(sta, properties.get("siteId"), min(issued_at, steps[0].to_pydatetime()))
    annual = float(properties.get("annualConsumption_kWh") or DEFAULT_ANNUAL_KWH)
    values = load_forecast_w(history, steps, zone, annual)
    source = "seasonal-naive" if len(history) else "standard-profile"
    stream = store.find_or_create_stream(sta, thing, streams.LOAD_FORECAST)
    return stream, ForecastRun("load", streams.LOAD_FORECAST.key, issued_at, HOUR, values, source=source)


def _ev_run(sta: store.ForecastServer, thing: EntityId, properties: dict[str, Any], steps: pd.DatetimeIndex,
            zone: str, issued_at: datetime) -> tuple[EntityId, ForecastRun] | str | None:
    """The EV run, None for a site without charging, or the reason it cannot be made."""
    chargepoints = _chargepoints(sta, properties.get("siteId"))
    if not chargepoints and "evForecast" not in properties:
        return None
    try:
        distributions = EvDistributions.from_properties(properties)
    except EvParameterError as error:
        return str(error)
    if "vehicles" not in (properties.get("evForecast") or {}):
        distributions = EvDistributions(**{**distributions.__dict__, "vehicles": chargepoints})
    stream = store.find_or_create_stream(sta, thing, streams.EV_FORECAST)
    return stream, ForecastRun("ev", streams.EV_FORECAST.key, issued_at, HOUR,
                               ev_forecast_w(distributions, steps, zone), source="ev-distributions")


def _chargepoints(sta: store.ForecastServer, site_id: Any) -> int:
    if not site_id:
        return 0
    query = (Query().filter(f"properties/kind eq 'chargepoint' and properties/siteId eq {string_literal(str(site_id))}")
             .count().top(0))
    return int(sta.page("Things", query).count or 0)
