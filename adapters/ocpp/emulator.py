"""An OCPP 1.6J charge point with EVs (adapters/simulated/ev.py), a WebSocket client of the CSMS.

It boots, reports StatusNotification on each change, starts a transaction when a car arrives and stops
it when it leaves, sends MeterValues (Power.Active.Import W, Voltage V, SoC %, Energy Wh) every
`meter_interval_s` of the clock, and charges within its composite schedule. It reconnects with back-off.
`EmulatorFaults` makes it misbehave as real chargers do (tests and demos).

    python -m adapters.ocpp.emulator --url ws://127.0.0.1:9000 --id cp1 --max-power-w 7400 --seed 181
(the clock from S4G_CLOCK / S4G_CLOCK_START / S4G_CLOCK_FACTOR, as the field process)."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from ocpp.exceptions import OCPPError
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from adapters.ocpp.charger import Charger, Outlet
from adapters.ocpp.emulator_session import ChargerSession, EmulatorFaults
from adapters.ocpp.frames import format_ocpp_time, parse_ocpp_time
from adapters.ocpp.profiles import Electrical
from adapters.simulated.ev import ChargePoint, EvFleetSpec, draw_sessions
from clock import Clock, clock_from_env

log = logging.getLogger(__name__)

__all__ = ["EmulatedChargePoint", "EmulatorFaults", "build_charger", "main"]


class EmulatedChargePoint:
    def __init__(self, url: str, cp_id: str, charger: Charger, clock: Clock, *, meter_interval_s: float = 10.0,
                 faults: EmulatorFaults | None = None, battery_wh: float = EvFleetSpec().battery_wh) -> None:
        self.url = url.rstrip("/") + "/" + cp_id
        self.cp_id = cp_id
        self.charger = charger
        self.clock = clock
        self.meter_interval_s = meter_interval_s
        self.faults = faults or EmulatorFaults()
        self.battery_wh = battery_wh
        self.offset_s = self.faults.clock_offset_s
        self.heartbeat_s = 60.0
        self.session: ChargerSession | None = None
        self.connections = 0
        self.reported: dict[int, str] = {}
        self._last = clock.now()

    def now(self) -> datetime:
        """The charger's own clock."""
        return self.clock.now() + timedelta(seconds=self.offset_s)

    async def run(self, backoff_s: float = 0.2, backoff_max_s: float = 30.0) -> None:
        """Connect and serve forever, reconnecting with exponential back-off (jittered)."""
        failures = 0
        while True:
            try:
                await self.serve_once()
                failures = 0
            except* (OSError, WebSocketException, TimeoutError, OCPPError) as errors:
                failures += 1
                log.info("charge point %s: connection lost (%s), retry %d", self.cp_id, errors.exceptions[0],
                         failures)
            await asyncio.sleep(min(backoff_max_s, backoff_s * 2 ** min(failures, 10)) * random.uniform(0.5, 1.0))

    async def serve_once(self) -> None:
        """One connection: the library's receive loop and this charge point's reports, until either fails."""
        async with connect(self.url, subprotocols=[ChargerSession.SUBPROTOCOL], open_timeout=5) as connection:
            self.connections += 1
            self.session = ChargerSession(self.cp_id, connection, self)
            self.reported = {}
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self.session.start())
                    group.create_task(self._report(self.session))
            finally:
                self.session = None

    async def _report(self, session: ChargerSession) -> None:
        await self._boot(session)
        next_heartbeat = self.clock.now()
        while True:
            self.advance()
            for connector_id in range(1, len(self.charger.outlets) + 1):
                await self._transitions(session, connector_id)
                await session.send_meter_values(connector_id)
            if self.clock.now() >= next_heartbeat:
                await session.heartbeat()
                next_heartbeat = self.clock.now() + timedelta(seconds=self.heartbeat_s)
            await self.clock.sleep(self.meter_interval_s)

    async def _boot(self, session: ChargerSession) -> None:
        while True:
            answer = await session.boot()
            if answer.status == "Accepted":
                self.heartbeat_s = float(answer.interval) or 60.0
                if self.faults.sync_clock:
                    self.offset_s = (parse_ocpp_time(answer.current_time) - self.clock.now()).total_seconds()
                return
            await self.clock.sleep(max(1.0, float(answer.interval)))

    def advance(self) -> None:
        """Run the EV models to now with the limits in force, then apply the limits from now on."""
        now = self.clock.now()
        for connector_id, outlet in enumerate(self.charger.outlets, start=1):
            outlet.point.advance_to(now)
            outlet.point.enabled = outlet.operative and outlet.transaction_id is not None
            outlet.point.set_limit(self.charger.limit_w(connector_id, self.now()))
        self._last = now

    async def _transitions(self, session: ChargerSession, connector_id: int) -> None:
        outlet = self.charger.outlets[connector_id - 1]
        plugged = outlet.point.session(self.clock.now())
        await self._notify(session, connector_id)  # Preparing before the transaction starts
        if plugged is not None and outlet.transaction_id is None and outlet.transaction_start is None:
            await session.start_transaction(connector_id, "EV-" + plugged.arrival.strftime("%H%M"))
        elif plugged is None and outlet.transaction_id is not None:
            await session.stop_transaction(connector_id, "EVDisconnected")
        if plugged is None:
            outlet.transaction_start = None  # the next car may start a transaction
        self.advance()
        await self._notify(session, connector_id)

    async def _notify(self, session: ChargerSession, connector_id: int) -> None:
        status = self.status(connector_id)
        if self.reported.get(connector_id) != status:
            await session.status_notification(connector_id, status)
            self.reported[connector_id] = status

    def status(self, connector_id: int) -> str:
        outlet = self.charger.outlets[connector_id - 1]
        if not outlet.operative:
            return "Unavailable"
        if outlet.point.session(self.clock.now()) is None:
            return "Available"
        if outlet.transaction_id is None:
            return "Finishing" if outlet.transaction_start is not None else "Preparing"
        return outlet.point.status()

    def soc_pct(self, connector_id: int) -> float | None:
        point = self.charger.outlets[connector_id - 1].point
        session = point.session(self.clock.now())
        if session is None:
            return None
        return min(100.0, 100.0 * (self.battery_wh - session.energy_need_wh + point.delivered_wh) / self.battery_wh)


def build_charger(max_power_w: float, seed: int, start: datetime, *, connectors: int = 1, days: int = 7,
                  electrical: Electrical | None = None, units: Sequence[str] = ("W", "A")) -> Charger:
    """A charger whose connectors each get a seeded series of EV sessions (as `simulated-chargepoint`)."""
    outlets = []
    for index in range(connectors):
        rng = random.Random(seed + index)
        sessions = draw_sessions(EvFleetSpec(car_max_power_w=max_power_w), rng, start.date(), days)
        outlets.append(Outlet(ChargePoint(max_power_w, sessions, start)))
    return Charger(outlets, electrical or Electrical(), tuple(units))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m adapters.ocpp.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:9000", help="the CSMS (without the charge point id)")
    parser.add_argument("--id", default="cp1", help="the charge point id")
    parser.add_argument("--max-power-w", type=float, default=7400.0, help="7400, 11000 or 22000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--connectors", type=int, default=1)
    parser.add_argument("--phases", type=int, default=1)
    parser.add_argument("--voltage-v", type=float, default=230.0)
    parser.add_argument("--units", default="W,A", help="charging rate units it takes (W,A or A)")
    parser.add_argument("--meter-interval-s", type=float, default=10.0)
    parser.add_argument("--clock-offset-s", type=float, default=0.0, help="a charger clock that is off")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("SMX_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    clock = clock_from_env(os.environ)
    charger = build_charger(args.max_power_w, args.seed, clock.now(), connectors=args.connectors,
                            electrical=Electrical(args.voltage_v, args.phases), units=args.units.split(","))
    faults = EmulatorFaults(clock_offset_s=args.clock_offset_s, sync_clock=args.clock_offset_s == 0)
    point = EmulatedChargePoint(args.url, args.id, charger, clock, meter_interval_s=args.meter_interval_s,
                                faults=faults)
    log.info("charge point %s -> %s at %s", args.id, point.url, format_ocpp_time(point.now()))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(point.run())


if __name__ == "__main__":
    main()
