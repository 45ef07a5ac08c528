"""The one generic view: every entity path, every verb, every version."""
from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import Engine

from sta_server.api.root import root_document
from sta_server.errors import BadRequest, InvalidPath
from sta_server.query.ast import Query
from sta_server.query.options import parse_query
from sta_server.query.path import VERSIONS, ResourcePath, Step, parse_path
from sta_server.service.context import RequestContext
from sta_server.service.create import create
from sta_server.service.delete import delete
from sta_server.service.events import EventBus, transaction
from sta_server.service.read import read, read_entity
from sta_server.service.update import update
from sta_server.settings import Settings

log = logging.getLogger(__name__)
blueprint = Blueprint("entities", __name__)


def _version(text: str) -> str:
    if not text.startswith("v") or text[1:] not in VERSIONS:
        raise InvalidPath(f"No API version '{text}'; use v1.1 or v1.0")
    return text[1:]


def _context(version: str, params: dict[str, str]) -> RequestContext:
    settings: Settings = current_app.config["STA_SETTINGS"]
    return RequestContext(f"{settings.base_url}/v{version}", version, settings.default_top,
                          settings.max_top, params)


def _engine() -> Engine:
    engine: Engine = current_app.config["STA_ENGINE"]
    return engine


def _bus() -> EventBus | None:
    bus: EventBus | None = current_app.config.get("STA_EVENTS")
    return bus


def _json_body() -> Any:
    try:
        return json.loads(request.get_data(cache=False) or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"The body is not valid JSON: {error}") from None


@blueprint.get("/<version_text>")
@blueprint.get("/<version_text>/")
def service_root(version_text: str) -> Response:
    version = _version(version_text)
    extra: tuple[str, ...] = tuple(current_app.config.get("STA_EXTRA_CONFORMANCE", ()))
    return jsonify(root_document(_context(version, {}).root, version, extra))


@blueprint.route("/<version_text>/<path:resource>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
def entity_path(version_text: str, resource: str) -> Response:
    version = _version(version_text)
    path = parse_path(version, resource)
    ctx = _context(version, dict(request.args.items()))
    if request.method == "GET":
        return _get(path, ctx)
    if request.method == "POST":
        return _post(path, ctx)
    if request.method in ("PATCH", "PUT"):
        return _patch(path, ctx, replace=request.method == "PUT")
    with transaction(_engine(), _bus()) as conn:
        delete(conn, path)
    return Response(status=200)


def _get(path: ResourcePath, ctx: RequestContext) -> Response:
    query = parse_query(ctx.params, max_top=ctx.max_top)
    with _engine().connect() as conn:
        body = read(conn, path, query, ctx)
    if path.value:
        text = body if isinstance(body, str) else json.dumps(body)
        return Response(text, mimetype="text/plain")
    return jsonify(body)


def _entity_response(ctx: RequestContext, path: ResourcePath, ident: int, status: int) -> Response:
    entity_path = ResourcePath(path.version, (Step(path.entity_type, None, ident),))
    with _engine().connect() as conn:
        body = read_entity(conn, entity_path, Query(), ctx)
    response = jsonify(body)
    response.status_code = status
    response.headers["Location"] = body["@iot.selfLink"]
    return response


def _post(path: ResourcePath, ctx: RequestContext) -> Response:
    body = _json_body()
    with transaction(_engine(), _bus()) as conn:
        ident = create(conn, path, body)
    return _entity_response(ctx, path, ident, 201)


def _patch(path: ResourcePath, ctx: RequestContext, *, replace: bool) -> Response:
    body = _json_body()
    if request.mimetype == "application/json-patch+json":
        from sta_server.service.json_patch import apply_json_patch

        with transaction(_engine(), _bus()) as conn:
            ident = apply_json_patch(conn, path, body, ctx)
    else:
        with transaction(_engine(), _bus()) as conn:
            ident = update(conn, path, body, replace=replace)
    return _entity_response(ctx, path, ident, 200)
