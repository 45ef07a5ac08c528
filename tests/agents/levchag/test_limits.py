"""LEVChAg limits, pure: profiles, the strictest cap, water-filling shares."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agents.lessag.tasks import Refusal, TaskRefused
from agents.levchag.limits import LimitProfile, profile_limit, share_w, strictest
from agents.levchag.tasks import parse_enable, parse_load_reduction

NOW = datetime(2026, 6, 1, 18, tzinfo=UTC)


@pytest.mark.parametrize(("total", "demands", "expected"), [
    (10_000, {"a": 7_400, "b": 7_400}, {"a": 5_000, "b": 5_000}),
    (10_000, {"a": 2_000, "b": 7_400, "c": 7_400}, {"a": 2_000, "b": 4_000, "c": 4_000}),
    (30_000, {"a": 7_400, "b": 22_000}, {"a": 7_400, "b": 22_000}),
    (10_000, {"a": 0, "b": 22_000}, {"a": 0, "b": 10_000}),
    (-5, {"a": 7_400}, {"a": 0}),
])
def test_the_site_limit_is_shared_by_water_filling(total: float, demands: dict[str, float],
                                                   expected: dict[str, float]) -> None:
    shares = share_w(total, demands)
    assert shares == pytest.approx(expected)
    assert sum(shares.values()) <= max(0, total) + 1e-6


def test_the_strictest_limit_wins() -> None:
    assert strictest(None, 3_000, 5_000) == 3_000
    assert strictest(None, None) is None


def test_a_profile_limits_only_its_period_and_device() -> None:
    profile = LimitProfile(1, "cp1", NOW, 900, (1_000.0, 2_000.0), 5)
    assert profile_limit([profile], "cp1", NOW + timedelta(minutes=20)) == 2_000
    assert profile_limit([profile], "cp1", NOW + timedelta(minutes=30)) is None
    assert profile_limit([profile], None, NOW) is None


def _params(**changes: Any) -> dict[str, Any]:
    return {"startTime": "2026-06-01T18:00:00Z", "maxPowerProfile": [3_000.0] * 8, **changes}


def test_a_load_reduction_becomes_a_profile() -> None:
    profile = parse_load_reduction(4, _params(priority=3), "cp1", 900, 7_400, NOW)
    assert (profile.end, profile.priority) == (NOW + timedelta(hours=2), 3)


@pytest.mark.parametrize(("params", "code"), [
    (_params(startTime="2026-05-31T00:00:00Z"), Refusal.WRONG_DAY),
    (_params(maxPowerProfile=[0.0] * 97), Refusal.WRONG_LENGTH),
    (_params(maxPowerProfile=[8_000.0]), Refusal.OUT_OF_RANGE),
    (_params(priority=11), Refusal.OUT_OF_RANGE),
    (_params(maxPowerProfile=[]), Refusal.MALFORMED),
])
def test_a_bad_load_reduction_is_refused(params: dict[str, Any], code: Refusal) -> None:
    with pytest.raises(TaskRefused) as refused:
        parse_load_reduction(4, params, "cp1", 900, 7_400, NOW)
    assert refused.value.code is code


def test_enable_needs_a_flag() -> None:
    assert parse_enable({"enabled": False}) is False
    with pytest.raises(TaskRefused):
        parse_enable({"enabled": "no"})
