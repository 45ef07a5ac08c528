"""SenML packs in, Observations out (and back): the naming rule and the per-record report.

Naming rule (how a resolved SenML name finds its Datastream), first match wins:
1. a Datastream whose `properties.senmlName` equals the name;
2. `<Thing.properties.deviceId, else Thing.name>/<ObservedProperty.name>` of a Datastream.
A name that matches no Datastream, or more than one, is rejected. A record's unit (`u`, else the
pack's `bu`) must equal the Datastream's `unitOfMeasurement.symbol`; a record without a unit is
taken in the Datastream's unit. The Observation gets phenomenonTime = the resolved time and
result = the value (`v`, `vs`, `vb`, `vd` as text) or, when there is none, the sum; a sum is also
kept in `parameters.senmlSum`.

Per record, not all-or-nothing: the pack is stored in one transaction, every record that maps and
is valid becomes an Observation, the others are reported with their reason.
"""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, String, cast, func, or_, select

from sta_server.errors import BadRequest, InvalidQuery, StaError
from sta_server.query.ast import Path, Query
from sta_server.query.path import ResourcePath
from sta_server.query.validate import resolve_select
from sta_server.serialize.senml import Record, SenmlError, decode_pack, resolve_pack
from sta_server.serialize.times import format_instant
from sta_server.service.bulk import create_observations
from sta_server.service.context import RequestContext
from sta_server.service.read import check_path
from sta_server.sql import select as sql
from sta_server.sql.tables import TABLES

_datastreams = TABLES["datastreams"]
_things = TABLES["things"]
_properties = TABLES["observed_properties"]
_SENML_SELECT = (Path(("id",)), Path(("phenomenonTime",)), Path(("result",)))


@dataclass(frozen=True)
class Target:
    """A Datastream a SenML name maps to, with the unit symbol records are checked against."""

    ident: int
    symbol: str | None


@dataclass
class Report:
    """What a pack did: per record index, the new Observation or the reason it was rejected."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected}


def _derived_name() -> Any:
    device = func.coalesce(_things.c.properties["deviceId"].astext, _things.c.name)
    return func.concat(device, "/", _properties.c.name)


def _joined() -> Any:
    return _datastreams.join(_things, _things.c.id == _datastreams.c.thing_id).join(
        _properties, _properties.c.id == _datastreams.c.observed_property_id)


def names_of(conn: Connection, datastream_ids: set[int]) -> dict[int, tuple[str, str | None]]:
    """Datastream id -> (SenML name by the naming rule, unit symbol)."""
    name = func.coalesce(_datastreams.c.properties["senmlName"].astext, _derived_name())
    symbol = _datastreams.c.unit_of_measurement["symbol"].astext
    stmt = select(_datastreams.c.id, cast(name, String), symbol).select_from(_joined()).where(
        _datastreams.c.id.in_(datastream_ids))
    return {int(row[0]): (row[1], row[2]) for row in conn.execute(stmt)}


def find_targets(conn: Connection, names: set[str]) -> dict[str, list[Target]]:
    """Name -> Datastreams it maps to; rule 1 (senmlName) hides rule 2 for the same name."""
    own = _datastreams.c.properties["senmlName"].astext
    symbol = _datastreams.c.unit_of_measurement["symbol"].astext
    stmt = select(_datastreams.c.id, own.label("own"), _derived_name().label("derived"),
                  symbol.label("symbol")).select_from(_joined()).where(
        or_(own.in_(names), _derived_name().in_(names)))
    by_own: dict[str, list[Target]] = defaultdict(list)
    by_derived: dict[str, list[Target]] = defaultdict(list)
    for row in conn.execute(stmt).mappings():
        target = Target(int(row["id"]), row["symbol"])
        if row["own"] in names:
            by_own[row["own"]].append(target)
        elif row["derived"] in names:
            by_derived[row["derived"]].append(target)
    return {name: by_own.get(name) or by_derived.get(name, []) for name in names}


def ingest_pack(conn: Connection, body: bytes, media_type: str, now_s: float | None = None) -> Report:
    """Store a SenML pack (JSON or CBOR) on `conn` (the caller owns the transaction)."""
    try:
        pack = decode_pack(body, media_type)
    except SenmlError as error:
        raise BadRequest(str(error)) from None
    resolved = resolve_pack(pack, time.time() if now_s is None else now_s).records
    names = {r.name for r in resolved if isinstance(r, Record)}
    targets = find_targets(conn, names) if names else {}
    report = Report()
    items: list[tuple[ResourcePath | None, Any]] = []
    indexes: list[tuple[int, Record, Target]] = []
    for index, record in enumerate(resolved):
        outcome = _map(record, targets)
        if isinstance(outcome, str):
            report.rejected.append(_rejection(index, record, outcome))
            continue
        assert isinstance(record, Record)  # _map gives a reason for every SenmlError
        try:
            observation = observation_body(record, outcome.ident)
        except (ValueError, OverflowError) as error:  # one record never costs its pack (no 500)
            report.rejected.append(_rejection(index, record, str(error)))
            continue
        items.append((None, observation))
        indexes.append((index, record, outcome))
    results = create_observations(conn, items).outcomes if items else []
    for (index, record, target), result in zip(indexes, results, strict=True):
        if isinstance(result, int):
            report.accepted.append({"index": index, "n": record.name, "Datastream@iot.id": target.ident,
                                    "Observation@iot.id": result})
        else:
            reason = result.message if isinstance(result, StaError) else "not stored"
            report.rejected.append(_rejection(index, record, reason))
    report.rejected.sort(key=lambda item: int(item["index"]))
    return report


def _rejection(index: int, record: Record | SenmlError, reason: str) -> dict[str, Any]:
    item: dict[str, Any] = {"index": index, "reason": reason}
    if isinstance(record, Record):
        item["n"] = record.name
    return item


def _map(record: Record | SenmlError, targets: dict[str, list[Target]]) -> Target | str:
    """The record's Datastream, or why it has none."""
    if isinstance(record, SenmlError):
        return str(record)
    found = targets.get(record.name, [])
    if not found:
        return f"No Datastream is named '{record.name}' (properties.senmlName or deviceId/ObservedProperty)"
    if len(found) > 1:
        return f"'{record.name}' names {len(found)} Datastreams"
    target = found[0]
    if record.unit is not None and record.unit != target.symbol:
        return f"Unit '{record.unit}' differs from the Datastream's unit '{target.symbol}'"
    return target


def observation_body(record: Record, datastream_id: int) -> dict[str, Any]:
    result = record.value if record.value is not None else record.sum
    body: dict[str, Any] = {"Datastream": {"@iot.id": datastream_id},
                            "phenomenonTime": format_instant(record.time), "result": result}
    if record.sum is not None:
        body["parameters"] = {"senmlSum": record.sum}
    return body


def records_of(rows: Sequence[Any], names: dict[int, tuple[str, str | None]]) -> list[Record]:
    """Observation rows (`id`, `phenomenonTime_start`, `result_number`, `result_json`,
    `Datastream@id`) as resolved SenML records; MultiDatastream Observations are left out."""
    records = []
    for row in rows:
        stream = row["Datastream@id"]
        if stream is None or stream not in names:
            continue
        name, unit = names[stream]
        number, value = row["result_number"], row["result_json"]
        result = number if number is not None else value
        if not isinstance(result, (int, float, str, bool)):
            result = str(result)
        records.append(Record(name, row["phenomenonTime_start"].timestamp(), unit, result))
    return records


def read_records(conn: Connection, path: ResourcePath, query: Query,
                 ctx: RequestContext) -> tuple[list[Record], str | None]:
    """A page of Observations as resolved SenML records, and the next page's link (if any)."""
    if path.entity_type.name != "Observation" or not path.is_collection or path.ref:
        raise InvalidQuery("SenML is given out for collections of Observations only", target="$resultFormat")
    if query.select is not None or query.expand:
        raise InvalidQuery("SenML records have fixed members: no $select or $expand", target="$select")
    check_path(conn, path)
    selection = resolve_select(path.entity_type, _SENML_SELECT, ctx.version)
    link = path.entity_type.link("Datastream")
    assert link is not None
    top = query.top if query.top is not None else ctx.default_top
    rows = conn.execute(sql.collection_select(path, query, selection, top, (link,))).mappings().all()
    next_link = None
    if len(rows) > top:
        rows = rows[:top]
        next_link = ctx.next_link(path.url_path(), query.skip + top, top)
    streams = {int(row["Datastream@id"]) for row in rows if row["Datastream@id"] is not None}
    return records_of(rows, names_of(conn, streams) if streams else {}), next_link
