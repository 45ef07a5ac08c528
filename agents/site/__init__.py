"""The site file: one SMX box's Things, Datastreams and TaskingCapabilities, declared in YAML.

`load_site(path)` reads and validates a file into a frozen `SiteSpec` (model.py); every error names
the file, the line and the field (`SiteFileError`).
"""
from agents.site.errors import SiteFileError
from agents.site.loader import load_site, parse_site
from agents.site.model import (
    CapabilitySpec,
    ComponentSpec,
    ConnectorSpec,
    DatastreamSpec,
    DeviceKind,
    DeviceProperties,
    DeviceSpec,
    MultiDatastreamSpec,
    NorthboundSpec,
    ObservedPropertySpec,
    PluginSpec,
    Position,
    SiteSpec,
    UnitSpec,
)

__all__ = [
    "CapabilitySpec", "ComponentSpec", "ConnectorSpec", "DatastreamSpec", "DeviceKind", "DeviceProperties",
    "DeviceSpec", "MultiDatastreamSpec", "NorthboundSpec", "ObservedPropertySpec", "PluginSpec", "Position",
    "SiteFileError", "SiteSpec", "UnitSpec", "load_site", "parse_site",
]
