"""The residential GUI's pure parts: settings, logins, the household's JSON, the dashboard's numbers,
history buckets and exports, the resident's orders."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gui import commands, dashboard, history
from gui.households import household_of
from gui.logins import LoginStore
from gui.settings import GuiSettings

ROME = ZoneInfo("Europe/Rome")


def stream(id_: int, key: str, result: object = None, time: str = "2026-06-21T10:00:00Z",
           definition: str = "urn:s4g:op:x") -> dict[str, object]:
    return {"@iot.id": id_, "name": key, "unitOfMeasurement": {"symbol": "W"}, "properties": {"key": key},
            "ObservedProperty": {"definition": definition},
            "Observations": [] if result is None else [{"result": result, "phenomenonTime": time}]}


THINGS = [
    {"@iot.id": 1, "name": "House 7", "properties": {"siteId": "h7", "kind": "site", "timezone": "Europe/Rome"},
     "Datastreams": [stream(1, "P_load", 900.0)],
     "TaskingCapabilities": [{"@iot.id": 4, "name": "mode", "properties": {"key": "mode", "template": "lessag-mode"}}]},
    {"@iot.id": 2, "name": "battery", "properties": {"siteId": "h7", "kind": "ess"},
     "Datastreams": [stream(2, "SoC", 55.5, "2026-06-21T09:00:00Z"),
                     stream(3, "essStatus", "7", "2026-06-21T09:50:00Z", "urn:s4g:op:device-status")],
     "TaskingCapabilities": [{"@iot.id": 5, "name": "sp", "properties": {"key": "ess_setpoint",
                                                                         "template": "ess-setpoint"}},
                             {"@iot.id": 6, "name": "user", "properties": {"key": "user_setpoint",
                                                                           "template": "ess-setpoint"}},
                             {"@iot.id": 7, "name": "home", "properties": {"key": "home", "template": "ess-setpoint",
                                                                           "taskedBy": ["resident"]}}]},
]


def test_settings_from_the_environment_and_their_checks() -> None:
    settings = GuiSettings.from_env({"GUI_STA_URL": "http://h:1/v1.1/", "GUI_MQTT_WS_URL": "ws://h:2",
                                     "GUI_SECRET_KEY": "k" * 16, "GUI_PORT": "9000"})
    assert (settings.sta_url, settings.mqtt_ws_url, settings.port) == ("http://h:1/v1.1", "ws://h:2", 9000)
    assert "k" * 16 not in repr(settings)
    for bad in ({"GUI_STA_URL": "h:1"}, {"GUI_MQTT_WS_URL": "mqtt://h"}, {"GUI_SECRET_KEY": "short"}):
        with pytest.raises(ValueError):
            GuiSettings.from_env(bad)


def test_logins_are_found_by_id_and_forgotten_on_logout_or_age() -> None:
    store = LoginStore(max_age_s=3600)
    login_id = store.add("alice", "secret")
    found = store.find(login_id)
    assert found is not None and found.username == "alice" and "secret" not in repr(found)
    assert store.find("guessed") is None and store.find(None) is None
    store.remove(login_id)
    assert store.find(login_id) is None
    assert LoginStore(max_age_s=0).find(LoginStore(max_age_s=0).add("bob", "x")) is None


def test_the_household_is_read_from_its_things() -> None:
    house = household_of("h7", THINGS)
    assert house is not None and (house.name, house.timezone) == ("House 7", "Europe/Rome")
    assert house.streams["SoC"].latest is not None and house.streams["SoC"].latest.value == 55.5
    assert house.streams["essStatus"].is_device_status
    assert household_of("h8", []) is None


def test_health_counts_streams_silent_while_the_site_reports() -> None:
    house = household_of("h7", THINGS)
    assert house is not None
    health = dashboard.health(house)
    assert health.last_contact == datetime(2026, 6, 21, 10, tzinfo=UTC)
    assert (health.streams, health.fresh) == (3, 2)  # SoC is an hour older than the newest reading
    assert health.device_status == (("essStatus", "7"),)


def test_todays_split_counts_imports_only() -> None:
    split = dashboard.energy_split([1000.0, 2000.0, None], [1000.0, -500.0, 300.0])
    assert (split.consumption_kwh, split.grid_kwh) == (3.0, 1.3)
    assert split.self_produced_kwh == pytest.approx(1.7)
    assert dashboard.energy_split([], []).self_share_pct == 0.0


def test_a_plugged_ev_is_told_by_its_ocpp_status() -> None:
    assert dashboard.ev_plugged("Charging") and dashboard.ev_plugged("SuspendedEV")
    assert dashboard.ev_plugged("Available") is False and dashboard.ev_plugged(None) is None


def test_orders_carry_the_sites_answer() -> None:
    tasks: list[dict[str, Any]] = [{"@iot.id": 9, "creationTime": "t", "taskingParameters": {"mode": "minimum-bill"}},
             {"@iot.id": 8, "taskingParameters": {}}, {"@iot.id": 7}]
    answers: list[dict[str, Any]] = [{"result": True, "parameters": {"taskId": 9}},
               {"result": False, "parameters": {"taskId": 8, "reason": "out-of-range: 9 kW"}}, {"result": True}]
    assert [o.answer for o in dashboard.orders(tasks, answers)] == ["accepted", "refused: out-of-range: 9 kW",
                                                                    "waiting"]


@pytest.mark.parametrize(("period", "day", "start", "end"), [
    (history.Period.DAY, date(2026, 3, 29), datetime(2026, 3, 29, tzinfo=ROME), datetime(2026, 3, 30, tzinfo=ROME)),
    (history.Period.MONTH, date(2026, 2, 14), datetime(2026, 2, 1, tzinfo=ROME), datetime(2026, 3, 1, tzinfo=ROME)),
    (history.Period.YEAR, date(2026, 6, 21), datetime(2026, 1, 1, tzinfo=ROME), datetime(2027, 1, 1, tzinfo=ROME)),
])
def test_periods_are_local_calendar_units(period: history.Period, day: date, start: datetime, end: datetime) -> None:
    assert history.period_bounds(period, day, ROME) == (start, end)


def test_a_buckets_energy_is_its_mean_power_times_its_own_length() -> None:
    spring_day = datetime(2026, 3, 29, tzinfo=ROME)  # 23 hours
    energies = history.energy_kwh(history.Period.MONTH, [(spring_day, 1000.0), (spring_day + timedelta(days=1), None)])
    assert energies == {spring_day: pytest.approx(23.0), spring_day + timedelta(days=1): None}
    february = datetime(2026, 2, 1, tzinfo=ROME)
    assert history.energy_kwh(history.Period.YEAR, [(february, 100.0)]) == {february: pytest.approx(67.2)}
    hour = datetime(2026, 6, 21, 10, tzinfo=ROME)
    assert history.energy_kwh(history.Period.DAY, [(hour, 1500.0)]) == {hour: 1.5}


def test_history_rows_export_as_csv_and_json() -> None:
    hour = datetime(2026, 6, 21, 10, tzinfo=ROME)
    rows = history.history_rows({"consumption_kwh": {hour: 1.5}, "grid_kwh": {hour: -0.25}})
    assert history.to_csv(rows) == ("start,consumption_kwh,grid_kwh,pv_kwh\n"
                                    "2026-06-21T10:00:00+02:00,1.5000,-0.2500,\n")
    assert history.to_json(rows) == [{"start": "2026-06-21T10:00:00+02:00", "consumption_kwh": 1.5,
                                      "grid_kwh": -0.25, "pv_kwh": None}]


def test_the_history_query_asks_the_server_for_every_stream_at_once() -> None:
    start, end = history.period_bounds(history.Period.DAY, date(2026, 6, 21), ROME)
    apply = history.series_query(history.Period.DAY, start, end, "Europe/Rome", [3, 1]).params()["$apply"]
    assert apply.startswith("filter(Datastream/id in (3,1) and phenomenonTime ge 2026-06-2")
    assert apply.endswith("/groupby((Datastream/id,bucket(phenomenonTime,'PT1H','Europe/Rome')),"
                          "aggregate(result with timeweighted as mean))")


def test_the_residents_set_point_goes_to_the_user_capability_at_the_lowest_priority() -> None:
    house = household_of("h7", THINGS)
    assert house is not None
    chosen, mode = commands.setpoint_capability(house), commands.mode_capability(house)
    assert chosen is not None and chosen.key == "home"  # the one that names residents
    assert mode is not None and mode.id == 4
    now = datetime(2026, 6, 21, 10, 0, 30, 123, tzinfo=UTC)
    assert commands.setpoint_parameters(-2.5, 30, now) == {
        "powerSetpoint": -2500.0, "priority": 1, "startTime": "2026-06-21T10:00:30+00:00",
        "stopTime": "2026-06-21T10:30:30+00:00"}


@pytest.mark.parametrize("text", ["", "lots", "nan", "inf", "1e999"])
def test_a_power_that_is_not_a_finite_number_is_refused_before_the_server(text: str) -> None:
    with pytest.raises(ValueError):
        commands.parse_power_kw(text)


def test_a_decimal_comma_is_a_power() -> None:
    assert commands.parse_power_kw(" 2,5 ") == 2.5
