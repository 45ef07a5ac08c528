"""`POST /v1.1/$batch` (OGC 18-088 section 11): OData 4.0 multipart/mixed and OData 4.01 JSON.

Every request goes through the same `execute` as a request of its own. A request outside a change
set runs like one (reads on a connection, writes in their own transaction). A change set (multipart)
or atomicity group (JSON) runs in ONE transaction: when one of its requests fails, the transaction
rolls back, the failing request's error answers for the set (multipart) or for that request with
424 Failed Dependency for the others (JSON), and the batch goes on with its next request. Events
of a change set go out once it has committed. A request whose `dependsOn` names a failed request or
group answers 424 without running.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import Connection

from sta_server.api.batch_items import BatchItem, ItemResult, References, Unit, reference_of, to_api_request
from sta_server.api.batch_json import parse_json_batch, render_json
from sta_server.api.batch_multipart import boundary_of, parse_multipart, render_multipart
from sta_server.api.entities import app_dispatcher, parse_version
from sta_server.errors import BadRequest, StaError
from sta_server.serialize.json_text import parse_json
from sta_server.service.database_errors import classify
from sta_server.service.dispatch import Dispatcher, Outcome
from sta_server.service.events import transaction

log = logging.getLogger(__name__)
blueprint = Blueprint("batch", __name__)
FAILED_DEPENDENCY = 424


class _ChangeSetFailed(Exception):
    def __init__(self, index: int, outcome: Outcome) -> None:
        super().__init__(outcome.status)
        self.index = index
        self.outcome = outcome


@blueprint.post("/<version_text>/$batch")
def batch(version_text: str) -> Response:
    version = parse_version(version_text)
    body = request.get_data(cache=False)
    if request.mimetype == "multipart/mixed":
        items = parse_multipart(body, boundary_of(request.content_type or ""))
        text, boundary = render_multipart(_Batch(version, app_dispatcher()).run(items))
        return Response(text, content_type=f"multipart/mixed; boundary={boundary}")
    if request.mimetype == "application/json":
        try:
            document = parse_json(body or b"null")
        except (ValueError, UnicodeDecodeError) as error:
            raise BadRequest(f"The batch is not valid JSON: {error}") from None
        units = _Batch(version, app_dispatcher()).run(parse_json_batch(document))
        return jsonify(render_json(units))
    raise BadRequest(f"A $batch is multipart/mixed or application/json, not '{request.mimetype}'")


def error_outcome(error: Exception) -> Outcome:
    known = classify(error)
    if known is not None:
        return Outcome(int(known.status), known.to_json())
    log.error("unhandled error in a batch request", exc_info=error)
    return Outcome(500, StaError("Internal server error").to_json())


def _groups(items: list[BatchItem]) -> Iterator[tuple[str | None, list[BatchItem]]]:
    """Requests on their own, and runs of adjacent requests of one change set."""
    run: list[BatchItem] = []
    for item in items:
        if run and (item.group is None or item.group != run[0].group):
            yield run[0].group, run
            run = []
        if item.group is None:
            yield None, [item]
        else:
            run.append(item)
    if run:
        yield run[0].group, run


class _Batch:
    """The state of one batch: ids of the entities created so far, and what has failed."""

    def __init__(self, version: str, dispatcher: Dispatcher) -> None:
        self.version = version
        self.dispatcher = dispatcher
        self.references: References = {}
        self.failed: set[str] = set()

    def run(self, items: list[BatchItem]) -> list[Unit]:
        units = []
        for group, members in _groups(items):
            unit = self._single(members[0]) if group is None else self._change_set(group, members)
            units.append(unit)
        return units

    def _blocked(self, item: BatchItem) -> Outcome | None:
        blocking = [d for d in item.depends_on if d in self.failed]
        if not blocking:
            return None
        error = StaError(f"Not run: it depends on '{blocking[0]}', which failed")
        error.code = "FailedDependency"
        return Outcome(FAILED_DEPENDENCY, error.to_json())

    def _execute(self, conn: Connection, item: BatchItem, references: References) -> Outcome:
        req = to_api_request(item, self.version, references)
        if req.idempotency_key is not None and req.method == "POST":  # a retried batch stores it once
            outcome = self.dispatcher.execute_once(conn, req, req.idempotency_key)
        else:
            outcome = self.dispatcher.execute(conn, req)
        created = reference_of(outcome) if outcome.status == 201 else None
        if item.id is not None and created is not None:
            references[item.id] = created
        return outcome

    def _single(self, item: BatchItem) -> Unit:
        outcome = self._blocked(item)
        if outcome is None:
            try:
                outcome = self._run_alone(item)
            except Exception as error:  # the batch answers per request; see error_outcome
                outcome = error_outcome(error)
        if outcome.status >= 400 and item.id is not None:
            self.failed.add(item.id)
        return Unit(None, [ItemResult(item, outcome)])

    def _run_alone(self, item: BatchItem) -> Outcome:
        if item.method.upper() == "GET":
            with self.dispatcher.engine.connect() as conn:
                return self._execute(conn, item, self.references)
        with transaction(self.dispatcher.engine, self.dispatcher.bus) as conn:
            return self._execute(conn, item, self.references)

    def _change_set(self, group: str, items: list[BatchItem]) -> Unit:
        references = dict(self.references)
        outcomes: list[Outcome] = []
        try:
            with transaction(self.dispatcher.engine, self.dispatcher.bus) as conn:
                for index, item in enumerate(items):
                    outcomes.append(self._in_change_set(conn, index, item, references))
        except _ChangeSetFailed as failure:
            return self._failed_set(group, items, failure)
        self.references = references
        return Unit(group, [ItemResult(item, o) for item, o in zip(items, outcomes, strict=True)])

    def _in_change_set(self, conn: Connection, index: int, item: BatchItem,
                       references: References) -> Outcome:
        blocked = self._blocked(item)
        if blocked is not None:
            raise _ChangeSetFailed(index, blocked)
        try:
            return self._execute(conn, item, references)
        except Exception as error:  # rolls the change set back; answered per error_outcome
            raise _ChangeSetFailed(index, error_outcome(error)) from error

    def _failed_set(self, group: str, items: list[BatchItem], failure: _ChangeSetFailed) -> Unit:
        self.failed.add(group)
        self.failed.update(item.id for item in items if item.id is not None)
        failing = items[failure.index].id
        results = []
        for index, item in enumerate(items):
            if index == failure.index:
                results.append(ItemResult(item, failure.outcome))
                continue
            error = StaError(f"Rolled back: request '{failing}' of the same change set failed")
            error.code = "FailedDependency"
            results.append(ItemResult(item, Outcome(FAILED_DEPENDENCY, error.to_json())))
        return Unit(group, results, failure.index)
