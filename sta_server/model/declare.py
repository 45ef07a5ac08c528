"""Short constructors for declaring entity types (column names derived from wire names)."""
from __future__ import annotations

import re

from sta_server.model.entity import Kind, NavLink, Property

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake(name: str) -> str:
    """`phenomenonTime` -> `phenomenon_time`; `MultiDatastream` -> `multi_datastream`."""
    return _CAMEL.sub("_", name).lower()


def prop(name: str, kind: Kind = Kind.STRING, *, required: bool = False, read_only: bool = False,
         since: str = "1.0") -> Property:
    return Property(name, kind, snake(name), required=required, read_only=read_only, since=since)


ID = Property("id", Kind.ID, "id", read_only=True)


def to_one(name: str, target: str, inverse: str, *, required: bool = False) -> NavLink:
    """A to-one link held in this table's `<name>_id` column."""
    return NavLink(name, target, many=False, inverse=inverse, fk=snake(name) + "_id", required=required)


def to_many(name: str, target: str, inverse: str, *, since: str = "1.0") -> NavLink:
    """The many side of a one-to-many: the target's `inverse` link holds the key."""
    return NavLink(name, target, many=True, inverse=inverse, since=since)


def many_to_many(name: str, this: str, target: str, inverse: str, table: str, *,
                 order_column: str | None = None, required: bool = False) -> NavLink:
    return NavLink(
        name, target, many=True, inverse=inverse, link_table=table,
        this_column=snake(this) + "_id", other_column=snake(target) + "_id",
        order_column=order_column, required=required,
    )
