"""ResourcePath + Query -> SQLAlchemy Select (one statement per level of a request)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, FromClause, Select, and_, func, literal, over, select, true
from sqlalchemy.dialects.postgresql import ARRAY

from sta_server.errors import InvalidQuery
from sta_server.model import REGISTRY, EntityType, Kind, NavLink, Property
from sta_server.model.selection import Selection
from sta_server.query.ast import Query
from sta_server.query.path import ResourcePath
from sta_server.sql.columns import read_columns
from sta_server.sql.filters import compile_filter, compile_order_keys, ordered
from sta_server.sql.keyset import SortKey, after_token, key_labels, sort_keys
from sta_server.sql.relations import parent_join, related_ids, table_of
from sta_server.sql.tables import TABLES


def path_ids(path: ResourcePath) -> Select[Any] | None:
    """The ids of the entities a path ends in, as a subquery (None: the whole entity set)."""
    ids: Select[Any] | None = None
    previous: EntityType | None = None
    for step in path.steps:
        table = table_of(step.entity_type)
        if step.link is None:
            ids = select(table.c.id).where(table.c.id == step.id) if step.id is not None else None
        else:
            assert previous is not None
            ids = related_ids(step.link, ids, previous)
            if step.id is not None:
                ids = select(table.c.id).where(table.c.id == step.id, table.c.id.in_(ids))
        previous = step.entity_type
    return ids


def _apply_options(stmt: Select[Any], entity_type: EntityType, table: FromClause, query: Query,
                   version: str) -> Select[Any]:
    if query.filter is not None:
        stmt = stmt.where(compile_filter(query.filter, entity_type, table, version))
    return stmt


def _order_by(entity_type: EntityType, table: FromClause, query: Query,
              version: str) -> list[ColumnElement[Any]]:
    return [ordered(key, descending) for key, descending in _order_keys(entity_type, table, query, version)]


def _order_keys(entity_type: EntityType, table: FromClause, query: Query,
                version: str) -> list[tuple[ColumnElement[Any], bool]]:
    """The $orderby keys, then `id` in the direction of the last key, so that an index on
    (stream, phenomenonTime, id) serves `phenomenonTime desc` without a sort."""
    keys = compile_order_keys(query.orderby, entity_type, table, version)
    last_descending = bool(query.orderby) and query.orderby[-1].descending
    return [*keys, (table.c.id, last_descending)]


def path_condition(path: ResourcePath, table: FromClause) -> ColumnElement[bool] | None:
    """The condition that a row of `table` (the path's last type) lies on the path. A navigation
    held by the target's own foreign key (`Datastreams(1)/Observations`) becomes
    `datastream_id = 1`, not an IN over the target table, so its index serves order and limit."""
    last = path.last
    if last.link is None:
        return table.c.id == last.id if last.id is not None else None
    inverse = REGISTRY.inverse(last.link)
    if not last.link.via or inverse.fk is None:
        ids = path_ids(path)
        return table.c.id.in_(ids) if ids is not None else None
    parent = ResourcePath(path.version, path.steps[:-1])
    parent_last = parent.last
    if parent_last.link is None and parent_last.id is not None:
        condition = table.c[inverse.fk] == parent_last.id
    else:
        parent_ids = path_ids(parent)
        condition = table.c[inverse.fk].in_(parent_ids) if parent_ids is not None else table.c[inverse.fk].is_not(None)
    return condition if last.id is None else and_(condition, table.c.id == last.id)


def collection_select(path: ResourcePath, query: Query, selection: Selection, top: int,
                      link_keys: tuple[NavLink, ...] = ()) -> Select[Any]:
    """Rows of a collection page: top + 1 rows are fetched so that a next page can be detected.

    `link_keys` (to-one links held in a column) add that column, labelled `<link name>@id`."""
    entity_type = path.entity_type
    table = table_of(entity_type)
    stmt = select(table.c.id, *read_columns(entity_type, table, _data_props(selection)),
                  *_link_key_columns(table, link_keys))
    link = _ordered_link(path, query)
    if link is not None:
        return _ordered_collection(stmt, path, query, link, top)
    condition = path_condition(path, table)
    if condition is not None:
        stmt = stmt.where(condition)
    stmt = _apply_options(stmt, entity_type, table, query, path.version)
    keys = sort_keys(query.orderby, entity_type, table, path.version)
    if keys is not None:
        stmt = stmt.add_columns(*key_labels(keys))
        if query.skiptoken:
            stmt = stmt.where(after_token(keys, query.skiptoken))
    elif query.skiptoken:
        raise InvalidQuery("$skiptoken only pages queries ordered by plain properties", target="$skiptoken")
    stmt = stmt.order_by(*_order_by(entity_type, table, query, path.version))
    return stmt.offset(query.skip).limit(top + 1)


def _ordered_link(path: ResourcePath, query: Query) -> NavLink | None:
    """The path's last link when its own order applies (a MultiDatastream's ObservedProperties,
    read without $orderby)."""
    link = path.last.link
    return link if link is not None and link.order_column is not None and not query.orderby else None


def _ordered_collection(stmt: Select[Any], path: ResourcePath, query: Query, link: NavLink,
                        top: int) -> Select[Any]:
    """A navigation over an ordered link (`MultiDatastreams(1)/ObservedProperties`): joined to the
    link table, in the order given at create, an entity as often as it is linked."""
    assert link.this_column and link.order_column
    if query.skiptoken:
        raise InvalidQuery("$skiptoken only pages queries ordered by plain properties", target="$skiptoken")
    pairs = TABLES[str(link.link_table)]
    stmt = _on_ordered_link(stmt, path, query, link).order_by(pairs.c[link.this_column], pairs.c[link.order_column])
    return stmt.offset(query.skip).limit(top + 1)


def _on_ordered_link(stmt: Select[Any], path: ResourcePath, query: Query, link: NavLink) -> Select[Any]:
    """`stmt` over the path's entities joined to the rows of the ordered link (and $filter)."""
    assert link.link_table and link.this_column and link.other_column
    entity_type = path.entity_type
    table = table_of(entity_type)
    pairs = TABLES[link.link_table]
    parent_ids = path_ids(ResourcePath(path.version, path.steps[:-1]))
    assert parent_ids is not None
    stmt = stmt.select_from(table.join(pairs, pairs.c[link.other_column] == table.c.id))
    return _apply_options(stmt.where(pairs.c[link.this_column].in_(parent_ids)), entity_type, table,
                          query, path.version)


def page_keys(path: ResourcePath, query: Query) -> list[SortKey] | None:
    """The sort keys of a collection page when it can be paged by key (see sql/keyset.py)."""
    if _ordered_link(path, query) is not None:
        return None
    entity_type = path.entity_type
    return sort_keys(query.orderby, entity_type, table_of(entity_type), path.version)


def count_select(path: ResourcePath, query: Query) -> Select[Any]:
    link = _ordered_link(path, query)
    if link is not None:  # an entity linked twice is listed, and counted, twice
        return _on_ordered_link(select(func.count()), path, query, link)
    return select(func.count()).select_from(matching_ids(path, query).subquery())


def matching_ids(path: ResourcePath, query: Query) -> Select[Any]:
    """The ids of the collection's entities that pass $filter (no order, no paging)."""
    entity_type = path.entity_type
    table = table_of(entity_type)
    stmt = select(table.c.id)
    condition = path_condition(path, table)
    if condition is not None:
        stmt = stmt.where(condition)
    return _apply_options(stmt, entity_type, table, query, path.version)


def entity_select(path: ResourcePath, selection: Selection) -> Select[Any]:
    entity_type = path.entity_type
    table = table_of(entity_type)
    stmt = select(table.c.id, *read_columns(entity_type, table, _data_props(selection)))
    ids = path_ids(path)
    assert ids is not None
    return stmt.where(table.c.id.in_(ids))


def expand_select(link: NavLink, parent_ids: list[int], query: Query, selection: Selection,
                  top: int, version: str) -> Select[Any]:
    """Rows of one expanded link for many parents at once, each tagged with `_parent`; for to-many
    links at most skip + top + 1 per parent, so paging works per parent."""
    target_type = REGISTRY.target(link)
    target = table_of(target_type)
    columns = [target.c.id, *read_columns(target_type, target, _data_props(selection))]
    inverse = REGISTRY.inverse(link)
    if link.many and link.via and inverse.fk is not None:
        return _expand_lateral(inverse.fk, parent_ids, columns, query, top, target_type, version)
    order = _order_by(target_type, target, query, version)
    if link.link_table is not None and link.order_column is not None and not query.orderby:
        order = [TABLES[link.link_table].c[link.order_column]]  # the order given at create
    joined, parent_key = parent_join(link, target)
    stmt: Select[Any] = select(*columns, parent_key.label("_parent")).select_from(joined)
    stmt = stmt.where(parent_key.in_(parent_ids))
    stmt = _apply_options(stmt, target_type, target, query, version)
    if not link.many:
        return stmt
    rank = over(func.row_number(), partition_by=parent_key, order_by=order).label("_rank")
    inner = stmt.add_columns(rank).subquery()
    # By name: `inner.c._parent` would be the column collection's own `_parent` attribute.
    parent, ranked = inner.c["_parent"], inner.c["_rank"]
    outer = select(*[inner.c[c.key] for c in inner.c if c.key != "_rank"], ranked)
    outer = outer.where(ranked > query.skip, ranked <= query.skip + top + 1)
    return outer.order_by(parent, ranked)


def _expand_lateral(fk: str, parent_ids: list[int], columns: list[ColumnElement[Any]], query: Query,
                    top: int, target_type: EntityType, version: str) -> Select[Any]:
    """A to-many link held by the children's foreign key (`Datastream.Observations`): for each
    parent, its own ORDER BY … LIMIT, so the newest Observation of 2,000 streams is 2,000 short
    index scans instead of numbering every Observation of every stream. The sort keys come out as
    `_order<i>` columns so that the rows of each parent keep their order."""
    target = table_of(target_type)
    keys = _order_keys(target_type, target, query, version)
    parents = select(func.unnest(literal(parent_ids, ARRAY(BigInteger))).label("id")).subquery("parents")
    inner = select(*columns, *[key.label(f"_order{i}") for i, (key, _) in enumerate(keys)])
    inner = _apply_options(inner.where(target.c[fk] == parents.c.id), target_type, target, query, version)
    inner = inner.order_by(*[ordered(key, descending) for key, descending in keys])
    per_parent = inner.offset(query.skip).limit(top + 1).lateral("children")
    stmt = select(*[per_parent.c[c.key] for c in per_parent.c], parents.c.id.label("_parent"))
    stmt = stmt.select_from(parents.join(per_parent, true()))
    return stmt.order_by(parents.c.id, *[ordered(per_parent.c[f"_order{i}"], descending)
                                         for i, (_, descending) in enumerate(keys)])


def expand_count_select(link: NavLink, parent_ids: list[int], query: Query, version: str) -> Select[Any]:
    target_type = REGISTRY.target(link)
    target = table_of(target_type)
    joined, parent_key = parent_join(link, target)
    stmt = select(parent_key.label("_parent"), func.count().label("_count")).select_from(joined)
    stmt = stmt.where(parent_key.in_(parent_ids))
    stmt = _apply_options(stmt, target_type, target, query, version)
    return stmt.group_by(parent_key)


def _data_props(selection: Selection) -> tuple[Property, ...]:
    return tuple(p for p in selection.props if p.kind is not Kind.ID)


def _link_key_columns(table: FromClause, links: tuple[NavLink, ...]) -> list[ColumnElement[Any]]:
    columns: list[ColumnElement[Any]] = []
    for link in links:
        if link.fk is None:
            raise ValueError(f"{link.name} is not held in a column")
        columns.append(table.c[link.fk].label(f"{link.name}@id"))
    return columns
