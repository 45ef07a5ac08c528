"""The `dlms` connector: a DLMS/COSEM meter over the TCP wrapper, the library's sans-I/O DlmsConnection
driven by asyncio streams (no thread per meter).

Options: `host` (127.0.0.1), `port` (4059), `client_address` (16, the public client), `server_address` (1,
the management logical device), `password` (LLS; none = no authentication), `timeout_s` (3), `keys`
(reading name → Datastream key, see variables.DEFAULT_KEYS; a name mapped to "" is not published; the
per-phase power registers are asked for only when `phase_powers` has a key).
Each poll is one GET.WITH_LIST of every register's value and scaler_unit, so a scaler the meter changes
between reads is applied to the value read with it. Meters take no commands.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from dlms_cosem import enumerations
from dlms_cosem import state as dlms_state
from dlms_cosem.connection import DlmsConnection
from dlms_cosem.protocol import acse, xdlms

from adapters.connector import Command, CommandResult, Reading
from adapters.dlms.cosem import get_request, parse_values, readings
from adapters.dlms.errors import AssociationRefused, GarbledFrame, MeterUnreachable
from adapters.dlms.variables import DEFAULT_KEYS, PHASE_POWER_MAP, VARIABLE_MAP
from adapters.dlms.wrapper import read_frame, wrap
from clock import Clock

log = logging.getLogger(__name__)
DEFAULT_PORT = 4059  # IANA "dlms-cosem"


class DlmsConnector:
    def __init__(self, device: str, clock: Clock, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 client_address: int = 16, server_address: int = 1, password: str | None = None,
                 timeout_s: float = 3.0, keys: Mapping[str, str] | None = None) -> None:
        self._device, self._clock = device, clock
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.client_address, self.server_address, self.password = client_address, server_address, password
        self.keys = {**DEFAULT_KEYS, **(keys or {})}
        self.variables = (*VARIABLE_MAP, *(PHASE_POWER_MAP if self.keys.get("phase_powers") else ()))
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._connection: Any = None

    @property
    def device(self) -> str:
        return self._device

    async def start(self) -> None:
        await self.stop()
        try:
            async with asyncio.timeout(self.timeout_s):  # not wait_for: CPython gh-86296 on 3.11
                self._streams = await asyncio.open_connection(self.host, self.port)
        except (OSError, TimeoutError) as error:
            raise MeterUnreachable(f"{self.host}:{self.port}: {error or 'connect timed out'}") from error
        mechanism = enumerations.AuthenticationMechanism.LLS if self.password else None
        self._connection = DlmsConnection(client_system_title=None, authentication_method=mechanism,
                                          password=self.password.encode() if self.password else None)
        answer = await self._exchange(self._connection.get_aarq())
        if not isinstance(answer, acse.ApplicationAssociationResponse):
            await self.stop()
            raise GarbledFrame(f"expected an AARE, got {type(answer).__name__}")
        if answer.result is not enumerations.AssociationResult.ACCEPTED:
            await self.stop()
            raise AssociationRefused(f"{self.host}:{self.port}: association {answer.result.name} "
                                     f"({answer.result_source_diagnostics!r})")

    async def read(self) -> list[Reading]:
        answer = await self._exchange(get_request(self.variables))
        if not isinstance(answer, xdlms.GetResponseWithList):
            await self.stop()
            raise GarbledFrame(f"expected a Get-Response-With-List, got {type(answer).__name__}")
        return readings(parse_values(answer.result, self.variables), self._clock.now(), self.keys)

    async def write(self, command: Command) -> CommandResult:
        return CommandResult(False, f"{command.capability}: a DLMS meter takes no commands")

    async def stop(self) -> None:
        streams, self._streams = self._streams, None
        if streams is None:
            return
        writer = streams[1]
        try:
            if self._connection is not None and self._connection.state.current_state is dlms_state.READY:
                writer.write(wrap(self._connection.send(self._connection.get_rlrq()), self.client_address,
                                  self.server_address))  # release; the answer is not awaited
            writer.close()
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
        except Exception as error:  # OSError, a timeout, or the library's state machine refusing
            log.debug("dlms %s: close: %s", self._device, error)
        self._connection = None

    async def _exchange(self, request: Any) -> Any:
        """Send one APDU, return the parsed answer; a fault closes the connection and raises."""
        if self._streams is None or self._connection is None:
            raise MeterUnreachable(f"{self.host}:{self.port}: not connected")
        reader, writer = self._streams
        try:
            writer.write(wrap(self._connection.send(request), self.client_address, self.server_address))
            await writer.drain()
            async with asyncio.timeout(self.timeout_s):
                _, _, apdu = await read_frame(reader)
            self._connection.receive_data(apdu)
            return self._connection.next_event()
        except GarbledFrame:
            await self.stop()
            raise
        except (OSError, TimeoutError) as error:
            await self.stop()
            raise MeterUnreachable(f"{self.host}:{self.port}: {type(error).__name__} {error}") from error
        except Exception as error:  # the library's parsers raise ValueError, KeyError, IndexError, ...
            await self.stop()
            raise GarbledFrame(f"{self.host}:{self.port}: unparsable answer: {type(error).__name__} {error}") \
                from error


def build_dlms(device: str, options: Mapping[str, Any], clock: Clock) -> DlmsConnector:
    keys = {str(k): str(v or "") for k, v in dict(options.get("keys", {})).items()}
    password = options.get("password")
    return DlmsConnector(device, clock, str(options.get("host", "127.0.0.1")), int(options.get("port", DEFAULT_PORT)),
                         int(options.get("client_address", 16)), int(options.get("server_address", 1)),
                         str(password) if password else None, float(options.get("timeout_s", 3.0)), keys)


CONNECTOR_KINDS = {"dlms": build_dlms}
