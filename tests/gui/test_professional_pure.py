"""The professional GUI's pure parts: GeoJSON → sites and radials → SVG, voltage bands, command forms from
SWE Common, schedule against actual, what-if tables, CSV."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gui.professional.commands import form_fields, task_parameters
from gui.professional.controller_status import NO_RADIAL, answers, columns, status_by_radial, summary
from gui.professional.export import to_csv
from gui.professional.gridresults import read_results
from gui.professional.overview import ess_summaries, radial_rows, site_statuses
from gui.professional.reads import Latest
from gui.professional.schedule import compare, latest_plan, planned_steps
from gui.professional.status import Band, State, device_state, voltage_band, worst_voltage
from gui.professional.svgmap import HEIGHT, MARGIN, WIDTH, draw, fit
from gui.professional.topology import read_grid
from gui.professional.whatif import result_tables, sweep

T0 = datetime(2026, 6, 21, tzinfo=UTC)


def _feature(thing_id: int, geometry: dict[str, Any] | None, name: str = "", **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": thing_id, "geometry": geometry,
            "properties": {"name": name or f"thing {thing_id}", "properties": properties}}


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


COLLECTION = {"type": "FeatureCollection", "features": [
    _feature(1, _point(8.98, 56.83), "Fur house 1", kind="site", siteId="h1", radialId="R1"),
    _feature(2, _point(8.98, 56.83), kind="ess", siteId="h1", key="ess"),
    _feature(3, _point(8.99, 56.84), kind="meter", siteId="h2", radialId="R1"),
    _feature(4, _point(9.00, 56.82), kind="site", siteId="h3", radialId="R1"),
    _feature(5, _point(11.3, 46.5), kind="site", siteId="bz", radialId="R2"),
    _feature(6, {"type": "LineString", "coordinates": [[11.3, 46.5], [11.31, 46.51]]}, kind="radial",
             radialId="R2"),
    _feature(7, None, kind="forecast"),
]}


def test_sites_and_radials_come_from_the_geojson() -> None:
    grid = read_grid(COLLECTION)
    assert [s.site_id for s in grid.sites] == ["bz", "h1", "h2", "h3"]
    h1 = grid.site("h1")
    assert h1 is not None and h1.name == "Fur house 1" and h1.thing_ids == (1, 2) and h1.kinds == ("ess", "site")
    assert h1.position == (8.98, 56.83)
    radials = {r.radial_id: r for r in grid.radials}
    assert radials["R2"].lines == (((11.3, 46.5), (11.31, 46.51)),) and radials["R2"].thing_id == 6
    assert radials["R1"].site_ids == ("h1", "h2", "h3") and len(radials["R1"].lines[0]) == 3  # through its sites


def test_the_projection_fits_every_site_inside_the_margin_north_up() -> None:
    projection = fit([(8.98, 56.83), (9.00, 56.82), (8.99, 56.84)])
    points = [projection.xy(p) for p in [(8.98, 56.83), (9.00, 56.82), (8.99, 56.84)]]
    assert all(MARGIN - 0.1 <= x <= WIDTH - MARGIN + 0.1 and MARGIN - 0.1 <= y <= HEIGHT - MARGIN + 0.1
               for x, y in points)
    assert points[2][1] < points[0][1] < points[1][1]  # the northernmost is highest
    assert fit([(1.0, 2.0)]).xy((1.0, 2.0)) == (WIDTH / 2, HEIGHT / 2)  # one site: the centre


@pytest.mark.parametrize(("voltage", "band"), [(230.0, Band.ok), (241.4, Band.ok), (242.0, Band.warn),
                                               (253.0, Band.warn), (253.1, Band.violation),
                                               (206.0, Band.violation), (None, Band.unknown)])
def test_voltage_bands_follow_en_50160(voltage: float | None, band: Band) -> None:
    assert voltage_band(voltage) is band


def test_state_fault_stale_and_the_worst_phase() -> None:
    assert device_state(["Faulted"], T0, T0) is State.fault
    assert device_state(["7"], T0 - timedelta(minutes=16), T0) is State.stale
    assert device_state([], T0, T0) is State.ok and device_state([], None, T0) is State.unknown
    assert worst_voltage([231.0, 221.0, 240.0]) == 240.0


def _latest(stream_id: int, key: str, result: Any, site: str, kind: str = "meter", multi: bool = False,
            unit: str = "W", minutes: int = 0, **thing: Any) -> Latest:
    return Latest(stream_id, multi, key, key, unit, stream_id * 10, {"siteId": site, "kind": kind, **thing}, {},
                  T0 + timedelta(minutes=minutes), result)


def test_site_colours_and_the_radial_overview() -> None:
    rows = [_latest(1, "V_grid", [231.0, 256.0, 229.0], "h1", multi=True, unit="V"),
            _latest(2, "P_grid", 1500, "h1"),
            _latest(3, "SoC", 95.0, "h1", kind="ess", minSoC_pct=10, maxSoC_pct=90),
            _latest(4, "P_ess", -800, "h1", kind="ess"),
            _latest(5, "V_grid", [230.0, 231.0, 232.0], "h2", multi=True, unit="V", minutes=-30)]
    statuses = site_statuses(rows, T0)
    assert statuses["h1"].band is Band.violation and statuses["h1"].voltage_v == 256.0
    assert statuses["h1"].power_w == 1500 and statuses["h1"].state is State.ok
    assert statuses["h2"].band is Band.ok and statuses["h2"].state is State.stale
    ess = ess_summaries(rows)
    assert [(e.soc_pct, e.power_w, e.within_bounds) for e in ess] == [(95.0, None, False), (None, -800.0, None)]
    grid = read_grid(COLLECTION)
    r1 = next(r for r in radial_rows(grid, statuses, ess) if r.radial_id == "R1")
    assert (r1.sites, r1.band, r1.stale, r1.ess_count, r1.ess_within_bounds, r1.ess_power_w) == (
        3, Band.violation, 1, 2, False, -800.0)
    drawing = draw(grid, statuses)
    marker = next(m for m in drawing.markers if m.site_id == "h1")
    assert marker.band == "violation" and marker.colour == "#c62828"
    assert next(f for f in drawing.feeders if f.radial_id == "R1").band == "violation"
    assert next(m for m in drawing.markers if m.site_id == "h3").band == "unknown"


RADIAL_SERVICE = {"type": "DataRecord", "field": [
    {"name": "radialId", "type": "Text"},
    {"name": "solution", "type": "Category",
     "constraint": {"type": "AllowedTokens", "value": ["peak_shaving", "prevent_flicker", "voltage_control",
                                                      "economic"]}},
    {"name": "startTime", "type": "Time"}, {"name": "stopTime", "type": "Time", "optional": True},
    {"name": "priority", "type": "Count", "optional": True,
     "constraint": {"type": "AllowedValues", "interval": [[1, 10]]}},
    {"name": "enabled", "type": "Boolean", "optional": True},
    {"name": "powerProfile", "type": "DataArray", "optional": True,
     "elementType": {"name": "p", "type": "Quantity", "uom": {"code": "W"}}}]}


def test_a_command_form_is_made_from_the_capability_and_gives_task_parameters() -> None:
    fields = form_fields(RADIAL_SERVICE)
    assert [(f.name, f.widget) for f in fields] == [
        ("radialId", "text"), ("solution", "select"), ("startTime", "datetime"), ("stopTime", "datetime"),
        ("priority", "number"), ("enabled", "checkbox"), ("powerProfile", "list")]
    assert fields[1].choices[0] == "peak_shaving" and fields[4].low == 1 and fields[4].high == 10
    form = {"radialId": ["R1"], "solution": ["peak_shaving"], "startTime": ["2026-06-21T10:00"],
            "stopTime": [""], "priority": ["3"], "powerProfile": ["100, -200.5;0"]}
    assert task_parameters(fields, form) == {
        "radialId": "R1", "solution": "peak_shaving", "startTime": "2026-06-21T10:00:00Z", "priority": 3,
        "enabled": False, "powerProfile": [100, -200.5, 0]}


def test_bad_input_goes_to_the_server_as_typed() -> None:
    fields = form_fields(RADIAL_SERVICE)
    parameters = task_parameters(fields, {"radialId": [""], "startTime": ["tomorrow"], "priority": ["high"]})
    assert parameters == {"radialId": "", "solution": "", "startTime": "tomorrow", "priority": "high",
                          "enabled": False}


def test_schedule_against_actual() -> None:
    first = {"taskingParameters": {"startTime": "2026-06-21T00:00:00Z", "resolution": 900,
                                   "powerProfile": [100, 200, 300, 400]}}
    later = {"taskingParameters": {"startTime": "2026-06-21T00:30:00Z", "resolution": 900,
                                   "powerProfile": [-50, -60]}}
    assert [s.power_w for s in planned_steps(first["taskingParameters"])] == [100, 200, 300, 400]
    steps = latest_plan([later, first])  # newest first
    assert [(s.start - T0, s.power_w) for s in steps] == [
        (timedelta(0), 100), (timedelta(minutes=15), 200), (timedelta(minutes=30), -50), (timedelta(minutes=45), -60)]
    rows = compare(steps, [(T0 + timedelta(minutes=20), 180.0)], [(T0 - timedelta(minutes=1), 50.0)])
    assert [(r.time - T0, r.planned_w, r.actual_w, r.soc_pct) for r in rows] == [
        (timedelta(0), 100, None, 50.0), (timedelta(minutes=15), 200, None, 50.0),
        (timedelta(minutes=20), 200, 180.0, 50.0), (timedelta(minutes=30), -50, None, 50.0),
        (timedelta(minutes=45), -60, None, 50.0)]
    assert latest_plan([{"taskingParameters": {"powerSetpoint": 5}}]) == []


def test_whatif_results_are_sorted_into_tables() -> None:
    streams = [_latest(1, "bus7.vm", 1.06, "sim", unit="/"), _latest(2, "line3.loading", 71.0, "sim", unit="%"),
               _latest(3, "grid.loss", 1.2, "sim", unit="kW"), _latest(4, "kpis", {"vMaxPu": 1.06, "ok": True}, "sim"),
               _latest(5, "grid.status", "ok", "sim", unit=""), _latest(6, "line3.current", 1, "sim", unit="A")]
    tables = {t.title: t.rows for t in result_tables(streams)}
    assert list(tables) == ["Voltages per bus", "Line loading", "Losses", "KPIs", "Progress and status",
                            "Other results"]
    assert [row[4] for row in tables["KPIs"]] == [True, 1.06]


def test_csv_has_a_header_iso_times_and_empty_cells_for_none() -> None:
    text = to_csv(("time", "value", "flag"), [(T0, None, True), (T0, 1.5, False)])
    assert list(csv.reader(io.StringIO(text))) == [["time", "value", "flag"],
                                                   ["2026-06-21T00:00:00Z", "", "true"],
                                                   ["2026-06-21T00:00:00Z", "1.5", "false"]]


def test_controller_status_is_pivoted_per_radial_newest_first() -> None:
    observations: dict[str, list[dict[str, Any]]] = {
        "radialSolution": [{"phenomenonTime": "2026-06-21T02:00:00Z", "result": "economic",
                            "parameters": {"radialId": "R1"}},
                           {"phenomenonTime": "2026-06-21T01:00:00Z", "result": "peak_shaving",
                            "parameters": {"radialId": "R1"}},
                           {"phenomenonTime": "2026-06-21T01:00:00Z", "result": "voltage_control",
                            "parameters": {"radialId": "R2"}}],
        "essWithinBounds": [{"phenomenonTime": "2026-06-21T01:00:00Z", "result": False,
                             "parameters": {"radialId": "R2"}}],
        "custom": [{"phenomenonTime": "2026-06-21T01:00:00Z", "result": {"a": 1, "nested": {"b": 2}}}]}
    rows = {row.radial_id: row.cells for row in status_by_radial(observations)}
    assert rows["R1"]["radialSolution"].result == "economic" and "essWithinBounds" not in rows["R1"]
    assert rows["R2"]["radialSolution"].result == "voltage_control" and rows["R2"]["essWithinBounds"].result is False
    assert summary(rows[NO_RADIAL]["custom"].result) == "a=1" and summary(False) == "no"
    assert columns(observations) == ["radialSolution", "essWithinBounds", "custom"]


def test_simulated_buses_and_lines_are_drawn_where_their_features_lie() -> None:
    def stream(stream_id: int, key: str, result: Any, feature: dict[str, Any] | None) -> dict[str, Any]:
        observations = [{"result": result, "FeatureOfInterest": {"feature": feature}}] if feature else []
        return {"@iot.id": stream_id, "properties": {"key": key}, "Observations": observations}
    buses, lines = read_results([
        stream(1, "bus7.vm", 1.12, _point(9.0, 56.8)), stream(2, "bus8.vm", 0.99, _point(9.1, 56.8)),
        stream(3, "line3.loading", 85.0, {"type": "LineString", "coordinates": [[9.0, 56.8], [9.1, 56.8]]}),
        stream(4, "line3.current", 12.0, {"type": "LineString", "coordinates": [[9.0, 56.8], [9.1, 56.8]]}),
        stream(5, "grid.v_max", 1.1, _point(9.0, 56.8)), stream(6, "bus9.vm", 1.0, None)])
    assert [(b.key, b.band, b.topic) for b in buses] == [("bus7", Band.violation, "v1.1/Datastreams(1)/Observations"),
                                                       ("bus8", Band.ok, "v1.1/Datastreams(2)/Observations")]
    assert [(line.key, line.band, len(line.positions)) for line in lines] == [("line3", Band.warn, 2)]
    drawing = draw(read_grid(COLLECTION), {}, buses, lines)
    assert [b.band for b in drawing.buses] == ["violation", "ok"] and drawing.lines[0].points.count(",") == 2


def test_the_newest_true_or_false_answer_of_a_task_counts() -> None:
    found = answers([
        {"phenomenonTime": "2026-06-21T01:00:00Z", "result": False, "parameters": {"taskId": 7, "reason": "late"}},
        {"phenomenonTime": "2026-06-21T02:00:00Z", "result": True, "parameters": {"taskId": 7}},
        {"phenomenonTime": "2026-06-21T03:00:00Z", "result": 1500.0, "parameters": {"taskId": 7}},  # set-point in force
        {"phenomenonTime": "2026-06-21T01:00:00Z", "result": False, "parameters": {"taskId": "8", "error": "bounds"}}])
    assert {key: (a.accepted, a.reason) for key, a in found.items()} == {"7": (True, ""), "8": (False, "bounds")}


def test_job_states_and_progress_are_answers_too() -> None:
    found = answers([
        {"phenomenonTime": "2026-06-21T01:00:00Z", "result": "queued", "parameters": {"taskId": 3}},
        {"phenomenonTime": "2026-06-21T01:01:00Z", "result": "running", "parameters": {"taskId": 3}},
        {"phenomenonTime": "2026-06-21T01:02:00Z", "result": 40.0, "parameters": {"taskId": 3}},
        {"phenomenonTime": "2026-06-21T01:03:00Z", "result": 1500.0, "parameters": {"taskId": 4}}])
    assert (found["3"].state, found["3"].progress_pct, found["3"].accepted) == ("running", 40.0, None)
    assert "4" not in found  # a number alone answers nothing


def test_the_sweep_puts_studies_side_by_side() -> None:
    studies = [{"@iot.id": 12, "properties": {"taskId": 2, "status": "done", "request": {"pvPenetration": 100},
                                              "kpis": {"vMaxPu": 1.06, "curve": [1, 2]}}},
               {"@iot.id": 11, "properties": {"taskId": 1, "status": "failed", "request": {"pvPenetration": 50}}}]
    table = sweep(studies)
    assert table.columns[-2:] == ("status", "vMaxPu")  # non-scalar KPIs are left to the study's own page
    assert [(row[0], row[1], row[3], row[-2], row[-1]) for row in table.rows] == [
        (12, 2, 100, "done", 1.06), (11, 1, 50, "failed", None)]
