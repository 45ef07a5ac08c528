"""The professional GUI on sites as commissioning makes them (the district's own site files): the map
finds them, colours them from their meters' V_grid, and an ESS set-point from the real template becomes
a Task with the operator's priority."""
from __future__ import annotations

import pathlib
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page

from agents.commissioning import SiteIds, commission
from agents.site import load_site
from tests.gui.conftest import GuiServer, MakeUser, log_in

SITES = pathlib.Path(__file__).resolve().parents[2] / "sites" / "district"
RADIAL = "fur-feeder-1"


@pytest.fixture(scope="module")
def fur_sites(gui_server: GuiServer, make_user: MakeUser) -> tuple[dict[str, SiteIds], tuple[str, str]]:
    ids = {}
    with gui_server.admin() as sta:
        for name in ("fur-1", "fur-2"):
            site = load_site(SITES / f"{name}.yaml")
            ids[site.id] = commission(site, sta, datetime(2026, 6, 21, 3, tzinfo=UTC))
        for site_id, voltages in (("fur-1", [236.0, 245.0, 240.0]), ("fur-2", [231.0, 232.0, 230.0])):
            sta.create("Observations", {"phenomenonTime": "2026-06-21T12:00:00Z", "result": voltages,
                                        "MultiDatastream": {"@iot.id": ids[site_id].multidatastreams["V_grid"]}})
    for site_id, site_ids in ids.items():
        gui_server.admin_cli("label", "add", *(str(t) for t in site_ids.things.values()),
                             "--label", f"site:{site_id}", "--label", f"radial:{RADIAL}")
    return ids, make_user("grid_operator", f"radial:{RADIAL}")


def test_commissioned_sites_are_on_the_map(page: Page, gui_url: str,
                                           fur_sites: tuple[dict[str, SiteIds], tuple[str, str]]) -> None:
    _, operator = fur_sites
    log_in(page, gui_url, *operator)
    page.goto(gui_url + "/pro/")
    bands = dict(page.eval_on_selector_all("#pro-map g.pro-site",
                                           "gs => gs.map(g => [g.dataset.site, g.dataset.band])"))
    assert bands["fur-1"] == "warn" and bands["fur-2"] == "ok"  # 245 V: 6.5 % above 230 V
    assert page.locator(f'#pro-map g.pro-feeder[data-radial="{RADIAL}"]').get_attribute("data-band") == "warn"


def test_an_ess_setpoint_from_the_real_template_becomes_a_task(
        page: Page, gui_url: str, gui_server: GuiServer, fur_sites: tuple[dict[str, SiteIds], tuple[str, str]]) -> None:
    ids, operator = fur_sites
    log_in(page, gui_url, *operator)
    page.goto(gui_url + f"/pro/ess/{ids['fur-1'].things['ess']}")
    capability = ids["fur-1"].capabilities["ess_setpoint"]
    form = page.locator(f'form.pro-command[data-capability="{capability}"]')
    form.locator("input[name=powerSetpoint]").fill("-1500")
    form.locator("input[name=priority]").fill("9")
    form.locator("input[name=startTime]").fill("2026-06-21T13:00:00Z")
    form.locator("button[type=submit]").click()
    task_id = int(page.locator("#pro-task-id").inner_text())
    with gui_server.admin() as sta:
        assert sta.get(f"Tasks({task_id})", None)["taskingParameters"] == {
            "powerSetpoint": -1500, "priority": 9, "startTime": "2026-06-21T13:00:00Z"}
