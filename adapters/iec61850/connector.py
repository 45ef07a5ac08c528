"""The `iec61850` connector: the energy router over MMS (pyiec61850-ng's client, blocking, run in a thread;
imported lazily: GPLv3 extra `[iec61850]`).

Options: `host` (127.0.0.1), `port` (102), `timeout_s` (3), `confirm_s` (3: how long a write may take to show
in the `...St` attributes), `keys` (reference → Datastream key, e.g. {"MMXU1.TotW.mag.f": "P_grid"}).
Commands: `er_mode` {operationMode 1-5, gridPowerMin/Max W}, `er_limits` {gridPower [min, max] W},
`ess_setpoint` {powerSetpoint W}; each is acknowledged from the attributes in force read back.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Mapping
from typing import Any

from adapters.connector import Command, CommandResult, Reading
from adapters.iec61850.model import command_writes, readings
from adapters.iec61850.variables import DOMAIN, MEASUREMENTS, REQUIRED_NODE, WRITES
from clock import Clock

log = logging.getLogger(__name__)
IN_FORCE_FC = {attribute.reference: attribute.fc for attribute in MEASUREMENTS}


class RouterUnreachable(ConnectionError):
    """No MMS association, or it broke."""


class MissingNodes(ConnectionError):
    """The device lacks the logical nodes that make it an energy router."""


class Iec61850Connector:
    def __init__(self, device: str, clock: Clock, host: str = "127.0.0.1", port: int = 102, timeout_s: float = 3.0,
                 confirm_s: float = 3.0, keys: Mapping[str, str] | None = None) -> None:
        self._device, self._clock = device, clock
        self.host, self.port, self.timeout_s, self.confirm_s = host, port, timeout_s, confirm_s
        self.keys = dict(keys or {})
        self._client: Any = None
        self._lock = asyncio.Lock()
        # one thread for every call of the blocking client: a libiec61850 connection used from several
        # threads now and then reports connection-lost on its first request (seen in tests)
        self._thread: concurrent.futures.ThreadPoolExecutor | None = None
        self._missing_logged: frozenset[str] = frozenset()

    @property
    def device(self) -> str:
        return self._device

    async def start(self) -> None:
        """Associate and check the association with one read (LLN0.Mod.stVal). libiec61850's client now and
        then loses a fresh association on its first request ("connection-lost", seen on loopback under
        load): the check then associates again, up to 3 times, before the host's back-off takes over."""
        error: Exception | None = None
        for _ in range(3):
            await self.stop()
            try:
                await self._associate()
                return
            except RouterUnreachable as failed:
                error = failed
        assert error is not None
        raise error

    async def _associate(self) -> None:
        from pyiec61850.mms import MMSClient  # GPLv3: only here and in emulator.py

        client = MMSClient()
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"mms-{self._device}")
        try:
            await self._in_thread(client.connect, self.host, self.port, int(self.timeout_s * 1000))
            await self._in_thread(client.set_request_timeout, int(self.timeout_s * 1000))
            await self._in_thread(client.read_value, f"{DOMAIN}/LLN0.Mod.stVal", "ST")
        except Exception as error:  # ConnectionFailedError, ReadError (connection-lost), OSError
            self._client = client
            await self.stop()
            raise RouterUnreachable(f"{self.host}:{self.port}: {error}") from error
        self._client = client

    async def read(self) -> list[Reading]:
        values = await self._call(self._read_all)
        missing = sorted(ref for ref, value in values.items() if value is None)
        if all(values[ref] is None for ref in values if ref.startswith(REQUIRED_NODE + ".")):
            raise MissingNodes(f"{self.host}:{self.port}: no {REQUIRED_NODE} in {DOMAIN}: not an energy router")
        if missing and frozenset(missing) != self._missing_logged:
            log.warning("iec61850 %s: the device lacks %s (left out)", self._device, ", ".join(missing))
        self._missing_logged = frozenset(missing)
        return readings(values, self._clock.now(), self.keys)

    async def write(self, command: Command) -> CommandResult:
        try:
            writes = command_writes(command.parameters)
        except ValueError as error:
            return CommandResult(False, f"{command.capability}: {error}")
        try:
            await self._call(lambda client: [client.write_value(f"{DOMAIN}/{setting}", value, "SP")
                                             for _, setting, value in writes])
        except RouterUnreachable:
            raise
        except Exception as error:  # the server refused (access-denied, object-does-not-exist, type)
            return CommandResult(False, f"write refused: {error}")
        wanted = {name: value for name, _, value in writes}
        in_force = await self._call(lambda client: self._confirm(client, wanted))
        held = {name: in_force[name] for name in wanted if abs(float(in_force[name] or 0) - wanted[name]) > 0.5}
        reported: dict[str, Any] = {**in_force, "pvLimit": None}
        if held:
            return CommandResult(False, f"the router holds {held}, not {wanted}", reported)
        return CommandResult(True, "", reported)

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await self._in_thread(client.disconnect)
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.shutdown(wait=False)

    async def _in_thread(self, work: Any, *args: Any) -> Any:
        assert self._thread is not None
        return await asyncio.get_running_loop().run_in_executor(self._thread, work, *args)

    def _read_all(self, client: Any) -> dict[str, float | int | None]:
        return {attribute.reference: client.read_value(f"{DOMAIN}/{attribute.reference}", attribute.fc)
                for attribute in MEASUREMENTS}

    def _confirm(self, client: Any, wanted: Mapping[str, float | int]) -> dict[str, Any]:
        """The in-force values of the written parameters, waiting up to confirm_s for them to match."""
        deadline = time.monotonic() + self.confirm_s
        while True:
            found = {name: client.read_value(f"{DOMAIN}/{WRITES[name][1]}", IN_FORCE_FC[WRITES[name][1]])
                     for name in wanted}
            if all(found[name] is not None and abs(float(found[name]) - wanted[name]) <= 0.5 for name in wanted) \
                    or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    async def _call(self, work: Any) -> Any:
        if self._client is None:
            raise RouterUnreachable(f"{self.host}:{self.port}: not connected")
        async with self._lock:
            try:
                return await self._in_thread(work, self._client)
            except Exception as error:  # a failed read or a lost association: the host reconnects
                if "write" not in type(error).__name__.lower() or "connection" in str(error):
                    await self.stop()
                    raise RouterUnreachable(f"{self.host}:{self.port}: {error}") from error
                raise


def build_iec61850(device: str, options: Mapping[str, Any], clock: Clock) -> Iec61850Connector:
    keys = {str(k): str(v or "") for k, v in dict(options.get("keys", {})).items()}
    return Iec61850Connector(device, clock, str(options.get("host", "127.0.0.1")), int(options.get("port", 102)),
                             float(options.get("timeout_s", 3.0)), float(options.get("confirm_s", 3.0)), keys)


CONNECTOR_KINDS = {"iec61850": build_iec61850}
