"""The pieces a `$apply` compiles into: the entities it starts from and the grouped stages."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, literal_column

from sta_server.model import EntityType
from sta_server.query import ast
from sta_server.query.ast import Aliased, Bucket
from sta_server.sql.typed import SqlType, Typed


@dataclass(frozen=True)
class OutColumn:
    """A column of a stage; `bucket` when it holds time bucket starts (its zone formats them)."""

    name: str
    type: SqlType
    key: bool
    bucket: Bucket | None = None


@dataclass
class Source:
    """The entities before the first grouping: the path's restriction, the filters and computes
    (kept as AST: the rollup planner rewrites them); `stream_id` for `Datastreams(n)/Observations`,
    `whole_set` for the bare entity set."""

    entity_type: EntityType
    table: FromClause
    version: str
    restriction: list[ColumnElement[bool]]
    stream_id: int | None = None
    whole_set: bool = False
    filters: list[ast.Node] = field(default_factory=list)
    computes: list[Aliased] = field(default_factory=list)


@dataclass
class Stage:
    """A grouped (or computed) result: a select with one labelled column per OutColumn, plus the
    hidden `_bad_<alias>` counts of non-numeric inputs (name -> alias)."""

    select: Select[Any]
    columns: list[OutColumn]
    checks: dict[str, str] = field(default_factory=dict)
    rollups: bool = False

    def key_columns(self) -> list[OutColumn]:
        return [c for c in self.columns if c.key]

    def aliases(self, table: FromClause) -> dict[str, Typed]:
        return {c.name: Typed(table.c[c.name], c.type) for c in self.columns}


def positions(count: int) -> list[ColumnElement[Any]]:
    """GROUP BY 1, 2, ...: the key columns by position (their SQL repeats bound parameters)."""
    return [literal_column(str(i + 1)) for i in range(count)]
