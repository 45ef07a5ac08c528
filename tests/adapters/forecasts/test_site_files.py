"""The day-ahead round on the example sites of `sites/*.yaml`, commissioned by helper B's
commissioning (under a unique site id each): the PV Things' parameters, the sites' zones and EV
distributions come from the files, and a forecast stream the file declares (`evLoadForecast` on the
Bolzano sites) is written to, not duplicated."""
from __future__ import annotations

import pathlib
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from adapters.forecasts import store, streams
from adapters.forecasts.jobs import DayAheadConfig, RoundReport, run_day_ahead
from adapters.forecasts.runs import day_steps
from agents.commissioning.apply import commission
from agents.site.loader import parse_site
from sta_client.http import StaClient
from sta_client.query import Query, string_literal
from tests.adapters.forecasts.sites import JUNE_PRICES, JUNE_WEATHER
from tests.client.conftest import RunningServer
from tests.conftest import ROOT

SITE_FILES = sorted(pathlib.Path(ROOT, "sites").glob("*.yaml"))
DAY = date(2026, 6, 21)
ISSUED = datetime(2026, 6, 20, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def commissioned(sta_process: RunningServer) -> tuple[dict[str, str], RoundReport]:
    """File name → the unique site id it was commissioned under; the round's report."""
    site_ids = {}
    with StaClient(sta_process.settings()) as sta:
        for path in SITE_FILES:
            text = path.read_text()
            original = re.search(r"^  id: (\S+)$", text, re.MULTILINE)
            assert original is not None
            site_id = f"{original.group(1)}-{uuid.uuid4().hex[:6]}"
            spec = parse_site(text.replace(original.group(0), f"  id: {site_id}", 1), str(path))
            commission(spec, sta, ISSUED - timedelta(days=1))
            site_ids[path.name] = site_id
        config = DayAheadConfig(weather=JUNE_WEATHER, prices=JUNE_PRICES, site_ids=tuple(site_ids.values()))
        report = run_day_ahead(sta, config, DAY, ISSUED)
    return site_ids, report


def _things(sta: StaClient, site_id: str, kind: str) -> list[dict[str, Any]]:
    query = Query().filter(f"properties/siteId eq {string_literal(site_id)} and properties/kind eq '{kind}'")
    return sta.page("Things", query.select("id", "properties")).values


def _streams(sta: StaClient, thing: int | str, key: str) -> list[int | str]:
    rows = sta.page(f"Things({thing})/Datastreams", Query().filter(f"properties/key eq '{key}'").select("id")).values
    return [row["@iot.id"] for row in rows]


def test_the_round_on_the_example_sites_has_no_errors(commissioned: tuple[dict[str, str], RoundReport]) -> None:
    assert commissioned[1].errors == []


@pytest.mark.parametrize("path", SITE_FILES, ids=[path.stem for path in SITE_FILES])
def test_every_example_site_has_its_day_ahead_forecasts(sta: StaClient, path: pathlib.Path,
                                                       commissioned: tuple[dict[str, str], RoundReport]) -> None:
    site_id = commissioned[0][path.name]
    site = _things(sta, site_id, "site")[0]
    zone = site["properties"].get("timezone", "Europe/Copenhagen")
    expected = list(day_steps(DAY, zone, timedelta(hours=1)))
    pvs = [thing for kind in ("pv", "energy-router") for thing in _things(sta, site_id, kind)
           if "peakPower_kWp" in thing["properties"]]
    declared = re.findall(r"peak_power_kwp", path.read_text())
    assert len(pvs) == len(declared), "a PV forecast for each PV array the file describes"
    targets = [(pv["@iot.id"], streams.PV_FORECAST.key) for pv in pvs] + [(site["@iot.id"], streams.LOAD_FORECAST.key)]
    if "evForecast" in site["properties"]:
        targets.append((site["@iot.id"], streams.EV_FORECAST.key))
    for thing, key in targets:
        found = _streams(sta, thing, key)
        assert len(found) == 1, f"{key} on Thing {thing}: {found}"
        latest = store.read_latest(sta, found[0])
        assert latest is not None and latest[0] == ISSUED and list(latest[1].index) == expected, key
    for pv in pvs:
        latest = store.read_latest(sta, _streams(sta, pv["@iot.id"], streams.PV_FORECAST.key)[0])
        assert latest is not None
        peak_w = pv["properties"]["peakPower_kWp"] * 1000
        assert -peak_w <= latest[1].min() < -0.3 * peak_w  # a June day: consumer sign, a real peak
