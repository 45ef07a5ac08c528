"""The Bolzano commercial site's grid ESS, with SMX_DEVICES=emulated, is the modbus-ess connector."""
from __future__ import annotations

import asyncio
import pathlib
from datetime import UTC, datetime
from typing import Any

from adapters.connector import Command
from adapters.modbus_ess.emulator import ModbusEssEmulator, build_ess
from agents.cli import CONNECTOR_KINDS, connector_choice
from agents.site import load_site
from clock import SteppedClock

SITE = pathlib.Path(__file__).parents[3] / "sites" / "bolzano-commercial.yaml"


def test_emulated_grid_ess_reads_site_streams_and_takes_a_setpoint() -> None:
    site = load_site(SITE)
    device = site.device("ess")
    kind, options = connector_choice(device, emulated=True)
    assert kind == "modbus-ess"

    async def scenario() -> tuple[set[str], Any]:
        clock = SteppedClock(datetime(2026, 12, 6, 12, 0, tzinfo=UTC))
        emulator = ModbusEssEmulator(build_ess(options, clock))  # the site file's ratings
        await emulator.start()
        connector = CONNECTOR_KINDS[kind](device.key, {**options, "port": emulator.port}, clock)
        try:
            await connector.start()
            result = await connector.write(Command("ess", "ess_setpoint", {"powerSetpoint": 30_000}))
            refused = await connector.write(Command("ess", "ess_setpoint", {"powerSetpoint": 30_001}))
            await clock.advance(10)
            keys = {reading.datastream for reading in await connector.read()}
        finally:
            await connector.stop()
            await emulator.stop()
        return keys, (result, refused)
    keys, (result, refused) = asyncio.run(scenario())
    assert {"P_ess", "SoC", "V_ess", "essStatus"} <= keys & {spec.key for _, spec in site.datastreams()}
    assert result.accepted and result.in_force["powerSetpoint"] == 30_000
    assert not refused.accepted and "exception 3" in refused.reason  # beyond the file's max_power_w
