"""The report's pure computations (credibility, gaps, duplicates, Task ledger, PCC and self-consumption
KPIs), the supervisor's back-off and the order in which sites are commissioned."""
from __future__ import annotations

import pathlib
from datetime import UTC, datetime, timedelta

from district.children import backoff_after
from district.kpis import Window, power_kpis, stream_stats, task_stats
from district.manifest import emulator_physics_site, load_district, physics_sites
from district.orchestrator import provisioning_order, resume_from
from tests.conftest import ROOT

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)
WINDOW = Window(T0, T0 + timedelta(minutes=10), T0)


def every(seconds: float, count: int, offset_s: float = 0.0) -> list[datetime]:
    return [T0 + timedelta(seconds=offset_s + n * seconds) for n in range(count)]


def test_a_complete_periodic_stream_is_fully_credible() -> None:
    stats = stream_stats("P_ess", every(10, 60, 0.4), 10.0, WINDOW, 60.0)
    assert (stats.periodic, stats.expected, stats.received, stats.duplicates, stats.missing_gaps) == \
        (True, 60, 60, 0, 0)


def test_a_gap_longer_than_a_stall_and_a_repeated_time_are_counted() -> None:
    times = [t for t in every(10, 60) if not T0 + timedelta(minutes=3) <= t < T0 + timedelta(minutes=5)]
    stats = stream_stats("P_ess", [*times, times[5]], 10.0, WINDOW, 60.0)
    assert stats.periodic and stats.missing_gaps == 1 and stats.duplicates == 1 and stats.received == 48


def test_a_forecast_run_again_for_the_same_steps_is_no_duplicate() -> None:
    steps = every(900, 4)
    first, second = "2026-06-21T00:00:00Z", "2026-06-21T01:00:00Z"
    runs = stream_stats("evLoadForecast", steps + steps, 900.0, WINDOW, 60.0, [first] * 4 + [second] * 4)
    assert runs.duplicates == 0 and runs.received == 4
    again = stream_stats("evLoadForecast", steps + steps[:1], 900.0, WINDOW, 60.0, [first] * 5)
    assert again.duplicates == 1


def test_a_stream_that_ends_early_has_a_gap_at_the_end_of_the_period() -> None:
    assert stream_stats("SoC", every(10, 40), 10.0, WINDOW, 60.0).missing_gaps == 1


def test_a_stream_written_on_change_is_received_but_never_expected() -> None:
    stats = stream_stats("lessagMode", every(120, 4), 10.0, WINDOW, 60.0)
    assert (stats.periodic, stats.expected, stats.received, stats.missing_gaps) == (False, 4, 4, 0)


def test_tasks_without_an_answer_are_lost_and_refusals_are_answers() -> None:
    stats = task_stats(["1", "2", "3"], {"1": True, "2": False})
    assert (stats.created, stats.acknowledged, stats.accepted, stats.lost) == (3, 2, 1, ("3",))


def test_self_consumption_and_the_contract() -> None:
    times = every(3600, 3)
    pcc = [(times[0], 2000.0), (times[1], -1000.0), (times[2], -1000.0)]  # 0.5 + 1 kWh exported (trapezoids)
    pv = [[(times[0], -4000.0), (times[1], -4000.0), (times[2], -4000.0)]]  # 8 kWh produced
    kpis = power_kpis(pcc, pv, contract_in_w=1500.0, contract_out_w=6000.0)
    assert kpis.max_import_w == 2000.0 and kpis.max_export_w == 1000.0
    assert kpis.over_contract_share == 1 / 3
    assert kpis.self_consumption is not None and abs(kpis.self_consumption - (1 - 1.5 / 8)) < 1e-9


def test_backoff_doubles_after_quick_exits_and_starts_over_after_a_healthy_run() -> None:
    assert [backoff_after(b, 1.0) for b in (0.0, 1.0, 2.0, 32.0, 60.0)] == [1.0, 2.0, 4.0, 60.0, 60.0]
    assert backoff_after(32.0, 120.0) == 1.0


def test_sites_bringing_new_observed_properties_are_commissioned_alone_first() -> None:
    district = load_district(pathlib.Path(ROOT, "sites", "district", "district.yaml"))
    first, rest = provisioning_order(district.sites)
    assert [site.facts.site_id for site in first] == ["fur-1", "fur-er", "fur-gess", "bz-carpark"]
    assert {site.facts.site_id for site in rest} == {f"fur-{n}" for n in range(2, 9)}


def test_the_clock_continues_after_the_time_an_earlier_run_reached(tmp_path: pathlib.Path) -> None:
    saved = tmp_path / "clock.json"
    assert resume_from(saved, T0) == T0
    saved.write_text('{"now": "2026-06-21T12:30:10.5+00:00"}')
    assert resume_from(saved, T0) == datetime(2026, 6, 21, 12, 31, 10, tzinfo=UTC)
    saved.write_text('{"now": "2026-06-21T09:00:00+00:00"}')  # before the district file's start
    assert resume_from(saved, T0) == T0


def test_the_houses_get_a_resident_login_and_the_other_sites_none() -> None:
    """A resident user is made only for sites with capabilities that name residents (their mode switch and
    manual set-point): the houses with a battery, not the energy router, grid battery or car park."""
    district = load_district(pathlib.Path(ROOT) / "sites" / "district" / "district.yaml")
    residents = {e.facts.site_id for e in district.sites if e.facts.has_household_capabilities}
    assert residents == {f"fur-{n}" for n in range(1, 9)}


def test_the_report_waits_for_the_physics_of_the_houses_that_read_them() -> None:
    """The simulated houses with a `physics` option (fur-4 … fur-8) and the Fronius and PCC meter emulators of
    fur-1 … fur-3 (`--physics-site`) read the simulation's physics when it runs with SIM_PHYSICS on; the report's
    period starts once those are on the server. An emulator reading them gets its own site's device-agent account
    only."""
    district = load_district(pathlib.Path(ROOT) / "sites" / "district" / "district.yaml")
    assert {e.facts.site_id: e.facts.physics_site for e in district.sites if e.facts.physics_site} == \
        {f"fur-{n}": f"fur-{n}" for n in range(4, 9)}
    simulation = dict(district.parts["simulation"])
    assert simulation["SIM_PHYSICS"] == "1"
    assert physics_sites(district, simulation) == [f"fur-{n}" for n in range(1, 9)]
    assert physics_sites(district, {**simulation, "SIM_PHYSICS": "0"}) == []
    assert physics_sites(district, {**simulation, "SIM_SITES": "fur-1,fur-5"}) == ["fur-1", "fur-5"]
    assert physics_sites(district, {"SIM_PHYSICS": "on"}) == [f"fur-{n}" for n in range(1, 9)]
    assert emulator_physics_site(["adapters.dlms.emulator", "--port", "1", "--physics-site", "fur-2"]) == "fur-2"
    assert emulator_physics_site(["adapters.dlms.emulator", "--physics-site=fur-3"]) == "fur-3"
    assert emulator_physics_site(["adapters.fronius.emulator", "--http-port", "1"]) is None
    emulated = {e.facts.site_id: {argv[0]: emulator_physics_site(argv) for argv in e.emulators}
                for e in district.sites if e.facts.site_id in ("fur-1", "fur-2", "fur-3")}
    assert emulated == {site: {"adapters.fronius.emulator": site, "adapters.dlms.emulator": site}
                        for site in ("fur-1", "fur-2", "fur-3")}
