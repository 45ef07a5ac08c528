"""Where weather and prices come from: thin I/O in front of the pure parsers.

A provider that cannot answer (timeout, connection refused, HTTP error, unreadable file) raises
`SourceUnavailable`; the day-ahead round then keeps the last good forecast and marks it stale.
Recorded files (`OpenMeteoFile`, `EpwFile`, `EntsoeFile`) serve tests and offline demos;
`OpenMeteoHttp` is the live provider (never used by the tests, which point it at 127.0.0.1).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

import httpx

from adapters.forecasts.prices import PriceCurve, parse_entsoe_prices
from adapters.forecasts.weather import Weather, parse_open_meteo, read_epw_weather

log = logging.getLogger(__name__)

OPEN_METEO_URL = "https://api.open-meteo.com/v1/forecast"
OPEN_METEO_HOURLY = "shortwave_radiation,cloud_cover,temperature_2m"


class SourceUnavailable(Exception):
    """The provider did not deliver (the stale path), as opposed to delivering bad data."""


class WeatherSource(Protocol):
    @property
    def key(self) -> str:
        """The weather point's name (the forecast Thing is `weather:<key>`)."""
        ...

    def fetch(self, day: date) -> Weather:
        """A forecast covering `day` (and usually more)."""
        ...


class PriceSource(Protocol):
    @property
    def key(self) -> str:
        """The bidding zone's EIC code (the forecast Thing is `price:<key>`)."""
        ...

    def fetch(self, day: date) -> PriceCurve:
        ...


@dataclass(frozen=True)
class OpenMeteoFile:
    key: str
    path: str

    def fetch(self, day: date) -> Weather:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return parse_open_meteo(json.load(handle))
        except (OSError, json.JSONDecodeError) as error:
            raise SourceUnavailable(f"{self.path}: {error}") from error


@dataclass(frozen=True)
class EpwFile:
    key: str
    path: str

    def fetch(self, day: date) -> Weather:
        try:
            return read_epw_weather(self.path, year=day.year)
        except OSError as error:
            raise SourceUnavailable(f"{self.path}: {error}") from error


@dataclass(frozen=True)
class OpenMeteoHttp:
    """Open-Meteo's forecast API (hourly GHI, cloud cover, temperature, UTC times)."""

    key: str
    latitude: float
    longitude: float
    url: str = OPEN_METEO_URL
    timeout_s: float = 10.0

    def fetch(self, day: date) -> Weather:
        params = {"latitude": str(self.latitude), "longitude": str(self.longitude), "hourly": OPEN_METEO_HOURLY,
                  "timezone": "GMT", "start_date": (day - timedelta(days=1)).isoformat(),
                  "end_date": (day + timedelta(days=1)).isoformat()}
        try:
            response = httpx.get(self.url, params=params, timeout=self.timeout_s)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, json.JSONDecodeError) as error:
            raise SourceUnavailable(f"Open-Meteo {self.key}: {type(error).__name__}: {error}") from error
        return parse_open_meteo(document)


@dataclass(frozen=True)
class EntsoeFile:
    key: str
    path: str

    def fetch(self, day: date) -> PriceCurve:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return parse_entsoe_prices(handle.read())
        except OSError as error:
            raise SourceUnavailable(f"{self.path}: {error}") from error
