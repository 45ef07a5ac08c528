"""`python -m adapters.ocpp.emulator` as its own process, connecting to a CSMS on 127.0.0.1."""
from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

from adapters.connector import Reading
from adapters.ocpp.connector import OcppConnector, ocpp_settings
from adapters.ocpp.csms import CentralSystem
from clock import RealClock

ROOT = Path(__file__).resolve().parents[3]


def test_the_emulator_process_boots_and_reports() -> None:
    async def scenario() -> tuple[list[Reading], int]:
        clock = RealClock()
        central = CentralSystem(clock)
        await central.start()
        device = OcppConnector("cp7", ocpp_settings("cp7", {}), clock, central)
        await device.start()
        env = {**os.environ, "S4G_CLOCK": "real", "SMX_LOG_LEVEL": "WARNING"}
        process = subprocess.Popen([sys.executable, "-m", "adapters.ocpp.emulator", "--url", central.url, "--id", "cp7",
                                    "--max-power-w", "11000", "--phases", "3", "--meter-interval-s", "0.5"],
                                   cwd=ROOT, env=env)
        readings: list[Reading] = []
        try:
            deadline = asyncio.get_running_loop().time() + 30
            while not {"cp7.cpStatus", "cp7.P_ev"} <= {r.datastream for r in readings}:
                assert asyncio.get_running_loop().time() < deadline, "no status and power from the emulator"
                await asyncio.sleep(0.2)
                with contextlib.suppress(ConnectionError):
                    readings.extend(await device.read())
        finally:
            process.terminate()
            process.wait(10)
            await device.stop()
            await central.close()
        return readings, central.counters.connections
    readings, connections = asyncio.run(scenario())
    statuses = {r.value for r in readings if r.datastream == "cp7.cpStatus"}
    assert statuses & {"Available", "Preparing", "Charging", "SuspendedEV"}
    assert all(0 <= float(str(r.value)) <= 11000 for r in readings if r.datastream == "cp7.P_ev")
    assert connections == 1
