"""Commissioning a site file on a real server: idempotent, PATCHes what changed, retires what went."""
from __future__ import annotations

import dataclasses
import pathlib
from datetime import UTC, datetime

import pytest

from agents.commissioning import SiteIds, commission
from agents.site import DeviceSpec, SiteSpec, parse_site
from sta_client import BadRequest, Query, entity_path, string_literal
from tests.agents.commission.conftest import Counted, example_site, site_text

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EXAMPLES = ["fur-house", "bolzano-residential", "bolzano-commercial", "bucharest-prosumer"]


def _without(site: SiteSpec, key: str) -> SiteSpec:
    return dataclasses.replace(site, devices=tuple(device for device in site.devices if device.key != key))


def _with_device(site: SiteSpec, device: DeviceSpec) -> SiteSpec:
    return dataclasses.replace(site, devices=(*site.devices, device))


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_site_commissions_with_an_id_for_each_key(sta: Counted, name: str) -> None:
    site = example_site(name)
    ids = commission(site, sta.client, NOW)
    assert set(ids.things) == {device.key for device in site.devices}
    assert set(ids.datastreams) == {stream.key for _, stream in site.datastreams()}
    assert set(ids.capabilities) == {capability.key for _, capability in site.capabilities()}
    thing = sta.client.get(entity_path("Things", ids.things["site"]))
    assert thing["properties"]["siteId"] == site.id
    assert thing["properties"]["kind"] == "site"


def test_commissioning_twice_gives_the_same_ids_and_writes_nothing(sta: Counted) -> None:
    site = example_site("fur-house")
    first = commission(site, sta.client, NOW)
    written = len(sta.transport.writes())
    second = commission(site, sta.client, NOW)
    assert second == first
    assert sta.transport.writes()[written:] == []
    assert written <= 2 + len(site.devices) + 30  # shared entities + one deep insert per Thing


def test_a_new_thing_is_one_deep_insert(sta: Counted) -> None:
    site = example_site("fur-house")
    commission(site, sta.client, NOW)
    thing_posts = [path for method, path in sta.transport.writes() if method == "POST" and path.endswith("/Things")]
    assert len(thing_posts) == len(site.devices)
    assert not [path for method, path in sta.transport.writes() if path.endswith(("/Datastreams", "/Locations"))]


def test_a_changed_property_is_one_patch(sta: Counted) -> None:
    text = site_text("fur-house")
    first = commission(parse_site(text, "a.yaml"), sta.client, NOW)
    written = len(sta.transport.writes())
    changed = parse_site(text.replace('device_id: "LGZ-31000741"', 'device_id: "LGZ-31000999"'), "a.yaml")
    second = commission(changed, sta.client, NOW)
    assert second == first
    assert sta.transport.writes()[written:] == [("PATCH", f"/v1.1/Things({first.things['meter']})")]
    thing = sta.client.get(entity_path("Things", first.things["meter"]))
    assert thing["properties"]["deviceId"] == "LGZ-31000999"
    assert thing["properties"]["key"] == "meter"


def test_properties_set_by_others_survive_a_patch(sta: Counted) -> None:
    text = site_text("fur-house")
    ids = commission(parse_site(text, "a.yaml"), sta.client, NOW)
    path = entity_path("Things", ids.things["ess"])
    properties = sta.client.get(path)["properties"]
    sta.client.patch(path, {"properties": {**properties, "lastScheduleAt": "2026-06-01T00:00:00Z"}})
    commission(parse_site(text.replace("max_capacity_wh: 4500", "max_capacity_wh: 4400"), "a.yaml"), sta.client, NOW)
    properties = sta.client.get(path)["properties"]
    assert (properties["maxCapacity_Wh"], properties["lastScheduleAt"]) == (4400, "2026-06-01T00:00:00Z")


def test_a_removed_device_is_retired_and_keeps_its_history(sta: Counted) -> None:
    site = example_site("fur-house")
    ids = commission(site, sta.client, NOW)
    stream = ids.datastreams["P_pv"]
    sta.client.create(entity_path("Datastreams", stream, "Observations"),
                      {"phenomenonTime": "2026-06-01T11:00:00Z", "result": -2100})
    written = len(sta.transport.writes())
    without = commission(_without(site, "pv"), sta.client, NOW)
    assert "pv" not in without.things and "P_pv" not in without.datastreams
    assert {method for method, _ in sta.transport.writes()[written:]} == {"PATCH"}
    thing = sta.client.get(entity_path("Things", ids.things["pv"]))
    assert thing["properties"]["retired"] is True
    assert thing["properties"]["retiredAt"] == "2026-06-01T12:00:00Z"
    assert sta.client.get(entity_path("Datastreams", stream))["properties"]["retired"] is True
    assert [o["result"] for o in sta.client.iter(entity_path("Datastreams", stream, "Observations"))] == [-2100]
    written = len(sta.transport.writes())
    assert commission(_without(site, "pv"), sta.client, NOW) == without  # retiring twice changes nothing
    assert sta.transport.writes()[written:] == []


def test_a_readded_device_is_unretired_with_the_same_ids(sta: Counted) -> None:
    site = example_site("fur-house")
    ids = commission(site, sta.client, NOW)
    commission(_without(site, "pv"), sta.client, NOW)
    again = commission(site, sta.client, NOW)
    assert again == ids
    for path in (entity_path("Things", ids.things["pv"]), entity_path("Datastreams", ids.datastreams["P_pv"])):
        properties = sta.client.get(path)["properties"]
        assert "retired" not in properties and "retiredAt" not in properties


def test_a_new_device_on_an_existing_site_is_added(sta: Counted) -> None:
    site = example_site("fur-house")
    without = commission(_without(site, "pv"), sta.client, NOW)
    ids = commission(site, sta.client, NOW)
    assert {key: ids.things[key] for key in without.things} == dict(without.things)
    assert "pv" in ids.things


def test_a_multidatastream_has_three_phases(sta: Counted) -> None:
    site = example_site("fur-house")
    ids = commission(site, sta.client, NOW)
    stream = sta.client.get(entity_path("MultiDatastreams", ids.multidatastreams["V_grid"]),
                            Query().expand("ObservedProperties"))
    assert [unit["symbol"] for unit in stream["unitOfMeasurements"]] == ["V", "V", "V"]
    assert len(stream["ObservedProperties"]) == 3
    assert stream["properties"]["components"] == ["L1", "L2", "L3"]


def test_capability_parameters_are_checked_by_the_server(sta: Counted) -> None:
    site = example_site("fur-house")
    ids = commission(site, sta.client, NOW)
    capability = ids.capabilities["ess_setpoint"]
    assert sta.client.create_task(capability, {"powerSetpoint": -2000, "priority": 1,
                                               "startTime": "2026-06-01T12:00:00Z"})
    with pytest.raises(BadRequest):  # beyond the battery's 2,400 W
        sta.client.create_task(capability, {"powerSetpoint": -5000, "priority": 1,
                                            "startTime": "2026-06-01T12:00:00Z"})
    schedule = ids.capabilities["ess_schedule"]
    assert sta.client.create_task(schedule, {"startTime": "2026-06-02T00:00:00Z", "powerProfile": [100.0] * 1440})


def test_observed_properties_and_sensors_are_never_duplicated(sta: Counted) -> None:
    first, second = example_site("fur-house"), example_site("fur-house")
    commission(first, sta.client, NOW)
    commission(second, sta.client, NOW)
    found = list(sta.client.iter("ObservedProperties",
                                 Query().filter(f"definition eq {string_literal('urn:s4g:op:ess-power')}")))
    assert len(found) == 1
    sensors = list(sta.client.iter("Sensors", Query().filter(f"name eq {string_literal(first.id + '/ess')}")))
    assert len(sensors) == 1


def test_a_move_patches_the_location_and_keeps_history(sta: Counted) -> None:
    text = site_text("fur-house")
    ids = commission(parse_site(text, "a.yaml"), sta.client, NOW)
    moved = text.replace("{latitude: 56.8312, longitude: 8.9871}", "{latitude: 56.8400, longitude: 8.9900}")
    written = len(sta.transport.writes())
    thing = entity_path("Things", ids.things["ess"])
    assert commission(parse_site(moved, "a.yaml"), sta.client, NOW) == ids
    writes = sta.transport.writes()[written:]  # every device sits at the site: all of them move
    assert sorted(path for method, path in writes if method == "PATCH") == sorted(
        f"/v1.1/{entity_path('Things', thing_id)}" for thing_id in ids.things.values())
    assert [path for method, path in writes if method == "POST"] == ["/v1.1/Locations"] * len(ids.things)
    locations = list(sta.client.iter(entity_path("Things", ids.things["ess"], "Locations")))
    assert [location["location"]["coordinates"] for location in locations] == [[8.99, 56.84]]
    assert len(list(sta.client.iter(f"{thing}/HistoricalLocations"))) == 2


def test_site_ids_survive_a_json_round_trip(sta: Counted, tmp_path: pathlib.Path) -> None:
    ids = commission(example_site("bucharest-prosumer"), sta.client, NOW)
    path = tmp_path / "ids.json"
    ids.write(path)
    assert SiteIds.read(path) == ids


def test_a_changed_observed_property_relinks_a_datastream_and_is_reported_for_a_multidatastream(
        sta: Counted, caplog: pytest.LogCaptureFixture) -> None:
    text = site_text("fur-house")
    ids = commission(parse_site(text, "a.yaml"), sta.client, NOW)
    changed = text.replace("unit: V, observed_property: phase-voltage", "unit: V, observed_property: voltage").replace(
        "{key: P_grid, name: PCC active power, unit: W, observed_property: active-power}",
        "{key: P_grid, name: PCC active power, unit: W, observed_property: grid-power}")
    assert commission(parse_site(changed, "a.yaml"), sta.client, NOW) == ids
    stream = sta.client.get(entity_path("Datastreams", ids.datastreams["P_grid"]), Query().expand("ObservedProperty"))
    assert stream["ObservedProperty"]["definition"] == "urn:s4g:op:grid-power"
    multi = sta.client.get(entity_path("MultiDatastreams", ids.multidatastreams["V_grid"]),
                           Query().expand("ObservedProperties"))
    assert [op["definition"] for op in multi["ObservedProperties"]] == ["urn:s4g:op:phase-voltage"] * 3
    assert "MultiDatastream V_grid: its ObservedProperties differ" in caplog.text
    written = len(sta.transport.writes())
    commission(parse_site(changed, "a.yaml"), sta.client, NOW)
    assert sta.transport.writes()[written:] == []


def test_a_run_the_server_refused_halfway_completes_on_the_next(sta: Counted) -> None:
    text = site_text("fur-house")
    schedule = "{key: ess_schedule, name: ESS 24-hour schedule, template: ess-schedule, resolution_s: 60}"
    bogus = text.replace(schedule, "{key: ess_schedule, name: Bogus, tasking_parameters: {type: Bogus}}")
    assert bogus != text
    with pytest.raises(BadRequest):
        commission(parse_site(bogus, "a.yaml"), sta.client, NOW)
    site = parse_site(text, "a.yaml")
    ids = commission(site, sta.client, NOW)
    things = list(sta.client.iter("Things", Query().filter(f"properties/siteId eq {string_literal(site.id)}")))
    assert sorted(thing["properties"]["key"] for thing in things) == sorted(ids.things)
    assert len(ids.capabilities) == 2


def test_a_senml_pack_named_after_the_site_lands_in_its_datastreams(sta: Counted) -> None:
    site = example_site("fur-house")
    ids = commission(site, sta.client, NOW)
    moment = NOW.timestamp()
    sta.client.post_senml([{"bn": f"{site.id}/", "bt": moment, "n": "P_ess", "u": "W", "v": 1200.0},
                           {"n": "SoC", "u": "%", "v": 56.5}, {"n": "essStatus", "vs": "7"}])
    for key, result in (("P_ess", 1200.0), ("SoC", 56.5), ("essStatus", "7")):
        observations = list(sta.client.iter(entity_path("Datastreams", ids.datastreams[key], "Observations")))
        assert [observation["result"] for observation in observations] == [result]
