"""A DSO SCADA master for tests and the demo (c104's Client, imported lazily: GPLv3 extra `[scada]`): it
connects to an outstation, keeps the monitored values it receives (general interrogation at connect and
spontaneous updates), reconnects by itself after a connection loss, and sends set-points and single
commands, returning the outstation's confirmation read from the frames themselves (c104's `transmit`
result does not tell a negative ACT_CON reliably).

`python -m adapters.iec104.master --port 2404 [--setpoint 2001=-3000] [--watch 10]`.
No `from __future__ import annotations`: c104 checks callback signatures against real annotations.
"""
import argparse
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adapters.iec104.variables import DEFAULT_COMMANDS, DEFAULT_MONITORS, PointMap

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Confirmation:
    positive: bool
    cause: str  # the COT of the answer, e.g. ACTIVATION_CON, UNKNOWN_IOA; "TIMEOUT" without one


class ScadaMaster:
    def __init__(self, host: str, port: int, points: PointMap | None = None) -> None:
        self.host, self.port = host, port
        self.points = points or PointMap(DEFAULT_MONITORS, DEFAULT_COMMANDS)
        self._answers: dict[int, Confirmation] = {}
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        import c104  # GPLv3: only here and in outstation.py

        self._c104 = c104
        self._client = c104.Client(tick_rate_ms=50, command_timeout_ms=3000)
        added: Any = self._client.add_connection(ip=host, port=port, init=c104.Init.ALL)
        self._connection = added
        station: Any = self._connection.add_station(common_address=self.points.common_address)
        self._station = station
        self._monitors: dict[int, Any] = {
            m.ioa: station.add_point(io_address=m.ioa, type=getattr(c104.Type, m.type)) for m in self.points.monitors}

        def raw(connection: c104.Connection, data: bytes) -> None:
            self._record(c104.explain_bytes_dict(apdu=data))

        connection: Any = self._connection
        connection.on_receive_raw(callable=raw)

    def _record(self, frame: dict[str, Any]) -> None:
        cot = frame.get("cot")
        if frame.get("format") != "I" or cot is None or not str(frame.get("type", "")).startswith("Type.C_S"):
            return
        if cot.name in ("ACTIVATION", "ACTIVATION_TERMINATION"):
            return
        with self._changed:
            self._answers[int(frame["firstInformationObjectAddress"])] = Confirmation(
                not frame.get("negative") and cot.name == "ACTIVATION_CON", cot.name)
            self._changed.notify_all()

    def start(self) -> None:
        self._client.start()
        self._stopping.clear()
        self._watcher = threading.Thread(target=self._supervise, name="scada-master", daemon=True)
        self._watcher.start()

    def _supervise(self) -> None:
        """c104's client comes back muted after a reconnect: start data transfer and interrogate again."""
        muted = 0
        while not self._stopping.wait(0.2):
            muted = muted + 1 if self._connection.state == self._c104.ConnectionState.OPEN_MUTED else 0
            if muted >= 3 and self._connection.unmute():  # muted for 0.6 s: not c104's own start-up
                log.info("SCADA master: link to %s:%d up, starting data transfer and interrogating", self.host,
                         self.port)
                self._connection.interrogation(common_address=self.points.common_address, wait_for_response=False)
                muted = 0

    def wait_open(self, timeout_s: float) -> bool:
        """True once the link is up and data transfer started."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._connection.state == self._c104.ConnectionState.OPEN:
                return True
            time.sleep(0.05)
        return False

    @property
    def connected(self) -> bool:
        return bool(self._connection.is_connected)

    def values(self) -> dict[int, Any]:
        return {ioa: point.value for ioa, point in self._monitors.items()}

    def interrogate(self) -> bool:
        return bool(self._connection.interrogation(common_address=self.points.common_address))

    def command(self, ioa: int, type_name: str, value: float | bool, timeout_s: float = 6.0) -> Confirmation:
        """Send C_SE_NC_1 / C_SC_NA_1 to `ioa` (mapped or not) and wait for the outstation's answer."""
        c104 = self._c104
        point = self._station.get_point(io_address=ioa) or self._station.add_point(
            io_address=ioa, type=getattr(c104.Type, type_name))
        point.value = value
        with self._changed:
            self._answers.pop(ioa, None)
        point.transmit(cause=c104.Cot.ACTIVATION)
        with self._changed:
            self._changed.wait_for(lambda: ioa in self._answers, timeout_s)
            return self._answers.get(ioa, Confirmation(False, "TIMEOUT"))

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(2)
        self._client.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m adapters.iec104.master")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2404)
    parser.add_argument("--setpoint", action="append", default=[], help="IOA=W, e.g. 2001=-3000 (C_SE_NC_1)")
    parser.add_argument("--watch", type=float, default=10.0, help="seconds to print the values for")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    master = ScadaMaster(args.host, args.port)
    master.start()
    if not master.wait_open(10):
        raise SystemExit(f"no outstation on {args.host}:{args.port}")
    for item in args.setpoint:
        ioa, value = item.split("=", 1)
        log.info("set-point %s W to ioa %s: %s", value, ioa, master.command(int(ioa), "C_SE_NC_1", float(value)))
    deadline = time.monotonic() + args.watch
    while time.monotonic() < deadline:
        log.info("values: %s", master.values())
        time.sleep(2)
    master.stop()


if __name__ == "__main__":
    main()
