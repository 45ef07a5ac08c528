"""decide(): one schedule Task per available battery, and a report that says what went wrong."""
from __future__ import annotations

from dataclasses import replace

from controllers.gesscon.decide import decide
from tests.controllers.gesscon.cases import radial


def test_every_available_battery_gets_a_schedule_task() -> None:
    problem = radial(3, 24)
    problem = replace(problem, batteries=(*problem.batteries[:2], replace(problem.batteries[2], available=False)))
    decision = decide(problem, resolution_s={"ess0": 3600})
    assert [t.ess_key for t in decision.tasks] == ["ess0", "ess1"]
    assert len(decision.tasks[0].parameters["powerProfile"]) == 24
    assert len(decision.tasks[1].parameters["powerProfile"]) == 1440
    assert decision.report["unavailable"] == ["ess2"] and decision.command_error is None


def test_an_infeasible_day_and_fallbacks_are_reported_as_a_command_error() -> None:
    problem = radial(2, 24, contract_w=300)
    problem = replace(problem, sites=(replace(problem.sites[0], flags=("house0:load:persistence",)),
                                      *problem.sites[1:]))
    decision = decide(problem, flags=("ess1:soc-stale",))
    assert decision.report["status"] == "infeasible-with-slack" and len(decision.tasks) == 2
    error = decision.command_error
    assert error is not None and "house0:" in error and "ess1:soc-stale" in error and "house0:load:persistence" in error
