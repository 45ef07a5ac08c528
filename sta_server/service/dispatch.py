"""The one request dispatcher, free of any transport: HTTP (api/entities.py), `$batch`
(api/batch.py) and MQTT creates (mqtt/ingest.py) all describe what they want as an `ApiRequest`
and get an `Outcome` back (or a StaError raised; database failures are classified by
service/database_errors.py the same way for every channel).

Formats other than JSON for reads are a transport's concern (content negotiation): the HTTP side
hands in a `FormatReader`; without one, reads answer JSON.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from sta_server.errors import BadRequest, MethodNotAllowed, StaError
from sta_server.query.ast import Query
from sta_server.query.options import parse_query
from sta_server.query.path import ResourcePath, Step, parse_path
from sta_server.security import audit
from sta_server.security.principal import current
from sta_server.serialize import senml as senml_format
from sta_server.serialize.json_text import parse_json
from sta_server.service.aggregate import read_aggregate
from sta_server.service.bulk import OBSERVATION, Item, takes
from sta_server.service.bulk import create_observations as create_rows
from sta_server.service.context import RequestContext
from sta_server.service.create import create
from sta_server.service.create_observations import create_observations
from sta_server.service.database_errors import classify
from sta_server.service.delete import delete
from sta_server.service.events import EventBus, begin_request, created_row, savepoint, transaction
from sta_server.service.idempotency import Answer, begin_once, fingerprint, finish_once
from sta_server.service.lone_delete import delete_alone
from sta_server.service.lone_observation import create_alone
from sta_server.service.read import read, read_entity, render_row
from sta_server.service.senml import ingest_pack
from sta_server.service.update import update
from sta_server.settings import Settings


@dataclass(frozen=True)
class ApiRequest:
    """One request, whether it came over HTTP, inside a $batch or over MQTT: `resource` is the path
    after the version (`Things(1)/Datastreams`), `params` its query parameters (percent-decoded)."""

    method: str
    version: str
    resource: str
    params: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    mimetype: str = "application/json"
    accept: str = ""  # the Accept header (formats other than JSON: api/formats.py)
    idempotency_key: str | None = None  # a retried POST is stored once
    answer: bool = True  # False: a create answers its Location only (MQTT: nobody reads the body)

    @property
    def writes(self) -> bool:
        return self.method != "GET"


@dataclass
class Outcome:
    """What a request answers: a status, a JSON body (or text for `$value`), extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    text: bool = False
    content_type: str | None = None  # a body in another format (text, bytes or a stream of text)


class FormatReader(Protocol):
    """Reads in formats other than JSON, chosen by the transport (`$resultFormat`, Accept)."""

    def read(self, conn: Connection, path: ResourcePath, ctx: RequestContext, accept: str) -> Outcome | None: ...

    def aggregate(self, conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext,
                  accept: str) -> Outcome | None: ...


def json_body(req: ApiRequest) -> Any:
    try:
        return parse_json(req.body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"The body is not valid JSON: {error}") from None


@dataclass(frozen=True)
class Dispatcher:
    settings: Settings
    engine: Engine
    bus: EventBus | None = None
    formats: FormatReader | None = None

    def context(self, version: str, params: dict[str, str]) -> RequestContext:
        s = self.settings
        return RequestContext(f"{s.base_url}/v{version}", version, s.default_top, s.max_top, params,
                              s.count_estimate_threshold, s.max_expand_depth, s.max_csv_rows)

    def run(self, req: ApiRequest) -> Outcome:
        """A request on its own: reads on a connection, writes in one transaction (events after commit)."""
        if not req.writes:
            with self.engine.connect() as conn:
                return self.execute(conn, req)
        if req.method == "POST" and req.idempotency_key is None:
            alone = self._observation_alone(req)
            if alone is not None:
                return alone
        if req.method == "DELETE" and self._deleted_alone(req):
            return Outcome(200)
        with transaction(self.engine, self.bus) as conn:
            if req.idempotency_key is not None and req.method == "POST":
                return self.execute_once(conn, req, req.idempotency_key)
            return self.execute(conn, req)

    def _observation_alone(self, req: ApiRequest) -> Outcome | None:
        """An Observation POST in one committed statement (service/lone_observation.py); None:
        declined (nothing written), the request takes the ordinary path."""
        try:
            path = parse_path(req.version, req.resource)
            if path.entity_type is not OBSERVATION or req.resource.strip("/") in ACTIONS:
                return None
            created = create_alone(self.engine, path, json_body(req), req.version)
        except StaError:
            return None  # the ordinary path raises the same error
        if created is None:
            return None
        if self.bus is not None:
            self.bus.publish([created.event])
        ctx = self.context(req.version, req.params)
        if not req.answer:
            return Outcome(201, None, {"Location": ctx.links.self_link(OBSERVATION, created.id)})
        body = render_row(OBSERVATION, created.row, ctx)
        return Outcome(201, body, {"Location": body["@iot.selfLink"]})

    def _deleted_alone(self, req: ApiRequest) -> bool:
        """A DELETE in one committed statement (service/lone_delete.py); False: declined (nothing
        deleted), the request takes the ordinary path."""
        if req.resource.strip("/") in ACTIONS:
            return False
        try:
            event = delete_alone(self.engine, parse_path(req.version, req.resource))
        except StaError:
            return False  # the ordinary path raises the same error
        if event is not None and self.bus is not None:
            self.bus.publish([event])
        return event is not None

    def execute_once(self, conn: Connection, req: ApiRequest, key: str) -> Outcome:
        """A POST with an idempotency key: the first one runs, its retries get the first answer."""
        # Keys are the sender's own (service/idempotency.py): another user's equal key is another key.
        owner = current().name
        target = f"{owner} {req.version}/{req.resource}?{sorted(req.params.items())}"
        replay = begin_once(conn, key, fingerprint(req.method, target, req.body), owner)
        if replay is not None:
            headers = {"Location": replay.location} if replay.location else {}
            return Outcome(replay.status, replay.body, headers)
        outcome = self.execute(conn, req)
        if not outcome.text and outcome.content_type is None:
            finish_once(conn, key, Answer(outcome.status, outcome.body, outcome.headers.get("Location")), owner)
        return outcome

    def execute(self, conn: Connection, req: ApiRequest) -> Outcome:
        """Run one request on `conn` (the caller owns the transaction); raises StaError."""
        begin_request(conn)
        action = ACTIONS.get(req.resource.strip("/"))
        if action is not None:
            return action(self, conn, req)
        path = parse_path(req.version, req.resource)
        ctx = self.context(req.version, req.params)
        if req.method == "GET":
            return self._get(conn, path, ctx, req.accept)
        if req.method == "POST":
            return self.entity_outcome(conn, ctx, path, create(conn, path, json_body(req)), 201, req.answer)
        if req.method in ("PATCH", "PUT"):
            return self._patch(conn, path, ctx, req)
        if req.method == "DELETE":
            delete(conn, path)
            return Outcome(200)
        raise MethodNotAllowed(f"{req.method} is not supported")

    def create_many(self, conn: Connection, reqs: list[ApiRequest]) -> list[Outcome | StaError]:
        """Many creates in one transaction (MQTT ingest), in order: each run of Observations the
        rule set takes as they are goes to it in one call; any other request runs alone on a
        SAVEPOINT. A request's own fault answers its StaError; a database condition (a statement
        timeout, an outage: `transient`) is raised, for the caller to retry the whole."""
        results: list[Outcome | StaError] = []
        run: list[Item] = []
        for index, req in enumerate(reqs):
            failed: StaError | None = None
            try:
                item = self._direct(req)
            except StaError as error:
                item, failed = None, error
            if run and (item is None or req.version != reqs[index - 1].version):
                results += self._store_run(conn, run, reqs[index - 1].version)
                run = []
            if item is not None:
                run.append(item)
            else:
                results.append(failed if failed is not None else self._alone(conn, req))
        if run:
            results += self._store_run(conn, run, reqs[-1].version)
        return results

    def _store_run(self, conn: Connection, run: list[Item], version: str) -> list[Outcome | StaError]:
        begin_request(conn)
        try:
            stored: list[int | StaError] = create_rows(conn, run, version).outcomes
        except StaError as error:  # e.g. the principal may not create Observations at all
            if error.transient:
                raise
            stored = [error] * len(run)
        root = self.context(version, {}).links
        return [outcome if isinstance(outcome, StaError) else Outcome(
            201, None, {"Location": root.self_link(OBSERVATION, outcome)}) for outcome in stored]

    @staticmethod
    def _direct(req: ApiRequest) -> Item | None:
        if req.method != "POST" or req.resource.strip("/") in ACTIONS:
            return None
        path = parse_path(req.version, req.resource)
        if path.entity_type is not OBSERVATION:
            return None
        body = json_body(req)
        return (path, body) if takes(path, body) else None

    def _alone(self, conn: Connection, req: ApiRequest) -> Outcome | StaError:
        try:
            with savepoint(conn):
                return self.execute(conn, req)
        except (StaError, DBAPIError) as error:
            known = classify(error)
            if known is None or known.transient:
                raise
            return known

    def _get(self, conn: Connection, path: ResourcePath, ctx: RequestContext, accept: str) -> Outcome:
        query = None
        if "$apply" in ctx.params:
            query = parse_query(ctx.params, max_top=ctx.max_top, max_expand_depth=ctx.max_expand_depth)
            other = self.formats.aggregate(conn, path, query, ctx, accept) if self.formats else None
            return other if other is not None else Outcome(200, read_aggregate(conn, path, query, ctx))
        formatted = self.formats.read(conn, path, ctx, accept) if self.formats else None
        if formatted is not None:
            return formatted
        query = parse_query(ctx.params, max_top=ctx.max_top, max_expand_depth=ctx.max_expand_depth)
        body = read(conn, path, query, ctx)
        if body is None:  # a null property (or a member path that leads nowhere)
            return Outcome(204)
        if path.value:
            return Outcome(200, body if isinstance(body, str) else json.dumps(body), text=True)
        return Outcome(200, body)

    @staticmethod
    def entity_outcome(conn: Connection, ctx: RequestContext, path: ResourcePath, ident: int,
                       status: int, answer: bool = True) -> Outcome:
        entity_path = ResourcePath(path.version, (Step(path.entity_type, None, ident),))
        if not answer:
            return Outcome(status, None, {"Location": ctx.links.self_link(path.entity_type, ident)})
        row = created_row(conn, path.entity_type, ident) if status == 201 else None
        body = read_entity(conn, entity_path, Query(), ctx) if row is None else render_row(path.entity_type, row, ctx)
        return Outcome(status, body, {"Location": body["@iot.selfLink"]})

    def _patch(self, conn: Connection, path: ResourcePath, ctx: RequestContext, req: ApiRequest) -> Outcome:
        body = json_body(req)
        if req.mimetype == "application/json-patch+json":
            from sta_server.service.json_patch import apply_json_patch

            ident = apply_json_patch(conn, path, body, ctx)
        else:
            ident = update(conn, path, body, replace=req.method == "PUT")
        return self.entity_outcome(conn, ctx, path, ident, 200)


def _create_observations(dispatcher: Dispatcher, conn: Connection, req: ApiRequest) -> Outcome:
    if req.method != "POST":
        raise MethodNotAllowed("CreateObservations accepts POST only")
    links = dispatcher.context(req.version, req.params).links
    return Outcome(201, create_observations(conn, json_body(req), req.version, links))


def _senml(dispatcher: Dispatcher, conn: Connection, req: ApiRequest) -> Outcome:
    """`POST /v1.1/SenML` (and the MQTT topic `v1.1/SenML`): a SenML pack (application/senml+json
    or +cbor), stored record by record; the answer is the report (201 when a record was stored,
    else 400)."""
    if req.method != "POST":
        raise MethodNotAllowed("SenML accepts POST only")
    if req.mimetype not in (senml_format.JSON_TYPE, senml_format.CBOR_TYPE):
        raise BadRequest(f"A SenML pack is {senml_format.JSON_TYPE} or {senml_format.CBOR_TYPE}")
    report = ingest_pack(conn, req.body, req.mimetype)
    return Outcome(201 if report.accepted else 400, report.to_json())


def _audit_records(dispatcher: Dispatcher, conn: Connection, req: ApiRequest) -> Outcome:
    """`GET /v1.1/AuditRecords`: the audit trail, newest first (administrators only)."""
    if req.method != "GET":
        raise MethodNotAllowed("AuditRecords is read-only")
    return Outcome(200, audit.read_page(conn, req.params, dispatcher.context(req.version, req.params).root))


ACTIONS: dict[str, Callable[[Dispatcher, Connection, ApiRequest], Outcome]] = {
    "CreateObservations": _create_observations,
    "SenML": _senml,
    "AuditRecords": _audit_records,
}
