"""KPIs as pure functions, against expectations computed by hand."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simulation.kpis import (
    EnergyBalance,
    Series,
    bucharest_kpis,
    credibility,
    curtailment_share,
    pcc_peak,
    self_consumption,
    self_sufficiency,
    split_energy_wh,
    voltage_band,
)
from simulation.kpis.site import SiteSeries, site_kpis

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_each_sample_holds_until_the_next_and_the_last_until_the_end() -> None:
    series = Series.of([(at(0), 1000.0), (at(1), -500.0)])
    assert split_energy_wh(series, at(3)) == (1000.0, 1000.0)


def test_a_gap_longer_than_the_hold_limit_adds_no_energy() -> None:
    series = Series.of([(at(0), 1000.0), (at(2), 1000.0)])
    assert split_energy_wh(series, at(3), max_hold_s=3600) == (2000.0, 0.0)


def test_series_refuse_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 times but 1 values"):
        Series((at(0), at(1)), (1.0,))


def test_self_consumption_is_pv_not_exported_over_pv() -> None:
    balance = EnergyBalance(import_wh=2000, export_wh=4000, pv_wh=10000, consumption_wh=8000)
    assert self_consumption(balance) == pytest.approx(0.6)
    assert self_sufficiency(balance) == pytest.approx(0.75)


def test_ratios_without_pv_or_consumption_are_undefined() -> None:
    balance = EnergyBalance(import_wh=0, export_wh=0, pv_wh=0, consumption_wh=0)
    assert self_consumption(balance) is None
    assert self_sufficiency(balance) is None
    assert curtailment_share(balance) is None


def test_self_sufficiency_is_zero_when_the_battery_charges_from_the_grid() -> None:
    assert self_sufficiency(EnergyBalance(import_wh=12000, export_wh=0, pv_wh=0, consumption_wh=8000)) == 0.0


def test_curtailment_from_the_forecast_or_given_directly() -> None:
    from_forecast = EnergyBalance(import_wh=0, export_wh=0, pv_wh=8000, consumption_wh=1, pv_forecast_wh=10000)
    assert curtailment_share(from_forecast) == pytest.approx(0.2)
    given = EnergyBalance(import_wh=0, export_wh=0, pv_wh=9000, consumption_wh=1, curtailed_wh=1000)
    assert curtailment_share(given) == pytest.approx(0.1)


def test_bucharest_kpis_against_their_limits() -> None:
    kpis = bucharest_kpis(EnergyBalance(import_wh=7500, export_wh=500, pv_wh=5000, consumption_wh=10000,
                                        pv_forecast_wh=6000))
    assert kpis.export_ratio == pytest.approx(0.05) and kpis.export_ok is True
    assert kpis.grid_ratio == pytest.approx(0.75) and kpis.grid_ok is False
    assert kpis.curtailment_ratio == pytest.approx(1000 / 6000) and kpis.curtailment_ok is True


def test_the_grid_ratio_limit_is_strict() -> None:
    assert bucharest_kpis(EnergyBalance(import_wh=7000, export_wh=0, pv_wh=0, consumption_wh=10000)).grid_ok is False


def test_voltage_band_edges_are_inside() -> None:
    band = voltage_band([230.0, 253.0, 253.1, 206.9, 207.0])
    assert (band.samples, band.above, band.below, band.violations) == (5, 1, 1, 2)
    assert band.share_within == pytest.approx(0.6)
    assert band.en50160_ok is False
    assert (band.v_min, band.v_max) == (206.9, 253.1)


def test_voltage_band_in_per_unit() -> None:
    band = voltage_band([1.0] * 19 + [1.1001], nominal=1.0)
    assert band.above == 1 and band.share_within == pytest.approx(0.95) and band.en50160_ok is True


def test_no_voltage_samples_is_undefined_not_compliant() -> None:
    band = voltage_band([])
    assert band.share_within is None and band.en50160_ok is None


def test_pcc_peak_against_the_contract() -> None:
    peak = pcc_peak([5000.0, 12000.0, -3000.0, -8000.0], contract_in_w=10000, contract_out_w=6000)
    assert (peak.max_import_w, peak.max_export_w, peak.over_in, peak.over_out) == (12000.0, 8000.0, 1, 1)
    assert peak.import_ok is False and peak.export_ok is False
    assert peak.import_utilisation == pytest.approx(1.2)


def test_pcc_peak_without_a_contract() -> None:
    peak = pcc_peak([100.0], None, None)
    assert peak.import_ok is None and peak.import_utilisation is None and peak.max_export_w == 0.0


def test_credibility_counts_slots_not_duplicates() -> None:
    start = T0
    times = [start + timedelta(seconds=s) for s in (0, 1, 2, 5, 10, 15, 20, 25, 30, 35, 40, 45, 55, 61)]
    result = credibility(times, start, start + timedelta(seconds=60), 5)
    assert (result.expected, result.received) == (12, 11)
    assert result.share == pytest.approx(11 / 12) and result.ok is False


def test_credibility_of_a_full_day_of_five_second_samples() -> None:
    times = [T0 + timedelta(seconds=5 * i) for i in range(17280) if i % 25 != 0]  # 4 % missing
    result = credibility(times, T0, T0 + timedelta(days=1), 5)
    assert result.expected == 17280 and result.received == 17280 - 692 and result.ok is True


def test_site_kpis_compose_the_balance() -> None:
    # two hours: hour 0 imports 1 kW with 3 kW load and 2 kW PV; hour 1 exports 2 kW with 1 kW load, 3 kW PV
    series = SiteSeries(p_grid=Series.of([(at(0), 1000.0), (at(1), -2000.0)]),
                        p_load=Series.of([(at(0), 3000.0), (at(1), 1000.0)]),
                        p_pv=Series.of([(at(0), -2000.0), (at(1), -3000.0)]),
                        p_pv_forecast=Series.of([(at(0), -2500.0), (at(1), -3500.0)]),
                        voltages=(231.0, 254.0), contract_in_w=500.0, contract_out_w=3000.0)
    kpis = site_kpis(series, at(0), at(2), sample_period_s=3600)
    assert (kpis.balance.import_wh, kpis.balance.export_wh) == (1000.0, 2000.0)
    assert (kpis.balance.pv_wh, kpis.balance.consumption_wh, kpis.balance.pv_forecast_wh) == (5000.0, 4000.0, 6000.0)
    assert kpis.self_consumption == pytest.approx(0.6)
    assert kpis.self_sufficiency == pytest.approx(0.75)
    assert kpis.curtailment == pytest.approx(1 / 6)
    assert kpis.bucharest.export_ratio == pytest.approx(0.5)
    assert kpis.pcc.import_ok is False and kpis.pcc.export_ok is True
    assert kpis.voltage.above == 1
    assert kpis.as_dict()["selfSufficiency"] == pytest.approx(0.75)
