"""The IEC 104 outstation (c104's Server, imported lazily: GPLv3 extra `[scada]`). Points follow the
PointMap; a changed monitored value is sent spontaneously and every value is in the general interrogation.
A command to a mapped address is handed to `on_command` (in c104's thread; True = positive ACT_CON);
c104 itself answers a command to an unknown address negatively (COT 47), and `on_event` hears of it.

No `from __future__ import annotations` here: c104 checks callback signatures against real annotations.
"""
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from adapters.iec104.commands import ScadaCommand
from adapters.iec104.variables import PointMap

log = logging.getLogger(__name__)


class Outstation:
    def __init__(self, points: PointMap, host: str, port: int, on_command: Callable[[ScadaCommand], bool],
                 on_event: Callable[[str], None]) -> None:
        self.points, self.host, self.port = points, host, port
        self._on_command, self._on_event = on_command, on_event
        self._server: Any = None
        self._c104: Any = None
        self._points: dict[int, Any] = {}
        self._sent: dict[int, float | bool] = {}

    def start(self) -> None:
        """Open the server socket (again, after `stop`: the same points and values)."""
        if self._server is not None:
            self._server.start()
            return
        import c104  # GPLv3: only here and in master.py

        self._c104 = c104
        server = c104.Server(ip=self.host, port=self.port, tick_rate_ms=50, max_connections=4)
        station: Any = server.add_station(common_address=self.points.common_address)
        for monitor in self.points.monitors:
            self._points[monitor.ioa] = station.add_point(io_address=monitor.ioa, type=getattr(c104.Type, monitor.type))
        for command in self.points.commands:
            point: Any = station.add_point(io_address=command.ioa, type=getattr(c104.Type, command.type))
            point.on_receive(callable=self._receiver(command.type))

        def unexpected(server: c104.Server, message: c104.IncomingMessage, cause: c104.Umc) -> None:
            self._on_event(f"refused {message.type.name} to ioa {message.io_address} "
                           f"(ca {message.common_address}): {cause.name}")

        server.on_unexpected_message(callable=unexpected)
        server.start()
        self._server = server
        log.info("IEC 104 outstation on %s:%d (common address %d)", self.host, self.port, self.points.common_address)

    def _receiver(self, type_name: str) -> Callable[..., Any]:
        import c104

        def received(point: c104.Point, previous_info: c104.Information,
                     message: c104.IncomingMessage) -> c104.ResponseState:
            value: Any = point.value
            command = ScadaCommand(point.io_address, type_name,
                                   bool(value) if type_name == "C_SC_NA_1" else float(value))
            try:
                taken = self._on_command(command)
            except Exception:  # never let an exception into c104's thread: refuse instead
                log.exception("IEC 104: command to ioa %d failed", point.io_address)
                taken = False
            return c104.ResponseState.SUCCESS if taken else c104.ResponseState.FAILURE
        return received

    @property
    def connections(self) -> int:
        return int(self._server.active_connection_count) if self._server is not None else 0

    @property
    def running(self) -> bool:
        return self._server is not None and bool(self._server.is_running)

    def update(self, ioa: int, value: float | bool, when: datetime) -> None:
        """Set a monitored point; a changed value is sent spontaneously to the connected SCADA."""
        point, c104 = self._points[ioa], self._c104
        if point.type == c104.Type.M_SP_TB_1:
            point.info = c104.SingleInfo(on=bool(value), recorded_at=when)
        elif point.type == c104.Type.M_ME_TF_1:
            point.info = c104.ShortInfo(actual=float(value), recorded_at=when)
        else:
            point.info = c104.ShortInfo(actual=float(value))
        if self._sent.get(ioa) != value and self.connections > 0:
            point.transmit(cause=c104.Cot.SPONTANEOUS)
            self._sent[ioa] = value

    def stop(self) -> None:
        """Close the server socket and every connection (idempotent)."""
        if self._server is not None:
            self._server.stop()
