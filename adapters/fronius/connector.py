"""The `fronius` connector: readings from the Solar API v1 (HTTP JSON), battery set-points over SunSpec
Modbus model 124 (acknowledged from the read-back), as Fronius hybrid inverters take them.

Options: `url` (http://127.0.0.1), `modbus_host` (the URL's host), `modbus_port` (502; null: read-only, no
commands), `unit_id` (1),
`timeout_s` (3), `revert_s` (960: a 15-minute set-point cycle plus a minute), `keys` (variable name →
Datastream key, adapters/fronius/variables.py), `endpoints` (which Solar API requests a poll makes;
default all four). Commands: `powerSetpoint` (W, consumer convention; null releases the battery).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.connector import Command, CommandResult, Reading
from adapters.fronius.solar_api import parse_document, parse_readings
from adapters.fronius.variables import ENDPOINTS
from adapters.sunspec.client import SunSpecClient
from adapters.sunspec.connector import DEFAULT_REVERT_S, StorageCommander
from adapters.sunspec.errors import DeviceUnreachable
from clock import Clock

log = logging.getLogger(__name__)


class FroniusConnector:
    def __init__(self, device: str, clock: Clock, url: str, storage: StorageCommander | None, timeout_s: float = 3.0,
                 keys: Mapping[str, str] | None = None, endpoints: Sequence[str] = ENDPOINTS) -> None:
        self._device = device
        self._clock = clock
        self.url = url.rstrip("/")
        self.storage = storage
        self.timeout_s = timeout_s
        self.keys = dict(keys or {})
        self.endpoints = tuple(endpoints)
        self._http: httpx.AsyncClient | None = None

    @property
    def device(self) -> str:
        return self._device

    async def start(self) -> None:
        self._http = httpx.AsyncClient(base_url=self.url, timeout=self.timeout_s)
        if self.storage is not None:
            await self.storage.call(self.storage.client.scan)

    async def read(self) -> list[Reading]:
        documents = {endpoint: await self._get(endpoint) for endpoint in self.endpoints}
        return parse_readings(documents, self._clock.now(), self.keys)

    async def write(self, command: Command) -> CommandResult:
        if self.storage is None:
            return CommandResult(False, "read-only: no Modbus link to the inverter (modbus_port is null)")
        return await self.storage.write(command)

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self.storage is not None:
            await self.storage.call(self.storage.client.close)

    async def _get(self, endpoint: str) -> dict[str, Any]:
        if self._http is None:
            raise DeviceUnreachable(f"{self.url}: not started")
        try:
            answer = await self._http.get(endpoint)
        except httpx.TimeoutException as error:
            raise DeviceUnreachable(f"{self.url}{endpoint}: timeout") from error
        except httpx.TransportError as error:
            raise DeviceUnreachable(f"{self.url}{endpoint}: {error}") from error
        if answer.status_code != 200:
            raise DeviceUnreachable(f"{self.url}{endpoint}: HTTP {answer.status_code}")
        return parse_document(answer.content, endpoint)


def build_fronius(device: str, options: Mapping[str, Any], clock: Clock) -> FroniusConnector:
    url = str(options.get("url", "http://127.0.0.1"))
    timeout_s = float(options.get("timeout_s", 3.0))
    storage = None
    if options.get("modbus_port", 502) is not None:
        client = SunSpecClient(str(options.get("modbus_host") or urlsplit(url).hostname or "127.0.0.1"),
                               int(options.get("modbus_port", 502)), int(options.get("unit_id", 1)), timeout_s)
        storage = StorageCommander(client, int(options.get("revert_s", DEFAULT_REVERT_S)),
                                   float(options.get("tolerance_pct", 0.5)))
    keys = {str(k): str(v) for k, v in dict(options.get("keys", {})).items()}
    endpoints = options.get("endpoints", ENDPOINTS)
    return FroniusConnector(device, clock, url, storage, timeout_s, keys, tuple(endpoints))


CONNECTOR_KINDS = {"fronius": build_fronius}
