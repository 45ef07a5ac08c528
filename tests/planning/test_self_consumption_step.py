"""planning's self-consumption step, the one rule behind GESSCon's baseline and the what-if `local` mode:
charge the surplus, cover the deficit, within power, SoC window and efficiencies."""
from __future__ import annotations

import pytest

from planning import EssParams, self_consumption_step

ESS = EssParams("ess", "site", capacity_wh=10_000, max_charge_w=3_000, max_discharge_w=4_000, soc_initial_wh=5_000,
                min_soc_pct=10, max_soc_pct=90, charge_efficiency=0.9, discharge_efficiency=0.8)
QUARTER_H = 0.25


def test_a_surplus_is_charged_within_the_charge_limit_and_losses_count() -> None:
    assert self_consumption_step(ESS, 5_000, -2_000, QUARTER_H) == pytest.approx((2_000, 5_000 + 2_000 * 0.25 * 0.9))
    assert self_consumption_step(ESS, 5_000, -9_000, QUARTER_H)[0] == 3_000


def test_a_deficit_is_covered_within_the_discharge_limit() -> None:
    power, energy = self_consumption_step(ESS, 5_000, 8_000, QUARTER_H)
    assert power == -4_000 and energy == pytest.approx(5_000 - 4_000 * 0.25 / 0.8)


def test_the_soc_window_bounds_both_ways() -> None:
    power, energy = self_consumption_step(ESS, 8_900, -3_000, QUARTER_H)  # 100 Wh below 90 %
    assert power == pytest.approx(100 / (0.25 * 0.9)) and energy == pytest.approx(9_000)
    power, energy = self_consumption_step(ESS, 1_050, 3_000, QUARTER_H)  # 50 Wh above 10 %
    assert power == pytest.approx(-50 * 0.8 / 0.25) and energy == pytest.approx(1_000)
    assert self_consumption_step(ESS, 1_000, 3_000, QUARTER_H) == (0.0, 1_000)
