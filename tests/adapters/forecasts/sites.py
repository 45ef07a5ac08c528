"""Small builders of the demo site kinds on the server (what helper B's commissioning would create,
reduced to what the forecasts read): a site Thing, PV Things with their Location, charge points."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.forecasts.sources import EntsoeFile, OpenMeteoFile
from sta_client.http import StaClient
from tests.adapters.forecasts.conftest import fixture_path


@dataclass(frozen=True)
class SiteKind:
    name: str
    zone: str
    latitude: float
    longitude: float
    pv_kwp: tuple[float, ...]
    chargepoints: int = 0
    properties: dict[str, Any] = field(default_factory=dict)


SITE_KINDS = (
    SiteKind("fur-house", "Europe/Copenhagen", 56.8312, 8.9871, (5.0,), properties={"annualConsumption_kWh": 4500}),
    SiteKind("bolzano-residential", "Europe/Rome", 46.49, 11.34, (10.0,), chargepoints=1),
    SiteKind("bolzano-commercial", "Europe/Rome", 46.50, 11.36, (50.0, 99.0), chargepoints=5,
             properties={"evForecast": {"vehicles": 22, "charger_kw": 7.0, "energy_kwh": 9.35}}),
    SiteKind("bucharest-prosumer", "Europe/Bucharest", 44.43, 26.10, (3.0,)),
)

JUNE_WEATHER = (OpenMeteoFile("fur", str(fixture_path("open_meteo_fur_2026-06-20.json"))),
                OpenMeteoFile("bolzano", str(fixture_path("open_meteo_bolzano_2026-06-20.json"))),
                OpenMeteoFile("bucharest", str(fixture_path("open_meteo_bucharest_2026-06-20.json"))))
JUNE_PRICES = (EntsoeFile("10YDK-1--------W", str(fixture_path("prices_dk1_2026-06-21_pt15m_a03.xml"))),
               EntsoeFile("10Y1001A1001A73I", str(fixture_path("prices_itnorth_2026-06-21_pt60m.xml"))),
               EntsoeFile("10YRO-TEL------P", str(fixture_path("prices_ro_2026-06-21_pt60m.xml"))))


@dataclass
class BuiltSite:
    kind: SiteKind
    site_id: str
    thing: int | str
    pv_things: list[int | str]


def build_site(sta: StaClient, kind: SiteKind) -> BuiltSite:
    site_id = f"{kind.name}-{uuid.uuid4().hex[:6]}"
    location = {"name": site_id, "description": "site", "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [kind.longitude, kind.latitude]}}
    site = sta.create("Things", {"name": site_id, "description": kind.name, "Locations": [location],
                                 "properties": {"kind": "site", "siteId": site_id, "timezone": kind.zone,
                                                **kind.properties}})
    pvs = [sta.create("Things", {"name": f"{site_id} PV {i}", "description": "PV",
                                 "Locations": [{**location, "name": f"{site_id} PV {i}"}],
                                 "properties": {"kind": "pv", "siteId": site_id, "deviceId": f"pv{i}",
                                                "peakPower_kWp": kwp, "tilt_deg": 35, "azimuth_deg": 180,
                                                "losses_pct": 14}})
           for i, kwp in enumerate(kind.pv_kwp)]
    for i in range(kind.chargepoints):
        sta.create("Things", {"name": f"{site_id} CP {i}", "description": "charge point",
                              "properties": {"kind": "chargepoint", "siteId": site_id, "deviceId": f"cp{i}"}})
    return BuiltSite(kind, site_id, site, pvs)


def add_load_history(sta: StaClient, site: BuiltSite, end: datetime, days: int = 8) -> int | str:
    """A `P_load` Datastream on the site Thing with `days` of 15-minute load ending at `end`: 400 W at
    night, 1,200 W from 17:00 to 21:00 UTC, so the seasonal-naive forecast is recognisable."""
    stream = sta.create("Datastreams", {
        "name": "House consumption", "description": "load", "observationType":
            "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        "unitOfMeasurement": {"name": "watt", "symbol": "W", "definition": "ucum:W"},
        "properties": {"key": "P_load"}, "Thing": {"@iot.id": site.thing},
        "Sensor": {"name": "meter", "description": "meter", "encodingType": "text/html", "metadata": "x"},
        "ObservedProperty": {"name": "load", "definition": "urn:s4g:op:load-power", "description": "load"}})
    start = end - timedelta(days=days)
    rows = []
    moment = start
    while moment < end:
        value = 1200.0 if 17 <= moment.hour < 21 else 400.0
        rows.append([moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), value])
        moment += timedelta(minutes=15)
    sta.create_observations(stream, ["phenomenonTime", "result"], rows)
    return stream
