"""The Fur-like June day (SimBench 1-LV-rural1--2-sw, 21 June): without control the PV drives the feeder
above 1.05 pu around noon; with a battery beside each PV system charging what it feeds in above 30 % of
its peak, no hour is above it (hourly steps here; docs/simulation.md has the 15-minute numbers)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simulation.grid import GridModel
from simulation.pv_batteries import decide_charge_w, pv_batteries, run_day

DAY = datetime(2026, 6, 21, tzinfo=UTC)


@pytest.fixture(scope="module")
def fur() -> GridModel:
    return GridModel.load("fur")


def test_the_decision_charges_only_the_feed_in_above_the_cap() -> None:
    assert decide_charge_w(pv_w=10_000, load_w=1_000, feed_in_cap_w=3_000) == 6_000
    assert decide_charge_w(pv_w=3_000, load_w=1_000, feed_in_cap_w=3_000) == 0
    assert decide_charge_w(pv_w=0, load_w=1_000, feed_in_cap_w=3_000) == 0


def test_the_june_day_over_voltage_drops_with_pv_batteries(fur: GridModel) -> None:
    hour = timedelta(hours=1)
    without, _ = run_day(fur, DAY, None, step=hour)
    assert without.not_ok == 0 and without.steps == 24
    assert without.v_max_pu > 1.055 and without.steps_above >= 4
    batteries = pv_batteries(fur)
    assert len(batteries) == len(fur.net.sgen) == 8
    controlled, results = run_day(fur, DAY, batteries, step=hour)
    assert controlled.charged_kwh > 0
    assert controlled.steps_above == 0 and controlled.v_max_pu < without.v_max_pu - 0.01
    assert all(r.status == "ok" for r in results)
