"""A lone Observation POST as ONE statement in autocommit mode (the most common write): the rule
set's stream check and generated feature, the row, the stream's extents, the rollup mark and the
audit row are data-modifying CTEs of one query (sql/observation_row.py `insert_checked`), so the
statement is the transaction: no BEGIN, no COMMIT, one round trip. A principal under row-level
security (a field agent) gets the same statement after its scoping, both in one pipeline: one
round trip, one implicit transaction, every policy applied to the statement as on the rule set's
path (sql/precompiled.py). Anything else — a FeatureOfInterest given, a MultiDatastream, an
idempotency key, a Thing whose feature was never generated, a stream missing or hidden from the
principal, any error — is left to the rule set (service/bulk.py) in a transaction of its own,
which answers exactly as before: nothing was written when this path declines (docs/writes.md).
Once the statement may have committed it never declines: a row stored but not read back is a 500
(logged, the row kept), a connection lost mid-statement the database error's answer (503)."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from sta_server.errors import StaError
from sta_server.query.path import ResourcePath
from sta_server.security.audit import columns as audit_columns
from sta_server.security.principal import authorize, current
from sta_server.service import bulk
from sta_server.service.events import EntityChanged
from sta_server.service.one_statement import run_alone
from sta_server.sql import observation_row
from sta_server.sql.side_effects import Extent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Created:
    """The new Observation: its id, its row as a read selects it, and its event (for after commit)."""

    id: int
    row: Mapping[str, Any]
    event: EntityChanged


def create_alone(engine: Engine, path: ResourcePath, body: Any, version: str) -> Created | None:
    """Store the Observation in one statement, committed; None: declined, nothing written."""
    principal = current()
    if not (isinstance(body, dict) and body.get("FeatureOfInterest") is None and bulk.takes(path, body)):
        return None
    try:
        stream = bulk.stream_of(path, body)
        if stream is None or stream[0] != "datastreams":
            return None
        authorize("create", "Observation")
        item = bulk.parse_one(path, body, version)
    except StaError:
        return None  # the rule set raises the same error
    values = item.values
    audit = audit_columns(principal, "created", bulk.OBSERVATION.name)
    start = values["phenomenon_time_start"]
    extent = Extent(start, values.get("phenomenon_time_end") or start, values.get("result_time"),
                    values.get("result_time"), [])
    row_values = {column: values.get(column) for column in bulk.COLUMNS if column != "feature_of_interest_id"}
    row_values["datastream_id"] = stream[1]
    labels = None if principal.unrestricted else principal.grants
    # once it may have committed, never declined: the rule set's path would store the row a second time
    row = run_alone(engine, lambda conn: observation_row.insert_checked(conn, row_values, version, extent, audit,
                                                                        labels),
                    lambda: f"a lone Observation POST (Datastream {stream[1]}, actor {principal.name})")
    if row is None:
        return None
    ident = int(row["id"])
    related = (("Datastream", int(row["stream_id"])), ("FeatureOfInterest", int(row["feature_id"])))
    return Created(ident, row, EntityChanged(bulk.OBSERVATION, ident, "created", related=related))
