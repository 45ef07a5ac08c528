"""Pure parts of the 61850 adapter: the model text, the writes a command becomes, readings, the router's
modes and its refusal of invalid settings."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from adapters.iec61850.emulator import build_router
from adapters.iec61850.model import command_writes, model_config, readings
from adapters.iec61850.router import Settings
from clock import SteppedClock

NOON = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


def test_the_model_text_has_every_node_but_the_missing_ones() -> None:
    text = model_config({"DRCC1.OpMod.setVal": 1})
    assert text.startswith("MODEL(S4G){\nLD(ER){\nLN(LLN0){")
    assert "LN(MMXU1){\nDO(TotW 0){\nDA(mag 0 27 1 1 0){\nDA(f 0 10 1 1 0);\n}\n}" in text
    assert "DO(OpMod 0){\nDA(setVal 0 3 2 1 0)=1;" in text
    assert "LN(ZBTC1)" not in model_config({}, missing_nodes=["ZBTC1"])


def test_commands_become_setting_writes() -> None:
    assert command_writes({"operationMode": 3, "gridPowerMax": 2000, "reason": "dso-request"}) == [
        ("operationMode", "DRCC1.OpMod.setVal", 3), ("gridPowerMax", "DRCC1.WMaxGrid.setMag.f", 2000.0)]
    assert command_writes({"gridPower": [-1000, 1500]})[0][1:] == ("DRCC1.WMinGrid.setMag.f", -1000.0)
    assert command_writes({"powerSetpoint": -500})[0][1:] == ("DRCC1.WSpt.setMag.f", -500.0)
    with pytest.raises(ValueError, match="finite number"):
        command_writes({"operationMode": "fast"})
    with pytest.raises(ValueError, match="no energy-router setting"):
        command_writes({"enabled": True})


def test_readings_leave_missing_attributes_out() -> None:
    found = readings({"MMXU1.TotW.mag.f": -1234.56789, "ZBTC1.BatSoC.mag.f": None, "DRCC1.OpModSt.stVal": 3},
                     NOON, {"MMXU1.TotW.mag.f": "P_grid"})
    assert {reading.datastream: reading.value for reading in found} == {"P_grid": -1234.568, "erMode": 3}


def test_the_router_modes_and_limits() -> None:
    clock = SteppedClock(NOON)
    router = build_router(clock, soc_pct=50)
    assert router.request(Settings(mode=4)) is None
    values = router.values()
    assert values["ZBTC1.BatChaPwr.mag.f"] == 0 and values["MMXU1.TotW.mag.f"] < -1000  # all PV to the grid
    router.request(Settings(mode=2))
    asyncio.run(clock.advance(10))  # let the battery take the PV over an interval
    values = router.values()
    assert values["MMXU1.TotW.mag.f"] == 0 and values["ZBTC1.BatChaPwr.mag.f"] > 1000
    router.request(Settings(mode=1, setpoint_w=-3000, grid_min_w=-2000))
    asyncio.run(clock.advance(10))
    assert router.values()["MMXU1.TotW.mag.f"] == pytest.approx(-2000, abs=1)  # the export limit holds
    assert router.request(Settings(mode=9)) == "operation mode 9 is not 1-5" and router.settings.mode == 1
    assert router.request(Settings(grid_min_w=10, grid_max_w=0)) is not None
