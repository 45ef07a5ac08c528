"""An emulated energy router on 127.0.0.1: libiec61850's MMS server (pyiec61850-ng, imported lazily: GPLv3
extra `[iec61850]`) with the model of model.py, driven by router.EnergyRouter on the clock. The settings (FC
SP) are writable; every tick the router takes valid ones and shows what runs in the `...St` attributes, and
invalid ones are put back to the values in force (a refused write, seen in the read-back).

Faults for tests: `missing_nodes` (logical nodes left out of the model), `deny_writes()` (the server refuses
every write: access-denied), `stop()` (unreachable).

`python -m adapters.iec61850.emulator --port 10102 [--capacity-wh 816 --power-w 3000 --pv-kwp 3 --soc 50]`.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any

from adapters.iec61850.model import model_config
from adapters.iec61850.router import EnergyRouter, Settings
from adapters.iec61850.variables import DOMAIN, MEASUREMENTS
from adapters.simulated.battery import Battery, BatterySpec
from adapters.simulated.pv import PvSpec
from clock import Clock, clock_from_env

log = logging.getLogger(__name__)
SETTING_FIELDS = {"DRCC1.OpMod.setVal": "mode", "DRCC1.WMinGrid.setMag.f": "grid_min_w",
                  "DRCC1.WMaxGrid.setMag.f": "grid_max_w", "DRCC1.WSpt.setMag.f": "setpoint_w"}


class RouterEmulator:
    def __init__(self, router: EnergyRouter, host: str = "127.0.0.1", port: int = 0,
                 missing_nodes: Iterable[str] = (), tick_s: float = 0.1) -> None:
        self.router, self.host, self.port, self.tick_s = router, host, port, tick_s
        self.missing_nodes = set(missing_nodes)
        self.refused: list[str] = []
        self._lib: Any = None
        self._server: Any = None
        self._model: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        import pyiec61850.pyiec61850 as lib  # GPLv3: only here and in connector.py

        self._lib = lib
        initial = {**self.router.values(), **{ref: getattr(self.router.settings, name)
                                              for ref, name in SETTING_FIELDS.items()}}
        with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as handle:
            handle.write(model_config(initial, self.missing_nodes))
        self._model = lib.ConfigFileParser_createModelFromConfigFileEx(handle.name)
        os.unlink(handle.name)
        self._server = lib.IedServer_create(self._model)
        lib.IedServer_setWriteAccessPolicy(self._server, lib.IEC61850_FC_SP, lib.ACCESS_POLICY_ALLOW)
        if self.port == 0:
            with socket.socket() as probe:
                probe.bind((self.host, 0))
                self.port = int(probe.getsockname()[1])
        lib.IedServer_setLocalIpAddress(self._server, self.host)
        lib.IedServer_start(self._server, self.port)
        if not lib.IedServer_isRunning(self._server):
            raise OSError(f"IEC 61850 server did not start on {self.host}:{self.port}")
        self._task = asyncio.create_task(self._run())
        log.info("energy-router emulator (IEC 61850 MMS) on %s:%d", self.host, self.port)
        return self.port

    def deny_writes(self) -> None:
        self._lib.IedServer_setWriteAccessPolicy(self._server, self._lib.IEC61850_FC_SP, self._lib.ACCESS_POLICY_DENY)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._server is not None:
            self._lib.IedServer_stop(self._server)
            self._lib.IedServer_destroy(self._server)
            self._lib.IedModel_destroy(self._model)
            self._server = None

    async def _run(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(self.tick_s)

    def tick(self) -> None:
        """Take valid settings, put invalid ones back, publish the measurements. No data-model lock: the
        bindings keep the GIL while a client in this process waits for an answer, so a tick holding the
        lock (and waiting for the GIL) would stall the server thread (single attribute updates are atomic)."""
        read = {name: self._get(ref, "int32" if name == "mode" else "float") for ref, name in SETTING_FIELDS.items()}
        wanted = Settings(int(read["mode"]), float(read["grid_min_w"]), float(read["grid_max_w"]),
                          float(read["setpoint_w"]))
        if wanted != self.router.settings:
            error = self.router.request(wanted)
            if error is not None:
                self.refused.append(error)
                log.warning("energy-router emulator: settings refused: %s", error)
                for ref, name in SETTING_FIELDS.items():  # back to what runs
                    self._set(ref, getattr(self.router.settings, name), "int32" if name == "mode" else "float")
        kinds = {attribute.reference: attribute.kind for attribute in MEASUREMENTS}
        for ref, value in self.router.values().items():
            self._set(ref, value, kinds[ref])

    def _attribute(self, ref: str) -> Any:
        node = self._lib.IedModel_getModelNodeByObjectReference(self._model, f"{DOMAIN}/{ref}")
        return self._lib.toDataAttribute(node) if node else None

    def _get(self, ref: str, kind: str) -> float | int:
        attribute = self._attribute(ref)
        if kind == "int32":
            return int(self._lib.IedServer_getInt32AttributeValue(self._server, attribute))
        return float(self._lib.IedServer_getFloatAttributeValue(self._server, attribute))

    def _set(self, ref: str, value: float | int, kind: str) -> None:
        attribute = self._attribute(ref)
        if attribute is None:  # a node left out of the model
            return
        if kind == "int32":
            self._lib.IedServer_updateInt32AttributeValue(self._server, attribute, int(value))
        else:
            self._lib.IedServer_updateFloatAttributeValue(self._server, attribute, float(value))


def build_router(clock: Clock, capacity_wh: float = 816.0, power_w: float = 3000.0, pv_kwp: float = 3.0,
                 soc_pct: float = 50.0, latitude_deg: float = 44.43, longitude_deg: float = 26.1) -> EnergyRouter:
    spec = BatterySpec(capacity_wh, power_w, power_w, 20.0, 95.0)
    pv = PvSpec(pv_kwp, latitude_deg, longitude_deg) if pv_kwp > 0 else None
    return EnergyRouter(Battery(spec, soc_pct), pv, clock)


async def serve(args: argparse.Namespace, clock: Clock) -> None:
    router = build_router(clock, args.capacity_wh, args.power_w, args.pv_kwp, args.soc)
    await RouterEmulator(router, args.host, args.port).start()
    await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m adapters.iec61850.emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=10102)
    parser.add_argument("--capacity-wh", type=float, default=816.0)
    parser.add_argument("--power-w", type=float, default=3000.0)
    parser.add_argument("--pv-kwp", type=float, default=3.0)
    parser.add_argument("--soc", type=float, default=50.0)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(parser.parse_args(argv), clock_from_env(os.environ)))


if __name__ == "__main__":
    main()
