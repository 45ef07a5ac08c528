"""Parsing and checking the LESSAg's Tasks: each bad kind refused with its reason."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agents.lessag.orders import OrderBook, Source
from agents.lessag.tasks import OrderRules, Refusal, TaskRefused, parse_schedule, parse_setpoint

NOW = datetime(2026, 6, 1, 10, tzinfo=UTC)
MIDNIGHT = "2026-06-01T00:00:00Z"
RULES = OrderRules(Source.GRID, max_charge_w=2_400, max_discharge_w=2_400, priority_max=3, resolution_s=60)


def _schedule(**changes: Any) -> dict[str, Any]:
    return {"startTime": MIDNIGHT, "powerProfile": [float(m % 100) for m in range(1440)], **changes}


def test_a_day_schedule_becomes_an_order() -> None:
    order = parse_schedule(5, _schedule(priority=2), RULES, NOW)
    assert (order.start, order.resolution_s, len(order.power_w), order.priority) == (
        datetime(2026, 6, 1, tzinfo=UTC), 60, 1440, (2,))
    claim = order.claim_at(NOW + timedelta(minutes=1, seconds=30))
    assert claim is not None and claim.power_w == 1.0 and claim.task_id == 5  # minute 601 → 601 % 100


def test_an_hourly_schedule_has_24_values() -> None:
    order = parse_schedule(5, {"startTime": MIDNIGHT, "resolution": 3600, "powerProfile": [100.0] * 24}, RULES, NOW)
    assert order.end == datetime(2026, 6, 2, tzinfo=UTC)


def test_a_priority_per_value_is_taken() -> None:
    order = parse_schedule(5, _schedule(priority=[1] * 720 + [3] * 720), RULES, NOW)
    assert order.claim_at(datetime(2026, 6, 1, 13, tzinfo=UTC)).priority == 3  # type: ignore[union-attr]


BAD: list[tuple[str, dict[str, Any], Refusal]] = [
    ("yesterday", _schedule(startTime="2026-05-31T00:00:00Z"), Refusal.WRONG_DAY),
    ("next week", _schedule(startTime="2026-06-08T00:00:00Z"), Refusal.WRONG_DAY),
    ("1439 values", _schedule(powerProfile=[0.0] * 1439), Refusal.WRONG_LENGTH),
    ("24 values at 60 s", _schedule(powerProfile=[0.0] * 24), Refusal.WRONG_LENGTH),
    ("priorities of the wrong length", _schedule(priority=[1, 2]), Refusal.WRONG_LENGTH),
    ("above the rating", _schedule(powerProfile=[0.0] * 1000 + [2_500.0] + [0.0] * 439), Refusal.OUT_OF_RANGE),
    ("below the rating", _schedule(powerProfile=[-3_000.0] * 1440), Refusal.OUT_OF_RANGE),
    ("priority 4", _schedule(priority=4), Refusal.OUT_OF_RANGE),
    ("a 5-minute resolution", _schedule(resolution=300, powerProfile=[0.0] * 288), Refusal.OUT_OF_RANGE),
    ("no profile", {"startTime": MIDNIGHT}, Refusal.MALFORMED),
    ("a text time", _schedule(startTime="midnight"), Refusal.MALFORMED),
    ("a local time", _schedule(startTime="2026-06-01T00:00:00"), Refusal.MALFORMED),
    ("the year 9999", _schedule(startTime="9999-12-31T12:00:00Z"), Refusal.MALFORMED),
    ("the year 1", _schedule(startTime="0001-01-01T00:00:00+01:00"), Refusal.MALFORMED),
    ("an infinite power", _schedule(powerProfile=[float("inf")] * 1440), Refusal.MALFORMED),
    ("an infinite priority", _schedule(priority=float("inf")), Refusal.OUT_OF_RANGE),
]


@pytest.mark.parametrize(("case", "params", "code"), BAD, ids=[case for case, _, _ in BAD])
def test_a_bad_schedule_is_refused_with_its_reason(case: str, params: dict[str, Any], code: Refusal) -> None:
    with pytest.raises(TaskRefused) as refused:
        parse_schedule(9, params, RULES, NOW)
    assert refused.value.code is code
    assert refused.value.reason.startswith(f"{code}: ")


def test_a_setpoint_becomes_an_order_until_its_stop() -> None:
    order = parse_setpoint(3, {"powerSetpoint": -1_000, "priority": 2, "startTime": "2026-06-01T10:00:00Z",
                               "stopTime": "2026-06-01T11:00:00Z"}, RULES, NOW)
    assert order.claim_at(NOW) is not None and order.claim_at(NOW + timedelta(hours=1)) is None


@pytest.mark.parametrize(("params", "code"), [
    ({"powerSetpoint": 5_000, "startTime": MIDNIGHT}, Refusal.OUT_OF_RANGE),
    ({"powerSetpoint": 0, "startTime": MIDNIGHT, "stopTime": "2026-06-01T09:00:00Z"}, Refusal.WRONG_DAY),
    ({"powerSetpoint": "max", "startTime": MIDNIGHT}, Refusal.MALFORMED),
])
def test_a_bad_setpoint_is_refused(params: dict[str, Any], code: Refusal) -> None:
    with pytest.raises(TaskRefused) as refused:
        parse_setpoint(3, params, RULES, NOW)
    assert refused.value.code is code


def test_the_newest_order_of_a_source_wins() -> None:
    book = OrderBook()
    book.add(parse_schedule(1, _schedule(powerProfile=[100.0] * 1440), RULES, NOW))
    book.add(parse_setpoint(2, {"powerSetpoint": -500, "startTime": "2026-06-01T10:00:00Z",
                                "stopTime": "2026-06-01T10:30:00Z"}, RULES, NOW))
    assert [c.power_w for c in book.claims_at(NOW)] == [-500]
    assert [c.power_w for c in book.claims_at(NOW + timedelta(minutes=30))] == [100]
    assert book.claims_at(datetime(2026, 6, 2, tzinfo=UTC)) == []
    book.prune(datetime(2026, 6, 2, tzinfo=UTC))
    assert len(book) == 0
