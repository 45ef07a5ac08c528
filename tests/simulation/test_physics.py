"""The sites' physics as data (pure): which profile elements a bus holds, a site's values, two sites sharing a
bus, and the SIM_PHYSICS setting. With a server: test_june_day_loop.py."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simulation.grid import GridModel
from simulation.loop import LoopSettings
from simulation.physics import SitePhysics, bus_elements, physics_groups, physics_values

NOON = datetime(2026, 6, 21, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def fur() -> GridModel:
    return GridModel.load("fur")


def test_a_bus_holds_its_profile_loads_and_pv_not_the_loops_own_load(fur: GridModel) -> None:
    loads, sgens = bus_elements(fur, 7)
    assert sgens == [0]  # SimBench's "LV1.101 SGen 1", 40 kW
    at_bus = [str(fur.net.load.name.at[i]) for i in fur.net.load.index[fur.net.load.bus == 7]]
    assert "s4g-bus-7" in at_bus and len(loads) == len(at_bus) - 1 == 1
    assert all(not str(fur.net.load.name.at[i]).startswith("s4g-bus-") for i in loads)
    assert bus_elements(fur, 9)[1] == []


def test_a_sites_values_are_its_buses_profile_with_the_consumer_sign(fur: GridModel) -> None:
    step = fur.profiles.at(NOON)
    assert step is not None
    loads, sgens = bus_elements(fur, 7)
    values = physics_values(fur, step, 7, 1, 1.04)
    assert values["physics.P_pv"] == pytest.approx(-float(step.sgen_p_mw[sgens].sum()) * 1e6, abs=1e-3)
    assert values["physics.P_pv"] < 0
    assert values["physics.P_load"] == pytest.approx(float(step.load_p_mw[loads].sum()) * 1e6, abs=1e-3)
    assert values["physics.V"] == pytest.approx(1.04 * 400 / 3 ** 0.5, abs=1e-3)
    assert "physics.V" not in physics_values(fur, step, 7, 1, None)


def test_two_sites_on_one_bus_share_its_elements(fur: GridModel) -> None:
    step = fur.profiles.at(NOON)
    assert step is not None
    streams = {"a": {"physics.P_pv": 1, "physics.P_load": 2, "physics.V": 3},
               "b": {"physics.P_pv": 4, "physics.P_load": 5, "physics.V": 6}}
    sites = [SitePhysics(name, 100, 7, ids) for name, ids in streams.items()]
    groups = physics_groups(fur, sites, step, NOON, {7: 1.0}, {"bus7": 77})
    by_stream = {g["Datastream"]["@iot.id"]: g["dataArray"][0] for g in groups}
    whole = physics_values(fur, step, 7, 1, 1.0)
    assert by_stream[1][1] == pytest.approx(whole["physics.P_pv"] / 2, abs=1e-3) == by_stream[4][1]
    assert by_stream[2][1] == pytest.approx(whole["physics.P_load"] / 2, abs=1e-3)
    assert by_stream[3][1] == by_stream[6][1] == whole["physics.V"]
    assert {row[2] for row in by_stream.values()} == {77}
    assert {row[0] for row in by_stream.values()} == {NOON.isoformat()}


def test_sim_physics_turns_the_physics_on() -> None:
    assert LoopSettings.from_env({}, NOON).physics is False
    assert LoopSettings.from_env({"SIM_PHYSICS": "1"}, NOON).physics is True
    assert LoopSettings.from_env({"SIM_PHYSICS": "off"}, NOON).physics is False
