"""The SCADA link's outstation and the SCADA-master simulator over 127.0.0.1 (c104 on both sides): the
SCADA reads P, Q, V, SoC; a set-point becomes a highest-priority Task with a positive confirmation; the
faults: a command to an unknown address, an unmapped command, a Task that cannot be created, and a
connection loss with the SCADA reconnecting by itself. Each fault is confirmed negatively (or seen by the
master) and gives a status reading."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from adapters.iec104.link import ScadaLink, build_scada_link
from adapters.iec104.master import ScadaMaster
from tests.adapters.iec104.loop import DataSet, Recorded, free_port

VALUES = {"P_grid": 1520.0, "Q_grid": -210.0, "V_grid": [231.2, 229.8, 230.4], "SoC": 64.5, "P_ess": -800.0,
          "setpointAccepted": True}


async def until(condition: Callable[[], Any], what: str, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.05)


def run(scenario: Callable[[ScadaLink, ScadaMaster, DataSet, Recorded], Awaitable[None]], fail: bool = False) -> None:
    async def main() -> None:
        port, data, sink = free_port(), DataSet(VALUES), Recorded(fail)
        link = build_scada_link("s1", {"port": port, "status_key": "scadaLink", "cycle_s": 0.2}, sink)
        await link.cycle(data)
        master = ScadaMaster("127.0.0.1", port)
        master.start()
        try:
            assert await asyncio.to_thread(master.wait_open, 10)
            await scenario(link, master, data, sink)
        finally:
            master.stop()
            link.close()
    asyncio.run(main())


def test_the_scada_reads_the_measurements_and_their_updates() -> None:
    async def scenario(link: ScadaLink, master: ScadaMaster, data: DataSet, sink: Recorded) -> None:
        await until(lambda: master.values()[1001] == 1520.0, "P after the general interrogation")
        values = master.values()
        assert values[1002] == -210.0 and values[1006] == 64.5 and values[1101] is True
        assert [round(values[ioa], 1) for ioa in (1003, 1004, 1005)] == [231.2, 229.8, 230.4]
        data.set("P_grid", -2400.0)
        await link.cycle(data)
        await until(lambda: master.values()[1001] == -2400.0, "a spontaneous update")
        await link.cycle(data)
        assert "SCADA connected" in data.statuses()
    run(scenario)


def test_a_setpoint_becomes_a_highest_priority_task_and_is_confirmed() -> None:
    async def scenario(link: ScadaLink, master: ScadaMaster, data: DataSet, sink: Recorded) -> None:
        confirmation = await asyncio.to_thread(master.command, 2001, "C_SE_NC_1", -3000.0)
        assert confirmation.positive and confirmation.cause == "ACTIVATION_CON"
        assert len(sink.tasks) == 1
        capability, parameters = sink.tasks[0]
        assert capability == "ess_setpoint" and parameters["powerSetpoint"] == -3000.0 and parameters["priority"] == 10
        on = await asyncio.to_thread(master.command, 2002, "C_SC_NA_1", True)
        assert on.positive and sink.tasks[1][1]["powerSetpoint"] == 0.0
    run(scenario)


@pytest.mark.parametrize(("ioa", "type_name", "value", "cause", "status"), [
    (4711, "C_SE_NC_1", 100.0, None, "ioa 4711"),  # no such address
    (2002, "C_SC_NA_1", False, "ACTIVATION_CON", "OFF is not mapped"),
])
def test_commands_that_are_refused(ioa: int, type_name: str, value: Any, cause: str | None, status: str) -> None:
    async def scenario(link: ScadaLink, master: ScadaMaster, data: DataSet, sink: Recorded) -> None:
        confirmation = await asyncio.to_thread(master.command, ioa, type_name, value)
        assert not confirmation.positive and (cause is None or confirmation.cause == cause)
        assert sink.tasks == []
        await until(lambda: bool(link._events), "the refusal reaches the link")
        await link.cycle(data)
        assert any(status in text for text in data.statuses()), data.statuses()
    run(scenario)


def test_a_task_that_cannot_be_created_is_confirmed_negatively() -> None:
    async def scenario(link: ScadaLink, master: ScadaMaster, data: DataSet, sink: Recorded) -> None:
        confirmation = await asyncio.to_thread(master.command, 2001, "C_SE_NC_1", 500.0)
        assert not confirmation.positive
        await link.cycle(data)
        assert any("task not created: ConnectionError" in text for text in data.statuses())
    run(scenario, fail=True)


def test_a_connection_loss_and_the_scada_reconnecting() -> None:
    async def scenario(link: ScadaLink, master: ScadaMaster, data: DataSet, sink: Recorded) -> None:
        await link.cycle(data)
        link.outstation.stop()  # the site process's link goes down (e.g. a restart)
        await until(lambda: not master.connected, "the SCADA sees the loss")
        await link.cycle(data)
        data.set("SoC", 70.0)
        link.outstation.start()
        await link.cycle(data)
        await until(lambda: master.connected and master.values()[1006] == 70.0, "reconnected, interrogated", 30)
        await link.cycle(data)
        assert data.statuses() == ["no SCADA connection", "SCADA connected", "no SCADA connection", "SCADA connected"]
    run(scenario)
