"""Bulk row writes with COPY: ids drawn from the table's sequence first, then one COPY stream."""
from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Table, func, select
from sqlalchemy.dialects.postgresql import JSONB


def copy_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` (column -> value) into `table` with COPY; returns their new ids, in order."""
    if not rows:
        return []
    sequence = func.pg_get_serial_sequence(table.name, "id")
    ids = [int(r[0]) for r in conn.execute(
        select(func.nextval(sequence)).select_from(func.generate_series(1, len(rows))))]
    columns = [c for c in table.c if c.name in rows[0] or c.name == "id"]
    json_columns = {c.name for c in columns if isinstance(c.type, JSONB)}
    names = ", ".join(f'"{c.name}"' for c in columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for ident, row in zip(ids, rows, strict=True):
            copy.write_row([ident if c.name == "id" else _value(row.get(c.name), c.name in json_columns)
                            for c in columns])
    return ids


def _value(value: Any, is_json: bool) -> Any:
    return Jsonb(value) if is_json and value is not None else value
