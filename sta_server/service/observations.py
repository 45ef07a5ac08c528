"""Keeping (Multi)Datastream extents right when Observations change or go."""
from __future__ import annotations

from sqlalchemy import ColumnElement, Connection

from sta_server.sql import rollups, side_effects
from sta_server.sql.tables import TABLES

Streams = set[tuple[str, int]]
_observations = TABLES["observations"]


def streams_where(conn: Connection, condition: ColumnElement[bool]) -> Streams:
    rollups.mark_dirty_where(conn, condition)  # before a change or delete, and after a change
    found = side_effects.streams_of_observations(conn, condition)
    return {(table, ident) for table, idents in found.items() for ident in idents}


def observation_streams(conn: Connection, ident: int) -> Streams:
    return streams_where(conn, _observations.c.id == ident)


def refresh_streams(conn: Connection, streams: Streams) -> None:
    for table in ("datastreams", "multi_datastreams"):
        side_effects.recompute_streams(conn, table, {ident for t, ident in streams if t == table})
