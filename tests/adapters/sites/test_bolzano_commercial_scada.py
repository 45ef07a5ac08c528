"""D3.1 §6.2.1 end to end: the Bolzano commercial site runs from sites/bolzano-commercial.yaml (simulated devices,
its LESSAg and its `iec104` DSO-SCADA plug-in) against a real server; the SCADA-master simulator sends a
C_SE_NC_1 set-point, which becomes a priority-10 Task of `ess_setpoint`; the LESSAg answers it
(setpointAccepted = true, parameters.taskId = the Task), puts it in force, and the SCADA reads the battery's
power back over IEC 104."""
from __future__ import annotations

import asyncio
import dataclasses
import pathlib
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.iec104.link import ScadaLink
from adapters.iec104.master import ScadaMaster
from agents.cli import site_parts
from agents.commissioning import commission
from agents.runtime import RuntimeOptions, SiteRuntime
from agents.site import PluginSpec
from clock import AcceleratedClock
from sta_client import Query, StaClient, entity_path
from tests.adapters.iec104.loop import free_port
from tests.adapters.sites.observed import until
from tests.agents.commission.conftest import example_site
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401

START = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)
SETPOINT_W = -3000.0  # discharge 3 kW (consumer sign)
P_ESS_IOA, ACCEPTED_IOA = 1007, 1101


def scada_site(port: int) -> Any:
    """The site file with its LESSAg cycling every 10 s and the SCADA link on `port` (no LEVChAg: not under test)."""
    site = example_site("bolzano-commercial")
    plugins = []
    for spec in site.plugins:
        if spec.kind == "lessag":
            plugins.append(PluginSpec("lessag", {**spec.options, "cycle_s": 10}))
        elif spec.kind == "iec104":
            plugins.append(PluginSpec("iec104", {**spec.options, "port": port, "cycle_s": 0.5}))
    assert [p.kind for p in plugins] == ["lessag", "iec104"]
    return dataclasses.replace(site, plugins=tuple(plugins))


def test_a_scada_setpoint_is_answered_by_the_lessag_and_read_back(sta_process: RunningServer,  # noqa: F811
                                                                  tmp_path: pathlib.Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sta_process.settings()
    for name, value in (("BASE_URL", settings.base_url), ("MQTT_URL", settings.mqtt_url),
                        ("USERNAME", settings.username), ("PASSWORD", settings.password)):
        if value:
            monkeypatch.setenv(f"STA_CLIENT_{name}", value)  # the iec104 plug-in's Task sink reads them
    clock, port = AcceleratedClock(START, 5.0), free_port()
    site = scada_site(port)
    client = StaClient(settings)
    ids = commission(site, client, clock.now())

    def answers(task_id: Any) -> list[dict[str, Any]]:
        query = Query().filter(f"parameters/taskId eq {task_id}").select("result", "parameters")
        return list(client.iter(entity_path("Datastreams", ids.datastreams["setpointAccepted"], "Observations"),
                                query))

    async def scenario() -> dict[str, Any]:
        parts = site_parts(site, ids, clock)
        link = next(plugin for plugin in parts.plugins if isinstance(plugin, ScadaLink))
        running = asyncio.create_task(SiteRuntime(clock, settings, parts, RuntimeOptions(tmp_path / "q.sqlite")).run())
        master = ScadaMaster("127.0.0.1", port)
        try:
            master.start()
            assert await asyncio.to_thread(master.wait_open, 20), "the SCADA connects to the site's outstation"
            confirmation = await asyncio.to_thread(master.command, 2001, "C_SE_NC_1", SETPOINT_W)
            task_id = link.tasks_created[0]
            answered = await until(lambda: answers(task_id), 60, "the LESSAg's answer to the SCADA's Task")
            in_force = await until(lambda: abs(float(master.values().get(P_ESS_IOA, 0.0)) - SETPOINT_W) < 1.0
                                   and master.values(), 60, "the SCADA reading the set-point in force back")
            return {"confirmation": confirmation, "task_id": task_id, "answered": answered, "values": in_force}
        finally:
            master.stop()
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    try:
        got = asyncio.run(scenario())
        tasks = list(client.iter(entity_path("TaskingCapabilities", ids.capabilities["ess_setpoint"], "Tasks")))
    finally:
        client.close()
    assert got["confirmation"].positive, got["confirmation"]
    assert [(t["@iot.id"], t["taskingParameters"]["powerSetpoint"], t["taskingParameters"]["priority"])
            for t in tasks] == [(got["task_id"], SETPOINT_W, 10)]
    assert [row["result"] for row in got["answered"]] == [True]
    assert got["values"][ACCEPTED_IOA] is True and got["values"][P_ESS_IOA] == pytest.approx(SETPOINT_W, abs=1.0)
