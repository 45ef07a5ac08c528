"""The EV allocation: the energy served equals an independent max-flow computation, limits hold, an
unavoidable shortfall is shared fairly, energy goes in early."""
from __future__ import annotations

import random

import networkx as nx  # type: ignore[import-untyped]
import pytest

from controllers.gevchcon.allocate import AllocationError, AllocationProblem, Demand, allocate

STEP_S = 900
H = STEP_S / 3600


def max_flow_wh(problem: AllocationProblem) -> float:
    """The most energy deliverable, as a transport network: source -> EV (its need) -> step (its power
    while present) -> sink (the step's headroom)."""
    graph = nx.DiGraph()
    for d in problem.demands:
        graph.add_edge("source", d.key, capacity=d.remaining_wh)
        for t, share in enumerate(d.present):
            if share > 0:
                graph.add_edge(d.key, ("step", t), capacity=d.max_power_w * share * H)
    for t, headroom in enumerate(problem.headroom_w):
        graph.add_edge(("step", t), "sink", capacity=headroom * H)
    value, _ = nx.maximum_flow(graph, "source", "sink")
    return float(value)


def random_problem(seed: int) -> AllocationProblem:
    rng = random.Random(seed)
    steps = 12
    demands = []
    for n in range(4):
        arrive, leave = rng.randint(0, 6), rng.randint(6, steps)
        present = tuple(1.0 if arrive <= t < leave else 0.0 for t in range(steps))
        demands.append(Demand(f"ev{n}", rng.choice([3700.0, 7400.0, 11000.0]), rng.uniform(2000, 30000), present))
    return AllocationProblem(STEP_S, tuple(rng.uniform(0, 20000) for _ in range(steps)), tuple(demands))


@pytest.mark.parametrize("seed", range(6))
def test_served_energy_equals_the_max_flow(seed: int) -> None:
    problem = random_problem(seed)
    allocation = allocate(problem)
    assert sum(allocation.served_wh.values()) == pytest.approx(max_flow_wh(problem), rel=1e-6, abs=0.01)


@pytest.mark.parametrize("seed", range(6))
def test_headroom_and_power_limits_hold(seed: int) -> None:
    problem = random_problem(seed)
    allocation = allocate(problem)
    for t, headroom in enumerate(problem.headroom_w):
        assert sum(allocation.power_w[d.key][t] for d in problem.demands) <= headroom + 1e-6
    for d in problem.demands:
        for t, power in enumerate(allocation.power_w[d.key]):
            assert power <= (d.max_power_w if d.present[t] else 0.0) + 1e-6


def test_an_unavoidable_shortfall_is_shared_in_proportion_to_the_needs() -> None:
    # two EVs all day, 10 kW of headroom for 4 steps = 10 kWh; they ask 8 and 4 kWh: each gets 10/12 of its need
    problem = AllocationProblem(STEP_S, (10000.0,) * 4, (Demand("a", 11000, 8000, (1.0,) * 4),
                                                         Demand("b", 11000, 4000, (1.0,) * 4)))
    allocation = allocate(problem)
    assert allocation.total_shortfall_wh == pytest.approx(2000, abs=0.1)
    assert allocation.shortfall_wh["a"] == pytest.approx(8000 / 6, abs=0.1)
    assert allocation.shortfall_wh["b"] == pytest.approx(4000 / 6, abs=0.1)
    assert allocation.worst_shortfall_share == pytest.approx(1 / 6, abs=1e-5)


def test_shortfall_goes_where_it_is_physically_unavoidable() -> None:
    # "a" leaves after one step and can take 2.5 kWh at most; "b" stays and gets everything it asks
    problem = AllocationProblem(STEP_S, (20000.0,) * 4, (Demand("a", 10000, 5000, (1.0, 0.0, 0.0, 0.0)),
                                                         Demand("b", 10000, 6000, (1.0,) * 4)))
    allocation = allocate(problem)
    assert allocation.shortfall_wh["a"] == pytest.approx(2500, abs=0.1)
    assert allocation.shortfall_wh["b"] == pytest.approx(0, abs=0.1)


def test_energy_goes_in_as_early_as_the_headroom_allows() -> None:
    problem = AllocationProblem(STEP_S, (5000.0, 5000.0, 20000.0, 20000.0), (Demand("a", 7400, 3000, (1.0,) * 4),))
    assert allocate(problem).power_w["a"] == pytest.approx((5000.0, 5000.0, 2000.0, 0.0), abs=0.5)


def test_wrong_inputs_are_refused() -> None:
    with pytest.raises(AllocationError, match="presence"):
        allocate(AllocationProblem(STEP_S, (1.0, 1.0), (Demand("a", 1, 1, (1.0,)),)))
    with pytest.raises(AllocationError, match=">= 0"):
        allocate(AllocationProblem(STEP_S, (1.0,), (Demand("a", 1, -1, (1.0,)),)))
