"""The central system (CSMS) of a field process: a WebSocket server on which charge points connect as
`ws://<host>:<port>/<charge point id>` with the `ocpp1.6` subprotocol.

Several site devices (one per charge-point connector) share one server per listen address: a connector
attaches its (charge point id, connector id) and reads what arrived. A charge point that connects again
replaces its older connection (reconnect storms end with one live session). `CENTRAL_SYSTEMS` hands out
the servers of this process; a server nobody uses any more closes after `linger_s`, so a connector the
runtime restarts after a fault does not shut its charge point out."""
from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from adapters.ocpp.session import ConnectorState, CsmsCounters, CsmsSession
from clock import Clock

log = logging.getLogger(__name__)
SUBPROTOCOL = Subprotocol("ocpp1.6")


class CentralSystem:
    def __init__(self, clock: Clock, host: str = "127.0.0.1", port: int = 0, *, max_skew_s: float = 60.0,
                 heartbeat_s: int = 60, timeout_s: float = 10.0, meter_interval_s: float | None = None) -> None:
        self.clock = clock
        self.host = host
        self.port = port
        self.max_skew_s = max_skew_s
        self.heartbeat_s = heartbeat_s
        self.timeout_s = timeout_s
        self.meter_interval_s = meter_interval_s  # asked of each charger after its boot; None: its own
        self.sessions: dict[str, CsmsSession] = {}
        self.counters = CsmsCounters()
        self.transaction_ids: Iterator[int] = itertools.count(1)
        self._connectors: dict[tuple[str, int], ConnectorState] = {}
        self._server: Server | None = None
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def start(self) -> None:
        if self._server is None:
            self._server = await serve(self._serve, self.host, self.port, subprotocols=[SUBPROTOCOL])
            self.port = int(self._server.sockets[0].getsockname()[1]) if self.port == 0 else self.port
            log.info("OCPP 1.6J central system listening on %s", self.url)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def attach(self, cp_id: str, connector_id: int, keys: Mapping[str, str]) -> ConnectorState:
        """The state of a connector of the site (the one attached before, with what it buffered, if any)."""
        state = self._connectors.get((cp_id, connector_id))
        if state is None or state.keys != keys:
            state = self._connectors[(cp_id, connector_id)] = ConnectorState(keys)
        return state

    def detach(self, cp_id: str, connector_id: int) -> None:
        self._connectors.pop((cp_id, connector_id), None)

    def connector(self, cp_id: str, connector_id: int) -> ConnectorState | None:
        return self._connectors.get((cp_id, connector_id))

    def connectors_of(self, cp_id: str) -> list[ConnectorState]:
        return [state for (cp, _), state in self._connectors.items() if cp == cp_id]

    def session(self, cp_id: str) -> CsmsSession:
        """The live session of a charge point; ConnectionError when it is not connected."""
        session = self.sessions.get(cp_id)
        if session is None:
            raise ConnectionError(f"charge point {cp_id!r} is not connected to {self.url}")
        return session

    async def _serve(self, connection: ServerConnection) -> None:
        cp_id = unquote(connection.request.path.rstrip("/").rsplit("/", 1)[-1]) if connection.request else ""
        if connection.subprotocol != SUBPROTOCOL or not cp_id:
            self.counters.refused += 1
            log.warning("refused a connection to %r: subprotocol %r", cp_id, connection.subprotocol)
            await connection.close(1002, "OCPP 1.6J needs the ocpp1.6 subprotocol and a charge point id")
            return
        session = CsmsSession(cp_id, connection, self)
        previous = self.sessions.get(cp_id)
        self.sessions[cp_id] = session
        self.counters.connections += 1
        if previous is not None:  # closed beside, so that a peer slow to close does not hold the new one up
            self.counters.replaced += 1
            log.info("charge point %s connected again: the older connection is closed", cp_id)
            closing = asyncio.get_running_loop().create_task(
                previous.connection.close(1000, "replaced by a newer connection"))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        try:
            await session.start()
        except ConnectionClosed:
            pass
        finally:
            if self.sessions.get(cp_id) is session:
                del self.sessions[cp_id]
                log.info("charge point %s disconnected", cp_id)


@dataclass
class _Lease:
    central: CentralSystem
    users: int = 0
    closing: asyncio.Task[None] | None = None


class CentralSystems:
    """The CSMS servers of this process, one per listen address, shared by their connectors."""

    def __init__(self) -> None:
        self._leases: dict[tuple[str, int], _Lease] = {}

    async def acquire(self, clock: Clock, host: str, port: int, *, max_skew_s: float = 60.0, heartbeat_s: int = 60,
                      timeout_s: float = 10.0, meter_interval_s: float | None = None) -> CentralSystem:
        """The server on `host:port` (started by its first user; the settings are the first user's)."""
        lease = self._leases.get((host, port))
        if lease is None:
            central = CentralSystem(clock, host, port, max_skew_s=max_skew_s, heartbeat_s=heartbeat_s,
                                    timeout_s=timeout_s, meter_interval_s=meter_interval_s)
            await central.start()
            lease = self._leases[(host, port)] = _Lease(central)
        if lease.closing is not None:
            lease.closing.cancel()
            lease.closing = None
        lease.users += 1
        return lease.central

    def release(self, central: CentralSystem, linger_s: float) -> None:
        for address, lease in self._leases.items():
            if lease.central is central:
                lease.users -= 1
                if lease.users <= 0 and lease.closing is None:
                    lease.closing = asyncio.get_running_loop().create_task(self._close_later(address, linger_s))
                return

    async def _close_later(self, address: tuple[str, int], linger_s: float) -> None:
        await asyncio.sleep(linger_s)
        lease = self._leases.pop(address)
        await lease.central.close()

    async def close_all(self) -> None:
        """Close every server now (the end of a process or a test)."""
        leases, self._leases = list(self._leases.values()), {}
        for lease in leases:
            if lease.closing is not None:
                lease.closing.cancel()
            await lease.central.close()


CENTRAL_SYSTEMS = CentralSystems()
