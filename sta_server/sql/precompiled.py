"""Statements compiled once and executed on the driver (psycopg) directly, for the hottest write
(a lone Observation POST): no per-request SQLAlchemy compile-cache look-up, parameter processing
or result set-up, and — for a principal under row-level security — the scoping and the statement
sent as ONE pipeline: one round trip, one implicit transaction.

PostgreSQL runs the messages of a pipeline up to its Sync as one implicit transaction (protocol
"Pipelining"; autocommit here, so no BEGIN): `set_config('role', 'sta_scoped', true)` and the
grants (sql/policies.py `scope`) hold for the statement after them and end with it, as they end
with the transaction on the rule set's path. The statement is planned after the role switch, so
every row policy applies to it as to any scoped request (PostgreSQL re-plans a prepared statement
whose row security was planned for another role). An error anywhere rolls the whole back."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import ARRAY, Connection, Text, bindparam, cast, func, select
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler

from sta_server.sql.policies import LABELS_SETTING, SCOPED_ROLE


@dataclass(frozen=True)
class Precompiled:
    """A statement's text in the driver's paramstyle, its constant parameters and the bind
    processors of its typed parameters (JSONB, arrays)."""

    text: str
    constants: Mapping[str, Any]
    processors: Mapping[str, Callable[[Any], Any]]

    @classmethod
    def of(cls, statement: Any, dialect: Dialect) -> Precompiled:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler) and not compiled.positional
        assert "POSTCOMPILE" not in compiled.string, "expanding parameters are not supported here"
        constants, processors = {}, {}
        for bind in compiled.binds.values():
            name = compiled.bind_names[bind]
            if not bind.required:
                constants[name] = bind.effective_value
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        return cls(compiled.string, constants, processors)

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        params = {**self.constants, **values}
        for name, processor in self.processors.items():
            if params.get(name) is not None:
                params[name] = processor(params[name])
        return params


# The scoping, and a generic plan for the statement after it: planning a statement under row-level
# security expands every policy it meets (several ms for the lone POST's), and the grants are read
# at execution time (sta_labels()), so psycopg's prepared statement keeps one plan per connection.
_SCOPE = select(func.set_config("role", SCOPED_ROLE, True),
                func.set_config(LABELS_SETTING, cast(cast(bindparam("labels"), ARRAY(Text)), Text), True),
                func.set_config("plan_cache_mode", "force_generic_plan", True))
_scope_cache: dict[Dialect, Precompiled] = {}


class CommittedUnread(RuntimeError):
    """The statement committed (autocommit) but its RETURNING row could not be read: a caller
    must not run it again (it would store a second row) and cannot answer from the row."""


def fetch_one(conn: Connection, statement: Precompiled, values: Mapping[str, Any],
              scoped_labels: Iterable[str] | None = None) -> dict[str, Any] | None:
    """Run `statement` on `conn` (in autocommit mode: the statement is its own transaction) and
    return its first row (column name -> value) or None; with `scoped_labels`, under row-level
    security as the scoped role with those grants, in the same round trip and transaction. A
    database error is raised as SQLAlchemy's DBAPIError: nothing was written unless the
    connection broke meanwhile (then the outcome is unknown); a failure after the statement
    ended (reading its row) raises CommittedUnread: the row is stored."""
    raw = conn.connection.driver_connection
    if raw is None or not raw.autocommit:
        raise RuntimeError("fetch_one needs a connection in autocommit mode")
    params = statement.parameters(values)
    ended = [False]
    try:
        return _fetch_one(conn, raw, statement, params, scoped_labels, ended)
    except psycopg.Error as error:
        if raw.broken:
            conn.invalidate()
        elif ended[0]:
            raise CommittedUnread(f"the statement committed; reading its row failed: {error!r}") from error
        raise DBAPIError.instance(statement.text, params, error, psycopg.Error) from error


def _fetch_one(conn: Connection, raw: psycopg.Connection[Any], statement: Precompiled, params: dict[str, Any],
               scoped_labels: Iterable[str] | None, ended: list[bool]) -> dict[str, Any] | None:
    if scoped_labels is None:
        with raw.cursor(row_factory=dict_row) as cur:
            cur.execute(statement.text, params)
            ended[0] = True  # autocommit: the statement's transaction has committed
            return cur.fetchone()
    scope = _scope_cache.get(conn.dialect)
    if scope is None:
        scope = _scope_cache.setdefault(conn.dialect, Precompiled.of(_SCOPE, conn.dialect))
    with raw.pipeline() as pipeline, raw.cursor() as scoping, raw.cursor(row_factory=dict_row) as cur:
        scoping.execute(scope.text, scope.parameters({"labels": sorted(scoped_labels)}))
        cur.execute(statement.text, params)
        pipeline.sync()  # Sync: the implicit transaction ends (committed, or rolled back on error)
        ended[0] = True
        return cur.fetchone()
