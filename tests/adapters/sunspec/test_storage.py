"""Model 124 storage control as pure functions: set-point → rates, rates → the set-point in force."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.sunspec.parse import parse_models
from adapters.sunspec.storage import (
    RELEASED,
    StorageControl,
    control_error,
    dispatch_w,
    encode_setpoint,
    power_window_w,
    setpoint_in_force_w,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("power_w", "in_pct", "out_pct"), [(3200, 50.0, -50.0), (-1600, -25.0, 25.0),
                                                            (0, 0.0, 0.0), (99_999, 100.0, -100.0)])
def test_a_setpoint_is_a_window_of_one_point(power_w: float, in_pct: float, out_pct: float) -> None:
    control = encode_setpoint(power_w, 6400, 900)
    assert (control.mode, control.in_pct, control.out_pct, control.revert_s) == (3, in_pct, out_pct, 900)
    assert setpoint_in_force_w(control, 6400) == pytest.approx(max(-6400, min(6400, power_w)))


def test_released_control_is_no_setpoint_and_the_full_range() -> None:
    assert setpoint_in_force_w(RELEASED, 6400) is None
    assert power_window_w(RELEASED, 6400) == (-6400, 6400)
    assert dispatch_w(RELEASED, 6400, -2500) == -2500


def test_a_charge_limit_alone_caps_charging_only() -> None:
    control = StorageControl(mode=1, in_pct=25.0, out_pct=100.0)
    assert dispatch_w(control, 6400, 5000) == 1600
    assert dispatch_w(control, 6400, -5000) == -5000
    assert setpoint_in_force_w(control, 6400) is None


@pytest.mark.parametrize("control", [StorageControl(4, 0, 0), StorageControl(3, 120.0, 0.0),
                                     StorageControl(3, 0.0, -101.0), StorageControl(3, 0, 0, -1)])
def test_out_of_range_controls_are_refused(control: StorageControl) -> None:
    assert control_error(control) is not None


def test_points_become_readings_with_scale_sign_and_symbols() -> None:
    values: dict[int, dict[str, float | int | str | None]] = {
        103: {"W": 2500.0, "WH": 1_234_000, "PhVphA": 231.4, "St": "MPPT", "Hz": None},
        124: {"ChaState": 55.5, "ChaSt": "CHARGING"}}
    readings = {r.datastream: r.value for r in parse_models(values, NOW, keys={"soc": "SoC_ess"})}
    assert readings == {"P_inv": -2500.0, "E_inv": 1234.0, "V_L1": 231.4, "invStatus": "MPPT",
                        "SoC_ess": 55.5, "essChargeStatus": "CHARGING"}
