"""The Bolzano-like residential site against its emulators: a Fronius hybrid (Solar API + SunSpec), four
DLMS meters (PCC, EV, PV, ESS) and an OCPP wall box, all on 127.0.0.1. The meters are driven by the same
models as the inverter and the charger (a meter measures what the devices behind it do)."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from adapters.fronius.emulator import FroniusEmulator
from adapters.ocpp.charger import Charger, Outlet
from adapters.ocpp.profiles import Electrical
from adapters.simulated.ev import ChargePoint, EvSession
from adapters.sunspec.hybrid import HybridInverter, build_hybrid
from agents.cli import connector_choice
from agents.site import ConnectorSpec, SiteSpec
from clock import Clock
from tests.adapters.sites.meters import LinkedMeter, StoppableMeter
from tests.agents.commission.conftest import example_site

START = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)  # Bolzano, clear sky, noon: the PV exports, an EV charges
METERS = ("meter", "site-ev", "pv-meter", "ess-meter")


@dataclasses.dataclass
class Devices:
    inverter: HybridInverter
    fronius: FroniusEmulator
    charger: Charger
    meters: dict[str, StoppableMeter]

    def ev_w(self) -> float:
        return self.charger.outlets[0].point.power_w

    def sources(self) -> dict[str, Callable[[], float]]:
        def state() -> tuple[float, float, float]:
            now = self.inverter.advance()
            return now.grid_w, now.pv_w, now.ess_w
        return {"meter": lambda: state()[0] + self.ev_w(), "site-ev": self.ev_w,
                "pv-meter": lambda: state()[1], "ess-meter": lambda: state()[2]}


def charger(max_power_w: float = 7400.0) -> Charger:
    session = EvSession(START - timedelta(hours=1), START + timedelta(hours=8), 30_000.0, max_power_w)
    return Charger([Outlet(ChargePoint(max_power_w, [session], START))], Electrical(230.0, 1), ("W", "A"))


async def start_devices(clock: Clock) -> Devices:
    ess_options = connector_choice(example_site("bolzano-residential").device("ess"), emulated=True)[1]
    inverter = build_hybrid(ess_options, clock)
    fronius = FroniusEmulator(inverter, clock)
    await fronius.start()
    devices = Devices(inverter, fronius, charger(), {})
    for key, source in devices.sources().items():
        devices.meters[key] = StoppableMeter(LinkedMeter(source, clock))
        await devices.meters[key].start()
    return devices


async def stop_devices(devices: Devices) -> None:
    await devices.fronius.stop()
    for meter in devices.meters.values():
        await meter.stop()


def site_against(devices: Devices, csms_port: int) -> SiteSpec:
    """sites/bolzano-residential.yaml, every device's connector pointed at its emulator, no plug-ins (the
    telemetry is under test; the agents have their own end-to-end tests)."""
    site = example_site("bolzano-residential")
    replaced = []
    for device in site.devices:
        if device.connector is None:
            replaced.append(device)
            continue
        options = dict(device.connector.options)
        if device.key == "ess":
            options["emulated"] = {**options["emulated"], "url": devices.fronius.url,
                                   "modbus_port": devices.fronius.modbus_port, "timeout_s": 2.0}
        elif device.key == "cp1":
            options["emulated"] = {**options["emulated"], "listen_port": csms_port}
        else:
            options["emulated"] = {**options["emulated"], "port": devices.meters[device.key].port, "timeout_s": 1.0}
        replaced.append(dataclasses.replace(device, connector=ConnectorSpec(device.connector.kind, options)))
    return dataclasses.replace(site, devices=tuple(replaced), plugins=())
