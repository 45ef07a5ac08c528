"""The FeatureOfInterest rules of the Observation rule set (service/bulk.py): whose features a
stream may link, and the features generated from a Thing's Location."""
from __future__ import annotations

from sqlalchemy import Connection, select

from sta_server.model import REGISTRY
from sta_server.security.principal import Principal
from sta_server.service.events import EntityChanged, created_in, record
from sta_server.sql import side_effects
from sta_server.sql.policies import scope
from sta_server.sql.tables import TABLES

FEATURE_OF_INTEREST = REGISTRY.type("FeatureOfInterest")
_features = TABLES["features"]
_labels = TABLES["thing_labels"]
Stream = tuple[str, int]  # (stream table, id)


def trusted(principal: Principal) -> bool:
    """An administrator over HTTP may link any feature; scoped users and MQTT publishers may not."""
    return principal.unrestricted and principal.channel != "mqtt"


def foreign(conn: Connection, wanted: dict[Stream, set[int]]) -> set[tuple[Stream, int]]:
    """Features given by id (per stream) that the stream's own site may not see, under its Thing's
    `site:` labels and the same row-level security as HTTP: else an agent could link its
    Observations to another household's feature and read it through them. Only the site labels
    count: a `radial:` label is shared by every household on the feeder (docs/security.md), so with
    it an agent granted two sites of one radial linked one's feature to the other's stream (red
    team F1). A Thing without a site label is checked under all its labels; streams of unlabelled
    Things are visible to administrators only, so they are not checked. Features this request
    created (a deep insert) are its own, but not the ones it generated from a Location: those
    belong to their stream's Thing (else a row-by-row retry could link one row's generated feature
    to another row's stream)."""
    fresh = created_in(conn, FEATURE_OF_INTEREST) & set().union(*wanted.values())
    if fresh:
        fresh -= set(conn.execute(select(_features.c.id).where(
            _features.c.id.in_(fresh), _features.c.source_location_id.is_not(None))).scalars())
    found: set[tuple[Stream, int]] = set()
    for (table_name, stream), given in wanted.items():
        checked = given - fresh
        stream_table = TABLES[table_name]
        labels = [str(label) for label in conn.execute(
            select(_labels.c.label).join(stream_table, stream_table.c.thing_id == _labels.c.thing_id)
            .where(stream_table.c.id == stream)).scalars()] if checked else []
        if not labels:
            continue
        labels = site_labels(labels) or labels
        inner = conn.begin_nested()
        try:
            scope(conn, labels)
            seen = set(conn.execute(select(_features.c.id).where(_features.c.id.in_(checked))).scalars())
        finally:
            inner.rollback()  # ends the scoping too
        found |= {((table_name, stream), feature) for feature in checked - seen}
    return found


def site_labels(labels: list[str]) -> list[str]:
    """The household/plant labels among a Thing's labels (`site:<id>`, docs/security.md)."""
    return [label for label in labels if label.startswith("site:")]


def generated(conn: Connection, streams: set[Stream],
              firsts: dict[Stream, tuple[int | None, int | None]] | None = None) -> dict[Stream, int]:
    """The generated FeatureOfInterest of each stream, one query per stream table, none for the
    streams whose first Location and its feature were read already (`firsts`; new features are
    announced like any created entity)."""
    found: dict[Stream, int] = {}
    for table in {table for table, _ in streams}:
        ids = {ident for t, ident in streams if t == table}
        known = {ident: first for (t, ident), first in (firsts or {}).items() if t == table}
        for stream, (feature, created) in side_effects.streams_features(conn, table, ids, known).items():
            found[(table, stream)] = feature
            if created:
                record(conn, EntityChanged(FEATURE_OF_INTEREST, feature, "created"))
    return found
