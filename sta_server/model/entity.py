"""The building blocks of the entity model: Kind, Property, NavLink, EntityType."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Kind(Enum):
    """How a property is typed on the wire and laid out in storage.

    `suffixes` name the storage columns: column base + suffix (`phenomenon_time` + `_start`).
    """

    ID = ("id", "",)
    STRING = ("string", "",)
    JSON = ("json", "",)  # any JSON value (object for properties, unitOfMeasurement…)
    GEOJSON = ("geojson", "", "_geom")  # the GeoJSON as given, and its geometry (SRID 4326)
    AREA = ("area", "",)  # a geometry computed by the server, written out as GeoJSON
    INSTANT = ("instant", "",)  # ISO 8601 instant, timestamptz
    INTERVAL = ("interval", "_start", "_end")  # ISO 8601 interval start/end
    TIME = ("time", "_start", "_end")  # instant (end NULL) or interval
    RESULT = ("result", "_number", "_json")  # numbers in a double column, everything else as JSON

    def __init__(self, label: str, *suffixes: str) -> None:
        self.label = label
        self.suffixes = suffixes

    @property
    def read_suffixes(self) -> tuple[str, ...]:
        """The columns a read needs (a GeoJSON is written out as given; its geometry is for queries)."""
        return tuple(s for s in self.suffixes if s != "_geom")

    @property
    def is_time(self) -> bool:
        return self in (Kind.INSTANT, Kind.INTERVAL, Kind.TIME)


@dataclass(frozen=True)
class Property:
    """A property of an entity type, by its wire name (`phenomenonTime`) and storage column base."""

    name: str
    kind: Kind
    column: str
    required: bool = False
    read_only: bool = False
    since: str = "1.0"  # API version that introduced it (v1.0 clients do not see v1.1 additions)
    _columns: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_columns", tuple(self.column + suffix for suffix in self.kind.suffixes))

    def columns(self) -> tuple[str, ...]:
        """The storage columns (column base + each suffix of the kind)."""
        return self._columns


@dataclass(frozen=True)
class NavLink:
    """A navigation link. Storage is one of:

    - `fk`: a column of this type's table that holds the target's id (to-one);
    - `via`: the inverse link owns the foreign key (to-many side of a one-to-many);
    - `link_table` (+ `this_column`, `other_column`, optional `order_column`): many-to-many.
    """

    name: str
    target: str
    many: bool
    inverse: str
    fk: str | None = None
    link_table: str | None = None
    this_column: str | None = None
    other_column: str | None = None
    order_column: str | None = None
    required: bool = False
    since: str = "1.0"

    @property
    def via(self) -> bool:
        return self.fk is None and self.link_table is None


@dataclass(frozen=True)
class EntityType:
    name: str
    plural: str
    table: str
    properties: tuple[Property, ...]
    links: tuple[NavLink, ...]
    since: str = "1.0"
    _props: dict[str, Property] = field(init=False, repr=False, compare=False)
    _links: dict[str, NavLink] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_props", {p.name: p for p in self.properties})
        object.__setattr__(self, "_links", {link.name: link for link in self.links})

    def prop(self, name: str) -> Property | None:
        if name == "@iot.id":
            name = "id"
        return self._props.get(name)

    def link(self, name: str) -> NavLink | None:
        return self._links.get(name)

    def visible_properties(self, version: str) -> tuple[Property, ...]:
        return tuple(p for p in self.properties if p.since <= version)

    def visible_links(self, version: str) -> tuple[NavLink, ...]:
        return tuple(link for link in self.links if link.since <= version)
