"""The professional GUI in Chromium against a real server and broker: each page loads (screenshots into
docs/ with GUI_SCREENSHOTS=docs), the map shows the user's sites only, a live voltage recolours a site,
a command becomes a Task, invalid input shows the server's 400 message, CSV exports what is shown.

The world: radial A with two sites (one with a battery), radial B with one site, a GESSCon Thing with the
T5 "radial service" capability and a status stream, a simulation engine with a what-if capability and
results; a grid operator granted radial A, an aggregator granted the site on radial B."""
from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from controllers.gesscon.command_desk import CommandDesk
from controllers.gesscon.gesscon_thing import commission_gesscon
from controllers.gesscon.status import StatusWriter
from controllers.gevchcon.registration import ControllerIds, Registration
from simulation.whatif.request import STUDY_PARAMETERS
from sta_client import BadRequest, Query, StaClient
from tests.gui.conftest import GuiServer, MakeUser, log_in, screenshot

MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
COMPLEX = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation"
CATEGORY = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CategoryObservation"
JSON_OBS = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Observation"
ISO = {"href": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
DAY = datetime(2026, 6, 21, tzinfo=UTC)
SCHEDULE = {"type": "DataRecord", "field": [
    {"name": "startTime", "type": "Time", "uom": ISO},
    {"name": "resolution", "type": "Quantity", "uom": {"code": "s"}, "optional": True},
    {"name": "powerProfile", "type": "DataArray", "elementType": {
        "name": "power", "type": "Quantity", "uom": {"code": "W"},
        "constraint": {"type": "AllowedValues", "interval": [[-3000, 3000]]}}}]}


def _unit(symbol: str) -> dict[str, str]:
    return {"name": symbol, "symbol": symbol, "definition": f"ucum:{symbol}"}


def _stream(key: str, unit: str = "W", kind: str = MEASUREMENT, **properties: Any) -> dict[str, Any]:
    return {"name": key, "description": key, "observationType": kind, "unitOfMeasurement": _unit(unit),
            "properties": {"key": key, **properties},
            "Sensor": {"name": f"sensor {key}", "description": "s", "encodingType": "text/plain", "metadata": "-"},
            "ObservedProperty": {"name": f"op {key}", "description": key, "definition": f"urn:test:op:{key}"}}


def _voltages() -> dict[str, Any]:
    return {"name": "V_grid", "description": "phase voltages", "observationType": COMPLEX,
            "unitOfMeasurements": [_unit("V")] * 3, "multiObservationDataTypes": [MEASUREMENT] * 3,
            "properties": {"key": "V_grid"},
            "Sensor": {"name": "meter", "description": "s", "encodingType": "text/plain", "metadata": "-"},
            "ObservedProperties": [{"name": f"V {p}", "description": p, "definition": f"urn:test:op:v-{p}"}
                                   for p in ("L1", "L2", "L3")]}


def _capability(key: str, name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "description": name, "taskingParameters": parameters, "properties": {"key": key},
            "Actuator": {"name": f"actuator {key}", "description": "a", "encodingType": "text/plain",
                         "metadata": "-"}}


def _thing(sta: StaClient, name: str, geometry: dict[str, Any], **parts: Any) -> dict[str, Any]:
    properties = parts.pop("properties")
    thing_id = sta.create("Things", {"name": name, "description": name, "properties": properties,
                                     "Locations": [{"name": name, "description": "position",
                                                    "encodingType": "application/geo+json",
                                                    "location": geometry}], **parts})
    return sta.get(f"Things({thing_id})", None) | {"streams": {
        (s.get("properties") or {}).get("key"): s["@iot.id"] for s in sta.iter(f"Things({thing_id})/Datastreams")}}


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


@dataclass
class World:
    radial_a: str
    radial_b: str
    sites_a: tuple[str, str]
    site_b: str
    ess: dict[str, Any]
    meter: dict[str, Any]
    multi_id: int
    gesscon: dict[str, Any]  # radial A's GESSCon Thing (with its "streams")
    capability_id: int
    gesscon_b: int  # radial B's GESSCon Thing: the server hides it from radial A's operator
    status_streams: dict[str, Any]  # radial -> its GESSCon Thing's status Datastreams
    gevchcon: ControllerIds
    operator: tuple[str, str]
    aggregator: tuple[str, str]


def _label(gui_server: GuiServer, things: list[dict[str, Any]], *labels: str) -> None:
    argv = [str(t["@iot.id"]) for t in things]
    for label in labels:
        argv += ["--label", label]
    gui_server.admin_cli("label", "add", *argv)


@pytest.fixture(scope="module")
def world(gui_server: GuiServer, make_user: MakeUser) -> World:
    tag = uuid.uuid4().hex[:6]
    radial_a, radial_b, site_1, site_2, site_3 = (f"RA-{tag}", f"RB-{tag}", f"pa-{tag}", f"pb-{tag}", f"pc-{tag}")
    with gui_server.admin() as sta:
        feeder = _thing(sta, f"feeder {radial_a}", {"type": "LineString", "coordinates": [
            [8.980, 56.830], [8.990, 56.835], [9.000, 56.832]]}, properties={"kind": "radial", "radialId": radial_a})
        house_1 = _thing(sta, f"house {site_1}", _point(8.985, 56.832),
                         properties={"kind": "site", "siteId": site_1, "radialId": radial_a})
        meter = _thing(sta, f"meter {site_1}", _point(8.985, 56.832), Datastreams=[_stream("P_grid")],
                       MultiDatastreams=[_voltages()],
                       properties={"kind": "meter", "siteId": site_1, "key": "meter", "radialId": radial_a})
        ess = _thing(sta, f"battery {site_1}", _point(8.985, 56.832),
                     Datastreams=[_stream("P_ess"), _stream("SoC", "%"), _stream("essStatus", "", CATEGORY)],
                     TaskingCapabilities=[_capability("ess_schedule", "ESS 24-hour schedule", SCHEDULE)],
                     properties={"kind": "ess", "siteId": site_1, "key": "ess", "radialId": radial_a,
                                 "maxCapacity_Wh": 4500, "maxPower_W": 2400, "minSoC_pct": 10, "maxSoC_pct": 100})
        house_2 = _thing(sta, f"house {site_2}", _point(8.998, 56.831), Datastreams=[_stream("P_grid")],
                         properties={"kind": "site", "siteId": site_2, "radialId": radial_a})
        house_3 = _thing(sta, f"house {site_3}", _point(11.35, 46.49), Datastreams=[_stream("P_grid")],
                         properties={"kind": "site", "siteId": site_3, "radialId": radial_b})
        gesscons = commission_gesscon(sta, [radial_a, radial_b], latitude=56.84, longitude=8.99)
        gesscon_ids = gesscons[radial_a]
        gesscon = sta.get(f"Things({gesscon_ids.thing})", None) | {"streams": gesscon_ids.streams}
        status_streams = {radial: ids.streams for radial, ids in gesscons.items()}
        gevchcon = Registration(sta, f"gevchcon-{tag}").ensure([site_1], _point(8.99, 56.84))
        loop = _thing(sta, f"DSF-SE loop {tag}", _point(8.99, 56.84),
                      Datastreams=[_stream("bus7.vm", "/", managedBy="dsf-se"),
                                   _stream("line3.loading", "%", managedBy="dsf-se")],
                      properties={"kind": "simulation", "managedBy": "dsf-se"})
        engine = _thing(sta, f"DSF-SE what-if {tag}", _point(8.99, 56.84),
                        Datastreams=[_stream("status", "", CATEGORY), _stream("progress", "%")],
                        TaskingCapabilities=[_capability("whatif_study", "What-if study", STUDY_PARAMETERS)],
                        properties={"kind": "simulation", "role": "whatif-engine"})
        studies = [_thing(sta, f"study {n} {tag}", _point(8.99, 56.84), properties={
            "kind": "simulation", "role": "whatif-study", "taskId": 9000 + n, "status": "done",
            "request": {"grid": "1-LV-rural1--2-sw", "pvPenetration": pv, "evPenetration": 0, "essPenetration": 0},
            "kpis": {"vMaxPu": v_max, "violationsPct": violations}},
            Datastreams=[_stream("vm_pu:7", "pu"), _stream("loading_pct:3", "%"), _stream("losses_kW", "kW"),
                         _stream("kpis", "", JSON_OBS)]) for n, pv, v_max, violations in ((1, 50, 1.04, 0.0),
                                                                                        (2, 100, 1.0595, 4.2))]
        multi_id = next(iter(sta.iter(f"Things({meter['@iot.id']})/MultiDatastreams")))["@iot.id"]
        _observations(sta, meter, ess, house_2, house_3, status_streams, multi_id)
        _simulation_results(sta, loop, studies[-1])
        capability_id = int(gesscon_ids.capability)
    _label(gui_server, [feeder, house_1, meter, ess, house_2, gesscon, {"@iot.id": gevchcon.thing}, loop, engine,
                        *studies], f"radial:{radial_a}")
    _label(gui_server, [house_1, meter, ess], f"site:{site_1}")
    _label(gui_server, [house_3, {"@iot.id": gesscons[radial_b].thing}], f"radial:{radial_b}")
    _label(gui_server, [house_3], f"site:{site_3}")
    return World(radial_a, radial_b, (site_1, site_2), site_3, ess, meter, multi_id, gesscon, capability_id,
                 int(gesscons[radial_b].thing), status_streams, gevchcon,
                 make_user("grid_operator", f"radial:{radial_a}"), make_user("aggregator", f"site:{site_3}"))


def at(minutes: int) -> str:
    return (DAY + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def _observations(sta: StaClient, meter: dict[str, Any], ess: dict[str, Any], house_2: dict[str, Any],
                  house_3: dict[str, Any], status_streams: dict[str, Any], multi_id: int) -> None:
    sta.create_observations(meter["streams"]["P_grid"], ["phenomenonTime", "result"],
                            [[at(m), 900.0 + 5 * m] for m in range(0, 61, 5)])  # the chart's history
    sta.create("Observations", {"phenomenonTime": at(60), "result": [231.0, 232.5, 230.1],
                                "MultiDatastream": {"@iot.id": multi_id}})
    sta.create_observations(house_2["streams"]["P_grid"], ["phenomenonTime", "result"],
                            [[at(m), -420.0 + 2 * m] for m in range(0, 61, 5)])
    sta.create_observations(house_3["streams"]["P_grid"], ["phenomenonTime", "result"], [[at(60), 50.0]])
    sta.create_observations(ess["streams"]["P_ess"], ["phenomenonTime", "result"],
                            [[at(m), 400.0 + m] for m in (0, 15, 30, 45)])
    sta.create_observations(ess["streams"]["SoC"], ["phenomenonTime", "result"], [[at(m), 50.0 + m / 15]
                                                                                  for m in (0, 15, 30, 45)])
    sta.create_observations(ess["streams"]["essStatus"], ["phenomenonTime", "result"], [[at(60), "7"]])
    schedule = next(iter(sta.iter(f"Things({ess['@iot.id']})/TaskingCapabilities")))["@iot.id"]
    sta.create_task(schedule, {"startTime": at(0), "resolution": 900, "powerProfile": [500, 500, -800, -800]})
    status = StatusWriter(sta, status_streams)
    for radial, solution in ((ess["properties"]["radialId"], "peak_shaving"), (house_3["properties"]["radialId"],
                                                                             "economic")):
        status.write("radialSolution", radial, DAY + timedelta(minutes=60), solution)
        status.write("essWithinBounds", radial, DAY + timedelta(minutes=60), True)


def _simulation_results(sta: StaClient, loop: dict[str, Any], study: dict[str, Any]) -> None:
    for key, value, feature in (("bus7.vm", 1.12, _point(8.99, 56.833)), ("line3.loading", 85.0, {
            "type": "LineString", "coordinates": [[8.985, 56.832], [8.99, 56.833]]})):
        sta.create("Observations", {"phenomenonTime": at(60), "result": value,
                                    "Datastream": {"@iot.id": loop["streams"][key]},
                                    "FeatureOfInterest": {"name": f"{key} {uuid.uuid4().hex[:6]}", "description": key,
                                                          "encodingType": "application/geo+json", "feature": feature}})
    results: tuple[tuple[str, Any], ...] = (("vm_pu:7", 1.0595), ("loading_pct:3", 71.0), ("losses_kW", 1.8),
                                             ("kpis", {"vMaxPu": 1.0595, "violationsPct": 4.2}))
    for key, result in results:
        sta.create("Observations", {"phenomenonTime": at(60), "result": result,
                                    "Datastream": {"@iot.id": study["streams"][key]}})


def _sites_on_map(page: Page) -> set[str]:
    return set(page.eval_on_selector_all("#pro-map g.pro-site", "gs => gs.map(g => g.dataset.site)"))


def test_the_map_shows_the_grid_operators_radial_only(page: Page, gui_url: str, world: World) -> None:
    log_in(page, gui_url, *world.operator)
    page.goto(gui_url + "/pro/")
    assert _sites_on_map(page) == set(world.sites_a)
    assert page.locator(f'#pro-map g.pro-feeder[data-radial="{world.radial_a}"] polyline').count() == 1
    assert page.locator(f'#pro-radials tr[data-radial="{world.radial_b}"]').count() == 0
    assert page.locator(f'#pro-sites tr[data-site="{world.sites_a[0]}"] .live-voltage').inner_text() == "232.5"
    assert page.locator('#pro-map rect.pro-bus[data-bus="bus7"]').get_attribute("data-band") == "violation"
    assert page.locator('#pro-map polyline.pro-line[data-line="line3"]').get_attribute("data-band") == "warn"
    page.wait_for_selector('#pro-live-state[data-state="live"]')
    screenshot(page, "gui-professional-map", full_page=True)


def test_an_aggregator_sees_its_site_and_nothing_else(page: Page, gui_url: str, world: World) -> None:
    log_in(page, gui_url, *world.aggregator)
    page.goto(gui_url + "/pro/")
    assert _sites_on_map(page) == {world.site_b}
    page.goto(gui_url + "/pro/control")
    assert page.locator("form.pro-command").count() == 0  # the GESSCon is not theirs
    response = page.request.get(gui_url + f"/pro/ess/{world.ess['@iot.id']}")
    assert response.status == 404


def test_a_live_voltage_recolours_its_site(page: Page, gui_url: str, gui_server: GuiServer, world: World) -> None:
    log_in(page, gui_url, *world.operator)
    page.goto(gui_url + "/pro/")
    site = world.sites_a[0]
    assert page.locator(f'#pro-map g.pro-site[data-site="{site}"]').get_attribute("data-band") == "ok"
    page.wait_for_selector('#pro-live-state[data-state="live"]')
    with gui_server.admin() as sta:
        sta.create("Observations", {"phenomenonTime": "2026-06-21T01:05:00Z", "result": [258.0, 240.0, 236.0],
                                    "MultiDatastream": {"@iot.id": world.multi_id}})
        sta.create_observations(world.meter["streams"]["P_grid"], ["phenomenonTime", "result"],
                                [["2026-06-21T01:05:00Z", -4321.0]])
    page.wait_for_selector(f'#pro-map g.pro-site[data-site="{site}"][data-band="violation"]')
    assert page.locator(f'#pro-map g.pro-site[data-site="{site}"] circle').get_attribute("fill") == "#c62828"
    page.wait_for_selector(f'#pro-sites tr[data-site="{site}"] .live-power:text-is("-4321")')
    page.wait_for_selector("#pro-chart[data-points]")


def _command_form(page: Page, capability_id: int) -> Any:
    return page.locator(f'form.pro-command[data-capability="{capability_id}"]')


def test_gesscon_status_per_radial_and_a_command_becomes_a_task(page: Page, gui_url: str, gui_server: GuiServer,
                                                               world: World) -> None:
    log_in(page, gui_url, *world.operator)
    page.goto(gui_url + "/pro/control")
    status = f"#pro-status-{world.gesscon['@iot.id']}"
    row = page.locator(f'{status} tr[data-radial="{world.radial_a}"]')
    assert row.locator('td[data-key="radialSolution"]').inner_text() == "peak_shaving"
    assert row.locator('td[data-key="essWithinBounds"]').inner_text() == "yes"
    assert page.locator(f'{status} tr[data-radial="{world.radial_b}"]').count() == 0
    assert page.locator(f"#pro-status-{world.gesscon_b}").count() == 0  # radial B's Thing: the server hides it
    assert page.locator(f'table.pro-status tr[data-radial="{world.radial_b}"]').count() == 0
    page.wait_for_selector('#pro-live-state[data-state="live"]')
    with gui_server.admin() as sta:
        StatusWriter(sta, world.status_streams).write("radialSolution", world.radial_a,
                                                      DAY + timedelta(minutes=70), "voltage_control")
    page.wait_for_selector(f'{status} tr[data-radial="{world.radial_a}"] td[data-live]:text-is("voltage_control")')
    screenshot(page, "gui-professional-control", full_page=True)
    form = _command_form(page, world.capability_id)
    form.locator("input[name=radialId]").fill(world.radial_a)
    form.locator("select[name=solution]").select_option("peak_shaving")
    form.locator("input[name=startTime]").fill("2026-06-22T00:00:00Z")
    form.locator("input[name=stopTime]").fill("2026-06-23T00:00:00Z")
    form.locator("button[type=submit]").click()
    task_id = int(page.locator("#pro-task-id").inner_text())
    with gui_server.admin() as sta:
        task = sta.get(f"Tasks({task_id})", None)
        capability = sta.get(f"Tasks({task_id})/TaskingCapability", None)
    assert capability["@iot.id"] == world.capability_id
    assert task["taskingParameters"] == {"radialId": world.radial_a, "solution": "peak_shaving",
                                         "startTime": "2026-06-22T00:00:00Z", "stopTime": "2026-06-23T00:00:00Z"}
    with gui_server.admin() as sta:  # GESSCon's own command desk answers it
        desk = CommandDesk(sta, StatusWriter(sta, world.status_streams), {world.radial_a: world.capability_id})
        assert desk.take(DAY) >= 1
    page.goto(gui_url + "/pro/control")
    answer = page.locator(f'form.pro-command[data-capability="{world.capability_id}"] ~ table '
                          f'tr[data-task="{task_id}"] .pro-answer')
    assert answer.get_attribute("data-answer") == "accepted"
    assert page.locator(f'{status} tr[data-radial="{world.radial_a}"] td[data-key="commandAccepted"]').inner_text() \
        == "yes"


def test_a_gevchcon_command_of_table_9_becomes_a_task(page: Page, gui_url: str, gui_server: GuiServer,
                                                      world: World) -> None:
    log_in(page, gui_url, *world.operator)
    page.goto(gui_url + "/pro/control")
    assert page.locator(f"#pro-status-{world.gevchcon.thing} th").all_inner_texts()[1:3] == ["commandResult",
                                                                                           "errorCode"]
    form = _command_form(page, int(world.gevchcon.capability))
    form.locator("select[name=action]").select_option("avoid_overload")
    form.locator("input[name=radialId]").fill(world.radial_a)
    form.locator("input[name=startTime]").fill("2026-06-21T17:00:00Z")
    form.locator("input[name=stopTime]").fill("2026-06-21T21:00:00Z")
    form.locator("input[name=maxPower]").fill("40000")
    form.locator("button[type=submit]").click()
    task_id = int(page.locator("#pro-task-id").inner_text())
    with gui_server.admin() as sta:
        assert sta.get(f"Tasks({task_id})", None)["taskingParameters"] == {
            "action": "avoid_overload", "radialId": world.radial_a, "startTime": "2026-06-21T17:00:00Z",
            "stopTime": "2026-06-21T21:00:00Z", "maxPower": 40000}


def test_invalid_input_shows_the_servers_400_message(page: Page, gui_url: str, gui_server: GuiServer,
                                                     world: World) -> None:
    log_in(page, gui_url, *world.operator)
    page.goto(gui_url + "/pro/control")
    form = _command_form(page, world.capability_id)
    form.locator("input[name=radialId]").fill(world.radial_a)
    form.locator("input[name=startTime]").fill("tomorrow morning")
    form.locator("input[name=stopTime]").fill("2026-06-23T00:00:00Z")
    with page.expect_response(lambda r: "/pro/task/" in r.url) as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 400
    shown = page.locator("#pro-task-error .pro-error-message").inner_text()
    with gui_server.admin() as sta, pytest.raises(BadRequest) as refused:
        sta.create_task(world.capability_id, {"radialId": world.radial_a, "startTime": "tomorrow morning",
                                              "stopTime": "2026-06-23T00:00:00Z"})
    assert shown == refused.value.message and shown
    screenshot(page, "gui-professional-refused", full_page=True)


def test_ess_schedule_against_actual_and_its_csv(page: Page, gui_url: str, world: World) -> None:
    log_in(page, gui_url, *world.operator)
    page.goto(gui_url + "/pro/ess")
    with page.expect_navigation():
        page.click(f"text={world.ess['name']}")
    rows = page.locator("#pro-ess-table tbody tr").all_inner_texts()
    assert [row.split("\t") for row in rows] == [
        ["2026-06-21T00:00:00+00:00", "500", "400", "50.0"], ["2026-06-21T00:15:00+00:00", "500", "415", "51.0"],
        ["2026-06-21T00:30:00+00:00", "-800", "430", "52.0"], ["2026-06-21T00:45:00+00:00", "-800", "445", "53.0"]]
    page.wait_for_selector("#pro-ess-chart .uplot")
    screenshot(page, "gui-professional-ess", full_page=True)
    exported = page.request.get(gui_url + f"/pro/ess/{world.ess['@iot.id']}.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(exported.text())))[:2] == [
        ["time", "planned_W", "actual_W", "SoC_pct"], ["2026-06-21T00:00:00Z", "500.0", "400.0", "50.0"]]


def test_the_sites_csv_holds_what_the_map_shows(page: Page, gui_url: str, world: World) -> None:
    log_in(page, gui_url, *world.operator)
    page.goto(gui_url + "/pro/")
    with page.expect_download() as download:
        page.click("text=Export CSV")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert {row["siteId"] for row in rows} == set(world.sites_a)
    first = next(row for row in rows if row["siteId"] == world.sites_a[0])
    assert first["radialId"] == world.radial_a and first["voltageBand"] in ("ok", "violation")


def test_whatif_sweep_results_and_a_job(page: Page, gui_url: str, gui_server: GuiServer, world: World) -> None:
    log_in(page, gui_url, *world.operator)
    page.goto(gui_url + "/pro/whatif")
    sweep = [row.split("\t") for row in page.locator("#pro-sweep tbody tr").all_inner_texts()]
    assert [(row[1], row[3], row[-1]) for row in sweep] == [("9002", "100", "4.2"), ("9001", "50", "0")]
    results = page.inner_text("body")
    for expected in ("Voltages per bus", "vm_pu:7", "1.06", "Line loading", "Losses", "KPIs", "violationsPct"):
        assert expected in results
    screenshot(page, "gui-professional-whatif", full_page=True)
    form = page.locator("form.pro-command").first
    for name, value in (("pvPenetration", "80"), ("evPenetration", "0"), ("essPenetration", "20"),
                        ("startTime", "2026-06-21T00:00:00Z"), ("stopTime", "2026-06-22T00:00:00Z")):
        form.locator(f"input[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    task_id = int(page.locator("#pro-task-id").inner_text())
    with gui_server.admin() as sta:
        task = sta.get(f"Tasks({task_id})", None)
        assert task["taskingParameters"]["pvPenetration"] == 80 and task["taskingParameters"]["grid"]
        engine = next(iter(sta.iter("Things", Query().filter("properties/role eq 'whatif-engine'"))))
        status = next(d for d in sta.iter(f"Things({engine['@iot.id']})/Datastreams")
                      if d["properties"]["key"] == "status")
        sta.create("Observations", {"phenomenonTime": at(120), "result": "queued", "parameters": {"taskId": task_id},
                                    "Datastream": {"@iot.id": status["@iot.id"]}})  # as the engine answers
    page.goto(gui_url + "/pro/whatif")
    assert page.locator(f'tr[data-task="{task_id}"] .pro-answer').get_attribute("data-answer") == "queued"
    exported = page.request.get(gui_url + "/pro/whatif.csv")
    assert "vm_pu:7" in exported.text() and "violationsPct" in exported.text()
    swept = list(csv.DictReader(io.StringIO(page.request.get(gui_url + "/pro/whatif-sweep.csv").text())))
    assert [(row["taskId"], row["pvPenetration"], row["vMaxPu"]) for row in swept] == [
        ("9002", "100", "1.0595"), ("9001", "50", "1.04")]
