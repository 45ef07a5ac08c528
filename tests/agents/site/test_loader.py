"""The site file loader: the example files load; every error names the file, the line and the field."""
from __future__ import annotations

import pathlib

import pytest

from agents.site import DeviceKind, SiteFileError, load_site, parse_site
from agents.site.model import ObservationType
from tests.conftest import ROOT

SITES = sorted((pathlib.Path(ROOT) / "sites").glob("*.yaml"))

BASE = """\
site:
  id: test-site
  name: Test site
  location: {latitude: 46.5, longitude: 11.35}
  properties: {contract_limit_in_w: 10000}
devices:
  - key: ess
    kind: ess
    name: Battery
    properties: {max_power_w: 6400, max_capacity_wh: 9600, min_soc_pct: 5, max_soc_pct: 100}
    datastreams:
      - {key: P_ess, unit: W, observed_property: ess-power}
      - {key: SoC, unit: "%", observed_property: ess-soc}
    capabilities:
      - {key: ess_setpoint, name: ESS set-point, template: ess-setpoint}
  - key: meter
    kind: meter
    name: PCC meter
    multidatastreams:
      - {key: V_grid, unit: V, observed_property: phase-voltage}
"""


def _error(text: str) -> SiteFileError:
    with pytest.raises(SiteFileError) as caught:
        parse_site(text, "test.yaml")
    return caught.value


def test_the_base_file_loads() -> None:
    site = parse_site(BASE, "test.yaml")
    assert [device.key for device in site.devices] == ["site", "ess", "meter"]
    assert site.site_thing.kind is DeviceKind.SITE
    assert site.site_thing.properties.contract_limit_in_w == 10000
    stream = site.datastream("P_ess")
    assert (stream.unit, stream.senml_name) == (stream.unit, "test-site/P_ess")
    assert stream.unit is not None and (stream.unit.symbol, stream.unit.definition) == ("W", "ucum:W")
    assert stream.observed_property.definition == "urn:s4g:op:ess-power"
    assert stream.observation_type is ObservationType.MEASUREMENT


def test_a_device_without_a_location_is_at_the_site() -> None:
    site = parse_site(BASE, "test.yaml")
    assert site.device("ess").location == site.location


def test_a_multidatastream_has_three_phases_by_default() -> None:
    (_, stream), = parse_site(BASE, "test.yaml").multidatastreams()
    assert [component.name for component in stream.components] == ["L1", "L2", "L3"]
    assert {component.unit.symbol for component in stream.components} == {"V"}


def test_a_template_is_bounded_by_the_device_rating() -> None:
    _, capability = parse_site(BASE, "test.yaml").capability("ess_setpoint")
    power = capability.tasking_parameters["field"][0]
    assert power["name"] == "powerSetpoint"
    assert power["constraint"]["interval"] == [[-6400, 6400]]


@pytest.mark.parametrize("resolution_s", [60, 900, 3600])
def test_a_schedule_has_a_day_of_steps_at_its_resolution(resolution_s: int) -> None:
    text = BASE.replace("{key: ess_setpoint, name: ESS set-point, template: ess-setpoint}",
                        f"{{key: ess_schedule, name: Schedule, template: ess-schedule, resolution_s: {resolution_s}}}")
    _, capability = parse_site(text, "test.yaml").capability("ess_schedule")
    profile = next(field for field in capability.tasking_parameters["field"] if field["name"] == "powerProfile")
    assert profile["elementCount"]["constraint"]["interval"] == [[1, 86400 // resolution_s]]
    assert capability.resolution_s == resolution_s


@pytest.mark.parametrize("path", SITES, ids=[path.stem for path in SITES])
def test_every_example_file_loads(path: pathlib.Path) -> None:
    site = load_site(path)
    names = [stream.senml_name for _, stream in site.datastreams()]
    assert len(names) == len(set(names))
    assert all(name.startswith(f"{site.id}/") for name in names)
    assert site.plugins


def test_the_examples_cover_each_demo_site_kind() -> None:
    assert {path.stem for path in SITES} >= {"fur-house", "bolzano-residential", "bolzano-commercial",
                                              "bucharest-prosumer"}


@pytest.mark.parametrize(("old", "new", "line", "field", "message"), [
    ("unit: W, observed_property: ess-power", "unit: Watt, observed_property: ess-power", 12,
     "devices[0].datastreams[0].unit", "not a SenML unit"),
    ("    name: Battery\n", "", 7, "devices[0]", "missing field 'name'"),
    ("max_power_w: 6400", "max_power_w: lots", 10, "devices[0].properties.max_power_w", "expected a number"),
    ("kind: meter", "kind: toaster", 17, "devices[1].kind", "'toaster' is not one of"),
    ("key: SoC", "key: P_ess", 13, "devices[0].datastreams[1].key", "duplicate stream key 'P_ess'"),
    ("key: V_grid", "key: SoC", 20, "devices[1].multidatastreams[0].key", "duplicate stream key 'SoC'"),
    ("  - key: meter", "  - key: ess", 16, "devices[1].key", "duplicate device key 'ess'"),
    ("    name: PCC meter\n", "    name: PCC meter\n    name: Meter\n", 19, "devices[1].name", "given twice"),
    ("    name: PCC meter\n", "    name: PCC meter\n    colour: blue\n", 19, "devices[1].colour", "unknown field"),
    ("min_soc_pct: 5", "min_soc_pct: 105", 10, "devices[0].properties.min_soc_pct", "outside [0, 100]"),
    ("{latitude: 46.5, longitude: 11.35}", "{latitude: 146.5, longitude: 11.35}", 4, "site.location.latitude",
     "outside"),
    ("observed_property: ess-soc", "observed_property: soc-of-everything", 13,
     "devices[0].datastreams[1].observed_property", "unknown observed property"),
    ("{key: SoC, unit: \"%\", observed_property: ess-soc}", "{key: SoC, observed_property: ess-soc}", 13,
     "devices[0].datastreams[1]", "missing field 'unit'"),
    ("properties: {max_power_w: 6400, ", "properties: {", 15, "devices[0].capabilities[0].template", "max_power_w"),
    ("  - key: meter", "  - key: site", 16, "devices[1].key", "the site Thing's key"),
    ("datastreams:\n      - {key: P_ess", "datastreams: 7\n      - {key: P_ess", 12, "", "not valid YAML"),
])
def test_an_invalid_file_names_the_file_line_and_field(old: str, new: str, line: int, field: str,
                                                       message: str) -> None:
    assert old in BASE
    error = _error(BASE.replace(old, new, 1))
    assert (error.file, error.line, error.field) == ("test.yaml", line, field), str(error)
    assert message in error.message
    assert str(error).startswith(f"test.yaml:{line}: ")


def test_credentials_never_go_in_the_file() -> None:
    error = _error(BASE + "northbound: {server_url: 'http://sta.example/v1.1', password: hunter2}\n")
    assert (error.line, error.field) == (21, "northbound.password")
    assert "credentials" in error.message


def test_an_empty_file_is_an_error() -> None:
    assert "empty" in _error("").message


def test_a_missing_file_is_an_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(SiteFileError) as caught:
        load_site(tmp_path / "nowhere.yaml")
    assert caught.value.file.endswith("nowhere.yaml")


def test_yaml_merge_keys_are_overridden_by_the_mapping_own() -> None:
    text = BASE.replace("  - key: meter\n", "  - &meter\n    key: meter\n", 1) + (
        "  - <<: *meter\n    key: meter2\n    name: Second meter\n    multidatastreams: []\n")
    site = parse_site(text, "test.yaml")
    assert site.device("meter2").name == "Second meter"
    assert site.device("meter2").kind is DeviceKind.METER


def test_connector_options_default_to_the_device_ratings_and_position() -> None:
    text = BASE.replace("    datastreams:\n      - {key: P_ess", "    connector: {kind: simulated-house, options: "
                        "{pv_kwp: 5, max_power_w: 5000}}\n    datastreams:\n      - {key: P_ess", 1)
    options = parse_site(text, "test.yaml").device("ess").connector_options()
    assert options == {"max_capacity_wh": 9600, "max_power_w": 5000, "min_soc_pct": 5, "max_soc_pct": 100,
                       "latitude_deg": 46.5, "longitude_deg": 11.35, "pv_kwp": 5}


def test_forecast_properties_are_checked() -> None:
    error = _error(BASE.replace("properties: {contract_limit_in_w: 10000}",
                                "properties: {contract_limit_in_w: 10000, timezone: Mars/Olympus}"))
    assert (error.line, error.field) == (5, "site.properties.timezone")
    error = _error(BASE.replace("max_power_w: 6400,", "max_power_w: 6400, tilt_deg: 120,"))
    assert (error.line, error.field) == (10, "devices[0].properties.tilt_deg")
    site = parse_site(BASE.replace("{contract_limit_in_w: 10000}", "{timezone: Europe/Rome}"), "test.yaml")
    assert site.site_thing.properties.timezone == "Europe/Rome"
