"""Observations in the dataArray result format (OGC 18-088, section 13): rows grouped per stream."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sta_server.model import Kind, Property
from sta_server.model.selection import Selection
from sta_server.serialize.entity import JSON, keep_members, serialize_value


def component_name(prop: Property) -> str:
    """The name a property has in `components`: `id` for the id (as the spec prints it)."""
    return "id" if prop.kind is Kind.ID else prop.name


@dataclass
class StreamGroup:
    """The rows of one (Multi)Datastream: `link` is `Datastream` or `MultiDatastream`, `url` the
    stream's self link."""

    link: str
    url: str
    rows: list[Mapping[str, Any]] = field(default_factory=list)


def _component_value(prop: Property, row: Mapping[str, Any], selection: Selection) -> Any:
    if prop.kind is Kind.ID:
        return row["id"]
    value = serialize_value(prop, row)
    members = selection.members.get(prop.name)
    return keep_members(value, members) if members else value


def serialize_data_array(groups: Sequence[StreamGroup], components: Sequence[Property],
                         selection: Selection) -> list[JSON]:
    """One JSON object per stream: navigation link, components, count and the value arrays."""
    out: list[JSON] = []
    for group in groups:
        data = [[_component_value(prop, row, selection) for prop in components] for row in group.rows]
        out.append({
            f"{group.link}@iot.navigationLink": group.url,
            "components": [component_name(prop) for prop in components],
            "dataArray@iot.count": len(data),
            "dataArray": data,
        })
    return out
