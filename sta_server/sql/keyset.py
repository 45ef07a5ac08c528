"""Key-set paging: a nextLink carries the sort key of the page's last row (`$skiptoken`), and the
next page starts after it, so deep pages cost what the first one costs (no growing OFFSET).

Used when every $orderby key is a plain column of the entity (id, strings, instants, interval
starts); other orders page with $skip."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, or_

from sta_server.errors import InvalidQuery
from sta_server.model import EntityType, Kind
from sta_server.query import ast
from sta_server.sql.columns import value_expr

_KEYSET_KINDS = (Kind.ID, Kind.STRING, Kind.INSTANT, Kind.INTERVAL, Kind.TIME)


@dataclass(frozen=True)
class SortKey:
    expr: ColumnElement[Any]
    descending: bool
    is_time: bool


def sort_keys(orderby: tuple[ast.OrderBy, ...], entity_type: EntityType, table: FromClause,
              version: str) -> list[SortKey] | None:
    """The order as plain columns (with `id` last as tie-breaker, in the last key's direction, as
    select.py orders), or None when it is not."""
    keys = []
    for item in orderby:
        if not isinstance(item.expr, ast.Path) or len(item.expr.segments) != 1:
            return None
        prop = entity_type.prop(item.expr.segments[0])
        if prop is None or prop.since > version or prop.kind not in _KEYSET_KINDS:
            return None
        keys.append(SortKey(value_expr(prop, table), item.descending, prop.kind.is_time))
    if not any(k.expr is table.c.id for k in keys):
        last_descending = bool(orderby) and orderby[-1].descending
        keys.append(SortKey(table.c.id, last_descending, False))
    return keys


def key_labels(keys: list[SortKey]) -> list[ColumnElement[Any]]:
    return [key.expr.label(f"_key{i}") for i, key in enumerate(keys)]


def encode_token(keys: list[SortKey], row: Any) -> str | None:
    """The token after `row` (a row mapping with `_key<i>` columns); None when a key is null."""
    values = []
    for i, key in enumerate(keys):
        value = row[f"_key{i}"]
        if value is None:
            return None
        values.append(value.isoformat() if key.is_time else value)
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def after_token(keys: list[SortKey], token: str) -> ColumnElement[bool]:
    """Rows strictly after the row the token was made from, in the order of `keys`."""
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("length")
        values = [datetime.fromisoformat(v) if k.is_time else v for k, v in zip(keys, values, strict=True)]
    except (ValueError, TypeError):
        raise InvalidQuery("$skiptoken is not valid for this query", target="$skiptoken") from None
    terms = []
    for i, key in enumerate(keys):
        equal = [keys[j].expr == values[j] for j in range(i)]
        beyond = key.expr < values[i] if key.descending else key.expr > values[i]
        terms.append(and_(*equal, beyond))
    return or_(*terms)
