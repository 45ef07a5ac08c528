"""The `modbus-ess` connector: the commercial ESS over Modbus TCP (pymodbus's asyncio client).

Options: `host` (127.0.0.1), `port` (502), `unit_id` (1), `timeout_s` (2), `watchdog_s` (960: a 15-minute
set-point cycle plus a minute), `keys` (variable name → Datastream key; `ess_power` is the signed power).
Commands: `powerSetpoint` (W, consumer convention; null hands the battery back to local control). A write
is acknowledged from the input registers read back: the set-point in force must be the one written.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from adapters.connector import Command, CommandResult, Reading
from adapters.modbus_ess.registers import decode_measurements, encode_setpoint, parse_measurements
from adapters.modbus_ess.variables import INPUT_COUNT
from adapters.sunspec.errors import DeviceUnreachable, ModbusExceptionCode
from clock import Clock

DEFAULT_WATCHDOG_S = 960


class ModbusEssConnector:
    def __init__(self, device: str, clock: Clock, host: str, port: int, unit_id: int = 1, timeout_s: float = 2.0,
                 watchdog_s: int = DEFAULT_WATCHDOG_S, keys: Mapping[str, str] | None = None) -> None:
        self._device = device
        self._clock = clock
        self.host, self.port, self.unit_id, self.timeout_s = host, port, unit_id, timeout_s
        self.watchdog_s = watchdog_s
        self.keys = dict(keys or {})
        self._client: AsyncModbusTcpClient | None = None

    @property
    def device(self) -> str:
        return self._device

    async def start(self) -> None:
        await self.stop()
        client = AsyncModbusTcpClient(self.host, port=self.port, timeout=self.timeout_s, retries=0,
                                      reconnect_delay=0)
        if not await client.connect():
            client.close()
            raise DeviceUnreachable(f"{self.host}:{self.port}: connection refused or timed out")
        self._client = client

    async def read(self) -> list[Reading]:
        return parse_measurements(await self._input_registers(), self._clock.now(), self.keys)

    async def write(self, command: Command) -> CommandResult:
        setpoint = command.parameters.get("powerSetpoint")
        if "powerSetpoint" not in command.parameters or (setpoint is not None and (
                not isinstance(setpoint, int | float) or isinstance(setpoint, bool))):
            return CommandResult(False, f"{command.capability}: powerSetpoint must be a number of W or null")
        wanted_w = None if setpoint is None else float(setpoint)
        try:
            await self._call("write set-point", lambda c: c.write_registers(
                0, encode_setpoint(wanted_w, self.watchdog_s), device_id=self.unit_id))
            values = decode_measurements(await self._input_registers())
        except DeviceUnreachable as error:
            return CommandResult(False, f"device refused or did not answer: {error}")
        in_force_w = -values["setpoint_in_force"]  # the device counts discharging as positive
        reported = {"powerSetpoint": in_force_w if wanted_w is not None else None,
                    "watchdog_s": values["watchdog_left"], "state": values["state"], "pvLimit": None}
        if wanted_w is not None and abs(in_force_w - round(wanted_w)) > 0.5:
            return CommandResult(False, f"device holds {in_force_w} W, not {wanted_w} W", reported)
        return CommandResult(True, "", reported)

    async def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _input_registers(self) -> list[int]:
        response = await self._call("read input registers", lambda c: c.read_input_registers(
            0, count=INPUT_COUNT, device_id=self.unit_id))
        return list(response.registers)

    async def _call(self, what: str, request: Any) -> Any:
        if self._client is None:
            raise DeviceUnreachable(f"{self.host}:{self.port}: not connected")
        try:
            response = await request(self._client)
        except ModbusException as error:  # timeout, connection lost
            await self.stop()
            raise DeviceUnreachable(f"{what}: {error}") from error
        if response.isError():
            raise ModbusExceptionCode(int(getattr(response, "exception_code", 0)), what)
        return response


def build_modbus_ess(device: str, options: Mapping[str, Any], clock: Clock) -> ModbusEssConnector:
    keys = {str(k): str(v) for k, v in dict(options.get("keys", {})).items()}
    return ModbusEssConnector(device, clock, str(options.get("host", "127.0.0.1")), int(options.get("port", 502)),
                              int(options.get("unit_id", 1)), float(options.get("timeout_s", 2.0)),
                              int(options.get("watchdog_s", DEFAULT_WATCHDOG_S)), keys)


CONNECTOR_KINDS = {"modbus-ess": build_modbus_ess}
