"""One day-ahead round: every forecast for local day D, issued at one time, read from and written to
the server. The order matters only for PV (it needs the weather): weather → PV → prices → load + EV.

Each product is written as one transaction (`store.write_runs`). A provider that fails, or data that
cannot make a forecast, marks the product's Datastreams stale and keeps their last good run; a PV
Thing whose weather point failed is marked stale too. Nothing is half-written.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from adapters.forecasts import store, streams
from adapters.forecasts.demand import demand_runs
from adapters.forecasts.prices import ZONE_POINTS, PriceDocumentError
from adapters.forecasts.pv import PlaneInputs, PvParameterError, PvParams, prepare_weather
from adapters.forecasts.pv_fleet import pv_fleet_w
from adapters.forecasts.runs import ForecastError, ForecastRun, day_steps
from adapters.forecasts.sources import PriceSource, SourceUnavailable, WeatherSource
from adapters.forecasts.weather import Weather, WeatherDataError
from sta_client.paths import EntityId
from sta_client.query import Query, string_literal

log = logging.getLogger(__name__)

# `pv` Things, and energy routers with a PV array (Bucharest-like: PV, battery and DC bus in one device)
PV_THINGS = "properties/kind eq 'pv' or (properties/kind eq 'energy-router' and properties/peakPower_kWp gt 0)"
SITE_THINGS = "properties/kind eq 'site'"


@dataclass(frozen=True)
class DayAheadConfig:
    weather: Sequence[WeatherSource] = ()
    prices: Sequence[PriceSource] = ()
    zone: str = "Europe/Copenhagen"  # the weather's day window and sites without `properties.timezone`
    max_distance_km: float = 150.0
    site_ids: tuple[str, ...] = ()  # the sites (`properties.siteId`) served; () = every PV and site Thing

    def things(self, kinds: str) -> str:
        """A `$filter` of the Things of `kinds` (a `$filter` expression) of the served sites."""
        if not self.site_ids:
            return kinds
        sites = " or ".join(f"properties/siteId eq {string_literal(site)}" for site in self.site_ids)
        return f"({kinds}) and ({sites})"


@dataclass
class RoundReport:
    day: date
    issued_at: datetime
    written: dict[str, int] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def run_day_ahead(sta: store.ForecastServer, config: DayAheadConfig, day: date, issued_at: datetime) -> RoundReport:
    report = RoundReport(day, issued_at)
    weathers = {source.key: _weather_round(sta, config, source, report) for source in config.weather}
    _pv_round(sta, config, {k: w for k, w in weathers.items() if w is not None}, report)
    for source in config.prices:
        _price_round(sta, source, report)
    runs, stale = demand_runs(sta, day, issued_at, config.zone, config.things(SITE_THINGS))
    _write(sta, "demand", runs, report)
    for stream_id, reason in stale:
        store.mark_stale(sta, stream_id, issued_at, reason)
        report.stale.append(f"Datastream {stream_id}")
    log.info("day-ahead round for %s issued %s: written %s, stale %s, errors %s", day, issued_at,
             report.written, report.stale, report.errors)
    return report


def _weather_round(sta: store.ForecastServer, config: DayAheadConfig, source: WeatherSource,
                   report: RoundReport) -> Weather | None:
    key = f"weather:{source.key}"
    try:
        weather = source.fetch(report.day)
        window = _window(weather.frame.index, day_steps(report.day, config.zone, weather.step), key)
    except (SourceUnavailable, WeatherDataError) as error:
        thing = store.find_or_create_forecast_thing(sta, key, f"Weather {source.key}")
        _stale(sta, thing, list(streams.WEATHER_STREAMS.values()), report, f"{key}: {error}")
        return None
    thing = store.find_or_create_forecast_thing(sta, key, f"Weather {source.key}", weather.latitude, weather.longitude)
    runs = [(store.find_or_create_stream(sta, thing, spec),
             ForecastRun("weather", spec.key, report.issued_at, weather.step, weather.frame.loc[window, column],
                         source=key))
            for column, spec in streams.WEATHER_STREAMS.items() if column in weather.frame]
    if _write(sta, key, runs, report):
        for stream, _ in runs:
            store.mark_fresh(sta, stream, runs[0][1].run_id)
    return weather


def _pv_round(sta: store.ForecastServer, config: DayAheadConfig, weathers: Mapping[str, Weather],
              report: RoundReport) -> None:
    """PV of every `pv` Thing over its own local day D (the zone of its Thing or site), the systems of
    one weather point and zone computed together (`pv_fleet_w`)."""
    planes: dict[tuple[str, str], PlaneInputs | str] = {}
    fleets: dict[tuple[str, str], tuple[PlaneInputs, list[tuple[EntityId, PvParams]]]] = {}
    stale_before: list[EntityId] = []
    zones = site_zones(sta)
    for thing in with_forecast_streams(sta, pv_things(sta, config.things(PV_THINGS))):
        stream = thing["forecast_stream"]
        stale_before += [stream] if thing["stale"] else []
        try:
            params = PvParams.from_properties(thing["properties"])
        except PvParameterError as error:
            report.errors.append(f"pv Thing {thing['id']}: {error}")
            continue
        point = nearest(thing["position"], weathers, config.max_distance_km)
        zone = str(thing["properties"].get("timezone") or zones.get(thing["properties"].get("siteId"), config.zone))
        inputs = _plane(planes, weathers, point, zone, report.day) if point else "no weather point delivered"
        if isinstance(inputs, str):
            store.mark_stale(sta, stream, report.issued_at, inputs)
            report.stale.append(f"pv Thing {thing['id']}: {inputs}")
            continue
        fleets.setdefault((str(point), zone), (inputs, []))[1].append((stream, params))
    runs: list[tuple[EntityId, ForecastRun]] = []
    for (point, _), (plane, members) in fleets.items():
        powers = pv_fleet_w(plane, [params for _, params in members])
        runs += [(stream, ForecastRun("pv", streams.PV_FORECAST.key, report.issued_at, weathers[point].step,
                                      -power_w + 0.0, source=f"weather:{point}"))  # consumer sign: generation < 0
                 for (stream, _), power_w in zip(members, powers, strict=True)]
    if _write(sta, "pv", runs, report):
        for stream in stale_before:
            store.mark_fresh(sta, stream, runs[0][1].run_id if runs else "")


def _plane(planes: dict[tuple[str, str], PlaneInputs | str], weathers: Mapping[str, Weather], point: str, zone: str,
           day: date) -> PlaneInputs | str:
    """The prepared weather of `point` over local day `day` in `zone` (cached), or why there is none."""
    if (point, zone) not in planes:
        weather = weathers[point]
        try:
            window = _window(weather.frame.index, day_steps(day, zone, weather.step), f"weather:{point}")
        except WeatherDataError as error:
            planes[(point, zone)] = str(error)
        else:
            planes[(point, zone)] = prepare_weather(Weather(weather.latitude, weather.longitude, weather.elevation_m,
                                                            weather.step, weather.frame.loc[window]))
    return planes[(point, zone)]


def site_zones(sta: store.ForecastServer) -> dict[str, str]:
    """`properties.siteId` → `properties.timezone` of the site Things that have both."""
    rows = sta.iter("Things", Query().filter("properties/kind eq 'site'").select("properties").top(1000))
    return {str(p["siteId"]): str(p["timezone"]) for p in (row.get("properties") or {} for row in rows)
            if p.get("siteId") and p.get("timezone")}


def _price_round(sta: store.ForecastServer, source: PriceSource, report: RoundReport) -> None:
    key = f"price:{source.key}"
    latitude, longitude = ZONE_POINTS.get(source.key, (None, None))
    thing = store.find_or_create_forecast_thing(sta, key, f"Day-ahead prices {source.key}", latitude, longitude)
    stream = store.find_or_create_stream(sta, thing, streams.PRICE)
    try:
        curve = source.fetch(report.day)
    except (SourceUnavailable, PriceDocumentError) as error:
        _stale(sta, thing, [streams.PRICE], report, f"{key}: {error}")
        return
    run = ForecastRun("price", streams.PRICE.key, report.issued_at, curve.step, curve.prices_eur_mwh, source=key,
                      extra={"zone": curve.zone})
    if _write(sta, key, [(stream, run)], report):
        store.mark_fresh(sta, stream, run.run_id)


def pv_things(sta: store.ForecastServer, which: str = PV_THINGS) -> list[dict[str, Any]]:
    """The PV Things `which` selects, each with its position, properties and P_pv_forecast Datastream id
    (or None)."""
    query = (Query().filter(which).select("id", "properties")
             .expand("Locations", Query().select("location"))
             .expand("Datastreams", Query().filter(f"properties/key eq '{streams.PV_FORECAST.key}'")
                     .select("id", "properties"))
             .top(1000))
    things = []
    for row in sta.iter("Things", query):
        coordinates = next((loc["location"].get("coordinates") for loc in row.get("Locations", [])
                            if isinstance(loc.get("location"), Mapping)), None)
        found = row.get("Datastreams", [])
        things.append({"id": row["@iot.id"], "properties": row.get("properties") or {},
                       "position": (coordinates[1], coordinates[0]) if coordinates else None,
                       "forecast_stream": found[0]["@iot.id"] if found else None,
                       "stale": bool(found and (found[0].get("properties") or {}).get("stale"))})
    return things


def with_forecast_streams(sta: store.ForecastServer, things: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The PV Things, each with its `P_pv_forecast` Datastream (the missing ones created together)."""
    missing = [thing for thing in things if thing["forecast_stream"] is None]
    for thing, stream in zip(missing, store.create_streams(sta, [t["id"] for t in missing], streams.PV_FORECAST),
                             strict=True):
        thing["forecast_stream"] = stream
    return things


def nearest(position: tuple[float, float] | None, weathers: Mapping[str, Weather], max_km: float) -> str | None:
    """The key of the nearest weather point within `max_km` (great-circle distance)."""
    if position is None or not weathers:
        return None
    distances = {key: _km(position, (w.latitude, w.longitude)) for key, w in weathers.items()}
    key = min(distances, key=lambda name: distances[name])
    return key if distances[key] <= max_km else None


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _window(index: pd.DatetimeIndex, steps: pd.DatetimeIndex, key: str) -> pd.DatetimeIndex:
    missing = steps.difference(index)
    if len(missing):
        raise WeatherDataError(f"{key}: the forecast does not cover {len(missing)} steps of the day, from {missing[0]}")
    return steps


def _stale(sta: store.ForecastServer, thing: EntityId, specs: Sequence[streams.StreamSpec], report: RoundReport,
           reason: str) -> None:
    log.warning("forecast source failed, last good run kept and marked stale: %s", reason)
    for spec in specs:
        store.mark_stale(sta, store.find_or_create_stream(sta, thing, spec), report.issued_at, reason)
    report.stale.append(reason)


def _write(sta: store.ForecastServer, product: str, runs: list[tuple[EntityId, ForecastRun]],
           report: RoundReport) -> bool:
    try:
        report.written[product] = store.write_runs(sta, runs)
    except ForecastError as error:
        report.errors.append(f"{product}: {error}")
        log.error("forecast %s not written: %s", product, error)
        return False
    return True
