"""The day-ahead round on the real server: every demo site kind has its forecasts for day D before
the planning time (stepped clock), PV within the stated band of the simulated actual, the price curve
equal to the XML's, re-runs that duplicate nothing, and failing providers leaving stale flags."""
from __future__ import annotations

import asyncio
import time as wall
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import pytest

from adapters.forecasts import store, streams
from adapters.forecasts.jobs import DayAheadConfig, RoundReport, run_day_ahead
from adapters.forecasts.prices import parse_entsoe_prices
from adapters.forecasts.runs import day_steps
from adapters.forecasts.schedule import run_on_clock
from adapters.forecasts.sources import EntsoeFile, OpenMeteoFile
from clock import SteppedClock
from sta_client.http import StaClient
from sta_client.query import Query
from tests.adapters.forecasts.conftest import fixture_path
from tests.adapters.forecasts.sites import (
    JUNE_PRICES,
    JUNE_WEATHER,
    SITE_KINDS,
    BuiltSite,
    add_load_history,
    build_site,
)

Round = tuple[list[BuiltSite], list[RoundReport]]
DAY = date(2026, 6, 21)
PLANNING = datetime(2026, 6, 20, 21, 0, tzinfo=UTC)  # GESSCon plans day D at 23:00 CEST of D-1
THIRTY_MINUTES = "prices_dk1_2026-06-21_pt30m.xml"
PV_BAND = 0.05  # forecast energy on the clear-sky day within ±5 % of the simulated actual


def _stream(sta: StaClient, thing: int | str, key: str) -> int | str:
    found = sta.page(f"Things({thing})/Datastreams", Query().filter(f"properties/key eq '{key}'").select("id")).values
    assert found, f"no {key} Datastream on Thing {thing}"
    return found[0]["@iot.id"]


def _ids(sites: list[BuiltSite]) -> tuple[str, ...]:
    """The round serves these tests' sites only (other tests share the server)."""
    return tuple(site.site_id for site in sites)


def _count(sta: StaClient, stream: int | str) -> int:
    return int(sta.page(f"Datastreams({stream})/Observations", Query().count().top(0)).count or 0)


async def _wait_for(condition: object, timeout_s: float, what: str) -> None:
    deadline = wall.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if wall.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
def june_round(sta_process: object) -> tuple[list[BuiltSite], list[RoundReport]]:
    """The four demo site kinds, a week of Fur load history, and the scheduler on a stepped clock
    advanced from the afternoon of D-1 to the planning time."""
    from tests.client.conftest import RunningServer

    assert isinstance(sta_process, RunningServer)
    with StaClient(sta_process.settings()) as sta:
        sites = [build_site(sta, kind) for kind in SITE_KINDS]
        add_load_history(sta, sites[0], end=datetime(2026, 6, 20, 12, tzinfo=UTC))
        config = DayAheadConfig(weather=JUNE_WEATHER, prices=JUNE_PRICES, zone="Europe/Copenhagen",
                                site_ids=_ids(sites))
        reports: list[RoundReport] = []

        async def scenario() -> None:
            clock = SteppedClock(datetime(2026, 6, 20, 12, tzinfo=UTC))
            task = asyncio.create_task(run_on_clock(clock, lambda d, t: run_day_ahead(sta, config, d, t),
                                                    "Europe/Copenhagen", time(22, 0), on_report=reports.append))
            await clock.advance_to(PLANNING - timedelta(hours=1))
            await _wait_for(lambda: len(reports) == 1, 120, "the day-ahead round")
            await clock.advance_to(PLANNING)
            task.cancel()

        asyncio.run(scenario())
    return sites, reports


def test_the_round_ran_once_for_day_d_at_the_issue_time(june_round: Round) -> None:
    _, reports = june_round
    assert [(r.day, r.issued_at) for r in reports] == [(DAY, PLANNING - timedelta(hours=1))]
    assert reports[0].errors == [] and reports[0].stale == []


@pytest.mark.parametrize("index", range(len(SITE_KINDS)), ids=[kind.name for kind in SITE_KINDS])
def test_every_site_kind_has_day_d_before_planning(sta: StaClient, june_round: Round, index: int) -> None:
    site = june_round[0][index]
    keys = [streams.LOAD_FORECAST.key] + ([streams.EV_FORECAST.key] if site.kind.chargepoints else [])
    targets = [(site.thing, key) for key in keys] + [(pv, streams.PV_FORECAST.key) for pv in site.pv_things]
    expected = day_steps(DAY, site.kind.zone, timedelta(hours=1))
    for thing, key in targets:
        latest = store.read_latest(sta, _stream(sta, thing, key), at_or_before=PLANNING)
        assert latest is not None, f"{site.kind.name} {key}: no run before planning"
        issued, values = latest
        assert issued < PLANNING
        assert list(values.index) == list(expected), f"{site.kind.name} {key}: not the steps of local day D"


def test_pv_forecast_energy_within_band_of_the_simulated_actual(
        sta: StaClient, june_round: Round) -> None:
    fur = june_round[0][0]
    latest = store.read_latest(sta, _stream(sta, fur.pv_things[0], streams.PV_FORECAST.key))
    assert latest is not None
    forecast_kwh = -latest[1].sum() / 1000.0  # hourly means in W, consumer sign
    measured = pd.read_csv(fixture_path("pv_measured_fur_2026-06-21.csv"), index_col=0)
    actual_kwh = measured["power_w"].sum() * (5 / 60) / 1000.0
    assert abs(forecast_kwh - actual_kwh) / actual_kwh <= PV_BAND, (forecast_kwh, actual_kwh)


def test_load_forecast_is_seasonal_naive_from_the_history(
        sta: StaClient, june_round: Round) -> None:
    fur = june_round[0][0]
    latest = store.read_latest(sta, _stream(sta, fur.thing, streams.LOAD_FORECAST.key))
    assert latest is not None
    values = latest[1]
    evening = values[(values.index.hour >= 17) & (values.index.hour < 21)]
    assert (evening == 1200.0).all() and (values.drop(evening.index) == 400.0).all()


def test_price_curve_equals_the_xml(sta: StaClient, june_round: Round) -> None:
    thing = sta.page("Things", Query().filter("properties/key eq 'price:10YDK-1--------W'").select("id")).values
    latest = store.read_latest(sta, _stream(sta, thing[0]["@iot.id"], streams.PRICE.key))
    assert latest is not None
    expected = parse_entsoe_prices(fixture_path("prices_dk1_2026-06-21_pt15m_a03.xml").read_text()).prices_eur_mwh
    assert len(latest[1]) == 96
    pd.testing.assert_series_equal(latest[1], expected, check_names=False, check_freq=False)


def test_a_rerun_duplicates_nothing(sta: StaClient, june_round: Round) -> None:
    sites, reports = june_round
    config = DayAheadConfig(weather=JUNE_WEATHER, prices=JUNE_PRICES, zone="Europe/Copenhagen", site_ids=_ids(sites))
    stream = _stream(sta, sites[2].pv_things[1], streams.PV_FORECAST.key)
    before = _count(sta, stream)
    again = run_day_ahead(sta, config, DAY, reports[0].issued_at)
    assert again.errors == [] and _count(sta, stream) == before == 24


def test_a_failing_provider_keeps_the_last_run_and_marks_it_stale(
        sta: StaClient, june_round: Round) -> None:
    sites, reports = june_round
    broken = DayAheadConfig(weather=(OpenMeteoFile("fur", "/nonexistent/open_meteo.json"),),
                            prices=(EntsoeFile("10YDK-1--------W", str(fixture_path(THIRTY_MINUTES))),),
                            zone="Europe/Copenhagen", site_ids=_ids(sites))
    later = reports[0].issued_at + timedelta(hours=12)
    report = run_day_ahead(sta, broken, DAY + timedelta(days=1), later)
    assert any("weather:fur" in reason for reason in report.stale)
    assert any("price:10YDK" in reason for reason in report.stale)
    pv_stream = _stream(sta, sites[0].pv_things[0], streams.PV_FORECAST.key)
    properties = sta.get(f"Datastreams({pv_stream})")["properties"]
    assert properties["stale"] is True
    latest = store.read_latest(sta, pv_stream)
    assert latest is not None and latest[0] == reports[0].issued_at  # the last good run is kept
    run_day_ahead(sta, DayAheadConfig(weather=JUNE_WEATHER, prices=JUNE_PRICES, site_ids=_ids(sites)), DAY,
                  later + timedelta(hours=1))
    assert sta.get(f"Datastreams({pv_stream})")["properties"]["stale"] is False


@pytest.mark.parametrize(("weather", "price", "day", "zone", "hours"), [
    ("open_meteo_bolzano_2026-10-24.json", "prices_ro_2026-10-25_pt60m_dst.xml", date(2026, 10, 25), "Europe/Rome", 25),
    ("open_meteo_bucharest_2026-03-28.json", None, date(2026, 3, 29), "Europe/Bucharest", 23),
], ids=["autumn-25h", "spring-23h"])
def test_dst_days_are_stored_with_their_23_or_25_steps(sta: StaClient, june_round: Round, weather: str,
                                                      price: str | None, day: date, zone: str, hours: int) -> None:
    sites, _ = june_round
    point = "bolzano" if "bolzano" in weather else "bucharest"
    config = DayAheadConfig(weather=(OpenMeteoFile(point, str(fixture_path(weather))),),
                            prices=(EntsoeFile("10YRO-TEL------P", str(fixture_path(price))),) if price else (),
                            zone=zone, site_ids=_ids(sites))
    issued = datetime.combine(day - timedelta(days=1), time(18), tzinfo=UTC)
    report = run_day_ahead(sta, config, day, issued)
    assert report.errors == []
    site = next(s for s in sites if s.kind.zone == zone)
    for thing, key in [(site.pv_things[0], streams.PV_FORECAST.key), (site.thing, streams.LOAD_FORECAST.key)]:
        latest = store.read_latest(sta, _stream(sta, thing, key), at_or_before=issued)
        assert latest is not None and latest[0] == issued and len(latest[1]) == hours, key
    if price:
        thing = sta.page("Things", Query().filter("properties/key eq 'price:10YRO-TEL------P'").select("id")).values
        latest = store.read_latest(sta, _stream(sta, thing[0]["@iot.id"], streams.PRICE.key), at_or_before=issued)
        assert latest is not None and latest[0] == issued and len(latest[1]) == 25


def test_weather_not_covering_day_d_marks_it_stale(sta: StaClient, june_round: Round) -> None:
    config = DayAheadConfig(weather=JUNE_WEATHER[:1], zone="Europe/Copenhagen", site_ids=_ids(june_round[0]))
    report = run_day_ahead(sta, config, date(2026, 7, 1), datetime(2026, 6, 30, 20, tzinfo=UTC))
    assert any("does not cover" in reason for reason in report.stale)
    assert "weather:fur" not in report.written
    assert report.written.get("pv", 0) == 0
