"""The `sunspec` connector: a SunSpec inverter/storage over Modbus TCP (models 1, 103, 124).

Options: `host` (127.0.0.1), `port` (502), `unit_id` (1), `timeout_s` (2), `required_models` ([1]: a PV
inverter without model 124 is read, and its set-points are refused), `revert_s` (the revert timer
of a set-point, default 960: a 15-minute set-point cycle plus a minute), `keys` (variable name →
Datastream key, see variables.py), `tolerance_pct` (how far the read-back may be from the command, % of
WChaMax, default 0.5). Commands: `powerSetpoint` (W, consumer convention; None releases the battery to
the device's own control).
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from adapters.connector import Command, CommandResult, Reading
from adapters.sunspec.client import SunSpecClient
from adapters.sunspec.errors import DeviceUnreachable
from adapters.sunspec.parse import parse_models
from adapters.sunspec.storage import RELEASED, StorageControl, encode_setpoint, setpoint_in_force_w
from clock import Clock

T = TypeVar("T")
DEFAULT_REVERT_S = 960


class StorageCommander:
    """Battery set-points over model 124, acknowledged from the read-back (shared with the Fronius
    connector)."""

    def __init__(self, client: SunSpecClient, revert_s: int = DEFAULT_REVERT_S, tolerance_pct: float = 0.5) -> None:
        self.client = client
        self.revert_s = revert_s
        self.tolerance_pct = tolerance_pct
        self.lock = asyncio.Lock()

    async def call(self, operation: Callable[[], T]) -> T:
        async with self.lock:
            return await asyncio.to_thread(operation)

    async def write(self, command: Command) -> CommandResult:
        if "powerSetpoint" not in command.parameters:
            return CommandResult(False, f"{command.capability}: powerSetpoint (W) is required")
        setpoint = command.parameters["powerSetpoint"]
        if setpoint is not None and (not isinstance(setpoint, int | float) or isinstance(setpoint, bool)):
            return CommandResult(False, f"{command.capability}: powerSetpoint must be a number of W or null")
        try:
            return await self._apply(None if setpoint is None else float(setpoint))
        except DeviceUnreachable as error:
            return CommandResult(False, f"device refused or did not answer: {error}")

    async def _apply(self, setpoint_w: float | None) -> CommandResult:
        _, wchamax_w = await self.call(self.client.read_storage)
        if setpoint_w is not None and wchamax_w <= 0:
            return CommandResult(False, f"device reports WChaMax {wchamax_w} W: cannot scale a set-point")
        control = RELEASED if setpoint_w is None else encode_setpoint(setpoint_w, wchamax_w, self.revert_s)
        await self.call(lambda: self.client.write_storage(control))
        in_force, wchamax_w = await self.call(self.client.read_storage)
        return self.result(control, in_force, wchamax_w)

    def result(self, wanted: StorageControl, in_force: StorageControl, wchamax_w: float) -> CommandResult:
        """Accepted when what the device reports matches what was written."""
        in_force_w = setpoint_in_force_w(in_force, wchamax_w)
        reported = {"powerSetpoint": in_force_w, "StorCtl_Mod": in_force.mode, "InWRte_pct": in_force.in_pct,
                    "OutWRte_pct": in_force.out_pct, "revertTimeout_s": in_force.revert_s, "WChaMax_W": wchamax_w,
                    "pvLimit": None}  # no PV curtailment over model 124: none is in force
        if wanted == RELEASED:
            ok = in_force.mode == 0
            return CommandResult(ok, "" if ok else f"device kept StorCtl_Mod {in_force.mode}", reported)
        wanted_w = setpoint_in_force_w(wanted, wchamax_w)
        if in_force_w is None or wanted_w is None:
            return CommandResult(False, f"device reports no set-point (StorCtl_Mod {in_force.mode})", reported)
        if abs(in_force_w - wanted_w) > self.tolerance_pct / 100 * wchamax_w:
            return CommandResult(False, f"device holds {in_force_w} W, not {wanted_w} W", reported)
        return CommandResult(True, "", reported)


class SunSpecConnector:
    def __init__(self, device: str, clock: Clock, client: SunSpecClient, keys: Mapping[str, str] | None = None,
                 revert_s: int = DEFAULT_REVERT_S, tolerance_pct: float = 0.5) -> None:
        self._device = device
        self._clock = clock
        self.client = client
        self.keys = dict(keys or {})
        self.storage = StorageCommander(client, revert_s, tolerance_pct)
        self.identity: dict[str, Any] = {}

    @property
    def device(self) -> str:
        return self._device

    async def start(self) -> None:
        values = await self.storage.call(self.client.scan)
        self.identity = {name: values.get(1, {}).get(name) for name in ("Mn", "Md", "SN", "Vr")}

    async def read(self) -> list[Reading]:
        values = await self.storage.call(lambda: self.client.read((103, 124)))
        return parse_models(values, self._clock.now(), self.keys)

    async def write(self, command: Command) -> CommandResult:
        return await self.storage.write(command)

    async def stop(self) -> None:
        await self.storage.call(self.client.close)


def build_sunspec(device: str, options: Mapping[str, Any], clock: Clock) -> SunSpecConnector:
    client = SunSpecClient(str(options.get("host", "127.0.0.1")), int(options.get("port", 502)),
                           int(options.get("unit_id", 1)), float(options.get("timeout_s", 2.0)),
                           [int(m) for m in options.get("required_models", [1])])
    keys = options.get("keys", {})
    return SunSpecConnector(device, clock, client, {str(k): str(v) for k, v in dict(keys).items()},
                            int(options.get("revert_s", DEFAULT_REVERT_S)), float(options.get("tolerance_pct", 0.5)))


CONNECTOR_KINDS = {"sunspec": build_sunspec}
