"""Pure readers of the server's answers (no I/O): new ids, pages and their `@iot.nextLink`,
CreateObservations results, `Retry-After`, and the typed error of a failed answer."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from sta_client.errors import StaError, error_class
from sta_client.paths import EntityId, id_from_link

ERROR_ROW = "error"


@dataclass(frozen=True)
class Reply:
    """An HTTP answer; header names lower-case; `retried`: an earlier attempt of the same request
    failed (it may have reached the server)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""
    retried: bool = False

    def json(self) -> Any:
        return json.loads(self.content) if self.content else None


@dataclass(frozen=True)
class Page:
    values: list[dict[str, Any]]
    next_link: str | None
    count: int | None = None


def error_of(reply: Reply) -> StaError:
    """The typed error of a failed answer, with the server's OData error when it sent one."""
    try:
        body = reply.json()
    except (ValueError, UnicodeDecodeError):
        body = reply.content.decode("utf-8", "replace")[:2000]
    detail = body.get("error") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        code = str(detail.get("code", "Error"))
        message = str(detail.get("message", ""))
        target = detail.get("target")
    else:
        code, message, target = "Error", body if isinstance(body, str) else "", None
    return error_class(reply.status)(reply.status, code, message, str(target) if target else None, body)


def checked(reply: Reply) -> Reply:
    """The reply itself when it is a success (2xx), else its typed error raised."""
    if 200 <= reply.status < 300:
        return reply
    raise error_of(reply)


def created_id(reply: Reply) -> EntityId:
    """The new entity's id: `@iot.id` of the body, else the end of `Location`."""
    body = checked(reply).json()
    if isinstance(body, dict) and "@iot.id" in body:
        value = body["@iot.id"]
        return value if isinstance(value, int | str) else str(value)
    location = reply.headers.get("location")
    if location is None:
        raise ValueError("a create answered neither @iot.id nor Location")
    return id_from_link(location)


def entity(reply: Reply) -> dict[str, Any]:
    body = checked(reply).json()
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body


def page(reply: Reply) -> Page:
    body = entity(reply)
    values = body.get("value")
    if not isinstance(values, list):
        raise ValueError("a collection answer has no `value` array")
    count = body.get("@iot.count")
    return Page(values, body.get("@iot.nextLink"), count if isinstance(count, int) else None)


def created_ids(reply: Reply) -> list[EntityId | str]:
    """CreateObservations: the new ids in row order, the string `"error"` for each refused row."""
    body = checked(reply).json()
    if not isinstance(body, list):
        raise ValueError("CreateObservations answered no array")
    return [ERROR_ROW if item == ERROR_ROW else id_from_link(str(item)) for item in body]


@dataclass(frozen=True)
class SenmlReport:
    """What the server did with a SenML pack: per record index, the new Observation or the reason."""

    accepted: list[dict[str, Any]]
    rejected: list[dict[str, Any]]


def senml_report(reply: Reply) -> SenmlReport:
    """201 when a record was stored; a 400 that carries a report (nothing stored) is a report too."""
    body = reply.json() if reply.status in (201, 400) and reply.content else None
    if isinstance(body, dict) and "accepted" in body and "rejected" in body:
        return SenmlReport(list(body["accepted"]), list(body["rejected"]))
    checked(reply)
    raise ValueError("a SenML answer without a report")


def nothing(reply: Reply) -> None:
    checked(reply)


def deleted(reply: Reply) -> None:
    """A DELETE's answer; a 404 after a retry means an earlier attempt deleted it."""
    if reply.status == 404 and reply.retried:
        return
    checked(reply)


def batch_responses(reply: Reply) -> list[dict[str, Any]]:
    """A JSON `$batch` answer: its `responses` (each `id`, `status`, `headers`?, `body`?), as sent."""
    body = entity(reply)
    responses = body.get("responses")
    if not isinstance(responses, list):
        raise ValueError("a JSON batch answer has no `responses` array")
    return responses


def retry_after_s(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now (delta-seconds or an HTTP-date); None when absent or bad."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
