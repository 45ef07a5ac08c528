"""The OData 4.0 multipart/mixed batch format (OGC 18-088 section 11; OData 4.0 Protocol 11.7):
parsing a request body into BatchItems, and writing the units' answers back as multipart."""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from http import HTTPStatus

from sta_server.api.batch_items import BatchItem, ItemResult, Unit
from sta_server.errors import BadRequest

_REQUEST_LINE = re.compile(rb"^(GET|POST|PATCH|PUT|DELETE)[ \t]+(\S+)(?:[ \t]+HTTP/\d\.\d)?[ \t]*$",
                           re.IGNORECASE)
_HEADER = re.compile(rb"^([A-Za-z0-9-]+)[ \t]*:[ \t]*(.*?)[ \t]*$")
_BLANK = re.compile(rb"\r?\n\r?\n")
_LINES = re.compile(rb"\r?\n")
CRLF = "\r\n"


def boundary_of(content_type: str) -> str:
    match = re.search(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', content_type, re.IGNORECASE)
    if match is None:
        raise BadRequest("A multipart/mixed batch needs a boundary parameter in its Content-Type")
    return match[1] or match[2]


def split_parts(body: bytes, boundary: str) -> list[bytes]:
    """The body parts between `--boundary` delimiters, up to the closing `--boundary--`."""
    delimiter = re.compile(rb"(?:^|\r?\n)--" + re.escape(boundary.encode()) + rb"(--)?[ \t]*(?:\r?\n|$)")
    parts: list[bytes] = []
    start: int | None = None
    for match in delimiter.finditer(body):
        if start is not None:
            parts.append(body[start:match.start()])
        if match[1]:
            return parts
        start = match.end()
    raise BadRequest(f"The multipart body has no closing delimiter '--{boundary}--'")


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in _LINES.split(block):
        match = _HEADER.match(line)
        if match is None:
            if line.strip():
                raise BadRequest(f"Invalid header line in a batch part: {line[:80]!r}")
            continue
        headers[match[1].decode("latin-1").lower()] = match[2].decode("latin-1")
    return headers


def _head_and_body(part: bytes) -> tuple[dict[str, str], bytes]:
    """Headers up to the first blank line, and what follows it."""
    first = _LINES.match(part)
    if first is not None:
        return {}, part[first.end():]
    blank = _BLANK.search(part)
    if blank is None:
        return _headers(part), b""
    return _headers(part[:blank.start()]), part[blank.end():]


def _http_request(part_headers: dict[str, str], text: bytes, group: str | None) -> BatchItem:
    """An application/http part. Headers that belong to the MIME part but were written after a
    blank line (as in the spec's example) are taken as part headers."""
    lines = _LINES.split(text)
    while lines and not _REQUEST_LINE.match(lines[0]):
        if lines[0].strip():
            part_headers.update(_headers(lines[0]))
        lines.pop(0)
    if not lines:
        raise BadRequest("A batch part of type application/http holds no request line")
    request_line = _REQUEST_LINE.match(lines[0])
    assert request_line is not None
    headers, body = _head_and_body(CRLF.encode().join(lines[1:]))
    return BatchItem(request_line[1].decode().upper(), request_line[2].decode("utf-8"), headers,
                     body.strip(), part_headers.get("content-id"), group)


def parse_multipart(body: bytes, boundary: str) -> list[BatchItem]:
    items: list[BatchItem] = []
    for index, part in enumerate(split_parts(body, boundary)):
        headers, content = _head_and_body(part)
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/mixed":
            group = f"changeset{index}"
            for inner in split_parts(content, boundary_of(headers["content-type"])):
                inner_headers, inner_content = _head_and_body(inner)
                items.append(_http_request(inner_headers, inner_content, group))
        elif kind == "application/http":
            items.append(_http_request(headers, content, None))
        else:
            raise BadRequest(f"Batch part {index + 1} has Content-Type '{kind}'; expected "
                             "application/http or multipart/mixed")
    return items


def _status_line(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}".rstrip()


def _http_part(result: ItemResult, content_id: bool) -> Iterator[str]:
    outcome = result.outcome
    yield "Content-Type: application/http"
    yield "Content-Transfer-Encoding: binary"
    if content_id and result.item.id is not None:
        yield f"Content-ID: {result.item.id}"
    yield ""
    yield _status_line(outcome.status)
    for name, value in outcome.headers.items():
        yield f"{name}: {value}"
    if outcome.body is not None:
        yield "Content-Type: text/plain" if outcome.text else "Content-Type: application/json"
    yield ""
    if outcome.body is not None:
        yield outcome.body if outcome.text else json.dumps(outcome.body)


def render_multipart(units: list[Unit]) -> tuple[str, str]:
    """The response body and its boundary."""
    boundary = f"batchresponse_{uuid.uuid4()}"
    lines: list[str] = []
    for unit in units:
        lines.append(f"--{boundary}")
        if unit.group is None or unit.failed is not None:
            failed = unit.results[unit.failed or 0]
            lines.extend(_http_part(failed, content_id=unit.group is None))
            continue
        inner = f"changesetresponse_{uuid.uuid4()}"
        lines.extend([f"Content-Type: multipart/mixed; boundary={inner}", ""])
        for result in unit.results:
            lines.append(f"--{inner}")
            lines.extend(_http_part(result, content_id=True))
        lines.append(f"--{inner}--")
    lines.append(f"--{boundary}--")
    return CRLF.join(lines) + CRLF, boundary
