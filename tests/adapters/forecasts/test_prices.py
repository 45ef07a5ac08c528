"""ENTSO-E A44 parsing (pure): PT15M with A03 gaps, PT60M, a 25-hour DST day; refused: another
currency, another resolution, another document type, a curve with holes, a document without points."""
from __future__ import annotations

import re
from datetime import timedelta

import pandas as pd
import pytest

from adapters.forecasts.prices import PriceDocumentError, parse_entsoe_prices
from tests.adapters.forecasts.conftest import fixture_path


def _xml(name: str) -> str:
    return fixture_path(name).read_text()


def _points(xml: str) -> dict[int, float]:
    return {int(p): float(v) for p, v in re.findall(r"<position>(\d+)</position><price.amount>([\d.-]+)<", xml)}


def test_pt15m_a03_fills_left_out_positions_with_the_previous_price() -> None:
    xml = _xml("prices_dk1_2026-06-21_pt15m_a03.xml")
    points = _points(xml)
    assert len(points) < 96  # the fixture leaves positions out
    curve = parse_entsoe_prices(xml)
    assert curve.step == timedelta(minutes=15) and len(curve.prices_eur_mwh) == 96
    assert curve.prices_eur_mwh.index[0] == pd.Timestamp("2026-06-20T22:00Z")
    assert curve.zone == "10YDK-1--------W"
    last = None
    for position in range(1, 97):
        last = points.get(position, last)
        assert curve.prices_eur_mwh.iloc[position - 1] == last


def test_pt60m_gives_24_hourly_prices_equal_to_the_document() -> None:
    xml = _xml("prices_itnorth_2026-06-21_pt60m.xml")
    curve = parse_entsoe_prices(xml)
    assert curve.step == timedelta(hours=1)
    assert curve.prices_eur_mwh.tolist() == [v for _, v in sorted(_points(xml).items())]


def test_the_autumn_dst_day_has_25_hours() -> None:
    curve = parse_entsoe_prices(_xml("prices_ro_2026-10-25_pt60m_dst.xml"))
    assert len(curve.prices_eur_mwh) == 25


def test_another_currency_is_refused() -> None:
    with pytest.raises(PriceDocumentError, match="RON"):
        parse_entsoe_prices(_xml("prices_ro_2026-06-21_ron.xml"))


def test_another_resolution_is_refused() -> None:
    with pytest.raises(PriceDocumentError, match="30min"):
        parse_entsoe_prices(_xml("prices_dk1_2026-06-21_pt30m.xml"))


def test_another_document_type_is_refused() -> None:
    xml = _xml("prices_itnorth_2026-06-21_pt60m.xml").replace("<type>A44</type>", "<type>A65</type>")
    with pytest.raises(PriceDocumentError, match="A65"):
        parse_entsoe_prices(xml)


def test_a_unit_other_than_mwh_is_refused() -> None:
    unit = "<price_Measure_Unit.name>"
    xml = _xml("prices_itnorth_2026-06-21_pt60m.xml").replace(f"{unit}MWH", f"{unit}KWH")
    with pytest.raises(PriceDocumentError, match="KWH"):
        parse_entsoe_prices(xml)


def test_an_a01_curve_with_a_missing_position_is_refused() -> None:
    xml = _xml("prices_itnorth_2026-06-21_pt60m.xml")
    xml = re.sub(r"\s*<Point><position>7</position>.*?</Point>", "", xml)
    with pytest.raises(PriceDocumentError, match="missing"):
        parse_entsoe_prices(xml)


def test_a_document_without_points_is_refused() -> None:
    xml = re.sub(r"\s*<Point>.*?</Point>", "", _xml("prices_itnorth_2026-06-21_pt60m.xml"))
    with pytest.raises(PriceDocumentError):
        parse_entsoe_prices(xml)


def test_not_xml_is_refused() -> None:
    with pytest.raises(PriceDocumentError, match="not XML"):
        parse_entsoe_prices("{\"prices\": []}")
