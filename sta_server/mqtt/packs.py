"""Many Observations per message on the MQTT create path: SenML packs (`v1.1/SenML`) and
CreateObservations bodies (`v1.1/CreateObservations`), how field agents publish at scale.

A run of such messages in a batch is stored by **one** call of the Observation rule set
(service/bulk.py, through mqtt/observation_rows.py): one look-up of the SenML names of the whole
run, one stream check, one COPY, the extents once per stream. Run one by one (a SAVEPOINT and the
action's whole statement sequence per message) they cost 5-15 times as much per Observation as
single creates; together they cost less. Each row keeps the rules and errors of a POST of its pack or body
(service/senml.py, service/create_observations.py): a malformed message is refused whole, a row
or record that breaks a rule is refused alone and the others are stored."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import Connection

from sta_server.errors import BadRequest, StaError
from sta_server.mqtt.observation_rows import store_observations
from sta_server.serialize.json_text import parse_json
from sta_server.serialize.senml import Record, SenmlError, decode_pack, media_type_of, resolve_pack
from sta_server.service.bulk import OBSERVATION, Item
from sta_server.service.create_observations import parse_groups, row_body
from sta_server.service.events import begin_request
from sta_server.service.senml import _map, find_targets, observation_body

SENML = "SenML"
CREATE_OBSERVATIONS = "CreateObservations"
PACKS = (SENML, CREATE_OBSERVATIONS)
RECORD_REFUSED = {SENML: "SenMLRecord", CREATE_OBSERVATIONS: "CreateObservationsRow"}  # error codes, by row


@dataclass(frozen=True)
class Pack:
    resource: str  # SENML or CREATE_OBSERVATIONS
    payload: bytes


@dataclass
class PackOutcome:
    """What became of one message: Observations stored, rows refused (code, reason), or the whole
    message refused (`failed`: it is malformed, nothing of it was tried)."""

    accepted: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    failed: StaError | None = None


def store_packs(conn: Connection, packs: list[Pack], version: str) -> list[PackOutcome]:
    """Store the Observations of `packs` (the caller owns the transaction), one outcome per pack.
    A database condition (`transient`) is raised for the caller to retry the batch."""
    outcomes = [PackOutcome() for _ in packs]
    items: list[Item] = []
    owners: list[tuple[int, str]] = []  # per item: its pack and its label in a reason
    senml: list[tuple[int, tuple[Record | SenmlError, ...]]] = []
    for index, pack in enumerate(packs):
        try:
            if pack.resource == SENML:
                senml.append((index, _records(pack.payload)))
            else:
                _rows(index, pack.payload, version, items, owners, outcomes[index])
        except StaError as error:
            outcomes[index].failed = error
    names = {r.name for _, records in senml for r in records if isinstance(r, Record)}
    targets = find_targets(conn, names) if names else {}
    for index, records in senml:
        for number, record in enumerate(records):
            target = _map(record, targets)
            if isinstance(target, str):
                outcomes[index].refused.append((RECORD_REFUSED[SENML], f"record {number}: {target}"))
                continue
            assert isinstance(record, Record)  # _map gives a reason for every SenmlError
            try:
                body = observation_body(record, target.ident)
            except (ValueError, OverflowError) as error:  # one record never costs its pack
                outcomes[index].refused.append((RECORD_REFUSED[SENML], f"record {number}: {error}"))
                continue
            items.append((None, body))
            owners.append((index, f"record {number}"))
    if not items:
        return outcomes
    begin_request(conn)
    try:
        stored = store_observations(conn, items, version)
    except StaError as error:  # e.g. the principal may not create Observations at all
        if error.transient:
            raise
        stored = [error] * len(items)
    for (index, label), result in zip(owners, stored, strict=True):
        if isinstance(result, int):
            outcomes[index].accepted += 1
        else:
            code = RECORD_REFUSED[packs[index].resource]
            outcomes[index].refused.append((code, f"{label}: {result.message}"))
    return outcomes


def _records(payload: bytes) -> tuple[Record | SenmlError, ...]:
    """A SenML pack's resolved records, as `POST /v1.1/SenML` resolves them (service/senml.py)."""
    try:
        pack = decode_pack(payload, media_type_of(payload))
    except SenmlError as error:
        raise BadRequest(str(error)) from None
    return resolve_pack(pack, time.time()).records


def _rows(index: int, payload: bytes, version: str, items: list[Item], owners: list[tuple[int, str]],
          outcome: PackOutcome) -> None:
    """A CreateObservations body's rows as Observation creates (service/create_observations.py)."""
    try:
        body = parse_json(payload or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"The body is not valid JSON: {error}") from None
    groups = parse_groups(OBSERVATION, body, version)
    number = 0
    for group in groups:
        for row in group.rows:
            try:
                items.append((None, row_body(group, row)))
                owners.append((index, f"row {number}"))
            except StaError as error:
                outcome.refused.append((RECORD_REFUSED[CREATE_OBSERVATIONS], f"row {number}: {error.message}"))
            number += 1
