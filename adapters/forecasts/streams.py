"""The forecast Datastreams, declared once as data (find-or-create by `properties.key` on their Thing).

Units: `unitOfMeasurement.symbol` is a SenML symbol where one exists (W, W/m2, Cel, %); the price's
`EUR/MWh` has none, so its definition is UCUM's `EUR/MW.h` spelled as a project URI. Power forecasts
follow the sites' consumer sign convention (PV generation is negative, as `P_pv`)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StreamSpec:
    key: str
    name: str
    unit_name: str
    unit_symbol: str
    unit_definition: str
    property_name: str
    property_uri: str
    sign_convention: str | None = None


GHI = StreamSpec("ghi", "Global horizontal irradiance forecast", "watt per square metre", "W/m2", "ucum:W/m2",
                 "Global horizontal irradiance", "urn:s4g:op:ghi")
TEMP_AIR = StreamSpec("temp_air", "Air temperature forecast", "degree Celsius", "Cel", "ucum:Cel",
                      "Air temperature", "urn:s4g:op:air-temperature")
CLOUD_COVER = StreamSpec("cloud_cover", "Total cloud cover forecast", "percent", "%", "ucum:%",
                         "Total cloud cover", "urn:s4g:op:cloud-cover")
PRICE = StreamSpec("price", "Day-ahead price", "euro per megawatt hour", "EUR/MWh", "urn:s4g:unit:EUR/MW.h",
                   "Day-ahead market price", "urn:s4g:op:day-ahead-price")
PV_FORECAST = StreamSpec("P_pv_forecast", "PV power forecast", "watt", "W", "ucum:W", "PV power forecast",
                         "urn:s4g:op:pv-power-forecast", sign_convention="consumer")
LOAD_FORECAST = StreamSpec("P_load_forecast", "Load forecast", "watt", "W", "ucum:W", "Load power forecast",
                           "urn:s4g:op:load-power-forecast", sign_convention="consumer")
EV_FORECAST = StreamSpec("evLoadForecast", "EV charging load forecast", "watt", "W", "ucum:W",
                         "EV charging power forecast", "urn:s4g:op:ev-power-forecast", sign_convention="consumer")

WEATHER_STREAMS = {"ghi_w_m2": GHI, "temp_air_c": TEMP_AIR, "cloud_cover_pct": CLOUD_COVER}
