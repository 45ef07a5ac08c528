"""The Bolzano residential site file's ESS, with SMX_DEVICES=emulated, is the Fronius connector: built from
the runtime's registry, it reads the site's own Datastream keys from the emulator and takes a set-point."""
from __future__ import annotations

import asyncio
import pathlib
from typing import Any

import pytest

from adapters.connector import Command
from adapters.fronius.emulator import FroniusEmulator
from adapters.sunspec.hybrid import build_hybrid
from agents.cli import CONNECTOR_KINDS, connector_choice
from agents.site import load_site
from clock import SteppedClock
from tests.adapters.sunspec.emulated import START

SITE = pathlib.Path(__file__).parents[3] / "sites" / "bolzano-residential.yaml"


def test_simulated_connector_stays_the_default() -> None:
    kind, options = connector_choice(load_site(SITE).device("ess"), emulated=False)
    assert kind == "simulated-house" and "emulated" not in options


def test_emulated_ess_publishes_the_site_streams_and_takes_a_setpoint() -> None:
    site = load_site(SITE)
    device = site.device("ess")
    kind, options = connector_choice(device, emulated=True)
    assert kind == "fronius" and options["url"] == "http://127.0.0.1:8081"

    async def scenario() -> tuple[set[str], Any]:
        clock = SteppedClock(START)
        emulator = FroniusEmulator(build_hybrid(options, clock), clock)  # the same ratings as the site file's
        await emulator.start()
        connector = CONNECTOR_KINDS[kind](device.key, {**options, "url": emulator.url,
                                                       "modbus_port": emulator.modbus_port}, clock)
        try:
            await connector.start()
            await clock.advance(5)
            keys = {reading.datastream for reading in await connector.read()}
            result = await connector.write(Command("ess", "ess_setpoint", {"powerSetpoint": 3000}))
        finally:
            await connector.stop()
            await emulator.stop()
        return keys, result
    keys, result = asyncio.run(scenario())
    site_keys = {spec.key for _, spec in site.datastreams()}
    assert {"P_ess", "SoC", "P_pv", "P_load", "essStatus"} <= keys & site_keys
    assert "P_grid" not in keys  # the site's P_grid is its PCC meter's (DLMS), not the inverter's smart meter
    assert result.accepted and result.in_force["powerSetpoint"] == pytest.approx(3000, abs=0.64)  # 0.01 % steps
    assert result.in_force["WChaMax_W"] == 6400  # the site file's max_power_w, as the device reports it
