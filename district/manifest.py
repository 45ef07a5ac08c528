"""The district file (`sites/district/district.yaml`): its clock, forecast sources and sites, each with
the emulators its field process talks to; and what the orchestrator needs of each site file (id,
radials, telemetry periods, contract limits) — read as plain YAML, since `agents` is a sibling layer."""
from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml

DEFAULT_TELEMETRY_S = 10.0  # agents/cli.py: a connector's `telemetry_s` when its options do not say


class ManifestError(ValueError):
    """The district file or one of its site files is not usable."""


@dataclass(frozen=True)
class SiteFacts:
    """What the orchestrator and the report read from a site file."""

    site_id: str
    radials: frozenset[str]
    # stream key -> telemetry period (s) of the connector that polls it (None: not polled, e.g. the plug-ins')
    telemetry_s: Mapping[str, float]
    contract_in_w: float | None
    contract_out_w: float | None
    observed_properties: frozenset[str] = frozenset()  # the ObservedProperty keys its streams use
    has_household_capabilities: bool = False  # a capability residents may task (properties.taskedBy)
    # the site id whose physics (simulation/physics.py) a connector of this site reads (`physics` option), or None
    physics_site: str | None = None


@dataclass(frozen=True)
class SiteEntry:
    path: pathlib.Path
    facts: SiteFacts
    emulated: bool = False
    emulators: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class District:
    clock_start: datetime
    clock_factor: float
    sites: tuple[SiteEntry, ...]
    forecasts: Mapping[str, str] = field(default_factory=dict)
    # optional part name (gesscon, gevchcon, simulation, gui) -> its environment (the caller's wins)
    parts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def load_district(path: pathlib.Path, root: pathlib.Path | None = None) -> District:
    """Read a district file; relative site paths are beside it, forecast file sources below `root`."""
    raw = _mapping(_read(path), str(path))
    clock = _mapping(raw.get("clock", {}), f"{path}: clock")
    try:
        start = datetime.fromisoformat(str(clock["start"]))
        factor = float(clock.get("factor", 10))
    except (KeyError, ValueError) as error:
        raise ManifestError(f"{path}: clock needs start (ISO time with zone) and factor: {error}") from error
    if start.tzinfo is None or factor <= 0:
        raise ManifestError(f"{path}: clock start needs a zone and factor must be positive")
    entries = raw.get("sites")
    if not isinstance(entries, list) or not entries:
        raise ManifestError(f"{path}: sites must be a non-empty list")
    sites = tuple(_site_entry(path.parent, _mapping(entry, f"{path}: sites[{n}]"), f"{path}: sites[{n}]")
                  for n, entry in enumerate(entries))
    ids = [site.facts.site_id for site in sites]
    if len(set(ids)) != len(ids):
        raise ManifestError(f"{path}: a site id appears twice ({', '.join(sorted(ids))})")
    forecasts = {str(key): _rooted(str(value), root) for key, value in
                 _mapping(raw.get("forecasts", {}), f"{path}: forecasts").items()}
    parts = {str(name): {str(key): str(value) for key, value in _mapping(env or {}, f"{path}: parts.{name}").items()}
             for name, env in _mapping(raw.get("parts", {}), f"{path}: parts").items()}
    return District(start, factor, sites, forecasts, parts)


def site_facts(path: pathlib.Path, emulated: bool = False) -> SiteFacts:
    """The site file's facts; with `emulated`, a device's `emulated:` options decide its telemetry period."""
    raw = _mapping(_read(path), str(path))
    site = _mapping(raw.get("site"), f"{path}: site")
    properties = _mapping(site.get("properties", {}), f"{path}: site.properties")
    site_id = str(site.get("id", ""))
    if not site_id:
        raise ManifestError(f"{path}: site.id is missing")
    radials = {str(properties["radial_id"])} if properties.get("radial_id") else set()
    telemetry: dict[str, float] = {}
    unpolled: list[str] = [str(s["key"]) for s in site.get("datastreams") or [] if isinstance(s, Mapping)]
    physics_site: str | None = None
    for listed in raw.get("devices") or []:
        device = _mapping(listed, f"{path}: devices")
        device_radial = _mapping(device.get("properties", {}), f"{path}: device properties").get("radial_id")
        if device_radial:
            radials.add(str(device_radial))
        connector = device.get("connector")
        period = None
        if isinstance(connector, Mapping):
            options = connector.get("options") or {}
            options = options if isinstance(options, Mapping) else {}
            alternative = options.get("emulated")
            if emulated and isinstance(alternative, Mapping):
                options = {**options, **alternative}
            physics = options.get("physics")
            if isinstance(physics, Mapping) and physics.get("source") == "simulation" and physics.get("site"):
                physics_site = str(physics["site"])
            period = float(options.get("telemetry_s", DEFAULT_TELEMETRY_S))
        for stream in [*(device.get("datastreams") or []), *(device.get("multidatastreams") or [])]:
            if isinstance(stream, Mapping) and period is not None:
                telemetry[str(stream["key"])] = period
            elif isinstance(stream, Mapping):
                unpolled.append(str(stream["key"]))
    if telemetry:  # written by the site's connectors for other devices (PV behind the inverter), or derived
        shortest = min(telemetry.values())
        telemetry.update({key: shortest for key in unpolled})
    return SiteFacts(site_id, frozenset(radials), telemetry, _number(properties.get("contract_limit_in_w")),
                     _number(properties.get("contract_limit_out_w")), frozenset(_observed_properties(raw)),
                     _residents_task(raw), physics_site)


def _residents_task(raw: Mapping[str, Any]) -> bool:
    """Whether a capability of the site names residents among the roles that task it."""
    devices = [d for d in raw.get("devices") or [] if isinstance(d, Mapping)]
    capabilities = [c for d in devices for c in d.get("capabilities") or [] if isinstance(c, Mapping)]
    named = [(c.get("properties") or {}).get("taskedBy") for c in capabilities]
    return any(isinstance(roles, list) and "resident" in roles for roles in named)


def _observed_properties(raw: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    holders = [raw.get("site") or {}, *(raw.get("devices") or [])]
    for holder in holders:
        if not isinstance(holder, Mapping):
            continue
        for stream in [*(holder.get("datastreams") or []), *(holder.get("multidatastreams") or [])]:
            if isinstance(stream, Mapping) and stream.get("observed_property"):
                found.add(str(stream["observed_property"]))
    return found


def _site_entry(folder: pathlib.Path, entry: Mapping[str, Any], where: str) -> SiteEntry:
    if "file" not in entry:
        raise ManifestError(f"{where}: file is missing")
    path = (folder / str(entry["file"])).resolve()
    devices = str(entry.get("devices", "simulated"))
    if devices not in ("simulated", "emulated"):
        raise ManifestError(f"{where}: devices is simulated or emulated, not {devices!r}")
    emulators = entry.get("emulators") or []
    if not isinstance(emulators, list) or not all(isinstance(argv, list) and argv for argv in emulators):
        raise ManifestError(f"{where}: emulators is a list of argument lists ([module, args...])")
    return SiteEntry(path, site_facts(path, devices == "emulated"), devices == "emulated",
                     tuple(tuple(str(arg) for arg in argv) for argv in emulators))


def _rooted(value: str, root: pathlib.Path | None) -> str:
    """`key=file:relative/path` sources made absolute below `root` (children may run elsewhere)."""
    if root is None:
        return value
    parts = []
    for part in value.split(";"):
        key, _, source = part.partition("=")
        if source.startswith("file:") and not source[5:].startswith("/"):
            source = f"file:{root / source[5:]}"
        parts.append(f"{key}={source}" if _ else part)
    return ";".join(parts)


def _read(path: pathlib.Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ManifestError(f"{path}: {error}") from error


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ManifestError(f"{where}: a mapping is expected")
    return value


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def physics_sites(district: District, simulation_env: Mapping[str, str]) -> list[str]:
    """The sites whose field process or emulators read physics the district's simulation writes (pure): none
    unless the simulation runs with ``SIM_PHYSICS`` on; of ``SIM_SITES`` when it names sites."""
    if simulation_env.get("SIM_PHYSICS", "0").strip().lower() not in {"1", "true", "yes", "on"}:
        return []
    named = {s.strip() for s in simulation_env.get("SIM_SITES", "").split(",") if s.strip()}
    found: list[str] = []
    for site in district.sites:
        reading = {site.facts.physics_site, *(emulator_physics_site(argv) for argv in site.emulators)} - {None}
        found += sorted(s for s in reading if s is not None and (not named or s in named) and s not in found)
    return found


def emulator_physics_site(argv: Sequence[str]) -> str | None:
    """The site an emulator's command line reads the simulation's physics of (``--physics-site``), or None."""
    for n, arg in enumerate(argv):
        if arg == "--physics-site" and n + 1 < len(argv):
            return argv[n + 1]
        if arg.startswith("--physics-site="):
            return arg.split("=", 1)[1]
    return None

