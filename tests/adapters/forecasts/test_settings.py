"""The service's configuration from environment variables (pure) and its CLI's exit status."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import time

import pytest

from adapters.forecasts.settings import ForecastSettings, SettingsError
from adapters.forecasts.sources import EntsoeFile, EpwFile, OpenMeteoFile, OpenMeteoHttp
from tests.conftest import ROOT


def test_sources_zone_and_issue_time_are_read() -> None:
    settings = ForecastSettings.from_env({
        "S4G_FORECAST_WEATHER": "fur=open-meteo:56.8:8.9; bz=file:/x/om.json;tmy=epw:/x/fur.epw",
        "S4G_FORECAST_PRICES": "10YDK-1--------W=file:/x/dk1.xml",
        "S4G_FORECAST_ZONE": "Europe/Rome", "S4G_FORECAST_ISSUE_TIME": "21:30", "S4G_FORECAST_TIMEOUT_S": "3",
        "S4G_FORECAST_SITES": "fur-house-1, bolzano-commercial"})
    assert settings.config.weather == (OpenMeteoHttp("fur", 56.8, 8.9, timeout_s=3.0),
                                       OpenMeteoFile("bz", "/x/om.json"), EpwFile("tmy", "/x/fur.epw"))
    assert settings.config.prices == (EntsoeFile("10YDK-1--------W", "/x/dk1.xml"),)
    assert (settings.config.zone, settings.issue_time, settings.once) == ("Europe/Rome", time(21, 30), False)
    assert settings.config.site_ids == ("fur-house-1", "bolzano-commercial")


@pytest.mark.parametrize("environ", [{"S4G_FORECAST_WEATHER": "fur"}, {"S4G_FORECAST_WEATHER": "fur=ftp:x"},
                                     {"S4G_FORECAST_WEATHER": "fur=open-meteo:56.8"},
                                     {"S4G_FORECAST_PRICES": "x=http://a"}, {"S4G_FORECAST_ISSUE_TIME": "25:00"}])
def test_a_bad_configuration_is_an_error(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        ForecastSettings.from_env(environ)


def test_the_cli_exits_2_on_a_bad_configuration() -> None:
    env = dict(os.environ, S4G_FORECAST_WEATHER="fur=nonsense")
    done = subprocess.run([sys.executable, "-m", "adapters.forecasts"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2 and "S4G_FORECAST_WEATHER" in done.stderr


def test_served_sites_narrow_the_thing_filters() -> None:
    from adapters.forecasts.jobs import SITE_THINGS, DayAheadConfig

    assert DayAheadConfig().things(SITE_THINGS) == SITE_THINGS
    assert DayAheadConfig(site_ids=("a", "o'b")).things(SITE_THINGS) == (
        "(properties/kind eq 'site') and (properties/siteId eq 'a' or properties/siteId eq 'o''b')")


def test_the_cli_runs_one_round_against_the_server(sta_process: object) -> None:
    from adapters.forecasts import store
    from sta_client.http import StaClient
    from sta_client.query import Query
    from tests.adapters.forecasts.conftest import fixture_path
    from tests.client.conftest import RunningServer

    assert isinstance(sta_process, RunningServer)
    env = dict(os.environ, STA_CLIENT_BASE_URL=sta_process.base_url, S4G_CLOCK="stepped",
               S4G_CLOCK_START="2026-06-20T20:00:00+00:00", S4G_FORECAST_ONCE="1",
               S4G_FORECAST_WEATHER=f"cli-point=file:{fixture_path('open_meteo_fur_2026-06-20.json')}",
               S4G_FORECAST_SITES="no-such-site")
    done = subprocess.run([sys.executable, "-m", "adapters.forecasts"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    with StaClient(sta_process.settings()) as sta:
        thing = sta.page("Things", Query().filter("properties/key eq 'weather:cli-point'").select("id")).values
        ghi = sta.page(f"Things({thing[0]['@iot.id']})/Datastreams",
                       Query().filter("properties/key eq 'ghi'").select("id")).values[0]["@iot.id"]
        latest = store.read_latest(sta, ghi)
    assert latest is not None and latest[0].isoformat() == "2026-06-20T20:00:00+00:00" and len(latest[1]) == 24
