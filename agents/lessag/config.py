"""The LESSAg's configuration, from the site file: the ESS it drives, its strategy and cycle, the
battery's ratings and the site's contract limits, and what each of its capabilities' Tasks mean.

Plug-in options (site file `plugins: - kind: lessag, options: {...}`), all optional:
`device` (the ESS device key; default: the site's first `ess`), `strategy` (self-consumption,
follow-schedule, unircon), `cycle_s` (1-60 s, default 60), `charge_efficiency`/`discharge_efficiency`,
`roles` (capability key → `schedule`, `setpoint`, `user-setpoint` or `mode`; default: from the capability's
template: ess-schedule, ess-setpoint, ess-user-setpoint, lessag-mode),
`ev_limit_stream` (the data-set key of the EV load limit it publishes, default `evLoadLimit`).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from adapters.simulated.battery import BatterySpec
from agents.lessag.limits import EssLimits
from agents.lessag.orders import Source
from agents.lessag.strategies import Strategy
from agents.lessag.tasks import OrderRules
from agents.site.model import DeviceKind, DeviceSpec, PluginSpec, SiteSpec


class Role(StrEnum):
    SCHEDULE = "schedule"
    SETPOINT = "setpoint"
    USER_SETPOINT = "user-setpoint"
    MODE = "mode"  # the household's behaviour-mode switch


ROLE_OF_TEMPLATE = {"ess-schedule": Role.SCHEDULE, "ess-setpoint": Role.SETPOINT,
                    "ess-user-setpoint": Role.USER_SETPOINT, "lessag-mode": Role.MODE}
PRIORITY_MAX = {Role.SCHEDULE: 3, Role.SETPOINT: 10, Role.USER_SETPOINT: 10, Role.MODE: 1}
# the household's modes (agents/site/capabilities.py LESSAG_MODES) → the LESSAg's local objective:
# minimum grid exchange never exports (UniRCon); minimum bill follows the day-ahead schedule that
# GESSCon computes at least cost for the feeder (self-consumption while it has none, said so)
STRATEGY_OF_MODE = {"self-consumption": Strategy.SELF_CONSUMPTION, "minimum-grid-exchange": Strategy.UNIRCON,
                    "minimum-bill": Strategy.FOLLOW_SCHEDULE}


@dataclass(frozen=True)
class CapabilityRole:
    role: Role | None  # None: a capability of the ESS the LESSAg does not know
    rules: OrderRules


@dataclass(frozen=True)
class StreamKeys:
    """The site Datastream keys the LESSAg reads (first block) and publishes."""

    soc: str = "SoC"
    ess_power: str = "P_ess"
    pv_power: str = "P_pv"
    load: str = "P_load"
    grid: str = "P_grid"
    setpoint: str = "P_dc_setpoint"
    priority: str = "setpointPriority"
    accepted: str = "setpointAccepted"
    mode: str = "lessagMode"
    pv_limit: str = "pvLimit"
    ev_power: str = "P_ev_total"  # the EV charging power on the PCC (the LEVChAg publishes it)
    ev_limit: str = "evLoadLimit"  # the EV load limit for the LEVChAg (data set, and the server if declared)


@dataclass(frozen=True)
class LessagConfig:
    device: str
    strategy: Strategy
    cycle_s: float
    limits: EssLimits
    capabilities: Mapping[str, CapabilityRole]
    setpoint_capability: str = "ess_setpoint"  # the capability named in the Commands it sends
    keys: StreamKeys = StreamKeys()
    import_margin_w: float = 100.0  # UniRCon's import kept at the PCC
    stale_s: float = 180.0  # readings older than this are no basis for a decision


def config_from_site(site: SiteSpec, plugin: PluginSpec) -> LessagConfig:
    options = plugin.options
    device = _ess_device(site, options.get("device"))
    cycle_s = float(options.get("cycle_s", 60))
    if not 1 <= cycle_s <= 60:
        raise ValueError(f"lessag cycle_s {cycle_s} is outside 1..60 s")
    limits = _limits(site, device, options)
    roles = {str(k): Role(str(v)) for k, v in dict(options.get("roles", {})).items()}
    capabilities = {c.key: _capability(c.key, roles.get(c.key) or ROLE_OF_TEMPLATE.get(c.template or ""),
                                       c.resolution_s, limits) for c in device.capabilities}
    setpoint = next((k for k, c in capabilities.items() if c.role is Role.SETPOINT), "ess_setpoint")
    keys = StreamKeys(**{str(k): str(v) for k, v in dict(options.get("keys", {})).items()})
    return LessagConfig(device.key, Strategy(str(options.get("strategy", Strategy.SELF_CONSUMPTION))), cycle_s,
                        limits, capabilities, setpoint, keys, float(options.get("import_margin_w", 100)),
                        float(options.get("stale_s", max(180.0, 3 * cycle_s))))


def _ess_device(site: SiteSpec, key: Any) -> DeviceSpec:
    if key is not None:
        return site.device(str(key))
    for device in site.devices:
        if device.kind in (DeviceKind.ESS, DeviceKind.GRID_ESS):
            return device
    raise ValueError(f"site {site.id} has no ESS device for the LESSAg")


def _limits(site: SiteSpec, device: DeviceSpec, options: Mapping[str, Any]) -> EssLimits:
    props = device.properties
    if props.max_capacity_wh is None or props.max_power_w is None:
        raise ValueError(f"ESS {device.key} needs max_capacity_wh and max_power_w for the LESSAg")
    battery = BatterySpec(props.max_capacity_wh, props.max_power_w, props.max_power_w,
                          props.min_soc_pct if props.min_soc_pct is not None else 10.0,
                          props.max_soc_pct if props.max_soc_pct is not None else 95.0,
                          float(options.get("charge_efficiency", 0.97)),
                          float(options.get("discharge_efficiency", 0.97)))
    contract_in = next((d.properties.contract_limit_in_w for d in site.devices
                        if d.properties.contract_limit_in_w is not None), None)
    contract_out = next((d.properties.contract_limit_out_w for d in site.devices
                         if d.properties.contract_limit_out_w is not None), None)
    return EssLimits(battery, contract_in, contract_out)


def _capability(key: str, role: Role | None, resolution_s: int | None, limits: EssLimits) -> CapabilityRole:
    source = Source.USER if role is Role.USER_SETPOINT else Source.GRID
    rules = OrderRules(source, limits.battery.max_charge_w, limits.battery.max_discharge_w,
                       PRIORITY_MAX[role] if role else 1, resolution_s or 60)
    return CapabilityRole(role, rules)
