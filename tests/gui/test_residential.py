"""The residential GUI in a real browser (Debian chromium) against a real server, a real broker with a
WebSockets listener and `python -m gui` as a subprocess."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from sta_client import MqttSession, Query, StaClient
from sta_client.errors import StaError
from tests.faults.conftest import wait_for
from tests.gui.conftest import GuiServer, MakeUser, log_in, screenshot
from tests.gui.households import Household, add_observations, make_household


@pytest.fixture(scope="module")
def house(gui_server: GuiServer) -> Household:
    """A household with a few hours of today's data (site time) and a charging EV."""
    with gui_server.admin() as admin:
        made = make_household(gui_server, admin)
        start = datetime(2026, 6, 21, 6, 0, tzinfo=UTC)
        hours = [start + timedelta(hours=h) for h in range(7)]
        series = {"P_load": [800.0, 900, 1200, 1500, 1100, 1000, 2400],
                  "P_grid": [800.0, 300, -500, -800, 0, 100, 1200], "P_pv": [0.0, 600, 1700, 2300, 1100, 900, 1200],
                  "P_ess": [0.0, 0, 0, 0, 0, 0, 0],
                  "SoC": [40.0, 40, 55, 70, 80, 80, 76]}
        for key, values in series.items():
            add_observations(admin, made.streams[key], [[t.isoformat(), v] for t, v in zip(hours, values, strict=True)])
        last = hours[-1].isoformat()
        for key, value in (("essStatus", "7"), ("meterStatus", "ok"), ("cp1.cpStatus", "Charging"),
                           ("cp1.P_ev", 3700.0), ("lessagMode", "self-consumption")):
            add_observations(admin, made.streams[key], [[last, value]])
    return made


@pytest.fixture(scope="module")
def neighbour(gui_server: GuiServer) -> Household:
    with gui_server.admin() as admin:
        return make_household(gui_server, admin)


@pytest.fixture(scope="module")
def resident(house: Household, make_user: MakeUser) -> tuple[str, str]:
    return make_user("resident", f"site:{house.site_id}")


@pytest.fixture(scope="module")
def manager(house: Household, make_user: MakeUser) -> tuple[str, str]:
    """The household account that may order: an aggregator granted the site (the server's `resident`
    role creates nothing: test_a_resident_order_shows_the_servers_refusal)."""
    return make_user("aggregator", f"site:{house.site_id}")


def test_pages_load_and_show_the_household(page: Page, gui_url: str, house: Household,
                                           resident: tuple[str, str]) -> None:
    name, password = resident
    log_in(page, gui_url, name, password)
    expect(page.locator("#site-list")).to_contain_text(house.site_id)
    screenshot(page, "gui-home")
    page.click(f"text={house.site_id} site")
    expect(page.locator("#live-SoC")).to_have_text("76.0")
    expect(page.locator("#ev-plugged")).to_have_text("Plugged in, charging")
    # hourly means, each one hour long (the last hour's only Observation: its plain mean, docs/aggregation.md)
    expect(page.locator("#consumption-kwh")).to_have_text("8.90")
    expect(page.locator("#grid-kwh")).to_have_text("2.40")  # imports only: 800 + 300 + 100 + 1200
    expect(page.locator("#last-contact")).to_contain_text("2026-06-21T12:00:00")
    page.wait_for_selector("html[data-live=on]")
    screenshot(page, "gui-residential", full_page=True)
    page.click("text=History")
    expect(page.locator("#history-table")).to_contain_text("2026-06-21T08:00:00+02:00")
    screenshot(page, "gui-residential-history", full_page=True)


def test_a_value_published_over_mqtt_appears_within_two_seconds(page: Page, gui_server: GuiServer, gui_url: str,
                                                                 house: Household, resident: tuple[str, str]) -> None:
    name, password = resident
    log_in(page, gui_url, name, password)
    page.goto(f"{gui_url}/home/{house.site_id}")
    page.wait_for_selector("html[data-live=on]")
    with gui_server.admin() as admin:
        add_observations(admin, house.streams["SoC"], [[datetime.now(UTC).isoformat(), 63.5]])
    expect(page.locator("#live-SoC")).to_have_text("63.5", timeout=2_000)


def test_a_command_in_the_gui_ends_as_a_task_on_the_server(page: Page, gui_server: GuiServer, gui_url: str,
                                                           house: Household, manager: tuple[str, str],
                                                           make_user: MakeUser) -> None:
    name, password = manager
    log_in(page, gui_url, name, password)
    page.goto(f"{gui_url}/home/{house.site_id}")
    page.fill("input[name=power_kw]", "-2.5")
    page.click("#manual-setpoint button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("Set-point sent")
    page.click("button[value=minimum-bill]")
    expect(page.locator(".flash.ok")).to_contain_text("Mode change sent")
    with gui_server.admin() as admin:
        setpoints = admin.page(f"TaskingCapabilities({house.capabilities['user_setpoint']})/Tasks").values
        modes = admin.page(f"TaskingCapabilities({house.capabilities['lessag_mode']})/Tasks").values
    assert [t["taskingParameters"]["powerSetpoint"] for t in setpoints] == [-2500.0]
    assert setpoints[0]["taskingParameters"]["priority"] == 1
    parameters = setpoints[0]["taskingParameters"]
    start, stop = (datetime.fromisoformat(parameters[name]) for name in ("startTime", "stopTime"))
    assert stop - start == timedelta(minutes=60)
    assert [t["taskingParameters"] for t in modes] == [{"mode": "minimum-bill"}]
    expect(page.locator("#recent-tasks")).to_contain_text("minimum-bill")
    task_row = page.locator(f"#task-{setpoints[0]['@iot.id']} .answer")
    expect(task_row).to_have_text("waiting")
    # the site's device agent answers as the LESSAg does (docs/agents.md): setpointAccepted with the taskId
    agent = make_user("device_agent", f"site:{house.site_id}")
    with StaClient(gui_server.settings(username=agent[0], password=agent[1])) as field_box:
        add_observations(field_box, house.streams["setpointAccepted"],
                         [[datetime.now(UTC).isoformat(), True, {"taskId": setpoints[0]["@iot.id"],
                                                                 "capability": "ess_setpoint", "reason": ""}]],
                         ("phenomenonTime", "result", "parameters"))
    page.reload()
    expect(task_row).to_have_text("accepted")


def test_a_residents_order_the_server_refuses_shows_its_403(page: Page, gui_server: GuiServer, gui_url: str,
                                                            make_user: MakeUser) -> None:
    with gui_server.admin() as admin:  # a battery with the grid's set-point only: not the residents' to task
        closed = make_household(gui_server, admin, household_setpoint=False)
    log_in(page, gui_url, *make_user("resident", f"site:{closed.site_id}"))
    page.goto(f"{gui_url}/home/{closed.site_id}")
    page.fill("input[name=power_kw]", "1")
    page.click("#manual-setpoint button[type=submit]")
    expect(page.locator(".flash.error")).to_contain_text("The server refused the set-point")
    expect(page.locator(".flash.error")).to_contain_text("may not")
    with gui_server.admin() as admin:
        assert admin.page(f"TaskingCapabilities({closed.capabilities['ess_setpoint']})/Tasks").values == []


def test_invalid_form_input_shows_the_servers_400_message(page: Page, gui_url: str, house: Household,
                                                          manager: tuple[str, str]) -> None:
    name, password = manager
    log_in(page, gui_url, name, password)
    page.goto(f"{gui_url}/home/{house.site_id}")
    page.fill("input[name=power_kw]", "99")  # the battery's capability allows ±6.4 kW
    page.click("#manual-setpoint button[type=submit]")
    error = page.locator(".flash.error")
    expect(error).to_contain_text("The server refused the set-point")
    expect(error).to_contain_text("powerSetpoint")
    screenshot(page, "gui-residential-refused")
    page.fill("input[name=power_kw]", "a lot")
    page.click("#manual-setpoint button[type=submit]")
    expect(page.locator(".flash.error")).to_contain_text("must be a number")


def test_a_resident_cannot_see_a_neighbour(page: Page, gui_server: GuiServer, gui_url: str, house: Household,
                                            neighbour: Household, resident: tuple[str, str]) -> None:
    name, password = resident
    log_in(page, gui_url, name, password)
    expect(page.locator("#site-list")).not_to_contain_text(neighbour.site_id)
    answer = page.goto(f"{gui_url}/home/{neighbour.site_id}")
    assert answer is not None and answer.status == 404
    assert page.request.get(f"{gui_url}/home/{neighbour.site_id}/history?format=json").status == 404
    refused = page.request.post(f"{gui_url}/home/{neighbour.site_id}/setpoint", form={"power_kw": "1"})
    assert refused.status == 404
    # the same user on the API: nothing of the neighbour, neither directly nor through $expand
    with StaClient(gui_server.settings(username=name, password=password)) as sta:
        things = sta.page("Things", Query().expand("Datastreams")).values
        assert {t["properties"]["siteId"] for t in things} == {house.site_id}
        assert not sta.page("Datastreams", Query().filter(
            f"id eq {neighbour.streams['SoC']}")).values


def test_a_resident_receives_no_neighbours_values_over_mqtt(gui_server: GuiServer, house: Household,
                                                            neighbour: Household, resident: tuple[str, str]) -> None:
    name, password = resident
    seen: list[tuple[str, object]] = []
    session = MqttSession(gui_server.settings(username=name, password=password), f"{name}:spy")
    for stream in (house.streams["SoC"], neighbour.streams["SoC"]):
        session.subscribe(f"v1.1/Datastreams({stream})/Observations", lambda n: seen.append((n.topic, n.body)))
    session.start()
    own = f"v1.1/Datastreams({house.streams['SoC']})/Observations"

    def own_value_arrived() -> bool:
        # the neighbour's value first, then the own one: one connection delivers in order, so once the
        # own value is here the neighbour's would have been too (sent again until the subscriptions hold)
        with gui_server.admin() as admin:
            now = datetime.now(UTC).isoformat()
            add_observations(admin, neighbour.streams["SoC"], [[now, 11.0]])
            add_observations(admin, house.streams["SoC"], [[now, 22.0]])
        return any(topic == own for topic, _ in seen)
    try:
        session.wait_connected(10)
        wait_for(own_value_arrived, 20, "the own value", step=0.5)
    finally:
        session.close()
    assert seen and all(topic == own for topic, _ in seen)


def test_history_exports_csv_and_json(page: Page, gui_url: str, house: Household,
                                      resident: tuple[str, str]) -> None:
    name, password = resident
    log_in(page, gui_url, name, password)
    base = f"{gui_url}/home/{house.site_id}/history?period=day&date=2026-06-21"
    csv_text = page.request.get(base + "&format=csv").text()
    assert csv_text.splitlines()[0] == "start,consumption_kwh,grid_kwh,pv_kwh"
    assert "2026-06-21T08:00:00+02:00,0.8000,0.8000,0.0000" in csv_text
    exported = json.loads(page.request.get(base + "&format=json").text())
    assert exported["rows"][2] == {"start": "2026-06-21T10:00:00+02:00", "consumption_kwh": 1.2,
                                   "grid_kwh": -0.5, "pv_kwh": 1.7}
    month = json.loads(page.request.get(base.replace("period=day", "period=month") + "&format=json").text())
    assert [row["start"] for row in month["rows"]] == ["2026-06-21T00:00:00+02:00"]
    assert page.request.get(base.replace("period=day", "period=week")).status == 400


def test_without_login_the_pages_redirect_and_wrong_passwords_are_refused(page: Page, gui_url: str,
                                                                          house: Household) -> None:
    answer = httpx.get(f"{gui_url}/home/{house.site_id}", follow_redirects=False)
    assert answer.status_code == 302 and "/login" in answer.headers["location"]
    assert httpx.get(f"{gui_url}/session/mqtt", follow_redirects=False).status_code == 302
    log_in(page, gui_url, "nobody", "wrong")
    expect(page.locator("#login-error")).to_have_text("Wrong user name or password.")
    screenshot(page, "gui-login")


def test_a_residents_set_point_and_mode_become_tasks_on_the_households_capabilities(
        page: Page, gui_server: GuiServer, gui_url: str, house: Household, resident: tuple[str, str]) -> None:
    log_in(page, gui_url, *resident)
    page.goto(f"{gui_url}/home/{house.site_id}")
    page.fill("input[name=power_kw]", "1,5")
    page.select_option("select[name=duration_min]", "30")
    page.click("#manual-setpoint button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("Set-point sent")
    page.click("button[value=self-consumption]")
    expect(page.locator(".flash.ok")).to_contain_text("Mode change sent")
    with gui_server.admin() as admin:
        orders = [t["taskingParameters"] for t in
                  admin.page(f"TaskingCapabilities({house.capabilities['user_setpoint']})/Tasks").values]
        modes = [t["taskingParameters"] for t in
                 admin.page(f"TaskingCapabilities({house.capabilities['lessag_mode']})/Tasks").values]
    assert [(o["powerSetpoint"], o["priority"]) for o in orders if o["powerSetpoint"] == 1500.0] == [(1500.0, 1)]
    assert {"mode": "self-consumption"} in modes
    # the grid's own set-point capability stays the grid's: the same user is refused there by the API
    with StaClient(gui_server.settings(username=resident[0], password=resident[1])) as sta, \
            pytest.raises(StaError) as refused:
        sta.create_task(house.capabilities["ess_setpoint"], {"powerSetpoint": 1000.0, "priority": 1,
                                                              "startTime": "2026-06-21T12:00:00Z"})
    assert refused.value.status == 403
