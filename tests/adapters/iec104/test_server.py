"""End to end with a real server: the Bucharest prosumer commissioned from its site file, the SCADA sends a
set-point over IEC 104 and it ends as a Task of the site's `ess_setpoint` capability with the highest
priority (what the LESSAg then answers like any Task); the SCADA reads the measurements back."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from adapters.iec104.link import build_scada_link
from adapters.iec104.master import ScadaMaster
from adapters.iec104.tasks import StaTaskSink
from agents.commissioning import commission
from sta_client import StaClient, entity_path
from tests.adapters.iec104.loop import DataSet, free_port
from tests.adapters.iec104.test_loopback import VALUES, until
from tests.agents.commission.conftest import example_site
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401


def test_a_scada_setpoint_is_a_highest_priority_task_on_the_server(sta_process: RunningServer) -> None:  # noqa: F811
    site = example_site("bucharest-prosumer")
    with StaClient(sta_process.settings()) as client:
        ids = commission(site, client, datetime(2026, 12, 6, tzinfo=UTC))

    async def scenario() -> None:
        port, data = free_port(), DataSet(VALUES)
        sink = StaTaskSink(sta_process.settings(), site.id)
        link = build_scada_link(site.id, {"port": port, "status_key": "scadaLink"}, sink)
        await link.cycle(data)
        master = ScadaMaster("127.0.0.1", port)
        master.start()
        try:
            assert await asyncio.to_thread(master.wait_open, 10)
            confirmation = await asyncio.to_thread(master.command, 2001, "C_SE_NC_1", -2500.0)
            assert confirmation.positive, confirmation
            await until(lambda: master.values()[1001] == VALUES["P_grid"], "the SCADA reads P back")
        finally:
            master.stop()
            link.close()
            await sink.close()
        assert len(link.tasks_created) == 1
    asyncio.run(scenario())
    with StaClient(sta_process.settings()) as client:
        tasks = list(client.iter(entity_path("TaskingCapabilities", ids.capabilities["ess_setpoint"], "Tasks")))
    assert len(tasks) == 1
    assert tasks[0]["taskingParameters"]["powerSetpoint"] == -2500.0 and tasks[0]["taskingParameters"]["priority"] == 10
