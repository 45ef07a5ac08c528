"""What one level of a response writes out (the result of resolving $select)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sta_server.model.entity import NavLink, Property


@dataclass(frozen=True)
class Selection:
    """What one level of a response writes out: properties, navigation links, and for JSON
    properties selected by member (`properties/radialId`) the member paths to keep."""

    props: tuple[Property, ...]
    links: tuple[NavLink, ...]
    self_link: bool = True
    members: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
