"""A DLMS/COSEM meter on 127.0.0.1 speaking the TCP wrapper, built from dlms-cosem's APDU classes (the
library has no server): AARQ → AARE (LLS password checked when set), GET (normal and with list) of the
Register objects of variables.py (value attribute 2, scaler_unit attribute 3), RLRQ → RLRE. Driven by
meter.MeterModel (adapters/simulated's load and PV) on the clock.

Faults for tests (`emulator.faults`): `refuse_association`, `garble` (answers with a broken wrapper),
`delay_s` (answers held back: the client times out), and `scalers` (change a register's scaler).

`python -m adapters.dlms.emulator --port 4059 [--annual-kwh 5200 --pv-kwp 10 --seed 18 --password ...]`;
`--physics-site SITE [--pv-share X --load-share Y --own physics.P_pv]`: the household's PV, load and voltage
from the grid simulation's physics Datastreams of that site (docs/simulation.md), read with `STA_CLIENT_*`:
the site's own device-agent account (the streams carry the site's labels), every `--physics-refresh-s`.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from dlms_cosem import cosem, dlms_data, enumerations
from dlms_cosem.connection import XDlmsApduFactory
from dlms_cosem.protocol import acse, xdlms
from dlms_cosem.protocol.xdlms.conformance import Conformance

from adapters.dlms.meter import MeterModel, MeterSpec
from adapters.dlms.variables import BY_OBIS
from adapters.dlms.wrapper import read_frame, wrap
from adapters.simulated.load import LoadSpec
from adapters.simulated.physics_feed import (
    PhysicsFeed,
    PhysicsOptions,
    add_physics_arguments,
    physics_option,
    refresh_forever,
)
from adapters.simulated.pv import PvSpec
from clock import Clock, clock_from_env

log = logging.getLogger(__name__)
DEFAULT_SCALERS = {"voltage_l1": -1, "voltage_l2": -1, "voltage_l3": -1}
CONFORMANCE = Conformance(get=True, multiple_references=True, selective_access=False)


@dataclass
class Faults:
    refuse_association: bool = False
    garble: bool = False
    delay_s: float = 0.0
    scalers: dict[str, int] = field(default_factory=dict)


class MeterEmulator:
    def __init__(self, model: MeterModel, host: str = "127.0.0.1", port: int = 0, password: str | None = None) -> None:
        self.model, self.host, self.port, self.password = model, host, port, password
        self.faults = Faults()
        self.associations = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("DLMS meter emulator on %s:%d", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        associated = False
        try:
            while True:
                source, destination, apdu = await read_frame(reader)
                answer, associated = self.answer(apdu, associated)
                if self.faults.delay_s > 0:
                    await asyncio.sleep(self.faults.delay_s)
                if answer is None:
                    break
                frame = wrap(answer, destination, source)
                writer.write(b"\x00\x07" + frame[2:] if self.faults.garble else frame)
                await writer.drain()
        except ConnectionError as error:
            log.info("DLMS meter emulator: connection ends: %s", error)
        except Exception as error:  # an APDU the library cannot parse: a real meter drops the connection too
            log.warning("DLMS meter emulator: dropping the connection: %s: %s", type(error).__name__, error)
        finally:
            writer.close()

    def answer(self, apdu: bytes, associated: bool) -> tuple[bytes | None, bool]:
        """The answer to one APDU and whether an association holds after it (None: close)."""
        request = XDlmsApduFactory.apdu_from_bytes(apdu)
        if isinstance(request, acse.ApplicationAssociationRequest):
            return self._associate(request)
        if isinstance(request, acse.ReleaseRequest):
            return bytes(acse.ReleaseResponse(reason=enumerations.ReleaseResponseReason.NORMAL).to_bytes()), False
        if not associated or not isinstance(request, xdlms.GetRequestNormal | xdlms.GetRequestWithList):
            return bytes(xdlms.ExceptionResponse(enumerations.StateException.SERVICE_NOT_ALLOWED,
                                                 enumerations.ServiceException.OPERATION_NOT_POSSIBLE).to_bytes()), \
                associated
        registers = self.model.registers()
        if isinstance(request, xdlms.GetRequestNormal):
            data = self._attribute(request.cosem_attribute, registers)
            if isinstance(data, enumerations.DataAccessResult):
                return bytes(xdlms.GetResponseNormalWithError(
                    error=data, invoke_id_and_priority=request.invoke_id_and_priority).to_bytes()), True
            return bytes(xdlms.GetResponseNormal(
                data=data.to_bytes(), invoke_id_and_priority=request.invoke_id_and_priority).to_bytes()), True
        items = [self._attribute(item.attribute, registers) for item in request.cosem_attributes_with_selection]
        return bytes(xdlms.GetResponseWithList(
            response_data=items, invoke_id_and_priority=request.invoke_id_and_priority).to_bytes()), True

    def _associate(self, request: acse.ApplicationAssociationRequest) -> tuple[bytes, bool]:
        given = bytes(request.authentication_value or b"")
        refused = self.faults.refuse_association or (self.password is not None and given != self.password.encode())
        self.associations += 0 if refused else 1
        results = enumerations.AssociationResult
        result = results.REJECTED_PERMANENT if refused else results.ACCEPTED
        diagnostics = (enumerations.AcseServiceUserDiagnostics.AUTHENTICATION_FAILED if refused
                       else enumerations.AcseServiceUserDiagnostics.NULL)
        response = acse.ApplicationAssociationResponse(
            result=result, result_source_diagnostics=diagnostics,
            user_information=acse.UserInformation(content=xdlms.InitiateResponse(
                negotiated_conformance=CONFORMANCE, server_max_receive_pdu_size=1024)))
        return bytes(response.to_bytes()), not refused

    def _attribute(self, attribute: cosem.CosemAttribute,
                   registers: dict[str, float]) -> dlms_data.AbstractDlmsData | enumerations.DataAccessResult:
        variable = BY_OBIS.get(tuple(attribute.instance.to_bytes()))
        if variable is None or attribute.interface != enumerations.CosemInterface.REGISTER:
            return enumerations.DataAccessResult.OBJECT_UNDEFINED
        scaler = self.faults.scalers.get(variable.name, DEFAULT_SCALERS.get(variable.name, 0))
        if attribute.attribute == 3:
            return dlms_data.DataStructure([dlms_data.IntegerData(scaler), dlms_data.EnumData(variable.cosem_unit)])
        if attribute.attribute != 2:
            return enumerations.DataAccessResult.READ_WRITE_DENIED
        raw = round(registers[variable.name] / 10.0 ** scaler)
        return (dlms_data.UnsignedLongData(raw) if variable.cosem_unit == 35
                else dlms_data.DoubleLongUnsignedData(raw))


def build_meter(clock: Clock, annual_kwh: float = 4000.0, pv_kwp: float = 0.0, seed: int | None = None,
                latitude_deg: float = 46.5, longitude_deg: float = 11.35,
                physics: PhysicsFeed | None = None) -> MeterModel:
    pv = PvSpec(pv_kwp, latitude_deg, longitude_deg) if pv_kwp > 0 else None
    return MeterModel(MeterSpec(LoadSpec(annual_kwh, seed=seed), pv), clock, physics)


def physics_options(args: argparse.Namespace) -> PhysicsOptions | None:
    """The physics option from the command line (None without ``--physics-site``), as a site file's."""
    option = physics_option(args)
    return None if option is None else PhysicsOptions.from_options({"physics": option})


async def serve(args: argparse.Namespace, clock: Clock) -> None:
    options = physics_options(args)
    feed = None if options is None else PhysicsFeed(options)
    model = build_meter(clock, args.annual_kwh, args.pv_kwp, args.seed, physics=feed)
    await MeterEmulator(model, args.host, args.port, args.password).start()
    if feed is not None:
        await refresh_forever(feed, clock)
    await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m adapters.dlms.emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4059)
    parser.add_argument("--annual-kwh", type=float, default=4000.0)
    parser.add_argument("--pv-kwp", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--password", default=None, help="LLS password (default: no authentication)")
    add_physics_arguments(parser)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(parser.parse_args(argv), clock_from_env(os.environ)))


if __name__ == "__main__":
    main()
