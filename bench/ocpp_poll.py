"""OCPP cost: the CSMS of one field process serving N charge points that send MeterValues every 2 s, and
the N `ocpp` connectors polled every 2 s (issue 16: 50 devices under 20 % of a core). The emulated charge
points run in a child process (their CPU is not counted); this process runs what a field process would: the
websockets server, the ocpp library (JSON-schema validation of every message), the handlers that parse
MeterValues and StatusNotification into readings, and the polls. It measures its own CPU (user + system, all
threads) after a warm-up, and a round of N charging profiles (SetChargingProfile + GetCompositeSchedule).

    .venv/bin/python bench/ocpp_poll.py [--devices 50] [--period-s 2] [--seconds 60]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from adapters.connector import Command  # noqa: E402
from adapters.ocpp.charger import Charger, Outlet  # noqa: E402
from adapters.ocpp.connector import OcppConnector, build_ocpp  # noqa: E402
from adapters.ocpp.csms import CENTRAL_SYSTEMS  # noqa: E402
from adapters.ocpp.emulator import EmulatedChargePoint  # noqa: E402
from adapters.ocpp.profiles import Electrical  # noqa: E402
from adapters.simulated.ev import ChargePoint, EvSession  # noqa: E402
from bench.agents_meter import cpu_s, machine, memory_kb  # noqa: E402
from clock import RealClock  # noqa: E402


def charging(now: datetime) -> Charger:
    """A 11 kW charge point with a car plugged in for the whole run (MeterValues carry power, V, SoC, Wh)."""
    session = EvSession(now - timedelta(hours=1), now + timedelta(hours=12), 60_000.0, 11_000.0)
    return Charger([Outlet(ChargePoint(11_000.0, [session], now))], Electrical(230.0, 3))


async def serve_charge_points(port: int, devices: int, period_s: float) -> None:
    clock = RealClock()
    points = [EmulatedChargePoint(f"ws://127.0.0.1:{port}", f"cp{n}", charging(clock.now()), clock,
                                  meter_interval_s=period_s) for n in range(devices)]
    await asyncio.gather(*(point.run(backoff_s=0.2, backoff_max_s=2.0) for point in points))


async def poll(device: OcppConnector, period_s: float, counts: dict[str, int]) -> None:
    due = time.monotonic()
    while True:
        try:
            counts["readings"] += len(await device.read())
            counts["polls"] += 1
        except ConnectionError:
            counts["failures"] += 1
        due += period_s
        await asyncio.sleep(max(0.0, due - time.monotonic()))


async def measure(port: int, args: argparse.Namespace) -> dict[str, Any]:
    counts = {"polls": 0, "readings": 0, "failures": 0}
    devices = [build_ocpp(f"cp{n}", {"listen_port": port, "telemetry_s": args.period_s}, RealClock())
               for n in range(args.devices)]
    for device in devices:
        await device.start()
    tasks = [asyncio.create_task(poll(device, args.period_s, counts)) for device in devices]
    await asyncio.sleep(args.warm_up_s)
    began, cpu_began = time.monotonic(), cpu_s()
    polls_began, readings_began, failures_began = counts["polls"], counts["readings"], counts["failures"]
    await asyncio.sleep(args.seconds)
    wall_s, cpu_used = time.monotonic() - began, cpu_s() - cpu_began
    polls, readings = counts["polls"] - polls_began, counts["readings"] - readings_began
    failures = counts["failures"] - failures_began
    profile_began, profile_cpu = time.monotonic(), cpu_s()
    results = [await device.write(Command(device.device, "ev_load_reduction", {"maxPower": 7000.0}))
               for device in devices]
    profile_wall_s, profile_cpu_s = time.monotonic() - profile_began, cpu_s() - profile_cpu
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await CENTRAL_SYSTEMS.close_all()
    return {"devices": args.devices, "period_s": args.period_s, "wall_s": round(wall_s, 1),
            "cpu_s": round(cpu_used, 2), "cpu_pct_of_one_core": round(100 * cpu_used / wall_s, 1),
            "polls": polls, "polls_expected": round(args.devices * wall_s / args.period_s), "failures": failures,
            "readings": readings, "readings_per_s": round(readings / wall_s, 1),
            "profiles_accepted": sum(r.accepted for r in results), "profiles_wall_s": round(profile_wall_s, 2),
            "profile_cpu_ms_each": round(1000 * profile_cpu_s / len(devices), 2),
            "memory_kb": memory_kb(), "machine": machine(), "at": datetime.now(UTC).isoformat(timespec="seconds")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--period-s", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warm-up-s", type=float, default=8.0)
    parser.add_argument("--charge-points", type=int, help=argparse.SUPPRESS)  # the child: its CSMS port
    args = parser.parse_args()
    if args.charge_points:
        asyncio.run(serve_charge_points(args.charge_points, args.devices, args.period_s))
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    child = subprocess.Popen([sys.executable, __file__, "--charge-points", str(port), "--devices", str(args.devices),
                              "--period-s", str(args.period_s)])
    try:
        print(json.dumps(asyncio.run(measure(port, args)), indent=2))
    finally:
        child.terminate()
        child.wait(10)


if __name__ == "__main__":
    main()
