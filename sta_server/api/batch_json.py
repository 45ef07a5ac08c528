"""The OData 4.01 JSON batch format: `{"requests": [...]}` in, `{"responses": [...]}` out.

Requests of one `atomicityGroup` must be adjacent; `dependsOn` may name earlier request ids or
atomicity groups only (both checked before anything runs: a violation is a 400 for the batch)."""
from __future__ import annotations

import json
from typing import Any

from sta_server.api.batch_items import BatchItem, Unit
from sta_server.errors import BadRequest
from sta_server.serialize.entity import JSON


def _text(request: JSON, name: str, index: int, *, required: bool = True) -> str | None:
    value = request.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(f"Request {index} of the batch needs a string '{name}'", target=name)
    return value


def _body(request: JSON, headers: dict[str, str]) -> bytes:
    if "body" not in request:
        return b""
    body = request["body"]
    if isinstance(body, str) and not headers.get("content-type", "application/json").startswith(
            "application/json"):
        return body.encode()
    return json.dumps(body).encode()


def _item(request: Any, index: int) -> BatchItem:
    if not isinstance(request, dict):
        raise BadRequest(f"Request {index} of the batch must be a JSON object")
    headers = request.get("headers") or {}
    if not isinstance(headers, dict):
        raise BadRequest(f"'headers' of request {index} must be a JSON object", target="headers")
    headers = {str(k).lower(): str(v) for k, v in headers.items()}
    depends = request.get("dependsOn") or []
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        raise BadRequest(f"'dependsOn' of request {index} must be an array of ids", target="dependsOn")
    return BatchItem(
        str(_text(request, "method", index)).upper(), str(_text(request, "url", index)), headers,
        _body(request, headers), _text(request, "id", index),
        _text(request, "atomicityGroup", index, required=False), tuple(depends),
    )


def parse_json_batch(body: Any) -> list[BatchItem]:
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise BadRequest('A JSON batch is an object with a "requests" array')
    items = [_item(request, index) for index, request in enumerate(body["requests"])]
    _check_order(items)
    return items


def _check_order(items: list[BatchItem]) -> None:
    seen: set[str] = set()
    closed: set[str] = set()
    previous: str | None = None
    for item in items:
        if item.group != previous and previous is not None:
            closed.add(previous)
        if item.group in closed:
            raise BadRequest(f"The requests of atomicityGroup '{item.group}' must be adjacent")
        assert item.id is not None
        if item.id in seen:
            raise BadRequest(f"The request id '{item.id}' is used twice", target="id")
        for dependency in item.depends_on:
            if dependency not in seen and dependency not in closed:
                raise BadRequest(f"Request '{item.id}' depends on '{dependency}', which is not an "
                                 "earlier request or atomicity group", target="dependsOn")
        seen.add(item.id)
        previous = item.group


def render_json(units: list[Unit]) -> JSON:
    responses: list[JSON] = []
    for unit in units:
        for result in unit.results:
            response: JSON = {"id": result.item.id, "status": result.outcome.status}
            if result.item.group is not None:
                response["atomicityGroup"] = result.item.group
            headers = dict(result.outcome.headers)
            if result.outcome.body is not None and result.outcome.text:
                headers["content-type"] = "text/plain"
            if headers:
                response["headers"] = {k.lower(): v for k, v in headers.items()}
            if result.outcome.body is not None:
                response["body"] = result.outcome.body
            responses.append(response)
    return {"responses": responses}
