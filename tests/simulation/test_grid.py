"""The grid model against a direct pandapower run, bus mapping, geometry, gaps and non-convergence."""
from __future__ import annotations

import copy
import math
import warnings
from datetime import UTC, datetime

import pandapower
import pytest
import simbench

from simulation.geometry import LonLat
from simulation.grid import GRID_CODES, GridModel, Injection

NOON = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
FUR = LonLat(8.9871, 56.8312)


@pytest.fixture(scope="module")
def fur() -> GridModel:
    return GridModel.load("fur", anchor=FUR)


def _direct_run(row: int, extra_bus: int, extra_p_mw: float) -> pandapower.pandapowerNet:
    net = copy.deepcopy(simbench.get_simbench_net(GRID_CODES["fur"]))
    values = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    net.load["p_mw"] = values[("load", "p_mw")].iloc[row].to_numpy()
    net.load["q_mvar"] = values[("load", "q_mvar")].iloc[row].to_numpy()
    net.sgen["p_mw"] = values[("sgen", "p_mw")].iloc[row].to_numpy()
    net.storage["p_mw"] = 0.0
    pandapower.create_load(net, extra_bus, p_mw=extra_p_mw, q_mvar=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pandapower.runpp(net, numba=False)
    return net


def test_step_agrees_with_a_direct_pandapower_run(fur: GridModel) -> None:
    result = fur.run_step(NOON, [Injection(bus=7, p_w=-3000.0), Injection(bus=7, p_w=1000.0)])
    row = fur.profiles.row_of(NOON)
    assert result.status == "ok" and row is not None
    net = _direct_run(row, 7, -0.002)
    for bus, vm in result.vm_pu.items():
        assert vm == pytest.approx(float(net.res_bus.vm_pu.at[bus]), abs=1e-9)
    for line, loading in result.line_loading_pct.items():
        assert loading == pytest.approx(float(net.res_line.loading_percent.at[line]), abs=1e-7)
    assert result.loss_kw == pytest.approx((net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum()) * 1e3, abs=1e-6)


def test_fur_like_june_noon_shows_the_pv_over_voltage(fur: GridModel) -> None:
    result = fur.run_step(NOON)
    assert result.v_max_pu > 1.05
    assert 1.0 < result.v_min_pu < result.v_max_pu


def test_things_map_to_buses_by_property_or_nearest_location(fur: GridModel) -> None:
    assert fur.bus_of({"bus": "7"}, None) == 7
    assert fur.bus_of({"bus": fur.bus_name(9)}, None) == 9
    assert fur.bus_of({"bus": "999"}, None) is None
    assert fur.bus_of({}, None) is None
    bus_3 = fur.points[3]
    assert fur.bus_of({}, LonLat(bus_3.lon + 1e-5, bus_3.lat)) == 3
    assert fur.bus_of({}, LonLat(0.0, 0.0)) is None


def test_the_anchor_moves_the_transformer_bus_onto_the_site(fur: GridModel) -> None:
    point = fur.points[fur.transformer_bus]
    assert (point.lon, point.lat) == pytest.approx((FUR.lon, FUR.lat))


def test_feature_collection_has_every_lv_bus_and_line(fur: GridModel) -> None:
    features = fur.feature_collection()["features"]
    kinds = [f["properties"]["kind"] for f in features]
    assert kinds.count("bus") == len(fur.lv_buses) == 14
    assert kinds.count("line") == len(fur.net.line) == 13
    line = next(f for f in features if f["properties"]["kind"] == "line")
    assert line["geometry"]["type"] == "LineString" and len(line["geometry"]["coordinates"]) == 2


def test_a_profile_gap_is_a_result_not_an_error(fur: GridModel) -> None:
    before = fur.counters["profile_gaps"]
    original = fur.profiles.load_p_mw.iloc[0, 0]
    fur.profiles.load_p_mw.iloc[0, 0] = math.nan
    try:
        result = fur.run_step(datetime(2026, 1, 1, tzinfo=UTC))
    finally:
        fur.profiles.load_p_mw.iloc[0, 0] = original
    assert result.status == "gap" and math.isnan(result.v_max_pu)
    assert fur.counters["profile_gaps"] == before + 1
    assert fur.run_step(datetime(2026, 1, 1, tzinfo=UTC)).status == "ok"


def test_a_power_flow_that_does_not_converge_is_recorded() -> None:
    model = GridModel.load("fur")
    result = model.run_step(NOON, [Injection(bus=14, p_w=50e6)])
    assert result.status == "not-converged"
    assert model.counters["not_converged"] == 1
    assert model.run_step(NOON).status == "ok"


def test_an_injection_off_the_grid_is_counted(fur: GridModel) -> None:
    before = fur.counters["injection_off_grid"]
    assert fur.run_step(NOON, [Injection(bus=0, p_w=1000.0)]).status == "ok"
    assert fur.counters["injection_off_grid"] == before + 1
