"""Connector cost: one process polls N emulated devices every 2 s (issue 16: 50 devices under 20 % of a
core). The emulators run in a child process (their CPU is not counted); this process runs only the
connectors a field process would (Fronius: 4 Solar API requests a poll; SunSpec: models 103 + 124 through
pysunspec2 in a worker thread; Modbus ESS: one input-register read), on the real clock, and measures its
own CPU (user + system, all threads) after a warm-up.

    .venv/bin/python bench/adapters_poll.py [--devices 50] [--kind mixed|fronius|sunspec|modbus-ess]
                                            [--period-s 2] [--seconds 60]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from adapters.connector import Connector  # noqa: E402
from adapters.fronius.connector import build_fronius  # noqa: E402
from adapters.fronius.emulator import FroniusEmulator  # noqa: E402
from adapters.modbus_ess.connector import build_modbus_ess  # noqa: E402
from adapters.modbus_ess.emulator import ModbusEssEmulator, build_ess  # noqa: E402
from adapters.sunspec.connector import build_sunspec  # noqa: E402
from adapters.sunspec.emulator import SunSpecEmulator  # noqa: E402
from adapters.sunspec.hybrid import build_hybrid  # noqa: E402
from bench.agents_meter import cpu_s, machine, memory_kb  # noqa: E402
from clock import RealClock  # noqa: E402

KINDS = ("fronius", "sunspec", "modbus-ess")


def kinds_for(kind: str, devices: int) -> list[str]:
    return [KINDS[i % 3] for i in range(devices)] if kind == "mixed" else [kind] * devices


async def serve_emulators(kinds: list[str]) -> None:
    clock, ports = RealClock(), []
    for n, kind in enumerate(kinds):
        house = {"pv_kwp": 6, "seed": n, "max_capacity_wh": 9600, "max_power_w": 6400}
        if kind == "fronius":
            fronius = FroniusEmulator(build_hybrid(house, clock), clock)
            await fronius.start()
            ports.append({"url": fronius.url, "modbus_port": fronius.modbus_port})
        elif kind == "sunspec":
            ports.append({"port": await SunSpecEmulator(build_hybrid(house, clock)).start()})
        else:
            ports.append({"port": await ModbusEssEmulator(build_ess({}, clock)).start()})
    print(json.dumps(ports), flush=True)
    await asyncio.Event().wait()


def connector(kind: str, n: int, options: dict[str, Any]) -> Connector:
    builders = {"fronius": build_fronius, "sunspec": build_sunspec, "modbus-ess": build_modbus_ess}
    return builders[kind](f"dev{n}", options, RealClock())


async def poll(device: Connector, period_s: float, counts: dict[str, int]) -> None:
    await device.start()
    due = time.monotonic()
    while True:
        try:
            counts["readings"] += len(await device.read())
            counts["polls"] += 1
        except ConnectionError:
            counts["failures"] += 1
        due += period_s
        await asyncio.sleep(max(0.0, due - time.monotonic()))


async def measure(kinds: list[str], ports: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    counts = {"polls": 0, "readings": 0, "failures": 0}
    tasks = [asyncio.create_task(poll(connector(kind, n, {**options, "timeout_s": 5.0}), args.period_s, counts))
             for n, (kind, options) in enumerate(zip(kinds, ports, strict=True))]
    await asyncio.sleep(args.warm_up_s)
    began, cpu_began, polls_began = time.monotonic(), cpu_s(), counts["polls"]
    await asyncio.sleep(args.seconds)
    wall_s, cpu_used, polls = time.monotonic() - began, cpu_s() - cpu_began, counts["polls"] - polls_began
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    expected = len(kinds) * wall_s / args.period_s
    return {"devices": len(kinds), "kind": args.kind, "period_s": args.period_s, "wall_s": round(wall_s, 1),
            "cpu_s": round(cpu_used, 2), "cpu_pct_of_one_core": round(100 * cpu_used / wall_s, 1),
            "polls": polls, "polls_expected": round(expected), "failures": counts["failures"],
            "memory_kb": memory_kb(), "machine": machine()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--kind", choices=("mixed", *KINDS), default="mixed")
    parser.add_argument("--period-s", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warm-up-s", type=float, default=6.0)
    parser.add_argument("--emulators", action="store_true", help=argparse.SUPPRESS)  # the child
    args = parser.parse_args()
    kinds = kinds_for(args.kind, args.devices)
    if args.emulators:
        asyncio.run(serve_emulators(kinds))
        return
    child = subprocess.Popen([sys.executable, __file__, "--emulators", "--devices", str(args.devices),
                              "--kind", args.kind], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        ports = json.loads(child.stdout.readline())
        print(json.dumps(asyncio.run(measure(kinds, ports, args)), indent=2))
    finally:
        child.terminate()
        child.wait(10)


if __name__ == "__main__":
    main()
