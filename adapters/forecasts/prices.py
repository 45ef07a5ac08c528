"""Day-ahead prices from ENTSO-E Publication_MarketDocument XML (A44), parsed by entsoe-py.

`entsoe.parsers.parse_prices` reads every TimeSeries/Period and, for curve type A03 ("variable
sized block"), fills a missing Position with the previous Position's price, as the ENTSO-E
curve-type guide says. On top of it this module:
- checks the document type (A44), the currency (`currency_Unit.name` EUR) and the price unit
  (`price_Measure_Unit.name` MWH): anything else is a `PriceDocumentError` (no conversion is guessed);
- returns one resolution (15 or 60 minutes; a document in another resolution, 30 min included,
  is an error) as a UTC-indexed EUR/MWh series;
- refuses a curve that still has holes (A01 with a missing Position) or no points at all.
"""
from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pandas as pd

SUPPORTED_RESOLUTIONS = {"15min": timedelta(minutes=15), "60min": timedelta(hours=1)}
EXPECTED_CURRENCY = "EUR"
EXPECTED_UNIT = "MWH"
# a representative point (lat, lon) per bidding zone: the price Thing's Location, from which the
# server derives the Observations' FeatureOfInterest; other zones need a position configured
ZONE_POINTS: dict[str, tuple[float, float]] = {
    "10YDK-1--------W": (56.0, 9.3),  # DK1
    "10YDK-2--------M": (55.5, 11.8),  # DK2
    "10Y1001A1001A73I": (45.6, 10.5),  # IT-North
    "10YRO-TEL------P": (45.9, 24.9),  # RO
    "10Y1001A1001A82H": (51.0, 10.4),  # DE-LU
    "10YAT-APG------L": (47.6, 14.1),  # AT
}


class PriceDocumentError(ValueError):
    """An ENTSO-E document that does not give a complete EUR/MWh price curve."""


@dataclass(frozen=True)
class PriceCurve:
    """Prices (EUR/MWh) per step starting at the index (UTC), for one bidding zone."""

    zone: str
    step: timedelta
    prices_eur_mwh: pd.Series


def parse_entsoe_prices(xml_text: str) -> PriceCurve:
    """The price curve of an A44 document (see module doc for what is refused)."""
    zone = _check_header(xml_text)
    from entsoe import parsers

    parse: Callable[[str], dict[str, pd.Series | None]] = parsers.parse_prices
    with warnings.catch_warnings():  # entsoe-py reads the XML with bs4's HTML parser, on purpose
        warnings.filterwarnings("ignore", message=".*XML.*")
        by_resolution = parse(xml_text)
    present = {name: series for name, series in by_resolution.items() if series is not None and len(series) > 0}
    unsupported = set(present) - set(SUPPORTED_RESOLUTIONS)
    if unsupported:
        raise PriceDocumentError(f"price resolution {sorted(unsupported)} (15 or 60 minutes are supported)")
    if not present:
        raise PriceDocumentError("price document without any point")
    if len(present) > 1:
        raise PriceDocumentError(f"price document mixing resolutions {sorted(present)}")
    name, series = next(iter(present.items()))
    step = SUPPORTED_RESOLUTIONS[name]
    series = series[~series.index.duplicated(keep="last")].sort_index().astype("float64")
    series.index = pd.DatetimeIndex(series.index).tz_convert("UTC")
    grid = pd.date_range(series.index[0], series.index[-1], freq=step)
    if len(grid) != len(series) or series.isna().any():
        raise PriceDocumentError(f"price curve with {len(grid) - int(series.notna().sum())} missing steps")
    return PriceCurve(zone, step, series.rename("price_eur_mwh"))


def _check_header(xml_text: str) -> str:
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as error:
        raise PriceDocumentError(f"not XML: {error}") from error
    values = {_local(element.tag): (element.text or "").strip() for element in root.iter()}
    if values.get("type") != "A44":
        raise PriceDocumentError(f"document type {values.get('type')!r} is not A44 (day-ahead prices)")
    currency, unit = values.get("currency_Unit.name"), values.get("price_Measure_Unit.name")
    if currency != EXPECTED_CURRENCY or unit != EXPECTED_UNIT:
        raise PriceDocumentError(f"prices in {currency}/{unit}, expected {EXPECTED_CURRENCY}/{EXPECTED_UNIT}")
    currencies = {(e.text or "").strip() for e in root.iter() if _local(e.tag) == "currency_Unit.name"}
    if currencies != {EXPECTED_CURRENCY}:
        raise PriceDocumentError(f"prices in currencies {sorted(currencies)}, expected {EXPECTED_CURRENCY}")
    return values.get("in_Domain.mRID", values.get("out_Domain.mRID", ""))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
