"""Issue 20: a short district (two Fur-like houses: one simulated, one behind the Fronius and DLMS emulators) runs for
a fixed simulated period against a real server with authentication on, each field process as its own `device_agent`
user, the simulated house on the physics of the district's simulation (`SIM_PHYSICS=1`: its PV and load a share of
its bus's SimBench elements, its meter's voltages around the bus voltage), the emulated house's Fronius inverter
(PV, load) and DLMS meter (voltages) on its own; `python -m district report` prints the KPI and invariant report and
exits 0 with every invariant holding (every reading made arrived once, the probe set-point Tasks were acknowledged).
Then a duplicated Observation and a Task nobody answers make `python -m district check` over the same period exit 1
and name both."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from adapters.fronius.documents import ASLEEP_W
from adapters.simulated.meter import NOMINAL_V, PHASE_OFFSETS_V
from sta_client import Query, StaClient, entity_path, string_literal
from tests.client.conftest import ADMIN, ADMIN_PASSWORD, RunningServer
from tests.conftest import ROOT
from tests.mosquitto import free_port

FACTOR = 10.0
PERIOD = "2m"  # simulated: 12 s of wall time at x10
STEP = 900.0  # the simulation's step (s): physics of [t, t + 15 min) are stamped t
REFRESH_S = 60.0  # the house re-reads the physics at most every minute of clock time (physics_feed.py)
EMULATED_SHARES = {"pv_share": 0.125, "load_share": 0.502}  # fur-1's in sites/district/district.yaml
WRITE_LAG_S = 180.0  # clock time the simulation may take to write an interval's physics after its start


def district_file(tmp_path: pathlib.Path) -> tuple[pathlib.Path, list[str]]:
    """Two houses of sites/district with ids and ports of their own."""
    tag = uuid.uuid4().hex[:6]
    sites = pathlib.Path(ROOT, "sites", "district")
    simulated = (sites / "fur-4.yaml").read_text().replace("id: fur-4", f"id: t{tag}-sim", 1)
    simulated = simulated.replace("site: fur-4,", f"site: t{tag}-sim,")  # the physics option names the site
    http, modbus, dlms = free_port(), free_port(), free_port()
    emulated = (sites / "fur-1.yaml").read_text().replace("id: fur-1", f"id: t{tag}-emu", 1)
    emulated = emulated.replace("127.0.0.1:18100", f"127.0.0.1:{http}").replace("modbus_port: 18101",
                                                                                  f"modbus_port: {modbus}")
    emulated = emulated.replace("port: 18102", f"port: {dlms}")
    (tmp_path / "sim.yaml").write_text(simulated)
    (tmp_path / "emu.yaml").write_text(emulated)
    manifest = {"clock": {"start": "2026-06-21T03:00:00+00:00", "factor": FACTOR}, "sites": [
        {"file": "sim.yaml"},
        {"file": "emu.yaml", "devices": "emulated", "emulators": [
            # the inverter and the PCC meter emulators on the simulation's physics of their site, as the
            # site's device agent
            ["adapters.fronius.emulator", "--http-port", str(http), "--modbus-port", str(modbus), "--seed", "11",
             "--physics-site", f"t{tag}-emu", "--pv-share", str(EMULATED_SHARES["pv_share"]),
             "--load-share", str(EMULATED_SHARES["load_share"])],
            ["adapters.dlms.emulator", "--port", str(dlms), "--seed", "11", "--physics-site", f"t{tag}-emu",
             "--pv-share", str(EMULATED_SHARES["pv_share"]), "--load-share", str(EMULATED_SHARES["load_share"])]]}],
        # the simulation as the physics source of the simulated house (the June profile day)
        "parts": {"simulation": {"SIM_GRID": "fur", "SIM_PHYSICS": "1", "SIM_SITES": f"t{tag}-sim,t{tag}-emu",
                                 "SIM_PROFILE_DATE": "2026-06-21"}}}
    path = tmp_path / "district.yaml"
    path.write_text(yaml.safe_dump(manifest))
    return path, [f"t{tag}-sim", f"t{tag}-emu"]


def district(server: RunningServer, *argv: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, STA_CLIENT_BASE_URL=server.base_url, STA_CLIENT_MQTT_URL=server.mqtt_url,
               STA_CLIENT_USERNAME=ADMIN, STA_CLIENT_PASSWORD=ADMIN_PASSWORD, STA_AUTH="on",
               STA_DATABASE_URL=server.database_url, STA_MQTT_AUTH_DIR=str(server.broker.folder),
               # this month's partition of the server's Observations (a past month's rows wait in the default one)
               DISTRICT_CLOCK_START=datetime.now(UTC).replace(microsecond=0).isoformat())
    return subprocess.run([os.path.join(ROOT, ".venv/bin/python"), "-m", "district", *argv], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout_s, check=False)


def test_a_short_district_reports_every_invariant_held_and_a_broken_one_fails(
        sta_process_auth: RunningServer, tmp_path: pathlib.Path) -> None:
    manifest, site_ids = district_file(tmp_path)
    report_json = tmp_path / "report.json"
    done = district(sta_process_auth, "report", "--district", str(manifest), "--period", PERIOD,
                    "--run-dir", str(tmp_path / "run"), "--no-forecasts", "--optional", "simulation",
                    # the period starts once the physics are on the server and the house has re-read them
                    "--settle-s", str(REFRESH_S / FACTOR + 2),
                    "--json", str(report_json))
    assert done.returncode == 0, done.stdout + done.stderr[-6000:]
    assert "invariants: all hold" in done.stdout
    report: dict[str, Any] = json.loads(report_json.read_text())
    assert [site["site_id"] for site in report["sites"]] == site_ids
    for site in report["sites"]:
        assert site["failures"] == []
        assert site["received"] > 0 and site["expected"] > 0
        assert site["tasks"]["created"] == 1 and site["tasks"]["acknowledged"] == 1  # the probe set-point
        assert all(stream["duplicates"] == 0 for stream in site["streams"])
        assert site["power"]["max_import_w"] is not None
    # each field process ran as its own device agent
    users = sta_process_auth.admin_cli("user", "list")
    agents = {user["name"]: user for user in users if user["name"].startswith("agent-t")}
    for site_id in site_ids:
        assert agents[f"agent-{site_id}"]["role"] == "device_agent"
        assert agents[f"agent-{site_id}"]["grants"] == [f"site:{site_id}"]

    window = report["window"]
    physics_followed(sta_process_auth, site_ids[0], window)
    # the Fronius emulator's PV and load, the DLMS meter's voltage
    physics_followed(sta_process_auth, site_ids[1], window, EMULATED_SHARES, emulated=True)
    # break two invariants on the server: a second Observation at a stored time, a Task nobody answers
    with StaClient(sta_process_auth.settings()) as admin:
        site = site_ids[0]
        thing = next(admin.iter("Things", Query().filter(
            f"properties/siteId eq {string_literal(site)} and properties/key eq 'ess'").expand(
            "Datastreams", Query().select("id", "properties")).expand("TaskingCapabilities",
                                                                       Query().select("id", "properties"))))
        soc = next(ds for ds in thing["Datastreams"] if ds["properties"]["key"] == "SoC")
        first = admin.get(entity_path("Datastreams", soc["@iot.id"], "Observations"),
                          Query().orderby("phenomenonTime asc").filter(
                              f"phenomenonTime ge {window['start'].replace('+00:00', 'Z')}").top(1))["value"][0]
        again = {"phenomenonTime": first["phenomenonTime"], "result": first["result"]}
        if first.get("resultTime") is not None:
            again["resultTime"] = first["resultTime"]
        admin.create(entity_path("Datastreams", soc["@iot.id"], "Observations"), again)
        setpoint = next(c for c in thing["TaskingCapabilities"] if c["properties"]["key"] == "ess_setpoint")
        unanswered = admin.create_task(setpoint["@iot.id"], {"powerSetpoint": 0.0, "priority": 1,
                                                              "startTime": window["end"].replace("+00:00", "Z")})
    checked = district(sta_process_auth, "check", "--district", str(manifest), "--from", window["start"],
                       "--to", window["end"], "--tasks-since", window["tasks_since"], "--factor", str(FACTOR))
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "invariants FAILED" in checked.stdout
    assert f"{site}: SoC: 1 duplicated Observation(s)" in checked.stdout
    assert f"{site}: Task(s) never acknowledged: {unanswered}" in checked.stdout


def in_force(physics: list[tuple[datetime, float]], when: datetime) -> list[float]:
    """The physics values a house may use at `when`: the interval's, or the one before while the house has
    not re-read them yet (the simulation's write and the house's refresh after the interval's start)."""
    before = [(stamp, value) for stamp, value in physics if stamp <= when]
    if not before:
        return []
    recent = (when - before[-1][0]).total_seconds() <= REFRESH_S + WRITE_LAG_S
    return [value for _, value in (before[-2:] if recent else before[-1:])]


def physics_followed(server: RunningServer, site: str, window: dict[str, str],
                     shares: dict[str, float] | None = None, emulated: bool = False) -> None:
    """The house's P_pv and P_load readings of the period are its share of the simulation's physics values in
    force (`shares`, default the simulated house fur-4's; the emulated Fronius inverter's to the Solar API's
    0.1 W, its PV 0 below the 0.5 W it sleeps at), its meter's phase voltages sit around the simulated bus
    voltage (the emulated DLMS meter's to its registers' 0.1 V)."""
    if shares is None:
        options = yaml.safe_load((pathlib.Path(ROOT, "sites", "district", "fur-4.yaml")).read_text())
        shares = next(d for d in options["devices"] if d["key"] == "ess")["connector"]["options"]["physics"]
    power_tolerance = 0.06 if emulated else 0.01
    period = f"phenomenonTime ge {window['start'].replace('+00:00', 'Z')} and " \
             f"phenomenonTime lt {window['end'].replace('+00:00', 'Z')}"
    with StaClient(server.settings()) as admin:
        def series(path: str, query: Query) -> list[tuple[datetime, Any]]:
            return [(datetime.fromisoformat(o["phenomenonTime"].replace("Z", "+00:00")), o["result"])
                    for o in admin.iter(path, query.select("phenomenonTime", "result").orderby("phenomenonTime asc"))]

        streams = {(ds["properties"].get("key")): ds["@iot.id"] for thing in admin.iter("Things", Query().filter(
            f"properties/siteId eq {string_literal(site)}").expand("Datastreams", Query().select("id", "properties")))
            for ds in thing["Datastreams"]}
        multi = {(ds["properties"].get("key")): ds["@iot.id"] for thing in admin.iter("Things", Query().filter(
            f"properties/siteId eq {string_literal(site)}").expand("MultiDatastreams",
                                                                   Query().select("id", "properties")))
            for ds in thing["MultiDatastreams"]}
        physics = {key: series(entity_path("Datastreams", streams[key], "Observations"), Query().top(1000))
                   for key in ("physics.P_pv", "physics.P_load", "physics.V")}
        house = {key: series(entity_path("Datastreams", streams[key], "Observations"), Query().filter(period).top(1000))
                 for key in ("P_pv", "P_load", "P_grid")}
        volts = series(entity_path("MultiDatastreams", multi["V_grid"], "Observations"),
                       Query().filter(period).top(1000))
    assert physics["physics.P_load"] and physics["physics.V"], physics
    assert house["P_grid"] and volts and house["P_load"] and house["P_pv"]
    for key, share in (("P_pv", shares["pv_share"]), ("P_load", shares["load_share"])):
        for when, value in house[key]:
            expected = [round(v * share, 3) for v in in_force(physics[f"physics.{key}"], when)]
            expected += [0.0 for e in expected if emulated and key == "P_pv" and abs(e) < ASLEEP_W]
            assert any(value == pytest.approx(e, abs=power_tolerance) for e in expected), (key, when, value, expected)
    grid = dict(house["P_grid"])
    checked = 0
    for when, phases in volts:
        if when not in grid:
            continue
        own_drop = [-0.15 * grid[when] / 3 / NOMINAL_V + offset for offset in PHASE_OFFSETS_V]
        bus = [v - d for v, d in zip(phases, own_drop, strict=True)]
        tolerance = 0.1 if emulated else 0.01  # the DLMS voltage registers' scaler -1
        assert max(bus) - min(bus) < 2 * tolerance, (when, phases)
        mean = sum(bus) / len(bus)
        assert any(mean == pytest.approx(v, abs=tolerance) for v in in_force(physics["physics.V"], when)), \
            (when, phases, physics["physics.V"])
        checked += 1
    assert checked > 0
