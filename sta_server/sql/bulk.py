"""Bulk row writes with COPY: ids drawn from the table's sequence first, then one COPY stream.

COPY goes through the driver's cursor, not SQLAlchemy: its errors are wrapped here as SQLAlchemy
would wrap a statement's (a statement timeout is an OperationalError with SQLSTATE 57014, a value
out of range a DataError…), so every caller sees one kind of database error whatever the call."""
from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Table, func, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError


def copy_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` (column -> value) into `table` with COPY; returns their new ids, in order. A
    single row (a POST) is one INSERT … RETURNING instead: one round trip, a cached statement."""
    if not rows:
        return []
    if len(rows) == 1:  # None is left to the column's default (NULL), never stored as JSON null
        values = {name: value for name, value in rows[0].items() if value is not None}
        return [int(conn.execute(insert(table).values(values).returning(table.c.id)).scalar_one())]
    sequence = func.pg_get_serial_sequence(table.name, "id")
    ids = [int(r[0]) for r in conn.execute(
        select(func.nextval(sequence)).select_from(func.generate_series(1, len(rows))))]
    columns = [c for c in table.c if c.name in rows[0] or c.name == "id"]
    json_columns = {c.name for c in columns if isinstance(c.type, JSONB)}
    names = ", ".join(f'"{c.name}"' for c in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    try:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for ident, row in zip(ids, rows, strict=True):
                copy.write_row([ident if c.name == "id" else _value(row.get(c.name), c.name in json_columns)
                                for c in columns])
    except psycopg.Error as error:
        raise DBAPIError.instance(statement, None, error, psycopg.Error) from error
    return ids


def _value(value: Any, is_json: bool) -> Any:
    return Jsonb(value) if is_json and value is not None else value
