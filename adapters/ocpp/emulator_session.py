"""The emulated charge point's end of the WebSocket: its `@on` handlers for what the CSMS asks
(SetChargingProfile, GetCompositeSchedule, ClearChargingProfile, ChangeAvailability,
RemoteStart/StopTransaction) and the calls it makes."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ocpp.exceptions import NotSupportedError
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action
from websockets.typing import Subprotocol

from adapters.ocpp.charger import Charger, parse_profile
from adapters.ocpp.frames import format_ocpp_time
from adapters.ocpp.peer import Peer
from adapters.ocpp.routing import on
from adapters.ocpp.session import FRAME_LOG
from clock import Clock


@dataclass(frozen=True)
class EmulatorFaults:
    profile_status: str | None = None  # answer every SetChargingProfile with this ("Rejected", "NotSupported")
    call_error: bool = False  # answer SetChargingProfile with a CallError (NotSupported)
    ignore_profiles: bool = False  # answer "Accepted" and do nothing
    clock_offset_s: float = 0.0  # the charger's clock minus the true time
    sync_clock: bool = True  # set its clock from the BootNotification answer (a well-behaved charger)


class Owner(Protocol):
    """What the session needs of its charge point (`adapters.ocpp.emulator.EmulatedChargePoint`)."""

    charger: Charger
    clock: Clock
    faults: EmulatorFaults
    meter_interval_s: float

    def now(self) -> datetime: ...

    def advance(self) -> None: ...

    def soc_pct(self, connector_id: int) -> float | None: ...


class ChargerSession(Peer):
    SUBPROTOCOL = Subprotocol("ocpp1.6")

    def __init__(self, cp_id: str, connection: Any, owner: Owner) -> None:
        super().__init__(cp_id, connection, response_timeout=10, logger=FRAME_LOG)
        self.owner = owner

    # --- what the CSMS asks -------------------------------------------------------------------

    @on(Action.set_charging_profile)
    async def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any],
                                      **_: Any) -> call_result.SetChargingProfile:
        faults = self.owner.faults
        if faults.call_error:
            raise NotSupportedError(description="smart charging is not supported by this firmware")
        if faults.profile_status is not None:
            return call_result.SetChargingProfile(status=faults.profile_status)
        if faults.ignore_profiles:
            return call_result.SetChargingProfile(status="Accepted")
        self.owner.advance()
        status = self.owner.charger.install(parse_profile(connector_id, cs_charging_profiles))
        self.owner.advance()
        return call_result.SetChargingProfile(status=status)

    @on(Action.get_composite_schedule)
    async def on_get_composite_schedule(self, connector_id: int, duration: int, charging_rate_unit: str = "W",
                                        **_: Any) -> call_result.GetCompositeSchedule:
        if self.owner.charger.outlet(connector_id) is None:
            return call_result.GetCompositeSchedule(status="Rejected")
        now = self.owner.now()
        schedule = self.owner.charger.composite(connector_id, now, duration, charging_rate_unit)
        return call_result.GetCompositeSchedule(status="Accepted", connector_id=connector_id,
                                                schedule_start=format_ocpp_time(now), charging_schedule=schedule)

    @on(Action.clear_charging_profile)
    async def on_clear_charging_profile(self, id: int | None = None, **_: Any) -> call_result.ClearChargingProfile:
        charger = self.owner.charger
        found = id in charger.profiles if id is not None else bool(charger.profiles)
        charger.profiles = {} if id is None else {i: p for i, p in charger.profiles.items() if i != id}
        return call_result.ClearChargingProfile(status="Accepted" if found else "Unknown")

    @on(Action.change_availability)
    async def on_change_availability(self, connector_id: int, type: str) -> call_result.ChangeAvailability:
        outlets = self.owner.charger.outlets if connector_id == 0 else [self.owner.charger.outlet(connector_id)]
        if None in outlets:
            return call_result.ChangeAvailability(status="Rejected")
        self.owner.advance()
        for outlet in outlets:
            assert outlet is not None
            outlet.operative = type == "Operative"
        self.owner.advance()
        return call_result.ChangeAvailability(status="Accepted")

    @on(Action.change_configuration)
    async def on_change_configuration(self, key: str, value: str) -> call_result.ChangeConfiguration:
        if key != "MeterValueSampleInterval":
            return call_result.ChangeConfiguration(status="NotSupported")
        if not value.isdigit() or int(value) < 1:
            return call_result.ChangeConfiguration(status="Rejected")
        self.owner.meter_interval_s = float(value)
        return call_result.ChangeConfiguration(status="Accepted")

    @on(Action.remote_start_transaction)
    async def on_remote_start_transaction(self, id_tag: str, connector_id: int | None = None,
                                          **_: Any) -> call_result.RemoteStartTransaction:
        outlet = self.owner.charger.outlet(connector_id or 1)
        ok = outlet is not None and outlet.transaction_id is None and outlet.point.session(self.owner.clock.now())
        if ok:
            asyncio.get_running_loop().create_task(self.start_transaction(connector_id or 1, id_tag))
        return call_result.RemoteStartTransaction(status="Accepted" if ok else "Rejected")

    @on(Action.remote_stop_transaction)
    async def on_remote_stop_transaction(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        for connector_id, outlet in enumerate(self.owner.charger.outlets, start=1):
            if outlet.transaction_id == transaction_id:
                asyncio.get_running_loop().create_task(self.stop_transaction(connector_id, "Remote"))
                return call_result.RemoteStopTransaction(status="Accepted")
        return call_result.RemoteStopTransaction(status="Rejected")

    # --- what it sends ------------------------------------------------------------------------

    async def boot(self) -> Any:
        return await self.call(call.BootNotification(charge_point_model="S4G-EMU-WB", charge_point_vendor="S4G"))

    async def heartbeat(self) -> None:
        await self.call(call.Heartbeat())

    async def status_notification(self, connector_id: int, status: str) -> None:
        await self.call(call.StatusNotification(connector_id=connector_id, error_code="NoError", status=status,
                                                timestamp=format_ocpp_time(self.owner.now())))

    async def start_transaction(self, connector_id: int, id_tag: str) -> None:
        outlet = self.owner.charger.outlets[connector_id - 1]
        self.owner.advance()
        answer = await self.call(call.StartTransaction(connector_id=connector_id, id_tag=id_tag,
                                                       meter_start=round(outlet.point.delivered_wh),
                                                       timestamp=format_ocpp_time(self.owner.now())))
        outlet.transaction_id = int(answer.transaction_id)
        outlet.transaction_start = self.owner.now()
        self.owner.advance()

    async def stop_transaction(self, connector_id: int, reason: str) -> None:
        outlet = self.owner.charger.outlets[connector_id - 1]
        if outlet.transaction_id is None:
            return
        self.owner.advance()
        transaction_id, outlet.transaction_id = outlet.transaction_id, None
        self.owner.charger.end_transaction(connector_id)
        await self.call(call.StopTransaction(meter_stop=round(outlet.point.delivered_wh), reason=reason,
                                             timestamp=format_ocpp_time(self.owner.now()),
                                             transaction_id=transaction_id))
        self.owner.advance()

    async def send_meter_values(self, connector_id: int) -> None:
        outlet = self.owner.charger.outlets[connector_id - 1]
        voltage_v = self.owner.charger.electrical.voltage_v
        sampled = [{"value": f"{outlet.point.power_w:.1f}", "measurand": "Power.Active.Import", "unit": "W"},
                   {"value": f"{voltage_v:.1f}", "measurand": "Voltage", "unit": "V"},
                   {"value": f"{outlet.point.delivered_wh:.0f}", "measurand": "Energy.Active.Import.Register",
                    "unit": "Wh"}]
        soc = self.owner.soc_pct(connector_id)
        if soc is not None:
            sampled.append({"value": f"{soc:.1f}", "measurand": "SoC", "unit": "Percent", "location": "EV"})
        await self.call(call.MeterValues(connector_id=connector_id, transaction_id=outlet.transaction_id,
                                         meter_value=[{"timestamp": format_ocpp_time(self.owner.now()),
                                                       "sampled_value": sampled}]))
