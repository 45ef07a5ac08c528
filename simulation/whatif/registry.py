"""Find-or-create of the shared entities a what-if job writes against (its Sensor, ObservedProperties,
the buses' and lines' FeaturesOfInterest), through sta_client. Found by a stable member (name,
definition, `properties/key`), so a second job or a restarted engine re-uses them."""
from __future__ import annotations

from typing import Any

from simulation.whatif.streams import StreamKind
from sta_client import EntityId, Query, StaClient, literal

SENSOR_NAME = "DSF-SE what-if engine (pandapower + SimBench)"


def find_or_create(sta: StaClient, entity_set: str, condition: str, body: dict[str, Any]) -> EntityId:
    rows = sta.page(entity_set, Query().filter(condition).select("id").top(1)).values
    if rows:
        found: EntityId = rows[0]["@iot.id"]
        return found
    return sta.create(entity_set, body)


def sensor(sta: StaClient) -> EntityId:
    return find_or_create(sta, "Sensors", f"name eq {literal(SENSOR_NAME)}",
                          {"name": SENSOR_NAME, "description": "time-series power flows of what-if studies",
                           "encodingType": "text/plain", "metadata": "pandapower runpp (Newton-Raphson)"})


def observed_properties(sta: StaClient, kinds: list[StreamKind]) -> dict[str, EntityId]:
    ids: dict[str, EntityId] = {}
    for kind in kinds:
        if kind.observed_property not in ids:
            ids[kind.observed_property] = find_or_create(
                sta, "ObservedProperties", f"definition eq {literal(kind.observed_property)}",
                {"name": kind.name, "definition": kind.observed_property, "description": kind.name})
    return ids


def feature(sta: StaClient, key: str, name: str, geometry: dict[str, Any]) -> EntityId:
    """A bus's or line's FeatureOfInterest (GeoJSON geometry), found by `properties.key`."""
    return find_or_create(sta, "FeaturesOfInterest", f"properties/key eq {literal(key)}",
                          {"name": name, "description": key, "encodingType": "application/geo+json",
                           "feature": geometry, "properties": {"key": key}})
