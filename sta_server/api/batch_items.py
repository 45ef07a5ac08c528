"""The requests of a $batch, whatever its format, and how they become ordinary API requests.

A request names its target by an absolute URL (`http://host/sta/v1.1/Things`), an absolute path
(`/sta/v1.1/Things`) or a path relative to the batch URL (`Things(1)`). Within the batch, `$<id>`
refers to the entity created by the request with that Content-ID / id: as the first path segment
(`$sensor1/Datastreams`) and as an `@iot.id` value in a body (`"Sensor": {"@iot.id": "$sensor1"}`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sta_server.errors import BadRequest
from sta_server.serialize.json_text import parse_json
from sta_server.service.dispatch import ApiRequest, Outcome

_VERSION = re.compile(r"^v(1\.[01])$")
_ENTITY = re.compile(r"/v1\.[01]/([A-Za-z]+\((\d+)\))$")


@dataclass(frozen=True)
class BatchItem:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    id: str | None = None  # Content-ID (multipart) or id (JSON)
    group: str | None = None  # change set / atomicityGroup
    depends_on: tuple[str, ...] = ()


@dataclass
class ItemResult:
    item: BatchItem
    outcome: Outcome


@dataclass
class Unit:
    """A request on its own (group None) or a change set; `failed` is the index of the request
    that made a change set fail (the others then answer 424)."""

    group: str | None
    results: list[ItemResult]
    failed: int | None = None


References = dict[str, str]  # request id -> entity path (`Sensors(5)`)


def reference_of(outcome: Outcome) -> str | None:
    """The entity path a 201 answer created, from its Location header."""
    match = _ENTITY.search(outcome.headers.get("Location", ""))
    return match[1] if match else None


def to_api_request(item: BatchItem, version: str, references: References) -> ApiRequest:
    split = urlsplit(item.url)
    segments = [unquote(s) for s in split.path.split("/")]
    at = next((i for i, s in enumerate(segments) if _VERSION.match(s)), None)
    if at is not None:
        version = segments[at][1:]
        segments = segments[at + 1:]
    elif split.path.startswith("/") or split.scheme:
        raise BadRequest(f"The URL '{item.url}' names no API version (v1.0 or v1.1)")
    segments = [s for s in segments if s]
    if segments and segments[0].startswith("$") and segments[0][1:] in references:
        segments[0] = references[segments[0][1:]]
    params = dict(parse_qsl(split.query, keep_blank_values=True))
    mimetype = item.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    body = _substitute_body(item.body, references) if references else item.body
    return ApiRequest(item.method.upper(), version, "/".join(segments), params, body, mimetype,
                      item.headers.get("accept", ""), item.headers.get("idempotency-key"))


def _substitute_body(body: bytes, references: References) -> bytes:
    if not body.strip():
        return body
    try:
        value = parse_json(body)
    except (ValueError, UnicodeDecodeError):
        return body  # the request itself reports the bad JSON
    return json.dumps(_substitute(value, references)).encode()


def _substitute(value: Any, references: References) -> Any:
    if isinstance(value, list):
        return [_substitute(item, references) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: _substitute(item, references) for key, item in value.items()}
    ident = out.get("@iot.id")
    if isinstance(ident, str) and ident.startswith("$") and ident[1:] in references:
        out["@iot.id"] = int(references[ident[1:]].rsplit("(", 1)[1].rstrip(")"))
    return out
