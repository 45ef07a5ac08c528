"""Server data → problem inputs: Thing property names, stale SoC, missing forecasts (persistence)."""
from __future__ import annotations

import math

import pytest

from controllers.gesscon import ProblemError
from controllers.gesscon.snapshot import SocReading, ess_params, site_forecast

FUR_ESS = {"maxCapacity_Wh": 9600, "maxPower_W": 6400, "minSoC_pct": 10, "maxSoC_pct": 95}


def test_ess_params_read_the_thing_properties_and_the_soc() -> None:
    ess, flags = ess_params("ess", "fur1", FUR_ESS, SocReading(50.0, 60.0), wear_eur_per_kwh=0.02)
    assert (ess.capacity_wh, ess.max_charge_w, ess.max_discharge_w) == (9600, 6400, 6400)
    assert ess.soc_initial_wh == 4800 and ess.min_wh == 960 and ess.wear_eur_per_kwh == 0.02
    assert flags == ()


@pytest.mark.parametrize("soc", [None, SocReading(80.0, 901.0)])
def test_a_stale_or_missing_soc_is_planned_from_the_minimum(soc: SocReading | None) -> None:
    ess, flags = ess_params("ess", "fur1", FUR_ESS, soc)
    assert ess.soc_initial_wh == ess.min_wh and flags == ("ess:soc-stale",)


def test_a_missing_rating_is_refused() -> None:
    with pytest.raises(ProblemError):
        ess_params("ess", "fur1", {"maxPower_W": 6400}, None)


def test_a_missing_forecast_falls_back_to_persistence_and_is_flagged() -> None:
    site = site_forecast("fur1", {"contractLimitIn_W": 11000}, 3, load=None, pv=[-1.0, -2.0, 0.0],
                         load_last_day=[300.0, 400.0, 500.0])
    assert site.load_w == (300.0, 400.0, 500.0) and site.pv_w == (-1.0, -2.0, 0.0)
    assert site.flags == ("fur1:load:persistence",)
    assert site.contract_in_w == 11000 and site.contract_out_w == math.inf


def test_nothing_at_all_is_zero_and_flagged_missing() -> None:
    site = site_forecast("fur1", {}, 2, load=[1.0], pv=None)  # a forecast of the wrong length is not used
    assert site.load_w == (0.0, 0.0) and site.flags == ("fur1:load:missing", "fur1:pv:missing")
