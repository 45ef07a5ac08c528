"""Re-planning rules (pure): silent or refusing ESS, unreachable, deviation, solution change, rate limit."""
from __future__ import annotations

from controllers.gesscon.replan import AckState, EssCheck, ReplanPolicy, should_replan, within_bounds

POLICY = ReplanPolicy(deviation_pct=10, stale_s=900, ack_timeout_s=600, min_interval_s=900)


def ok(key: str, soc: float = 50.0, planned: float | None = 50.0, age: float = 60.0) -> EssCheck:
    return EssCheck(key, soc, age, planned, AckState.ACCEPTED, 100.0)


def replan(checks: list[EssCheck], unavailable: frozenset[str] = frozenset(), lost: frozenset[str] = frozenset(),
           changed: bool = False, since: float = 60.0) -> tuple[tuple[str, ...], set[str], set[str]] | None:
    found = should_replan(checks, unavailable=unavailable, lost=lost, solution_changed=changed, since_plan_s=since,
                          policy=POLICY)
    return None if found is None else (found.reasons, set(found.unavailable), set(found.lost))


def test_all_well_is_no_replan_and_within_bounds() -> None:
    checks = [ok("a"), ok("b")]
    assert replan(checks) is None and within_bounds(checks, POLICY)


def test_a_task_unanswered_past_the_timeout_loses_the_ess_for_the_day_at_once() -> None:
    silent = EssCheck("b", 50.0, 60.0, 50.0, AckState.PENDING, 601.0)
    assert replan([ok("a"), silent]) == (("no-ack:b",), {"b"}, {"b"})
    assert replan([ok("a"), EssCheck("b", 50.0, 60.0, 50.0, AckState.PENDING, 599.0)]) is None


def test_a_refusal_loses_the_ess_and_a_lost_one_is_not_reported_twice() -> None:
    refused = EssCheck("b", 50.0, 60.0, 50.0, AckState.REFUSED, 10.0)
    assert replan([ok("a"), refused]) == (("refused:b",), {"b"}, {"b"})
    assert replan([ok("a"), refused], unavailable=frozenset({"b"}), lost=frozenset({"b"})) is None


def test_a_stale_soc_makes_the_ess_unavailable_at_once_and_its_return_waits_for_the_rate_limit() -> None:
    stale = ok("b", age=901.0)
    assert replan([ok("a"), stale]) == (("unreachable:b",), {"b"}, set())
    assert replan([ok("a"), ok("b", soc=None, age=None)])[0] == ("unreachable:b",)  # type: ignore[arg-type, index]
    assert replan([ok("a"), stale], unavailable=frozenset({"b"})) is None  # known already
    assert replan([ok("a"), ok("b")], unavailable=frozenset({"b"}), since=899.0) is None
    assert replan([ok("a"), ok("b")], unavailable=frozenset({"b"}), since=900.0) == (("recovered:b",), set(), set())


def test_a_deviation_beyond_the_tolerance_replans_after_the_rate_limit() -> None:
    assert replan([ok("a", soc=61.0), ok("b")], since=1000.0) == (("deviation:a",), set(), set())
    assert replan([ok("a", soc=59.0), ok("b")], since=1000.0) is None
    assert replan([ok("a", soc=61.0), ok("b")], since=100.0) is None
    assert not within_bounds([ok("a", soc=61.0)], POLICY)


def test_a_new_solution_replans_at_once() -> None:
    assert replan([ok("a")], changed=True, since=10.0) == (("solution-changed",), set(), set())


def test_no_planned_soc_means_no_deviation_check() -> None:
    assert replan([ok("a", soc=90.0, planned=None)], since=5000.0) is None
