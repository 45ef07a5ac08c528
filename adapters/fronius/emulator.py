"""A Fronius Symo Hybrid on 127.0.0.1: the Solar API v1 over HTTP (stdlib asyncio server) and SunSpec
Modbus TCP (adapters/sunspec's emulator), both from one `HybridInverter`, so a command written over Modbus
shows in the JSON readings.

Faults for tests (`emulator.faults`): an HTTP status (500) for every request, truncated JSON, a
`Head.Status.Code`; the Modbus side has its own (`emulator.sunspec.faults`).

`python -m adapters.fronius.emulator --http-port 8081 --modbus-port 1502 [--pv-kwp 10 ...]`;
`--physics-site SITE [--pv-share X --load-share Y --own physics.P_pv]`: the inverter's PV, the house load and
the voltage from the grid simulation's physics Datastreams of that site (docs/simulation.md), read with
`STA_CLIENT_*` (the site's own device-agent account, given by the district) every `--physics-refresh-s`; the
own models stand in for a value missing or stale (as for the DLMS meter emulator).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

from adapters.fronius.documents import documents, envelope
from adapters.simulated.physics_feed import add_physics_arguments, physics_option, refresh_forever
from adapters.sunspec.emulator import SunSpecEmulator
from adapters.sunspec.hybrid import HybridInverter, build_hybrid
from clock import Clock, clock_from_env

log = logging.getLogger(__name__)
REASONS = {200: "OK", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class HttpFaults:
    status: int = 200  # e.g. 500 for every request
    truncate: bool = False  # the JSON cut in half (with a matching Content-Length)
    api_code: int = 0  # Head.Status.Code (e.g. 8: the device is busy)


class FroniusEmulator:
    def __init__(self, inverter: HybridInverter, clock: Clock, host: str = "127.0.0.1", http_port: int = 0,
                 modbus_port: int = 0) -> None:
        self.inverter = inverter
        self.clock = clock
        self.host, self.http_port = host, http_port
        self.sunspec = SunSpecEmulator(inverter, host, modbus_port)
        self.faults = HttpFaults()
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.StreamWriter, asyncio.Task[None] | None] = {}
        self._day_start_wh = inverter.energy_wh
        self._day = clock.now().date()

    @property
    def modbus_port(self) -> int:
        return self.sunspec.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    async def start(self) -> None:
        await self.sunspec.start()
        self._server = await asyncio.start_server(self._serve, self.host, self.http_port)
        self.http_port = int(self._server.sockets[0].getsockname()[1])
        log.info("Fronius emulator: Solar API on %s, SunSpec Modbus on port %d", self.url, self.modbus_port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._connections):  # kept-alive connections end their handlers normally
                writer.close()
            await asyncio.gather(*(task for task in self._connections.values() if task is not None))
            await self._server.wait_closed()
            self._server = None
        await self.sunspec.stop()

    def answer(self, target: str) -> tuple[int, bytes]:
        """Status and body for a request target (path and query)."""
        self.requests += 1
        if self.faults.status != 200:
            return self.faults.status, b"<html><body>Internal Server Error</body></html>"
        state = self.inverter.advance()
        if state.time.date() != self._day:
            self._day, self._day_start_wh = state.time.date(), self.inverter.energy_wh
        data = documents(state, self.inverter.battery.spec.capacity_wh, self.inverter.energy_wh - self._day_start_wh,
                         self.inverter.energy_wh).get(target)
        if data is None:
            return 404, json.dumps(envelope({}, state.time, 255, "unknown request")).encode()
        body = json.dumps(envelope(data, state.time, self.faults.api_code,
                                   "busy" if self.faults.api_code else "")).encode()
        return 200, body[: len(body) // 2] if self.faults.truncate else body

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """HTTP/1.1 with keep-alive: requests on one connection until the client closes it."""
        self._connections[writer] = asyncio.current_task()
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                target = request.split(b"\r\n", 1)[0].split(b" ")[1].decode()
                status, body = self.answer(target)
                head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n")
                writer.write(head.encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, IndexError, ConnectionError) as error:
            log.debug("Fronius emulator: connection closed or bad request: %s", error)
        finally:
            self._connections.pop(writer, None)
            writer.close()


async def serve(args: argparse.Namespace, clock: Clock) -> None:
    options = {"pv_kwp": args.pv_kwp, "max_capacity_wh": args.capacity_wh, "max_power_w": args.power_w,
               "seed": args.seed, "annual_kwh": args.annual_kwh, "latitude_deg": args.latitude,
               "longitude_deg": args.longitude, "physics": physics_option(args)}
    inverter = build_hybrid(options, clock)
    emulator = FroniusEmulator(inverter, clock, args.host, args.http_port, args.modbus_port)
    await emulator.start()
    if inverter.physics is not None:
        await refresh_forever(inverter.physics, clock)
    await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m adapters.fronius.emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8081)
    parser.add_argument("--modbus-port", type=int, default=1502)
    parser.add_argument("--pv-kwp", type=float, default=10.0)
    parser.add_argument("--capacity-wh", type=float, default=9600.0)
    parser.add_argument("--power-w", type=float, default=6400.0)
    parser.add_argument("--annual-kwh", type=float, default=5200.0)
    parser.add_argument("--latitude", type=float, default=46.4983)
    parser.add_argument("--longitude", type=float, default=11.3548)
    parser.add_argument("--seed", type=int, default=18)
    add_physics_arguments(parser)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(parser.parse_args(argv), clock_from_env(os.environ)))  # the field process's S4G_CLOCK


if __name__ == "__main__":
    main()
