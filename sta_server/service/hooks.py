"""Type-specific side effects of writes, keyed by entity type name (small functions, one per rule)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from sta_server.errors import InvalidEntity
from sta_server.model import EntityType
from sta_server.model.multidatastream import COMPLEX_OBSERVATION
from sta_server.model.tasking import TASKING_CAPABILITY
from sta_server.security.principal import authorize_task
from sta_server.service.body import ParsedBody
from sta_server.service.historical import historical_location_after, record_thing_moved
from sta_server.service.ordered_links import ordered_links_before_insert
from sta_server.sql.write import read_row
from sta_server.swe_common import check_description, validate_task_parameters

Hook = Callable[[Connection, ParsedBody], None]
AfterHook = Callable[[Connection, int, ParsedBody], None]


def _multi_datastream_before(conn: Connection, parsed: ParsedBody) -> None:
    values = parsed.values
    if "observation_type" in values and values["observation_type"] != COMPLEX_OBSERVATION:
        raise InvalidEntity(f"A MultiDatastream's observationType must be {COMPLEX_OBSERVATION}",
                            target="observationType")
    units, types = values.get("unit_of_measurements"), values.get("multi_observation_data_types")
    properties: list[Any] = parsed.links.get("ObservedProperties", (None, []))[1]
    if units is not None and types is not None and not len(units) == len(types) == len(properties):
        raise InvalidEntity("unitOfMeasurements, multiObservationDataTypes and ObservedProperties "
                            "must have the same length", target="unitOfMeasurements")


def _capability_before(conn: Connection, parsed: ParsedBody) -> None:
    if "tasking_parameters" in parsed.values:
        check_description(parsed.values["tasking_parameters"])


def _task_before(conn: Connection, parsed: ParsedBody) -> None:
    capability = parsed.values.get("tasking_capability_id")
    if capability is None:
        return  # reported as an incomplete entity
    row = read_row(conn, TASKING_CAPABILITY, capability, "tasking_parameters", "properties")
    if row is not None:  # a hidden or missing capability is reported as such by the link check
        authorize_task(row[1])
        validate_task_parameters(row[0], parsed.values.get("tasking_parameters"))


def _thing_after(conn: Connection, ident: int, parsed: ParsedBody) -> None:
    if "Locations" in parsed.links:
        record_thing_moved(conn, ident, datetime.now(UTC))


def _location_after(conn: Connection, ident: int, parsed: ParsedBody) -> None:
    from sta_server.service.body import reference_id

    for item in parsed.links.get("Things", (None, []))[1]:
        if "@iot.id" in item:
            thing = reference_id(item, "Things")
            record_thing_moved(conn, thing, datetime.now(UTC))


# Observations have no hooks: service/bulk.py is their one rule set, for every channel.
BEFORE_INSERT: dict[str, list[Hook]] = {
    "ObservedProperty": [ordered_links_before_insert],
    "MultiDatastream": [_multi_datastream_before],
    "TaskingCapability": [_capability_before],
    "Task": [_task_before],
}
AFTER_INSERT: dict[str, list[AfterHook]] = {
    "Thing": [_thing_after],
    "Location": [_location_after],
    "HistoricalLocation": [historical_location_after],
}
AFTER_UPDATE: dict[str, list[AfterHook]] = {
    "Thing": [_thing_after],
    "Location": [_location_after],
}


def has_before_insert(entity_type: EntityType) -> bool:
    return bool(BEFORE_INSERT.get(entity_type.name))


def has_after_insert(entity_type: EntityType) -> bool:
    return bool(AFTER_INSERT.get(entity_type.name))


def before_insert(conn: Connection, entity_type: EntityType, parsed: ParsedBody) -> None:
    for hook in BEFORE_INSERT.get(entity_type.name, []):
        hook(conn, parsed)


def after_insert(conn: Connection, entity_type: EntityType, ident: int, parsed: ParsedBody) -> None:
    for hook in AFTER_INSERT.get(entity_type.name, []):
        hook(conn, ident, parsed)


def after_update(conn: Connection, entity_type: EntityType, ident: int, parsed: ParsedBody) -> None:
    for hook in AFTER_UPDATE.get(entity_type.name, []):
        hook(conn, ident, parsed)
