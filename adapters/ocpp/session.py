"""One charge point's connection to the CSMS: the ocpp library's `ChargePoint` with our `@on` handlers
(BootNotification, Heartbeat, Authorize, StatusNotification, MeterValues, Start/StopTransaction).

Each connector the site knows (`ConnectorState`, attached by its connector) buffers its readings until
the next poll. A connector id nobody attached, a malformed frame or a payload that makes no sense is
logged, counted and noted on the link stream; the connection stays up."""
from __future__ import annotations

import logging
import sys
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ocpp.exceptions import OCPPError
from ocpp.messages import unpack
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus
from websockets.exceptions import ConnectionClosed

from adapters.connector import Reading
from adapters.ocpp.frames import FrameError, clock_offset_s, format_ocpp_time, parse_meter_values, parse_status
from adapters.ocpp.peer import Peer
from adapters.ocpp.routing import after, on
from adapters.ocpp.variables import LINK_ROLE
from clock import Clock

log = logging.getLogger(__name__)
ACCEPTED = {"status": AuthorizationStatus.accepted}


class FrameLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The library logs every frame at INFO (ours: DEBUG) and a charger's bad request with a traceback
    at ERROR (ours: one WARNING line; it is the charger's fault, answered with a CallError)."""

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.debug(msg, *args, **kwargs)

    def exception(self, msg: object, *args: Any, exc_info: Any = True, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        self.warning("%s: %s", str(msg) % args if args else msg, error)


FRAME_LOG = FrameLog(logging.getLogger("adapters.ocpp.frames"), {})


@dataclass
class ConnectorState:
    """What the CSMS knows of one connector of a charge point (one site device)."""

    keys: Mapping[str, str]  # role → Datastream key
    readings: deque[Reading] = field(default_factory=lambda: deque(maxlen=5000))
    status: str | None = None
    transaction_id: int | None = None

    def take(self) -> list[Reading]:
        taken = list(self.readings)
        self.readings.clear()
        return taken


@dataclass
class CsmsCounters:
    connections: int = 0
    replaced: int = 0
    refused: int = 0
    malformed: int = 0
    unknown_connector: int = 0


class Registry(Protocol):
    """What a session needs of its central system (`adapters.ocpp.csms.CentralSystem`)."""

    clock: Clock
    max_skew_s: float
    heartbeat_s: int
    timeout_s: float
    counters: CsmsCounters
    transaction_ids: Iterator[int]
    meter_interval_s: float | None

    def connector(self, cp_id: str, connector_id: int) -> ConnectorState | None: ...

    def connectors_of(self, cp_id: str) -> list[ConnectorState]: ...


class CsmsSession(Peer):
    """The CSMS end of one charge point's WebSocket."""

    def __init__(self, cp_id: str, connection: Any, central: Registry) -> None:
        super().__init__(cp_id, connection, response_timeout=central.timeout_s, logger=FRAME_LOG)
        self.cp_id = cp_id
        self.connection = connection
        self.central = central
        self.offset_s = 0.0  # the charger clock minus ours, as last measured
        self.booted = False

    async def route_message(self, raw_msg: str | bytes) -> None:
        try:
            unpack(raw_msg)
        except OCPPError as error:
            self.central.counters.malformed += 1
            self.note(f"malformed frame: {error.description}")
            return
        await super().route_message(raw_msg)

    def note(self, text: str) -> None:
        """A fault of this charge point: a log line and a link reading on each of its connectors."""
        log.warning("charge point %s: %s", self.cp_id, text)
        now = self.central.clock.now()
        for state in self.central.connectors_of(self.cp_id):
            state.readings.append(Reading(state.keys[LINK_ROLE], text, now))

    def _connector(self, connector_id: int, what: str) -> ConnectorState | None:
        state = self.central.connector(self.cp_id, connector_id)
        if state is None and connector_id != 0:
            self.central.counters.unknown_connector += 1
            self.note(f"{what} for unknown connector {connector_id}")
        return state

    @on(Action.boot_notification)
    async def on_boot_notification(self, charge_point_vendor: str, charge_point_model: str,
                                   **_: Any) -> call_result.BootNotification:
        known = bool(self.central.connectors_of(self.cp_id))
        self.booted = known
        log.info("charge point %s (%s %s) booted%s", self.cp_id, charge_point_vendor, charge_point_model,
                 "" if known else ": unknown id, rejected")
        status = RegistrationStatus.accepted if known else RegistrationStatus.rejected
        return call_result.BootNotification(current_time=format_ocpp_time(self.central.clock.now()),
                                            interval=self.central.heartbeat_s, status=status)

    @after(Action.boot_notification)
    async def after_boot_notification(self, **_: Any) -> None:
        """Ask the charger for MeterValues every `meter_interval_s` (chargers often default to 60 s or more)."""
        interval_s = self.central.meter_interval_s
        if not self.booted or not interval_s:
            return
        request = call.ChangeConfiguration(key="MeterValueSampleInterval", value=str(max(1, round(interval_s))))
        try:
            result = await self.call(request, suppress=False)
        except (OCPPError, TimeoutError, ConnectionClosed) as error:
            self.note(f"ChangeConfiguration MeterValueSampleInterval failed: {error}")
            return
        if result.status not in ("Accepted", "RebootRequired"):
            self.note(f"ChangeConfiguration MeterValueSampleInterval {result.status}: the charger keeps its own")

    @on(Action.heartbeat)
    async def on_heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=format_ocpp_time(self.central.clock.now()))

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info=ACCEPTED)

    @on(Action.status_notification)
    async def on_status_notification(self, connector_id: int, error_code: str, status: str,
                                     timestamp: str | None = None, **_: Any) -> call_result.StatusNotification:
        state = self._connector(connector_id, "StatusNotification")
        if state is not None:
            state.status = status
            self._parse(lambda: [parse_status(status, error_code, timestamp, self.central.clock.now(), state.keys,
                                              self.offset_s, self.central.max_skew_s)], state)
        return call_result.StatusNotification()

    @on(Action.meter_values)
    async def on_meter_values(self, connector_id: int, meter_value: list[dict[str, Any]],
                              **_: Any) -> call_result.MeterValues:
        state = self._connector(connector_id, "MeterValues")
        if state is not None:
            self._parse(lambda: self._meter_readings(meter_value, state), state)
        return call_result.MeterValues()

    def _meter_readings(self, meter_value: list[dict[str, Any]], state: ConnectorState) -> list[Reading]:
        offset = clock_offset_s(meter_value, self.central.clock.now())
        if offset is not None:
            if abs(offset) > self.central.max_skew_s and abs(self.offset_s) <= self.central.max_skew_s:
                self.note(f"charger clock off by {offset:+.0f} s: its times are corrected")
            self.offset_s = offset
        return parse_meter_values(meter_value, state.keys, self.offset_s, self.central.max_skew_s)

    def _parse(self, parse: Callable[[], list[Reading]], state: ConnectorState) -> None:
        try:
            state.readings.extend(parse())
        except FrameError as error:
            self.central.counters.malformed += 1
            self.note(f"bad payload: {error}")

    @on(Action.start_transaction)
    async def on_start_transaction(self, connector_id: int, id_tag: str, meter_start: int,
                                   **_: Any) -> call_result.StartTransaction:
        transaction_id = next(self.central.transaction_ids)
        state = self._connector(connector_id, "StartTransaction")
        if state is not None:
            state.transaction_id = transaction_id
        log.info("charge point %s connector %d: transaction %d started (%s)", self.cp_id, connector_id,
                 transaction_id, id_tag)
        return call_result.StartTransaction(transaction_id=transaction_id, id_tag_info=ACCEPTED)

    @on(Action.stop_transaction)
    async def on_stop_transaction(self, transaction_id: int, meter_stop: int, **_: Any) -> call_result.StopTransaction:
        for state in self.central.connectors_of(self.cp_id):
            if state.transaction_id == transaction_id:
                state.transaction_id = None
        log.info("charge point %s: transaction %d stopped at %d Wh", self.cp_id, transaction_id, meter_stop)
        return call_result.StopTransaction(id_tag_info=ACCEPTED)
