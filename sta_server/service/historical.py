"""The HistoricalLocation rule of a create: a HistoricalLocation newer than every other one of its
Thing moves the Thing to its Locations; an older one only fills in the history."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from sta_server.model import REGISTRY
from sta_server.service.body import ParsedBody
from sta_server.service.events import EntityChanged, record
from sta_server.sql import historical_locations, side_effects


def historical_location_after(conn: Connection, ident: int, parsed: ParsedBody) -> None:
    if not historical_locations.is_newest(conn, ident):
        return
    thing = historical_locations.move_thing(conn, ident)
    if thing is not None:
        record(conn, EntityChanged(REGISTRY.type("Thing"), thing, "updated", frozenset({"Locations"})))


def record_history(conn: Connection, thing: int, locations: list[int], time: datetime) -> None:
    """A HistoricalLocation for a Thing that moved (its Locations changed), announced like any
    created entity (MQTT `v1.1/HistoricalLocations`, `v1.1/Things(1)/HistoricalLocations`)."""
    ident = side_effects.record_historical_location(conn, thing, locations, time)
    record(conn, EntityChanged(REGISTRY.type("HistoricalLocation"), ident, "created", related=(("Thing", thing),)))


def record_thing_moved(conn: Connection, thing: int, time: datetime) -> None:
    """record_history at the Thing's current Locations (none: nothing recorded), in one statement."""
    ident = side_effects.record_thing_history(conn, thing, time)
    if ident is not None:
        record(conn, EntityChanged(REGISTRY.type("HistoricalLocation"), ident, "created", related=(("Thing", thing),)))
