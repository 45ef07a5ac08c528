"""Reading one radial from the server through sta_client (the only I/O of the inputs; plain data out).

- Sites: Things with `properties.kind = site` and `properties.radialId = <radial>`.
- ESS: Things with `properties.kind` `ess` or `grid-ess` whose `siteId` is one of those sites, with their
  `SoC` and `setpointAccepted` Datastreams and their `ess_schedule` TaskingCapability (`properties.key`).
- Forecasts (adapters/forecasts): `P_load_forecast` on the site Thing, `P_pv_forecast` on each `pv` Thing of
  the site, `price` on the forecast Thing `properties.key = <price key>`; per step the newest run issued at
  or before now. The last measured day (for persistence): hourly means of `P_load` / `P_pv`.
- The radial Thing (`kind = radial`, `radialId`), if any: transformer limits.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from controllers.gesscon.radial_data import DAY, EssThing, Points, RadialData, SiteData
from controllers.gesscon.snapshot import SocReading
from sta_client.paths import EntityId, entity_path
from sta_client.query import Query, datetime_literal, string_literal

log = logging.getLogger(__name__)
ESS_KINDS = ("ess", "grid-ess")
PAGE = 10_000


class Reader(Protocol):
    def iter(self, path: str, query: Query | None = None) -> Iterable[dict[str, Any]]: ...


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _streams(thing: Mapping[str, Any]) -> dict[str, EntityId]:
    return {str((d.get("properties") or {}).get("key")): d["@iot.id"] for d in thing.get("Datastreams", [])}


def _things(sta: Reader, condition: str) -> list[dict[str, Any]]:
    query = (Query().filter(condition).select("id", "properties").top(1000)
             .expand("Datastreams", Query().select("id", "properties").top(1000))
             .expand("TaskingCapabilities", Query().select("id", "properties").top(100)))
    return list(sta.iter("Things", query))


def ess_things(sta: Reader, site_ids: Sequence[str]) -> list[EssThing]:
    kinds = " or ".join(f"properties/kind eq {string_literal(k)}" for k in ESS_KINDS)
    found = []
    for thing in _things(sta, kinds):
        properties = thing.get("properties") or {}
        site = str(properties.get("siteId"))
        if site not in site_ids:
            continue
        streams = _streams(thing)
        capability = next((c for c in thing.get("TaskingCapabilities", [])
                           if (c.get("properties") or {}).get("key") == "ess_schedule"), None)
        resolution = int((capability or {}).get("properties", {}).get("resolution_s") or 60)
        found.append(EssThing(f"{site}/{properties.get('key', thing['@iot.id'])}", site, thing["@iot.id"],
                              properties, capability["@iot.id"] if capability else None, resolution,
                              streams.get("SoC"), streams.get("setpointAccepted")))
    return sorted(found, key=lambda e: e.key)


def latest(sta: Reader, stream: EntityId | None) -> tuple[datetime, Any] | None:
    if stream is None:
        return None
    query = Query().orderby("phenomenonTime desc").top(1).select("phenomenonTime", "result")
    for row in sta.iter(entity_path("Datastreams", stream, "Observations"), query):
        return parse_time(str(row["phenomenonTime"]).split("/")[0]), row["result"]
    return None


def soc_reading(sta: Reader, stream: EntityId | None, now: datetime) -> SocReading | None:
    found = latest(sta, stream)
    if found is None or not isinstance(found[1], int | float):
        return None
    return SocReading(float(found[1]), max((now - found[0]).total_seconds(), 0.0))


def forecast(sta: Reader, stream: EntityId | None, start: datetime, end: datetime, now: datetime,
             hold_s: int) -> Points | None:
    """Per phenomenonTime in [start − hold, end) the value of the newest run issued at or before now."""
    if stream is None:
        return None
    query = (Query().filter(f"phenomenonTime ge {datetime_literal(start - timedelta(seconds=hold_s))} and "
                            f"phenomenonTime lt {datetime_literal(end)} and resultTime le {datetime_literal(now)}")
             .orderby("resultTime asc", "phenomenonTime asc").select("phenomenonTime", "result").top(PAGE))
    values: dict[datetime, float] = {}
    for row in sta.iter(entity_path("Datastreams", stream, "Observations"), query):
        if isinstance(row["result"], int | float):
            values[parse_time(str(row["phenomenonTime"]).split("/")[0])] = float(row["result"])
    return sorted(values.items()) or None


def hourly_means(sta: Reader, stream: EntityId | None, start: datetime, end: datetime) -> Points | None:
    if stream is None:
        return None
    apply = (f"filter(phenomenonTime ge {datetime_literal(start)} and phenomenonTime lt {datetime_literal(end)})"
             "/groupby((bucket(phenomenonTime,'PT1H')),aggregate(result with average as avg))")
    rows = sta.iter(entity_path("Datastreams", stream, "Observations"), Query().apply(apply))
    return sorted((parse_time(str(r["phenomenonTime"])), float(r["avg"])) for r in rows
                  if r.get("avg") is not None) or None


def _summed(series: Sequence[Points | None]) -> Points | None:
    if not series or any(s is None for s in series):
        return None
    keys = set.intersection(*(set(t for t, _ in s or ()) for s in series))
    return sorted((t, sum(dict(s or ())[t] for s in series)) for t in keys) or None


def site_data(sta: Reader, site: Mapping[str, Any], start: datetime, end: datetime, now: datetime,
              hold_s: int) -> SiteData:
    properties = site.get("properties") or {}
    site_id = str(properties.get("siteId"))
    on_site = _streams(site)
    extra = _things(sta, f"properties/kind eq 'pv' and properties/siteId eq {string_literal(site_id)}")
    pv_streams = [_streams(t) for t in extra]
    return SiteData(site_id, properties,
                    load_forecast=forecast(sta, on_site.get("P_load_forecast"), start, end, now, hold_s),
                    pv_forecast=_summed([forecast(sta, s.get("P_pv_forecast"), start, end, now, hold_s)
                                         for s in pv_streams]),
                    load_last_day=hourly_means(sta, on_site.get("P_load"), start - DAY, start),
                    pv_last_day=_summed([hourly_means(sta, s.get("P_pv"), start - DAY, start) for s in pv_streams]),
                    has_pv=bool(pv_streams))


def read_radial(sta: Reader, radial_id: str, start: datetime, now: datetime, *, hold_s: int = 3600,
                price_key: str | None = None, horizon: timedelta = DAY) -> RadialData:
    """Everything the plan of `radial_id` from `start` needs, as the server holds it at `now`."""
    radial = string_literal(radial_id)
    end = start + horizon
    sites = _things(sta, f"properties/kind eq 'site' and properties/radialId eq {radial}")
    site_list = tuple(site_data(sta, s, start, end, now, hold_s) for s in sites)
    batteries = tuple(ess_things(sta, [s.site_id for s in site_list]))
    socs = {e.key: r for e in batteries if (r := soc_reading(sta, e.soc_stream, now)) is not None}
    price = None
    if price_key:
        things = _things(sta, f"properties/kind eq 'forecast' and properties/key eq {string_literal(price_key)}")
        stream = _streams(things[0]).get("price") if things else None
        price = forecast(sta, stream, start, end, now, hold_s)
    radial_things = _things(sta, f"properties/kind eq 'radial' and properties/radialId eq {radial}")
    log.debug("radial %s: %d sites, %d ESS", radial_id, len(site_list), len(batteries))
    return RadialData(radial_id, tuple(sorted(site_list, key=lambda s: s.site_id)), batteries, socs, price,
                      (radial_things[0].get("properties") or {}) if radial_things else {})
