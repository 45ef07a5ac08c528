"""Ordered many-to-many links (a MultiDatastream's ObservedProperties): their order must match the
stream's `unitOfMeasurements` and `multiObservationDataTypes`, so they are given once, when the
entity that holds the order is created. From the other side (`ObservedProperty.MultiDatastreams`),
and in any update, changing them is a 400 (FROST MultiDatastreamTests test13)."""
from __future__ import annotations

from sqlalchemy import Connection

from sta_server.errors import InvalidEntity
from sta_server.model import REGISTRY
from sta_server.service.body import ParsedBody


def check_ordered_links(parsed: ParsedBody, *, update: bool) -> None:
    for link, _ in parsed.links.values():
        other_side = link.link_table is not None and REGISTRY.inverse(link).order_column is not None
        if other_side or (link.order_column is not None and update):
            ordered = REGISTRY.inverse(link) if other_side else link
            owner = REGISTRY.inverse(ordered).target
            raise InvalidEntity(f"A {owner}'s {ordered.name} are given, in order, when the {owner} is "
                                f"created; they cannot be changed through '{link.name}'", target=link.name)


def ordered_links_before_insert(conn: Connection, parsed: ParsedBody) -> None:
    check_ordered_links(parsed, update=False)
