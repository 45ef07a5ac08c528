"""The Bucharest prosumer's energy router, with SMX_DEVICES=emulated, is the iec61850 connector: every
reading names a stream of the site file, and the ER mode capability ends as the mode in force."""
from __future__ import annotations

import asyncio
import pathlib
from datetime import UTC, datetime
from typing import Any

from adapters.connector import Command
from adapters.iec61850.emulator import RouterEmulator, build_router
from agents.cli import CONNECTOR_KINDS, connector_choice
from agents.site import load_site
from clock import SteppedClock

SITE = pathlib.Path(__file__).parents[3] / "sites" / "bucharest-prosumer.yaml"


def test_emulated_energy_router_reads_site_streams_and_takes_a_mode() -> None:
    site = load_site(SITE)
    kind, options = connector_choice(site.device("er"), emulated=True)
    assert kind == "iec61850"

    async def scenario() -> tuple[set[str], Any]:
        clock = SteppedClock(datetime(2026, 6, 21, 10, 0, tzinfo=UTC))
        emulator = RouterEmulator(build_router(clock, float(str(options["max_capacity_wh"])),
                                               float(str(options["max_power_w"]))))
        await emulator.start()
        connector = CONNECTOR_KINDS[kind]("er", {**options, "port": emulator.port}, clock)
        try:
            await connector.start()
            result = await connector.write(Command("er", "er_mode", {"operationMode": 3, "gridPowerMin": -2500}))
            keys = {reading.datastream for reading in await connector.read()}
        finally:
            await connector.stop()
            await emulator.stop()
        return keys, result
    keys, result = asyncio.run(scenario())
    er_streams = {spec.key for spec in site.device("er").datastreams}
    assert keys <= er_streams and {"P_ess", "SoC", "P_pv", "P_ac", "V_dc", "erMode"} <= keys
    assert result.accepted and result.in_force["operationMode"] == 3
