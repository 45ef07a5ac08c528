"""The one generic view: every entity path, every verb, every version. The work is done by the
transport-free dispatcher (service/dispatch.py); this module turns Flask requests into
`ApiRequest`s, `Outcome`s into responses, and hands in the HTTP formats (content negotiation)."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import Connection, Engine

from sta_server.api.formats import choose_format, read_formatted
from sta_server.api.root import root_document
from sta_server.errors import InvalidPath
from sta_server.query.ast import Query
from sta_server.query.path import VERSIONS, ResourcePath
from sta_server.serialize import csv_rows
from sta_server.service.aggregate import aggregate_rows
from sta_server.service.context import RequestContext
from sta_server.service.dispatch import ApiRequest, Dispatcher, Outcome
from sta_server.service.events import EventBus

log = logging.getLogger(__name__)
blueprint = Blueprint("entities", __name__)

__all__ = ["ApiRequest", "Outcome", "app_dispatcher", "blueprint", "parse_version", "to_response"]


def parse_version(text: str) -> str:
    if not text.startswith("v") or text[1:] not in VERSIONS:
        raise InvalidPath(f"No API version '{text}'; use v1.1 or v1.0")
    return text[1:]


class HttpFormats:
    """Formats other than JSON, chosen by `$resultFormat` or the Accept header (api/formats.py)."""

    def read(self, conn: Connection, path: ResourcePath, ctx: RequestContext, accept: str) -> Outcome | None:
        formatted = read_formatted(conn, path, ctx, accept)
        if formatted is None:
            return None
        return Outcome(200, formatted.body, formatted.headers, content_type=formatted.content_type)

    def aggregate(self, conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext,
                  accept: str) -> Outcome | None:
        """`$apply` as CSV (one row per group) for analysts; None: JSON or dataArray."""
        if choose_format(dict(ctx.params), accept) != "CSV":
            return None
        result = aggregate_rows(conn, path, query, ctx)
        headers = {"Link": f'<{result.next_link}>; rel="next"'} if result.next_link else {}
        text = "".join(csv_rows.write_csv(result.columns, [result.rows]))
        return Outcome(200, text, headers, content_type=f"{csv_rows.MEDIA_TYPE}; charset=utf-8")


def app_engine() -> Engine:
    engine: Engine = current_app.config["STA_ENGINE"]
    return engine


def app_bus() -> EventBus | None:
    bus: EventBus | None = current_app.config.get("STA_EVENTS")
    return bus


def app_dispatcher() -> Dispatcher:
    return Dispatcher(current_app.config["STA_SETTINGS"], app_engine(), app_bus(), HttpFormats())


@blueprint.get("/<version_text>")
@blueprint.get("/<version_text>/")
def service_root(version_text: str) -> Response:
    version = parse_version(version_text)
    endpoints: tuple[str, ...] = tuple(current_app.config.get("STA_MQTT_ENDPOINTS", ()))
    return jsonify(root_document(app_dispatcher().context(version, {}).root, version, endpoints))


@blueprint.route("/<version_text>/<path:resource>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
def entity_path(version_text: str, resource: str) -> Response:
    req = ApiRequest(request.method, parse_version(version_text), resource, dict(request.args.items()),
                     request.get_data(cache=False), request.mimetype, request.headers.get("Accept", ""),
                     request.headers.get("Idempotency-Key"))
    return to_response(app_dispatcher().run(req))


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
