"""A SunSpec Modbus TCP device on 127.0.0.1 (pymodbus server): models 1, 103 and 124 at 40000, driven by
a `HybridInverter` and the clock. Every request first runs the device up to now; writes to model 124's
control points command the battery (bad values: exception 3; read-only points: exception 2).

Faults for tests (`emulator.faults`): an exception code for every request, answers held back
(`delay_s`, a timeout for a client with a shorter one), a wrong marker, model 103's `W_SF`.

`python -m adapters.sunspec.emulator --port 1502 [--pv-kwp 10 --capacity-wh 9600 --power-w 6400]`.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from adapters.sunspec.hybrid import HybridInverter, HybridState, build_hybrid
from adapters.sunspec.registers import BASE_ADDRESS, SUNS_MARKER, build_image, bytes_of, new_model, registers_of
from adapters.sunspec.storage import StorageControl, control_error
from clock import Clock, clock_from_env

log = logging.getLogger(__name__)

WRITABLE_124 = ("StorCtl_Mod", "OutWRte", "InWRte", "InOutWRte_WinTms", "InOutWRte_RvrtTms", "InOutWRte_RmpTms")
ST_MPPT, ST_SLEEPING = 4, 2
CHA_ST = {1: 4, -1: 3, 0: 6}  # sign of the battery power → ChaSt CHARGING / DISCHARGING / HOLDING


@dataclass
class Faults:
    exception: ExcCodes | None = None
    delay_s: float = 0.0
    marker: bytes = SUNS_MARKER
    w_sf: int = 0


class SunSpecEmulator:
    def __init__(self, inverter: HybridInverter, host: str = "127.0.0.1", port: int = 0, unit_id: int = 1,
                 identity: tuple[str, str, str] = ("Fronius", "Symo Hybrid 5.0-3-S", "EMU-0001"),
                 storage: bool = True) -> None:
        self.inverter = inverter
        self.host, self.port, self.unit_id = host, port, unit_id
        self.faults = Faults()
        self.requests = 0
        self.models = {1: new_model(1), 103: new_model(103), 124: new_model(124)}
        common = self.models[1]
        common.Mn.value, common.Md.value, common.SN.value = identity
        common.Vr.value, common.DA.value = "1.0-emulated", unit_id
        self._set_static()
        self._refresh_models(inverter.state)
        if not storage:  # a PV inverter: no model 124 in the map
            del self.models[124]
        self.image, self.offsets = build_image(list(self.models.values()))
        self._server: ModbusTcpServer | None = None

    async def start(self) -> int:
        """Listen; returns the port."""
        block = SimData(BASE_ADDRESS, values=list(self.image), datatype=DataType.REGISTERS)
        device = SimDevice(id=self.unit_id, simdata=[block], action=self._action)
        self._server = ModbusTcpServer(device, address=(self.host, self.port))
        await self._server.serve_forever(background=True)
        sockets = getattr(self._server.transport, "sockets", None)
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.port
        log.info("SunSpec emulator on %s:%d", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    # --- the device behind the registers ------------------------------------------------------------

    async def _action(self, function_code: int, start_address: int, address: int, count: int,
                      registers: list[int], values: list[int] | list[bool] | None) -> ExcCodes | None:
        self.requests += 1
        if self.faults.delay_s > 0:
            await asyncio.sleep(self.faults.delay_s)
        if self.faults.exception is not None:
            return self.faults.exception
        if not values:
            self._refresh(registers, start_address)
            return None
        return self._write(address, [int(v) for v in values], registers, start_address)

    def _refresh(self, registers: list[int], start_address: int) -> None:
        self._refresh_models(self.inverter.advance())
        image, _ = build_image(list(self.models.values()), self.faults.marker)
        first = BASE_ADDRESS - start_address
        registers[first:first + len(image)] = image

    def _write(self, address: int, values: Sequence[int], registers: list[int], start_address: int) -> ExcCodes | None:
        if 124 not in self.models:
            return ExcCodes.ILLEGAL_ADDRESS
        model = self.models[124]
        first = self.offsets[124] + BASE_ADDRESS
        writable = {first + int(model.points[name].offset) for name in WRITABLE_124}
        if any(address + i not in writable for i in range(len(values))):
            return ExcCodes.ILLEGAL_ADDRESS
        base = first - start_address
        length = int(model.len) + 2
        block = list(registers[base:base + length])
        for i, value in enumerate(values):
            block[address + i - first] = value
        candidate = new_model(124)
        candidate.set_mb(bytes_of(block), dirty=False)
        control = StorageControl(int(candidate.StorCtl_Mod.value or 0), float(candidate.InWRte.cvalue or 0),
                                 float(candidate.OutWRte.cvalue or 0), int(candidate.InOutWRte_RvrtTms.value or 0))
        error = control_error(control)
        if error is not None:
            log.warning("SunSpec emulator: write refused: %s", error)
            return ExcCodes.ILLEGAL_VALUE
        self.inverter.command(control)
        self._refresh_models(self.inverter.state)
        return None

    def _set_static(self) -> None:
        inverter, storage = self.models[103], self.models[124]
        for name, sf in (("A_SF", -2), ("V_SF", -1), ("Hz_SF", -2), ("VA_SF", 0), ("VAr_SF", 0), ("WH_SF", 0),
                         ("DCW_SF", 0), ("Tmp_SF", 0)):
            inverter.points[name].value = sf
        for name, sf in (("WChaMax_SF", 0), ("ChaState_SF", -1), ("InBatV_SF", -1), ("InOutWRte_SF", -2),
                         ("MinRsvPct_SF", 0)):
            storage.points[name].value = sf
        storage.WChaMax.cvalue = self.inverter.wchamax_w
        storage.MinRsvPct.cvalue = self.inverter.battery.spec.min_soc_pct

    def _refresh_models(self, state: HybridState) -> None:
        model = self.models[103]
        model.W_SF.value = self.faults.w_sf
        output_w = -state.inverter_w
        set_computed(model, W=output_w, VA=abs(output_w), VAr=0.0, Hz=50.0, WH=self.inverter.energy_wh,
                     DCW=-state.pv_w, TmpCab=35.0,
                     PhVphA=state.voltages_v[0], PhVphB=state.voltages_v[1], PhVphC=state.voltages_v[2],
                     PPVphAB=state.voltages_v[0] * math.sqrt(3), PPVphBC=state.voltages_v[1] * math.sqrt(3),
                     PPVphCA=state.voltages_v[2] * math.sqrt(3))
        phase_a = abs(output_w) / 3 / 230.0
        set_computed(model, A=3 * phase_a, AphA=phase_a, AphB=phase_a, AphC=phase_a)
        model.St.value = ST_MPPT if abs(output_w) > 0.5 else ST_SLEEPING
        storage, control = self.models.get(124), self.inverter.control
        if storage is None:
            return
        storage.StorCtl_Mod.value = control.mode
        storage.InOutWRte_RvrtTms.value = control.revert_s
        set_computed(storage, ChaState=state.soc_pct, InBatV=400.0 + state.soc_pct / 2, InWRte=control.in_pct,
                     OutWRte=control.out_pct)
        storage.ChaSt.value = CHA_ST[int(math.copysign(1, state.ess_w)) if abs(state.ess_w) > 0.5 else 0]


def set_computed(model: Any, **values: float) -> None:
    """Set points from computed values (their scale factors already set)."""
    for name, value in values.items():
        model.points[name].cvalue = value


def registers_text(registers: Sequence[int]) -> str:
    """The image as text (debugging)."""
    return bytes_of(registers).hex(" ", 2)


async def serve(args: argparse.Namespace, clock: Clock) -> None:
    options = {"pv_kwp": args.pv_kwp, "max_capacity_wh": args.capacity_wh, "max_power_w": args.power_w,
               "seed": args.seed}
    emulator = SunSpecEmulator(build_hybrid(options, clock), args.host, args.port)
    await emulator.start()
    await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m adapters.sunspec.emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1502)
    parser.add_argument("--pv-kwp", type=float, default=10.0)
    parser.add_argument("--capacity-wh", type=float, default=9600.0)
    parser.add_argument("--power-w", type=float, default=6400.0)
    parser.add_argument("--seed", type=int, default=1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(parser.parse_args(argv), clock_from_env(os.environ)))  # the field process's S4G_CLOCK


if __name__ == "__main__":
    main()


__all__ = ["Faults", "SunSpecEmulator", "registers_of"]
