"""Ordered many-to-many links (a MultiDatastream's ObservedProperties): their order must match the
stream's `unitOfMeasurements` and `multiObservationDataTypes`, so they are given once, when the
entity that holds the order is created. From the other side (`ObservedProperty.MultiDatastreams`),
and in any update, changing them is a 400 (FROST MultiDatastreamTests test13)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from sta_server.errors import InvalidEntity
from sta_server.model import REGISTRY
from sta_server.model.multidatastream import COMPLEX_OBSERVATION, MULTI_DATASTREAM
from sta_server.service.body import ParsedBody, is_reference, reference_id
from sta_server.sql.write import ordered_link_ids, read_row


def check_ordered_links(parsed: ParsedBody, *, update: bool) -> None:
    for link, _ in parsed.links.values():
        other_side = link.link_table is not None and REGISTRY.inverse(link).order_column is not None
        if other_side or (link.order_column is not None and update):
            ordered = REGISTRY.inverse(link) if other_side else link
            owner = REGISTRY.inverse(ordered).target
            raise InvalidEntity(f"A {owner}'s {ordered.name} are given, in order, when the {owner} is "
                                f"created; they cannot be changed through '{link.name}'", target=link.name)


def drop_unchanged_ordered_links(conn: Connection, ident: int, parsed: ParsedBody) -> None:
    """An update (a PUT that sends the whole entity back) may repeat an ordered link as it is:
    then it is no change and is dropped; any other list stays, for check_ordered_links to refuse."""
    for name, (link, value) in list(parsed.links.items()):
        if link.order_column is None or not isinstance(value, list) or not all(map(is_reference, value)):
            continue
        given = [reference_id(item, link.name) for item in value]
        if given == ordered_link_ids(conn, link, ident):
            del parsed.links[name]


def ordered_links_before_insert(conn: Connection, parsed: ParsedBody) -> None:
    check_ordered_links(parsed, update=False)


def check_multi_datastream_update(conn: Connection, ident: int, values: dict[str, Any]) -> None:
    """A PATCH or PUT of a MultiDatastream keeps one unit and one data type per ObservedProperty
    (their number is fixed at create) and the complex observation type."""
    if "observation_type" in values and values["observation_type"] != COMPLEX_OBSERVATION:
        raise InvalidEntity(f"A MultiDatastream's observationType must be {COMPLEX_OBSERVATION}",
                            target="observationType")
    stored = read_row(conn, MULTI_DATASTREAM, ident, "multi_observation_data_types")
    count = len(stored[0]) if stored is not None and isinstance(stored[0], list) else None
    for column, name in (("unit_of_measurements", "unitOfMeasurements"),
                         ("multi_observation_data_types", "multiObservationDataTypes")):
        given = values.get(column)
        if given is not None and (not isinstance(given, list) or len(given) != count):
            raise InvalidEntity(f"{name} must have one member per ObservedProperty ({count})", target=name)
