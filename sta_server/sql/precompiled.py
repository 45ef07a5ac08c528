"""Statements compiled once and executed on the driver (psycopg) directly, for the hottest write
(a lone Observation POST): no per-request SQLAlchemy compile-cache look-up, parameter processing
or result set-up, and — for a principal under row-level security — the scoping and the statement
sent as ONE pipeline: one round trip, one implicit transaction (for any principal, the setting that
gives the statement a generic plan, see `_GENERIC`).

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


# A generic plan for the statement after it (an administrator's): PostgreSQL keeps choosing a custom
# plan for the lone POST's statement, planning it again on every execution (0.4 ms of its 0.8 ms of
# CPU, docs/benchmarks.md); its parameters are keys and values, which a generic plan serves as well.
_GENERIC = select(func.set_config("plan_cache_mode", "force_generic_plan", True))
# The scoping, and a generic plan for the statement after it: planning a statement under row-level
# security expands every policy it meets (several ms for the lone POST's), and the grants are read
# at execution time (sta_labels()), so psycopg's prepared statement keeps one plan per connection.
_SCOPE = select(func.set_config("role", SCOPED_ROLE, True),
                func.set_config(LABELS_SETTING, cast(cast(bindparam("labels"), ARRAY(Text)), Text), True),
                func.set_config("plan_cache_mode", "force_generic_plan", True))
_preludes: dict[tuple[Dialect, bool], Precompiled] = {}


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
    """The prelude (the scoping, or the generic plan alone) and the statement as ONE pipeline up
    to one Sync: one round trip, one implicit transaction, so the prelude's local settings hold
    for the statement and end with it."""
    scoped = scoped_labels is not None
    prelude = _preludes.get((conn.dialect, scoped))
    if prelude is None:
        prelude = _preludes.setdefault((conn.dialect, scoped), Precompiled.of(_SCOPE if scoped else _GENERIC,
                                                                              conn.dialect))
    prelude_params = prelude.parameters({"labels": sorted(scoped_labels)} if scoped_labels is not None else {})
    with raw.pipeline() as pipeline, raw.cursor() as setting, raw.cursor(row_factory=dict_row) as cur:
        setting.execute(prelude.text, prelude_params)
        cur.execute(statement.text, params)
        pipeline.sync()  # Sync: the implicit transaction ends (committed, or rolled back on error)
        ended[0] = True
        return cur.fetchone()
