"""The commercial ESS on 127.0.0.1 (pymodbus server, separate input and holding tables), driven by
adapters/simulated's battery and the clock: it runs the remote set-point (clipped by the battery's SoC
window) until the watchdog lapses, else stands by. Map and semantics: variables.py.

Faults for tests (`emulator.faults`): an exception code for every request, answers held back (`delay_s`).

`python -m adapters.modbus_ess.emulator --port 1503 [--capacity-wh 75000 --power-w 30000 --soc 50]`.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from adapters.modbus_ess.registers import Setpoint, decode_setpoint, int_to_words, setpoint_error
from adapters.modbus_ess.variables import HOLDING_COUNT, INPUT_COUNT, EssState, Mode
from adapters.simulated.battery import Battery, BatterySpec
from clock import Clock, clock_from_env

log = logging.getLogger(__name__)
HOLDING_CODES = {3, 6, 16, 23}


@dataclass
class Faults:
    exception: ExcCodes | None = None
    delay_s: float = 0.0


class CommercialEss:
    """The battery and its inverter's remote control (generator sign inside the device)."""

    def __init__(self, battery: Battery, clock: Clock) -> None:
        self.battery = battery
        self.clock = clock
        self.rated_w = max(battery.spec.max_charge_w, battery.spec.max_discharge_w)
        self.setpoint = Setpoint(0, 0, int(Mode.LOCAL))
        self.since = clock.now()
        self._last = clock.now()

    def command(self, setpoint: Setpoint) -> None:
        self.advance()
        self.setpoint, self.since = setpoint, self.clock.now()
        self.battery.command(-setpoint.power_w if self.in_force() else 0.0)

    def watchdog_left_s(self) -> int:
        if self.setpoint.mode != Mode.REMOTE or self.setpoint.watchdog_s == 0:
            return 0
        left = self.since + timedelta(seconds=self.setpoint.watchdog_s) - self.clock.now()
        return max(0, int(left.total_seconds()))

    def in_force(self) -> bool:
        return self.setpoint.mode == Mode.REMOTE and (self.setpoint.watchdog_s == 0 or self.watchdog_left_s() > 0)

    def advance(self) -> None:
        now = self.clock.now()
        dt_s = (now - self._last).total_seconds()
        if dt_s > 0:
            self.battery.advance(dt_s)
            self._last = now
        if not self.in_force():
            self.battery.command(0.0)

    def input_registers(self) -> list[int]:
        power_w = round(self.battery.power_w)
        state = EssState.LOCAL if self.setpoint.mode == Mode.LOCAL else (
            EssState.CHARGING if power_w > 0 else EssState.DISCHARGING if power_w < 0 else EssState.STANDBY)
        spec, soc = self.battery.spec, self.battery.soc_pct
        alarms = (soc <= spec.min_soc_pct + 0.05) | (soc >= spec.max_soc_pct - 0.05) << 1
        in_force_w = self.setpoint.power_w if self.in_force() else 0
        return [round((700 + soc) * 10), *int_to_words(max(power_w, 0), 2), *int_to_words(max(-power_w, 0), 2),
                round(soc * 10), int(state), *int_to_words(in_force_w, 2), self.watchdog_left_s(), int(alarms),
                int(self.clock.now().timestamp()) & 0xFFFF]


class ModbusEssEmulator:
    def __init__(self, ess: CommercialEss, host: str = "127.0.0.1", port: int = 0, unit_id: int = 1) -> None:
        self.ess = ess
        self.host, self.port, self.unit_id = host, port, unit_id
        self.faults = Faults()
        self.holding = [0] * HOLDING_COUNT
        self._server: ModbusTcpServer | None = None

    async def start(self) -> int:
        bits = [SimData(0, values=False, datatype=DataType.BITS)]
        tables = (bits, list(bits), [SimData(0, values=[0] * HOLDING_COUNT, datatype=DataType.REGISTERS)],
                  [SimData(0, values=self.ess.input_registers(), datatype=DataType.REGISTERS)])
        device = SimDevice(id=self.unit_id, simdata=tables, action=self._action)
        self._server = ModbusTcpServer(device, address=(self.host, self.port))
        await self._server.serve_forever(background=True)
        sockets = getattr(self._server.transport, "sockets", None)
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.port
        log.info("commercial ESS emulator on %s:%d", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    async def _action(self, function_code: int, start_address: int, address: int, count: int,
                      registers: list[int], values: list[int] | list[bool] | None) -> ExcCodes | None:
        if self.faults.delay_s > 0:
            await asyncio.sleep(self.faults.delay_s)
        if self.faults.exception is not None:
            return self.faults.exception
        self.ess.advance()
        if function_code in HOLDING_CODES:
            if values:
                return self._write(address, [int(v) for v in values], registers)
            return None
        registers[:INPUT_COUNT] = self.ess.input_registers()
        return None

    def _write(self, address: int, values: Sequence[int], registers: list[int]) -> ExcCodes | None:
        block = list(registers[:HOLDING_COUNT])
        block[address:address + len(values)] = values
        setpoint = decode_setpoint(block)
        error = setpoint_error(setpoint, self.ess.rated_w)
        if error is not None:
            log.warning("commercial ESS emulator: write refused: %s", error)
            return ExcCodes.ILLEGAL_VALUE
        self.holding = block
        self.ess.command(setpoint)
        return None


def build_ess(options: Mapping[str, Any], clock: Clock) -> CommercialEss:
    power_w = float(options.get("max_power_w", 30000))
    spec = BatterySpec(float(options.get("max_capacity_wh", 75000)), power_w, power_w,
                       float(options.get("min_soc_pct", 10)), float(options.get("max_soc_pct", 95)))
    return CommercialEss(Battery(spec, float(options.get("soc_pct", 50))), clock)


async def serve(args: argparse.Namespace, clock: Clock) -> None:
    ess = build_ess({"max_capacity_wh": args.capacity_wh, "max_power_w": args.power_w, "soc_pct": args.soc}, clock)
    await ModbusEssEmulator(ess, args.host, args.port).start()
    await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m adapters.modbus_ess.emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1503)
    parser.add_argument("--capacity-wh", type=float, default=75000.0)
    parser.add_argument("--power-w", type=float, default=30000.0)
    parser.add_argument("--soc", type=float, default=50.0)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(parser.parse_args(argv), clock_from_env(os.environ)))  # the field process's S4G_CLOCK


if __name__ == "__main__":
    main()
