"""Issue 20: a short district (two Fur-like houses: one simulated, one behind the Fronius and DLMS
emulators) runs for a fixed simulated period against a real server with authentication on, each field
process as its own `device_agent` user; `python -m district report` prints the KPI and invariant
report and exits 0 with every invariant holding (every reading made arrived once, the probe set-point
Tasks were acknowledged). Then a duplicated Observation and a Task nobody answers make
`python -m district check` over the same period exit 1 and name both."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import uuid
from datetime import UTC, datetime
from typing import Any

import yaml

from sta_client import Query, StaClient, entity_path, string_literal
from tests.client.conftest import ADMIN, ADMIN_PASSWORD, RunningServer
from tests.conftest import ROOT
from tests.mosquitto import free_port

FACTOR = 10.0
PERIOD = "2m"  # simulated: 12 s of wall time at x10


def district_file(tmp_path: pathlib.Path) -> tuple[pathlib.Path, list[str]]:
    """Two houses of sites/district with ids and ports of their own."""
    tag = uuid.uuid4().hex[:6]
    sites = pathlib.Path(ROOT, "sites", "district")
    simulated = (sites / "fur-4.yaml").read_text().replace("id: fur-4", f"id: t{tag}-sim", 1)
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
            ["adapters.fronius.emulator", "--http-port", str(http), "--modbus-port", str(modbus), "--seed", "11"],
            ["adapters.dlms.emulator", "--port", str(dlms), "--seed", "11"]]}]}
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
                    "--run-dir", str(tmp_path / "run"), "--no-forecasts", "--no-optional", "--settle-s", "2",
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
