"""The commissioning plan (pure): desired (a site file) against existing (the server's JSON, built here
the way the server answers the expanded read of commissioning/existing.py)."""
from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from agents.commission import label_commands
from agents.commissioning import Action, Existing, plan_site, site_ids
from agents.commissioning import desired as wire
from agents.commissioning.desired import Ref
from agents.site import SiteSpec, parse_site
from tests.agents.site.test_loader import BASE

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EMPTY = Existing({}, {}, {}, {})
SETS = ("Datastreams", "MultiDatastreams", "TaskingCapabilities")


def _site(text: str = BASE) -> SiteSpec:
    return parse_site(text, "test.yaml")


def server_state(site: SiteSpec) -> Existing:
    """What the server holds after commissioning `site`: each entity with an id, links expanded."""
    ids = itertools.count(1)
    definitions = {spec.definition for _, stream in site.datastreams() for spec in [stream.observed_property]} | {
        component.observed_property.definition for _, stream in site.multidatastreams()
        for component in stream.components}
    observed = {definition: next(ids) for definition in sorted(definitions)}
    sensors = {device.key: {"@iot.id": next(ids), **wire.sensor_body(site, device)} for device in site.devices}
    actuators = {device.key: {"@iot.id": next(ids), **wire.actuator_body(site, device)} for device in site.devices}
    links = {Ref("ObservedProperties", d): i for d, i in observed.items()} | {
        Ref("Sensors", body["name"]): body["@iot.id"] for body in sensors.values()} | {
        Ref("Actuators", body["name"]): body["@iot.id"] for body in actuators.values()}

    def linked(value: Any) -> Any:
        if isinstance(value, Ref):
            return {"@iot.id": links[value]}
        return [linked(item) for item in value] if isinstance(value, list) else value

    things = {}
    for device in site.devices:
        thing: dict[str, Any] = {"@iot.id": next(ids), **wire.thing_body(site, device),
                                 "Locations": [{"@iot.id": next(ids), **wire.location_body(site, device)}]}
        bodies = {"Datastreams": [wire.datastream_body(site, device, s) for s in device.datastreams],
                  "MultiDatastreams": [wire.multidatastream_body(site, device, s) for s in device.multidatastreams],
                  "TaskingCapabilities": [wire.capability_body(site, device, c) for c in device.capabilities]}
        for entity_set, streams in bodies.items():
            thing[entity_set] = [{"@iot.id": next(ids), **{k: linked(v) for k, v in body.items()}} for body in streams]
        things[device.key] = thing
    return Existing(things, observed, {b["name"]: b for b in sensors.values()},
                    {b["name"]: b for b in actuators.values()})


def _summary(site: SiteSpec, existing: Existing) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [(step.action.value, step.entity_set, step.key, step.changed)
            for step in plan_site(site, existing, NOW).steps]


def test_an_empty_server_gets_shared_entities_then_one_deep_insert_per_thing() -> None:
    site = _site()
    plan = plan_site(site, EMPTY, NOW)
    assert {step.action for step in plan.steps} == {Action.CREATE}
    assert [step.entity_set for step in plan.steps] == (
        ["ObservedProperties"] * 3 + ["Sensors", "Actuators", "Sensors"] + ["Things"] * 3)
    ess = next(step.body for step in plan.steps if step.entity_set == "Things" and step.key == "ess")
    assert [stream["properties"]["key"] for stream in ess["Datastreams"]] == ["P_ess", "SoC"]
    assert ess["Datastreams"][0]["ObservedProperty"] == Ref("ObservedProperties", "urn:s4g:op:ess-power")
    assert ess["Locations"][0]["location"] == {"type": "Point", "coordinates": [11.35, 46.5]}
    assert ess["properties"] == {"siteId": "test-site", "key": "ess", "kind": "ess", "managedBy": "site-file",
                                 "maxPower_W": 6400,
                                 "maxCapacity_Wh": 9600, "minSoC_pct": 5, "maxSoC_pct": 100}


def test_a_server_that_holds_the_site_gets_no_writes() -> None:
    site = _site()
    plan = plan_site(site, server_state(site), NOW)
    assert plan.steps == ()
    assert plan.unchanged == 3 + 3 + 2 + 1 + 1  # Things, Sensors/Actuator, Datastreams, MDS, capability


def test_site_ids_come_from_the_server_state() -> None:
    site = _site()
    state = server_state(site)
    ids = site_ids(site, state)
    assert ids.things["ess"] == state.things["ess"]["@iot.id"]
    assert ids.datastreams["SoC"] == state.things["ess"]["Datastreams"][1]["@iot.id"]
    assert set(ids.capabilities) == {"ess_setpoint"}


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("kind: ess\n    name: Battery", "kind: ess\n    name: House battery",  # names made from the device's
     [("patch", "Sensors", "test-site/ess", ("description", "metadata")),
      ("patch", "Actuators", "test-site/ess", ("description", "metadata")),
      ("patch", "Things", "ess", ("description", "name")), ("patch", "Datastreams", "P_ess", ("name",)),
      ("patch", "Datastreams", "SoC", ("name",))]),
    ("{key: P_ess, unit: W,", "{key: P_ess, unit: kW,", [("patch", "Datastreams", "P_ess", ("unitOfMeasurement",))]),
    ("{key: SoC, unit: \"%\", observed_property: ess-soc}",
     "{key: SoC, name: Charge, unit: \"%\", observed_property: ess-soc}", [("patch", "Datastreams", "SoC", ("name",))]),
    ("min_soc_pct: 5", "min_soc_pct: 10", [("patch", "Things", "ess", ("properties",))]),
    ("max_power_w: 6400", "max_power_w: 5000",
     [("patch", "Things", "ess", ("properties",)), ("patch", "TaskingCapabilities", "ess_setpoint",
                                                    ("taskingParameters",))]),
    ("{latitude: 46.5, longitude: 11.35}", "{latitude: 46.5, longitude: 11.35}", []),
])
def test_a_change_in_the_file_patches_only_what_changed(old: str, new: str, expected: list[Any]) -> None:
    assert old in BASE
    assert _summary(_site(BASE.replace(old, new)), server_state(_site())) == expected


def test_a_device_missing_from_the_file_is_retired_with_its_streams() -> None:
    site = _site()
    without = dataclasses.replace(site, devices=tuple(d for d in site.devices if d.key != "meter"))
    plan = plan_site(without, server_state(site), NOW)
    assert [(step.action, step.entity_set, step.key) for step in plan.steps] == [
        (Action.RETIRE, "Things", "meter"), (Action.RETIRE, "MultiDatastreams", "V_grid")]
    assert all(step.body["properties"]["retiredAt"] == "2026-06-01T12:00:00Z" for step in plan.steps)
    assert plan.steps[0].body["properties"]["key"] == "meter"  # the other properties stay


def test_a_retired_entity_back_in_the_file_is_unretired() -> None:
    site = _site()
    state = server_state(site)
    thing = state.things["meter"]
    thing["properties"] = {**thing["properties"], "retired": True, "retiredAt": "2026-05-01T00:00:00Z"}
    steps = plan_site(site, state, NOW).steps
    assert [(step.action, step.key) for step in steps] == [(Action.UNRETIRE, "meter")]
    assert "retired" not in steps[0].body["properties"]


def test_a_stream_moved_to_another_device_keeps_its_entity() -> None:
    text = BASE.replace("      - {key: SoC, unit: \"%\", observed_property: ess-soc}\n", "")
    moved = text.replace("    multidatastreams:\n", "    datastreams:\n      - {key: SoC, unit: \"%\", "
                         "observed_property: ess-soc}\n    multidatastreams:\n")
    state = server_state(_site())
    steps = plan_site(_site(moved), state, NOW).steps
    move = next(step for step in steps if step.key == "SoC")
    assert move.action is Action.PATCH
    assert move.body["Thing"] == {"@iot.id": state.things["meter"]["@iot.id"]}
    assert move.path == f"Datastreams({state.things['ess']['Datastreams'][1]['@iot.id']})"


def test_a_multidatastream_whose_observed_properties_changed_is_reported_not_patched() -> None:
    changed = _site(BASE.replace("unit: V, observed_property: phase-voltage", "unit: V, observed_property: voltage"))
    plan = plan_site(changed, server_state(_site()), NOW)
    assert [(step.entity_set, step.changed) for step in plan.steps] == [  # `voltage` is new; nothing relinks
        ("ObservedProperties", ()), ("MultiDatastreams", ("description", "name"))]  # (named after it)
    assert plan.warnings == ("MultiDatastream V_grid: its ObservedProperties differ from the site file's and cannot "
                             "be changed; give it a new key to create it anew",)


def test_the_label_commands_give_site_and_radial_labels() -> None:
    text = BASE.replace("properties: {contract_limit_in_w: 10000}",
                        "properties: {contract_limit_in_w: 10000, radial_id: R1}").replace(
        "    name: PCC meter\n", "    name: PCC meter\n    properties: {radial_id: R2}\n")
    site = _site(text)
    ids = site_ids(site, server_state(site))
    assert label_commands(site, ids) == [
        f"sta-admin label add {ids.things['site']} {ids.things['ess']} --label site:test-site --label radial:R1",
        f"sta-admin label add {ids.things['meter']} --label site:test-site --label radial:R2"]


def test_forecast_properties_have_their_wire_names() -> None:
    text = BASE.replace("    name: PCC meter\n", "    name: PCC meter\n    properties: {peak_power_kwp: 5, "
                        "tilt_deg: 35, azimuth_deg: 180, losses_pct: 14, annual_consumption_kwh: 4500, "
                        "timezone: Europe/Rome}\n")
    site = _site(text)
    properties = wire.thing_properties(site, site.device("meter"))
    assert properties == {"siteId": "test-site", "key": "meter", "kind": "meter", "managedBy": "site-file",
                          "peakPower_kWp": 5,
                          "tilt_deg": 35, "azimuth_deg": 180, "losses_pct": 14, "annualConsumption_kWh": 4500,
                          "timezone": "Europe/Rome"}


def test_entities_others_made_on_the_site_are_never_retired() -> None:
    site = _site()
    state = server_state(site)
    forecast = {"@iot.id": 999, "name": "PV forecast", "properties": {"siteId": "test-site", "key": "P_pv_forecast"}}
    state.things["ess"]["Datastreams"].append(forecast)
    state.things["weather"] = {"@iot.id": 998, "name": "Weather", "properties": {"siteId": "test-site",
                                                                               "key": "weather", "kind": "forecast"}}
    plan = plan_site(site, state, NOW)
    assert plan.steps == ()
