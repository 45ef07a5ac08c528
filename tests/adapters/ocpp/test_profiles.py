"""Pure charging-profile encoding, the composite schedule read back, and the emulated charger's stacking."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from adapters.ocpp.charger import Charger, Outlet, parse_profile
from adapters.ocpp.profiles import Electrical, composite_limit_w, encode_charging_profile, encoded_limit_w
from adapters.simulated.ev import ChargePoint

NOW = datetime(2026, 12, 7, 20, tzinfo=UTC)
SINGLE = Electrical(230.0, 1)
THREE = Electrical(230.0, 3)


def profile(limit_w: float, purpose: str = "TxDefaultProfile", unit: str = "W", electrical: Electrical = SINGLE,
            start: datetime = NOW, profile_id: int = 1001, stack_level: int = 1,
            transaction_id: int | None = None) -> dict[str, Any]:
    return encode_charging_profile(limit_w, profile_id=profile_id, stack_level=stack_level, purpose=purpose,
                                   unit=unit, electrical=electrical, start=start, transaction_id=transaction_id)


def test_a_limit_in_w_has_one_decimal_and_starts_at_period_zero() -> None:
    encoded = profile(3333.33)
    assert encoded == {
        "charging_profile_id": 1001, "stack_level": 1, "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": {"charging_rate_unit": "W", "start_schedule": "2026-12-07T20:00:00.000Z",
                              "charging_schedule_period": [{"start_period": 0, "limit": 3333.3, "number_phases": 1}]}}


@pytest.mark.parametrize("limit_w, electrical, amps", [(3000.0, SINGLE, 13.0), (11000.0, THREE, 15.9),
                                                       (6900.0, SINGLE, 30.0), (0.0, THREE, 0.0)])
def test_watts_become_amps_rounded_down(limit_w: float, electrical: Electrical, amps: float) -> None:
    encoded = profile(limit_w, unit="A", electrical=electrical)
    assert encoded["charging_schedule"]["charging_schedule_period"][0]["limit"] == amps
    assert encoded_limit_w(encoded, electrical) <= limit_w


def test_a_tx_profile_names_its_transaction() -> None:
    assert profile(1000, "TxProfile", transaction_id=17)["transaction_id"] == 17
    with pytest.raises(ValueError, match="transaction"):
        profile(1000, "TxProfile")
    with pytest.raises(ValueError):
        profile(1000, unit="kW")


def test_composite_limit_is_the_period_at_offset_zero() -> None:
    schedule = {"charging_rate_unit": "A", "charging_schedule_period": [
        {"start_period": 600, "limit": Decimal("6.0")}, {"start_period": 0, "limit": Decimal("16.0"),
                                                         "number_phases": 3}]}
    assert composite_limit_w(schedule, SINGLE) == pytest.approx(16 * 230 * 3)
    assert composite_limit_w(None, SINGLE) is None


def charger(units: tuple[str, ...] = ("W", "A")) -> Charger:
    return Charger([Outlet(ChargePoint(11000.0, [], NOW))], THREE, units)


def test_the_highest_stack_level_wins_and_max_profile_caps() -> None:
    device = charger()
    assert device.install(parse_profile(1, profile(7000, stack_level=1))) == "Accepted"
    assert device.install(parse_profile(1, profile(5000, stack_level=2, profile_id=2))) == "Accepted"
    assert device.limit_w(1, NOW) == 5000.0
    assert device.install(parse_profile(0, profile(4000, "ChargePointMaxProfile", profile_id=3))) == "Accepted"
    assert device.limit_w(1, NOW) == 4000.0
    assert device.install(parse_profile(1, profile(6000, stack_level=2, profile_id=4))) == "Accepted"
    assert 2 not in device.profiles  # same purpose and stack level: replaced


def test_the_composite_schedule_changes_where_a_future_profile_starts() -> None:
    device = charger()
    device.install(parse_profile(1, profile(3000, start=NOW + timedelta(minutes=5))))
    schedule = device.composite(1, NOW, 900, "W")
    assert schedule["charging_schedule_period"] == [{"start_period": 0, "limit": 11000.0},
                                                    {"start_period": 300, "limit": 3000.0}]
    assert device.composite(1, NOW, 900, "A")["charging_schedule_period"][1]["limit"] == 4.3  # 3000 / 690, down


def test_the_charger_refuses_what_it_cannot_do() -> None:
    amps_only = charger(("A",))
    assert amps_only.install(parse_profile(1, profile(3000))) == "Rejected"  # W
    assert amps_only.install(parse_profile(2, profile(3000, unit="A"))) == "Rejected"  # no connector 2
    assert amps_only.install(parse_profile(1, profile(3000, "TxProfile", "A", transaction_id=9))) == "Rejected"
    assert amps_only.install(parse_profile(1, profile(3000, unit="A"))) == "Accepted"
