"""The LESSAg's pure decision: limits never violated, never export under UniRCon, schedules followed
within limits, priority blending."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from adapters.simulated.battery import BatterySpec, soc_after
from agents.lessag.limits import EssLimits
from agents.lessag.orders import Claim, Source
from agents.lessag.strategies import FALLBACK_MODE, EssState, Plan, Strategy, blend, decide

T = datetime(2026, 6, 1, 12, tzinfo=UTC)
BATTERY = BatterySpec(capacity_wh=4_500, max_charge_w=2_400, max_discharge_w=2_400, min_soc_pct=10, max_soc_pct=100)
LIMITS = EssLimits(BATTERY, contract_in_w=11_000, contract_out_w=6_000)


def _state(soc_pct: float = 50, load_w: float = 500, pv_w: float = 0, **kwargs: float | None) -> EssState:
    return EssState(T, soc_pct, 0.0, load_w, pv_w, **kwargs)


def _grid(power_w: float, priority: int = 3, priority_max: int = 3) -> Claim:
    return Claim(power_w, priority, priority_max, Source.GRID, 7)


SOCS = [10, 10.01, 30, 99.99, 100]
LOADS = [0, 300, 3_000, 14_000]
PVS = [0, -1_000, -5_000, -12_000]
CLAIMS: list[tuple[Claim, ...]] = [(), (_grid(2_400),), (_grid(-2_400),), (_grid(-9_000, 1),),
                                   (_grid(1_000, 2), Claim(-2_000, 10, 10, Source.USER, 8))]


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize(("soc_pct", "load_w", "pv_w", "claims"), list(itertools.product(SOCS, LOADS, PVS, CLAIMS)))
def test_limits_are_never_violated(strategy: Strategy, soc_pct: float, load_w: float, pv_w: float,
                                   claims: tuple[Claim, ...]) -> None:
    setpoint = decide(_state(soc_pct, load_w, pv_w), Plan(strategy, LIMITS, 60, claims))
    assert -BATTERY.max_discharge_w - 1e-9 <= setpoint.power_w <= BATTERY.max_charge_w + 1e-9
    soc = soc_after(BATTERY, soc_pct, setpoint.power_w, 60)
    assert BATTERY.min_soc_pct - 1e-6 <= soc <= BATTERY.max_soc_pct + 1e-6
    pv_after = pv_w if setpoint.pv_limit_w is None else max(pv_w, -setpoint.pv_limit_w)
    pcc = load_w + pv_after + setpoint.power_w
    if LIMITS.contract_in_w is not None and load_w + pv_w - BATTERY.max_discharge_w <= LIMITS.contract_in_w:
        # the contract holds whenever the battery can make it hold
        assert pcc <= LIMITS.contract_in_w + 1e-6 or soc_pct <= BATTERY.min_soc_pct + 0.05
    assert pcc >= -(0 if strategy is Strategy.UNIRCON else LIMITS.contract_out_w or 0) - 1e-6


@pytest.mark.parametrize(("soc_pct", "load_w", "pv_w", "claims"), list(itertools.product(SOCS, LOADS, PVS, CLAIMS)))
def test_unircon_never_exports(soc_pct: float, load_w: float, pv_w: float, claims: tuple[Claim, ...]) -> None:
    setpoint = decide(_state(soc_pct, load_w, pv_w), Plan(Strategy.UNIRCON, LIMITS, 60, claims))
    pv_after = pv_w if setpoint.pv_limit_w is None else max(pv_w, -setpoint.pv_limit_w)
    assert load_w + pv_after + setpoint.power_w >= -1e-6


def test_unircon_uses_the_battery_before_curtailing() -> None:
    setpoint = decide(_state(50, 500, -2_000), Plan(Strategy.UNIRCON, LIMITS, 60))
    assert setpoint.power_w == pytest.approx(1_500)
    assert setpoint.pv_limit_w == pytest.approx(2_000)  # = load + battery: no curtailment needed yet


def test_unircon_curtails_what_a_full_battery_cannot_take() -> None:
    setpoint = decide(_state(100, 500, -4_000), Plan(Strategy.UNIRCON, LIMITS, 60))
    assert setpoint.power_w == pytest.approx(0)
    assert setpoint.pv_limit_w == pytest.approx(500)


def test_unircon_charges_fully_while_curtailed() -> None:
    # curtailed to 3,000 W: the PV could give more, so the battery takes all it can
    setpoint = decide(_state(50, 1_500, -3_000, pv_limit_w=3_000), Plan(Strategy.UNIRCON, LIMITS, 60))
    assert setpoint.power_w == pytest.approx(2_400)
    assert setpoint.pv_limit_w == pytest.approx(3_900)


@pytest.mark.parametrize(("load_w", "pv_w", "expected_w"), [(500, -2_000, 1_500), (1_500, 0, -1_500),
                                                          (500, -5_000, 2_400), (4_000, 0, -2_400)])
def test_self_consumption_drives_the_pcc_to_zero(load_w: float, pv_w: float, expected_w: float) -> None:
    setpoint = decide(_state(50, load_w, pv_w), Plan(Strategy.SELF_CONSUMPTION, LIMITS, 60))
    assert setpoint.power_w == pytest.approx(expected_w)
    assert setpoint.mode == "self-consumption"


@pytest.mark.parametrize("schedule_w", [-2_400, -1_000, 0, 800, 2_400])
def test_a_top_priority_schedule_is_followed_exactly(schedule_w: float) -> None:
    setpoint = decide(_state(50, 500, -1_000), Plan(Strategy.FOLLOW_SCHEDULE, LIMITS, 60, (_grid(schedule_w),)))
    assert setpoint.power_w == pytest.approx(schedule_w)
    assert (setpoint.mode, setpoint.priority, setpoint.task_id) == ("follow-schedule", 3, 7)


def test_a_schedule_is_followed_within_the_soc_window() -> None:
    setpoint = decide(_state(100, 500, 0), Plan(Strategy.FOLLOW_SCHEDULE, LIMITS, 60, (_grid(2_000),)))
    assert setpoint.power_w == pytest.approx(0)


def test_a_schedule_is_followed_within_the_import_contract() -> None:
    setpoint = decide(_state(50, 10_000, 0), Plan(Strategy.FOLLOW_SCHEDULE, LIMITS, 60, (_grid(2_000),)))
    assert setpoint.power_w == pytest.approx(1_000)


def test_without_a_schedule_follow_schedule_falls_back_to_self_consumption() -> None:
    setpoint = decide(_state(50, 1_000, 0), Plan(Strategy.FOLLOW_SCHEDULE, LIMITS, 60))
    assert setpoint.power_w == pytest.approx(-1_000)
    assert setpoint.mode == FALLBACK_MODE and "no valid schedule" in setpoint.reason


@pytest.mark.parametrize(("priority", "expected_w"), [(1, -1_000 + (2_000 / 3)), (2, -1_000 + 2 * 2_000 / 3),
                                                      (3, 1_000)])
def test_a_lower_priority_blends_the_schedule_with_the_local_objective(priority: int, expected_w: float) -> None:
    setpoint = decide(_state(50, 1_000, 0), Plan(Strategy.SELF_CONSUMPTION, LIMITS, 60, (_grid(1_000, priority),)))
    assert setpoint.power_w == pytest.approx(expected_w)


def test_the_dso_outranks_the_residential_user() -> None:
    user = Claim(-2_000, 10, 10, Source.USER, 1)
    dso = _grid(1_500, 3)
    value, last = blend(0, [dso, user])
    assert value == pytest.approx(1_500) and last is dso
    soft_dso = _grid(1_500, 1)
    value, _ = blend(0, [soft_dso, user])
    assert value == pytest.approx(-2_000 + (1_500 + 2_000) / 3)
