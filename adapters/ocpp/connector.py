"""The `ocpp` connector: one charge-point connector as a site device, driven through the CSMS.

Options (site file `connector.options`, all optional but `charge_point_id`):
`charge_point_id` (the id in the charger's URL; default the device key), `connector_id` (1),
`listen_host` (127.0.0.1), `listen_port` (9000; the CSMS is shared by every device on that address),
`purpose` (`TxDefaultProfile` | `TxProfile`: a TxProfile when a transaction runs, else the default),
`limit_unit` (`W` | `A`; a charger that rejects W is sent A from then on), `voltage_v` (230), `phases` (1),
`profile_id` (1000 + connector id), `stack_level` (1), `timeout_s` (10, per OCPP call), `max_skew_s` (60),
`heartbeat_s` (60), `linger_s` (330: keep the CSMS up that long after its last user stopped), `keys`,
`meter_interval_s` (default `telemetry_s`, else 10: set on each charger after its boot through
ChangeConfiguration MeterValueSampleInterval).

Commands (any capability): `maxPower` (W, >= 0) → SetChargingProfile, verified by GetCompositeSchedule
(the result's `in_force.maxPower` is the read-back limit); `enabled` → ChangeAvailability;
`transaction` = `start` | `stop` → RemoteStart/RemoteStopTransaction."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from websockets.exceptions import ConnectionClosed

from adapters.connector import Command, CommandResult, Reading
from adapters.ocpp.csms import CENTRAL_SYSTEMS, CentralSystem
from adapters.ocpp.profiles import Electrical, composite_limit_w, encode_charging_profile, encoded_limit_w
from adapters.ocpp.session import ConnectorState, CsmsSession
from adapters.ocpp.variables import LINK_ROLE, stream_keys
from clock import Clock

log = logging.getLogger(__name__)
TOLERANCE_W = 1.0


class Refused(Exception):
    """The charge point said no (a status other than Accepted, or a CallError)."""


@dataclass(frozen=True)
class OcppSettings:
    charge_point_id: str
    connector_id: int = 1
    listen_host: str = "127.0.0.1"
    listen_port: int = 9000
    purpose: str = "TxDefaultProfile"
    limit_unit: str = "W"
    electrical: Electrical = Electrical()
    profile_id: int = 1001
    stack_level: int = 1
    timeout_s: float = 10.0
    max_skew_s: float = 60.0
    heartbeat_s: int = 60
    linger_s: float = 330.0
    meter_interval_s: float | None = 10.0
    keys: Mapping[str, str] = field(default_factory=dict)


class OcppConnector:
    """Implements `adapters.connector.Connector` for one charge-point connector."""

    def __init__(self, device: str, settings: OcppSettings, clock: Clock, central: CentralSystem | None = None) -> None:
        self._device = device
        self.settings = settings
        self._clock = clock
        self.central = central
        self._owned = central is None
        self._leased = False
        self.state: ConnectorState | None = None
        self.unit = settings.limit_unit
        self.enabled: bool | None = None

    @property
    def device(self) -> str:
        return self._device

    async def start(self) -> None:
        s = self.settings
        if self._owned and not self._leased:
            self.central = await CENTRAL_SYSTEMS.acquire(self._clock, s.listen_host, s.listen_port,
                                                         max_skew_s=s.max_skew_s, heartbeat_s=s.heartbeat_s,
                                                         timeout_s=s.timeout_s, meter_interval_s=s.meter_interval_s)
            self._leased = True
        assert self.central is not None
        self.state = self.central.attach(s.charge_point_id, s.connector_id, stream_keys(self.device, s.keys))

    async def stop(self) -> None:
        """Let go of the CSMS. A shared one keeps this connector attached while it lingers, so a charge
        point that connects while the runtime backs off from a fault is known and its data kept."""
        if self._owned:
            if self._leased and self.central is not None:
                CENTRAL_SYSTEMS.release(self.central, self.settings.linger_s)
                self._leased = False
        elif self.central is not None and self.state is not None:
            self.central.detach(self.settings.charge_point_id, self.settings.connector_id)
            self.state = None

    async def read(self) -> list[Reading]:
        """What the charge point sent since the last read (MeterValues, StatusNotification, link faults)."""
        central, state = self._attached()
        readings = state.take()
        if not readings:
            central.session(self.settings.charge_point_id)  # not connected: ConnectionError
        return readings

    async def write(self, command: Command) -> CommandResult:
        params = command.parameters
        try:
            session = self._attached()[0].session(self.settings.charge_point_id)
            if "enabled" in params and bool(params["enabled"]) != self.enabled:
                await self._availability(session, bool(params["enabled"]))
            if params.get("transaction") in ("start", "stop"):
                await self._remote(session, str(params["transaction"]), str(params.get("idTag", "LEVChAg")))
            limit = params.get("maxPower")
            if limit is None:
                return CommandResult(True, "", {"enabled": self.enabled})
            if not isinstance(limit, int | float) or isinstance(limit, bool) or limit < 0:
                return CommandResult(False, f"{command.capability}: maxPower must be a number of W >= 0")
            in_force_w = await self._limit(session, float(limit))
        except Refused as refusal:
            log.warning("charge point %s: %s", self.settings.charge_point_id, refusal)
            if self.state is not None:  # a link reading too: the refusal is a device's status
                self.state.readings.append(Reading(self.state.keys[LINK_ROLE], str(refusal), self._clock.now()))
            return CommandResult(False, str(refusal))
        except TimeoutError as error:
            raise ConnectionError(f"charge point {self.settings.charge_point_id}: no answer ({error})") from error
        return CommandResult(True, "", {"maxPower": in_force_w, "enabled": self.enabled, "unit": self.unit})

    def _attached(self) -> tuple[CentralSystem, ConnectorState]:
        if self.central is None or self.state is None:
            raise ConnectionError(f"device {self.device}: the connector is not started")
        return self.central, self.state

    async def _limit(self, session: CsmsSession, limit_w: float) -> float:
        """Install the limit and return the one the composite schedule shows in force (W)."""
        try:
            profile = await self._set_profile(session, limit_w)
        except Refused:
            if self.unit != "W":
                raise
            log.info("charge point %s refused a limit in W: sending A from now on", self.settings.charge_point_id)
            self.unit = "A"
            profile = await self._set_profile(session, limit_w)
        wanted_w = encoded_limit_w(profile, self.settings.electrical)
        in_force_w = await self._composite_w(session)
        if in_force_w is None or in_force_w > wanted_w + TOLERANCE_W:
            raise Refused(f"profile Accepted but not in force: composite schedule limit {in_force_w} W, "
                          f"ordered {wanted_w} W")
        return in_force_w

    async def _set_profile(self, session: CsmsSession, limit_w: float) -> dict[str, Any]:
        s, state = self.settings, self._attached()[1]
        tx = state.transaction_id if s.purpose == "TxProfile" else None
        start = self._clock.now() + timedelta(seconds=session.offset_s - 60)  # the charger's clock, a minute ago
        profile = encode_charging_profile(limit_w, profile_id=s.profile_id, stack_level=s.stack_level,
                                          purpose="TxProfile" if tx is not None else "TxDefaultProfile",
                                          unit=self.unit, electrical=s.electrical, start=start, transaction_id=tx)
        result = await self._call(session, call.SetChargingProfile(connector_id=s.connector_id,
                                                                   cs_charging_profiles=profile))
        if result.status != "Accepted":
            raise Refused(f"SetChargingProfile {result.status}")
        return profile

    async def _composite_w(self, session: CsmsSession) -> float | None:
        result = await self._call(session, call.GetCompositeSchedule(
            connector_id=self.settings.connector_id, duration=900, charging_rate_unit=self.unit))
        if result.status != "Accepted":
            raise Refused(f"GetCompositeSchedule {result.status}: the limit cannot be verified")
        return composite_limit_w(result.charging_schedule, self.settings.electrical)

    async def _availability(self, session: CsmsSession, enabled: bool) -> None:
        kind = "Operative" if enabled else "Inoperative"
        result = await self._call(session, call.ChangeAvailability(connector_id=self.settings.connector_id, type=kind))
        if result.status not in ("Accepted", "Scheduled"):
            raise Refused(f"ChangeAvailability {kind} {result.status}")
        self.enabled = enabled

    async def _remote(self, session: CsmsSession, what: str, id_tag: str) -> None:
        state = self._attached()[1]
        if what == "start":
            request: Any = call.RemoteStartTransaction(id_tag=id_tag, connector_id=self.settings.connector_id)
        elif state.transaction_id is None:
            raise Refused("RemoteStopTransaction: no transaction runs")
        else:
            request = call.RemoteStopTransaction(transaction_id=state.transaction_id)
        result = await self._call(session, request)
        if result.status != "Accepted":
            raise Refused(f"Remote{what.title()}Transaction {result.status}")

    async def _call(self, session: CsmsSession, request: Any) -> Any:
        try:
            return await session.call(request, suppress=False)
        except OCPPError as error:
            raise Refused(f"{type(request).__name__}: CallError {error.code}: {error.description}") from error
        except TimeoutError as error:
            raise TimeoutError(f"{type(request).__name__} unanswered after {self.settings.timeout_s} s") from error
        except ConnectionClosed as error:
            cp_id = self.settings.charge_point_id
            raise ConnectionError(f"charge point {cp_id}: connection closed ({error})") from error


def ocpp_settings(device: str, options: Mapping[str, Any]) -> OcppSettings:
    """The settings of a site file's `ocpp` connector options (see the module docstring)."""
    connector_id = int(options.get("connector_id", 1))
    keys = options.get("keys", {})
    return OcppSettings(
        str(options.get("charge_point_id", device)), connector_id, str(options.get("listen_host", "127.0.0.1")),
        int(options.get("listen_port", 9000)), str(options.get("purpose", "TxDefaultProfile")),
        str(options.get("limit_unit", "W")),
        Electrical(float(options.get("voltage_v", 230)), int(options.get("phases", 1))),
        int(options.get("profile_id", 1000 + connector_id)), int(options.get("stack_level", 1)),
        float(options.get("timeout_s", 10)), float(options.get("max_skew_s", 60)), int(options.get("heartbeat_s", 60)),
        float(options.get("linger_s", 330)), float(options.get("meter_interval_s", options.get("telemetry_s", 10))),
        {str(k): str(v) for k, v in keys.items()} if isinstance(keys, Mapping) else {})


def build_ocpp(device: str, options: Mapping[str, Any], clock: Clock) -> OcppConnector:
    """The connector kind `ocpp` (the CSMS on `listen_host:listen_port` is shared with the other devices)."""
    return OcppConnector(device, ocpp_settings(device, options), clock)
