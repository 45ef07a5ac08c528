"""Battery physics: efficiency, power limits, the SoC window."""
from __future__ import annotations

import pytest

from adapters.simulated.battery import Battery, BatterySpec, feasible_power_w, soc_after

SPEC = BatterySpec(capacity_wh=10_000, max_charge_w=5_000, max_discharge_w=4_000, min_soc_pct=10,
                   max_soc_pct=90, charge_efficiency=0.95, discharge_efficiency=0.9)


def test_charging_stores_power_times_efficiency() -> None:
    # 1 kW for one hour stores 950 Wh of a 10 kWh battery: +9.5 %
    assert soc_after(SPEC, 50, 1_000, 3_600) == pytest.approx(59.5)


def test_discharging_draws_power_over_efficiency() -> None:
    # 900 W out for one hour draws 1,000 Wh from the cells: -10 %
    assert soc_after(SPEC, 50, -900, 3_600) == pytest.approx(40.0)


@pytest.mark.parametrize(("requested_w", "expected_w"), [(9_000, 5_000), (-9_000, -4_000), (1_234, 1_234)])
def test_power_is_clipped_to_the_rating(requested_w: float, expected_w: float) -> None:
    assert feasible_power_w(SPEC, 50, requested_w, 10) == expected_w


def test_charging_stops_at_the_top_of_the_window() -> None:
    battery = Battery(SPEC, 89.9)
    battery.command(5_000)
    for _ in range(100):
        battery.advance(10)
    assert battery.soc_pct == pytest.approx(90.0)
    assert battery.power_w == pytest.approx(0.0)


def test_the_last_interval_before_the_limit_delivers_only_what_fits() -> None:
    battery = Battery(SPEC, 89.9)  # 10 Wh of room = 10.53 Wh at the terminals
    battery.command(5_000)
    battery.advance(3_600)
    assert battery.charged_wh == pytest.approx(10 / 0.95)
    assert battery.soc_pct == pytest.approx(90.0)


def test_discharging_stops_at_the_bottom_of_the_window() -> None:
    battery = Battery(SPEC, 12.0)
    battery.command(-4_000)
    for _ in range(360):
        battery.advance(10)
    assert battery.soc_pct == pytest.approx(10.0)
    assert battery.discharged_wh == pytest.approx(200 * 0.9)


@pytest.mark.parametrize("setpoint_w", [-10_000, -4_000, -1_000, 0, 1_000, 5_000, 10_000])
def test_soc_never_leaves_the_window(setpoint_w: float) -> None:
    battery = Battery(SPEC, 50)
    battery.command(setpoint_w)
    for _ in range(24 * 360):
        battery.advance(10)
        assert SPEC.min_soc_pct - 1e-9 <= battery.soc_pct <= SPEC.max_soc_pct + 1e-9
        assert -SPEC.max_discharge_w <= battery.power_w <= SPEC.max_charge_w


def test_a_command_is_held_within_the_rating() -> None:
    assert Battery(SPEC, 50).command(7_000) == 5_000


@pytest.mark.parametrize("kwargs", [{"capacity_wh": 0}, {"min_soc_pct": 95}, {"charge_efficiency": 1.5}])
def test_an_impossible_spec_is_refused(kwargs: dict[str, float]) -> None:
    values = {"capacity_wh": 1000.0, "max_charge_w": 1.0, "max_discharge_w": 1.0, **kwargs}
    with pytest.raises(ValueError):
        BatterySpec(**values)
