"""The one generic view: every entity path, every verb, every version."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import Connection, Engine

from sta_server.api.formats import choose_format, read_formatted
from sta_server.api.root import root_document
from sta_server.errors import BadRequest, InvalidPath, MethodNotAllowed
from sta_server.query.ast import Query
from sta_server.query.options import parse_query
from sta_server.query.path import VERSIONS, ResourcePath, Step, parse_path
from sta_server.security import audit
from sta_server.security.principal import current
from sta_server.serialize import csv_rows
from sta_server.serialize import senml as senml_format
from sta_server.serialize.json_text import parse_json
from sta_server.service.aggregate import aggregate_rows, read_aggregate
from sta_server.service.context import RequestContext
from sta_server.service.create import create
from sta_server.service.create_observations import create_observations
from sta_server.service.delete import delete
from sta_server.service.events import EventBus, transaction
from sta_server.service.idempotency import Answer, begin_once, fingerprint, finish_once
from sta_server.service.read import read, read_entity
from sta_server.service.senml import ingest_pack
from sta_server.service.update import update
from sta_server.settings import Settings

log = logging.getLogger(__name__)
blueprint = Blueprint("entities", __name__)


def parse_version(text: str) -> str:
    if not text.startswith("v") or text[1:] not in VERSIONS:
        raise InvalidPath(f"No API version '{text}'; use v1.1 or v1.0")
    return text[1:]


def _context(version: str, params: dict[str, str]) -> RequestContext:
    settings: Settings = current_app.config["STA_SETTINGS"]
    return RequestContext(f"{settings.base_url}/v{version}", version, settings.default_top,
                          settings.max_top, params, settings.count_estimate_threshold,
                          settings.max_expand_depth, settings.max_csv_rows)


def app_engine() -> Engine:
    engine: Engine = current_app.config["STA_ENGINE"]
    return engine


def app_bus() -> EventBus | None:
    bus: EventBus | None = current_app.config.get("STA_EVENTS")
    return bus


@dataclass(frozen=True)
class ApiRequest:
    """One request, whether it came over HTTP or inside a $batch: `resource` is the path after the
    version (`Things(1)/Datastreams`), `params` its query parameters (percent-decoded)."""

    method: str
    version: str
    resource: str
    params: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    mimetype: str = "application/json"
    accept: str = ""  # the Accept header (formats other than JSON: api/formats.py)
    idempotency_key: str | None = None  # the Idempotency-Key header: a retried POST is stored once

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


def _json_body(req: ApiRequest) -> Any:
    try:
        return parse_json(req.body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"The body is not valid JSON: {error}") from None


@blueprint.get("/<version_text>")
@blueprint.get("/<version_text>/")
def service_root(version_text: str) -> Response:
    version = parse_version(version_text)
    extra: tuple[str, ...] = tuple(current_app.config.get("STA_EXTRA_CONFORMANCE", ()))
    return jsonify(root_document(_context(version, {}).root, version, extra))


@blueprint.route("/<version_text>/<path:resource>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
def entity_path(version_text: str, resource: str) -> Response:
    req = ApiRequest(request.method, parse_version(version_text), resource, dict(request.args.items()),
                     request.get_data(cache=False), request.mimetype, request.headers.get("Accept", ""),
                     request.headers.get("Idempotency-Key"))
    return to_response(run_request(req))


def run_request(req: ApiRequest) -> Outcome:
    """A request on its own: reads on a connection, writes in one transaction (events after commit)."""
    if not req.writes:
        with app_engine().connect() as conn:
            return execute(conn, req)
    with transaction(app_engine(), app_bus()) as conn:
        if req.idempotency_key is not None and req.method == "POST":
            return execute_once(conn, req, req.idempotency_key)
        return execute(conn, req)


def execute_once(conn: Connection, req: ApiRequest, key: str) -> Outcome:
    """A POST with an Idempotency-Key: the first one runs, its retries get the first answer."""
    # The sender is part of the fingerprint: another user's retry with the same key is refused,
    # never answered with the first user's entity.
    target = f"{current().name} {req.version}/{req.resource}?{sorted(req.params.items())}"
    replay = begin_once(conn, key, fingerprint(req.method, target, req.body))
    if replay is not None:
        headers = {"Location": replay.location} if replay.location else {}
        return Outcome(replay.status, replay.body, headers)
    outcome = execute(conn, req)
    if not outcome.text and outcome.content_type is None:
        finish_once(conn, key, Answer(outcome.status, outcome.body, outcome.headers.get("Location")))
    return outcome


def execute(conn: Connection, req: ApiRequest) -> Outcome:
    """Run one request on `conn` (the caller owns the transaction); raises StaError."""
    action = ACTIONS.get(req.resource.strip("/"))
    if action is not None:
        return action(conn, req)
    path = parse_path(req.version, req.resource)
    ctx = _context(req.version, req.params)
    if req.method == "GET":
        return _get(conn, path, ctx, req.accept)
    if req.method == "POST":
        return _entity_outcome(conn, ctx, path, create(conn, path, _json_body(req)), 201)
    if req.method in ("PATCH", "PUT"):
        return _patch(conn, path, ctx, req)
    if req.method == "DELETE":
        delete(conn, path)
        return Outcome(200)
    raise MethodNotAllowed(f"{req.method} is not supported")


def to_response(outcome: Outcome) -> Response:
    if outcome.content_type is not None:
        response = Response(outcome.body, content_type=outcome.content_type)
    elif outcome.text:
        response = Response(outcome.body, mimetype="text/plain")
    elif outcome.body is None:
        response = Response()
    else:
        response = jsonify(outcome.body)
    response.status_code = outcome.status
    response.headers.update(outcome.headers)
    return response


def _get(conn: Connection, path: ResourcePath, ctx: RequestContext, accept: str = "") -> Outcome:
    if "$apply" in ctx.params:
        return _aggregate(conn, path, ctx, accept)
    formatted = read_formatted(conn, path, ctx, accept)
    if formatted is not None:
        return Outcome(200, formatted.body, formatted.headers, content_type=formatted.content_type)
    query = parse_query(ctx.params, max_top=ctx.max_top, max_expand_depth=ctx.max_expand_depth)
    body = read(conn, path, query, ctx)
    if path.value:
        return Outcome(200, body if isinstance(body, str) else json.dumps(body), text=True)
    return Outcome(200, body)


def _aggregate(conn: Connection, path: ResourcePath, ctx: RequestContext, accept: str) -> Outcome:
    """`$apply`: JSON or dataArray, or CSV (one row per group) for analysts."""
    query = parse_query(ctx.params, max_top=ctx.max_top, max_expand_depth=ctx.max_expand_depth)
    if choose_format(dict(ctx.params), accept) != "CSV":
        return Outcome(200, read_aggregate(conn, path, query, ctx))
    result = aggregate_rows(conn, path, query, ctx)
    headers = {"Link": f'<{result.next_link}>; rel="next"'} if result.next_link else {}
    text = "".join(csv_rows.write_csv(result.columns, [result.rows]))
    return Outcome(200, text, headers, content_type=f"{csv_rows.MEDIA_TYPE}; charset=utf-8")


def _entity_outcome(conn: Connection, ctx: RequestContext, path: ResourcePath, ident: int,
                    status: int) -> Outcome:
    entity_path = ResourcePath(path.version, (Step(path.entity_type, None, ident),))
    body = read_entity(conn, entity_path, Query(), ctx)
    return Outcome(status, body, {"Location": body["@iot.selfLink"]})


def _patch(conn: Connection, path: ResourcePath, ctx: RequestContext, req: ApiRequest) -> Outcome:
    body = _json_body(req)
    if req.mimetype == "application/json-patch+json":
        from sta_server.service.json_patch import apply_json_patch

        ident = apply_json_patch(conn, path, body, ctx)
    else:
        ident = update(conn, path, body, replace=req.method == "PUT")
    return _entity_outcome(conn, ctx, path, ident, 200)


def _create_observations(conn: Connection, req: ApiRequest) -> Outcome:
    if req.method != "POST":
        raise MethodNotAllowed("CreateObservations accepts POST only")
    links = _context(req.version, req.params).links
    return Outcome(201, create_observations(conn, _json_body(req), req.version, links))


def _senml(conn: Connection, req: ApiRequest) -> Outcome:
    """`POST /v1.1/SenML`: a SenML pack (application/senml+json or +cbor), stored record by record;
    the answer is the report (201 when a record was stored, else 400)."""
    if req.method != "POST":
        raise MethodNotAllowed("SenML accepts POST only")
    if req.mimetype not in (senml_format.JSON_TYPE, senml_format.CBOR_TYPE):
        raise BadRequest(f"A SenML pack is {senml_format.JSON_TYPE} or {senml_format.CBOR_TYPE}")
    report = ingest_pack(conn, req.body, req.mimetype)
    return Outcome(201 if report.accepted else 400, report.to_json())


def _audit_records(conn: Connection, req: ApiRequest) -> Outcome:
    """`GET /v1.1/AuditRecords`: the audit trail, newest first (administrators only)."""
    if req.method != "GET":
        raise MethodNotAllowed("AuditRecords is read-only")
    return Outcome(200, audit.read_page(conn, req.params, _context(req.version, req.params).root))


ACTIONS: dict[str, Callable[[Connection, ApiRequest], Outcome]] = {
    "CreateObservations": _create_observations,
    "SenML": _senml,
    "AuditRecords": _audit_records,
}
