"""JSON PATCH (RFC 6902) on an entity: applied to its JSON form, then stored as a PUT."""
from __future__ import annotations

from typing import Any

import jsonpatch
from sqlalchemy import Connection

from sta_server.errors import BadRequest, MethodNotAllowed
from sta_server.query.ast import Query
from sta_server.query.path import ResourcePath
from sta_server.service.context import RequestContext
from sta_server.service.read import read_entity
from sta_server.service.update import update


def apply_json_patch(conn: Connection, path: ResourcePath, operations: Any, ctx: RequestContext) -> int:
    if path.prop is not None or path.ref or path.is_collection:
        raise MethodNotAllowed("JSON PATCH is allowed on single entities only")
    if not isinstance(operations, list):
        raise BadRequest("A JSON PATCH body is an array of operations")
    current = read_entity(conn, path, Query(select=None), ctx)
    document = {k: v for k, v in current.items() if "@iot." not in k}
    try:
        patched = jsonpatch.apply_patch(document, operations)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as error:
        raise BadRequest(f"The JSON PATCH cannot be applied: {error}") from None
    changed = {k: v for k, v in patched.items() if document.get(k) != v or k not in document}
    removed = {k: None for k in document if k not in patched}
    return update(conn, path, {**changed, **removed})
