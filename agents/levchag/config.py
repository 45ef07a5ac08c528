"""The LEVChAg's configuration from the site file: its charge points (every `chargepoint` device), the
capabilities it takes (load reduction on a charge point or on the site, charge-point enable), its cycle
and forecast.

Plug-in options, all optional: `cycle_s` (default 60), `forecast_step_s` (900), `horizon_steps` (96),
`forecast_draws` (200 simulated sessions per charge point), `seed`, `keys` (see `StreamKeys`)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from agents.site.model import DeviceKind, DeviceSpec, PluginSpec, SiteSpec


class Role(StrEnum):
    LOAD_REDUCTION = "load-reduction"
    ENABLE = "enable"


ROLE_OF_TEMPLATE = {"ev-load-reduction": Role.LOAD_REDUCTION, "chargepoint-enable": Role.ENABLE}


@dataclass(frozen=True)
class StreamKeys:
    accepted: str = "setpointAccepted"  # acknowledgements (parameters.taskId, parameters.reason)
    forecast: str = "evLoadForecast"
    total: str = "P_ev_total"  # the EV power of all charge points (the LESSAg reads it)
    lessag_limit: str = "evLoadLimit"  # the LESSAg's limit on the total


@dataclass(frozen=True)
class ChargePointRef:
    device: str
    max_power_w: float
    power_key: str
    status_key: str


@dataclass(frozen=True)
class CapabilityRef:
    role: Role | None  # None: not one the LEVChAg knows
    device: str | None  # the charge point, or None for the site
    resolution_s: int
    max_power_w: float


@dataclass(frozen=True)
class LevchagConfig:
    points: tuple[ChargePointRef, ...]
    capabilities: Mapping[str, CapabilityRef]
    cycle_s: float = 60.0
    forecast_step_s: int = 900
    horizon_steps: int = 96
    forecast_draws: int = 200
    seed: int = 0
    keys: StreamKeys = StreamKeys()


def config_from_site(site: SiteSpec, plugin: PluginSpec) -> LevchagConfig:
    options = plugin.options
    points = tuple(_point(d) for d in site.devices if d.kind is DeviceKind.CHARGEPOINT)
    site_max_w = sum(p.max_power_w for p in points)
    by_device = {p.device: p for p in points}
    capabilities: dict[str, CapabilityRef] = {}
    for device, capability in site.capabilities():
        point, role = by_device.get(device.key), ROLE_OF_TEMPLATE.get(capability.template or "")
        if point is None and (device.kind is not DeviceKind.SITE or role is None):
            continue  # another device's, or a site capability of another agent
        capabilities[capability.key] = CapabilityRef(role, point.device if point else None,
                                                     capability.resolution_s or 900,
                                                     point.max_power_w if point else site_max_w)
    keys = StreamKeys(**{str(k): str(v) for k, v in dict(options.get("keys", {})).items()})
    return LevchagConfig(points, capabilities, float(options.get("cycle_s", 60)),
                         int(options.get("forecast_step_s", 900)), int(options.get("horizon_steps", 96)),
                         int(options.get("forecast_draws", 200)), int(options.get("seed", 0)), keys)


def _point(device: DeviceSpec) -> ChargePointRef:
    options: Mapping[str, Any] = device.connector.options if device.connector else {}
    keys = options.get("keys", {})
    keys = keys if isinstance(keys, Mapping) else {}
    max_power_w = device.properties.max_power_w or float(options.get("max_power_w", 7400))
    return ChargePointRef(device.key, float(max_power_w), str(keys.get("power", f"{device.key}.P_ev")),
                          str(keys.get("status", f"{device.key}.cpStatus")))
