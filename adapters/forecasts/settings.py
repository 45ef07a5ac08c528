"""The forecast service's configuration from environment variables (read once, in `__main__`).

- `S4G_FORECAST_WEATHER`: `;`-separated `<key>=<source>`, a source being `open-meteo:<lat>:<lon>`
  (live), `file:<path>` (a recorded Open-Meteo JSON) or `epw:<path>` (an EPW/TMY file);
- `S4G_FORECAST_PRICES`: `;`-separated `<zone EIC>=file:<path>` (an ENTSO-E A44 document);
- `S4G_FORECAST_ZONE` (IANA, default `Europe/Copenhagen`): the weather's day and sites without
  `properties.timezone`;
- `S4G_FORECAST_ISSUE_TIME` (`HH:MM`, default `22:00`, local in that zone);
- `S4G_FORECAST_TIMEOUT_S` (default 10): the live providers' timeout;
- `S4G_FORECAST_SITES`: `,`-separated site ids (`properties.siteId`) served; empty: every PV and site Thing;
- `S4G_FORECAST_ONCE=1`: one round for tomorrow, then exit.
The server is reached with `STA_CLIENT_*` (sta_client.settings) and time is `S4G_CLOCK*` (clock).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time

from adapters.forecasts.jobs import DayAheadConfig
from adapters.forecasts.sources import EntsoeFile, EpwFile, OpenMeteoFile, OpenMeteoHttp, PriceSource, WeatherSource


class SettingsError(ValueError):
    """A configuration that cannot run (named variable and reason)."""


@dataclass(frozen=True)
class ForecastSettings:
    config: DayAheadConfig
    issue_time: time
    once: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ForecastSettings:
        timeout_s = float(environ.get("S4G_FORECAST_TIMEOUT_S", "10"))
        weather = tuple(parse_weather(key, source, timeout_s)
                        for key, source in _pairs(environ, "S4G_FORECAST_WEATHER"))
        prices = tuple(parse_price(key, source) for key, source in _pairs(environ, "S4G_FORECAST_PRICES"))
        zone = environ.get("S4G_FORECAST_ZONE", "Europe/Copenhagen")
        try:
            issue = time.fromisoformat(environ.get("S4G_FORECAST_ISSUE_TIME", "22:00"))
        except ValueError as error:
            raise SettingsError(f"S4G_FORECAST_ISSUE_TIME: {error}") from error
        sites = tuple(filter(None, (part.strip() for part in environ.get("S4G_FORECAST_SITES", "").split(","))))
        return cls(DayAheadConfig(weather, prices, zone, site_ids=sites), issue,
                   environ.get("S4G_FORECAST_ONCE") == "1")


def parse_weather(key: str, source: str, timeout_s: float = 10.0) -> WeatherSource:
    kind, _, rest = source.partition(":")
    if kind == "file":
        return OpenMeteoFile(key, rest)
    if kind == "epw":
        return EpwFile(key, rest)
    if kind == "open-meteo":
        try:
            latitude, longitude = (float(part) for part in rest.split(":"))
        except ValueError as error:
            raise SettingsError(f"S4G_FORECAST_WEATHER {key}: open-meteo:<lat>:<lon>, not {source!r}") from error
        return OpenMeteoHttp(key, latitude, longitude, timeout_s=timeout_s)
    raise SettingsError(f"S4G_FORECAST_WEATHER {key}: unknown source {source!r} (open-meteo:, file:, epw:)")


def parse_price(key: str, source: str) -> PriceSource:
    kind, _, rest = source.partition(":")
    if kind != "file":
        raise SettingsError(f"S4G_FORECAST_PRICES {key}: unknown source {source!r} (file:)")
    return EntsoeFile(key, rest)


def _pairs(environ: Mapping[str, str], name: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, (part.strip() for part in environ.get(name, "").split(";"))):
        key, sep, source = item.partition("=")
        if not sep or not key or not source:
            raise SettingsError(f"{name}: {item!r} is not <key>=<source>")
        pairs.append((key.strip(), source.strip()))
    return pairs
