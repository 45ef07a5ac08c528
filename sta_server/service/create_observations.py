"""The CreateObservations action (OGC 18-088, section 13.2): many Observations in dataArray form.

Decisions:
- The whole body is checked first (a JSON array of groups; each group names exactly one Datastream
  or MultiDatastream by `@iot.id`, has known `components` with `phenomenonTime` and `result`, and
  a `dataArray` of arrays, as many as `dataArray@iot.count` says). A malformed body is a 400 and
  nothing is written.
- Then the rows are stored by the one Observation rule set (`service/bulk.py`: the same rules and
  side effects as a single POST, one COPY, stream extents once per stream). A row that fails
  (wrong length, invalid value, unknown Datastream or FeatureOfInterest) is answered with the
  string "error"; the other rows are kept. A database condition (statement timeout, outage) fails
  the whole request (503), as for any other request.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from sta_server.errors import BadRequest, StaError
from sta_server.model import REGISTRY, EntityType
from sta_server.serialize.entity import JSON, Links
from sta_server.service.bulk import Item
from sta_server.service.bulk import create_observations as create_rows

log = logging.getLogger(__name__)

ROW_ERROR = "error"
FEATURE_COMPONENT = "FeatureOfInterest/id"
STREAM_LINKS = ("Datastream", "MultiDatastream")
REQUIRED_COMPONENTS = ("phenomenonTime", "result")


@dataclass(frozen=True)
class ObservationGroup:
    stream: tuple[str, Any]  # ("Datastream", id as given)
    components: tuple[str, ...]
    rows: list[Any]


def create_observations(conn: Connection, body: Any, version: str, links: Links) -> list[str]:
    """Self links of the created Observations in request order, "error" for rows that failed."""
    observation = REGISTRY.type("Observation")
    groups = parse_groups(observation, body, version)
    rows = [(group, row) for group in groups for row in group.rows]
    bodies: list[JSON | StaError] = []
    for group, row in rows:
        try:
            bodies.append(row_body(group, row))
        except StaError as error:
            bodies.append(error)
    items: list[Item] = [(None, parsed) for parsed in bodies if not isinstance(parsed, StaError)]
    stored = iter(create_rows(conn, items, version).outcomes if items else [])
    answers = []
    for parsed in bodies:
        outcome = parsed if isinstance(parsed, StaError) else next(stored)
        if isinstance(outcome, StaError):
            log.info("CreateObservations row rejected: %s %s", outcome.code, outcome.message)
            answers.append(ROW_ERROR)
        else:
            answers.append(links.self_link(observation, outcome))
    return answers


def parse_groups(observation: EntityType, body: Any, version: str) -> list[ObservationGroup]:
    if not isinstance(body, list):
        raise BadRequest("The CreateObservations body must be a JSON array of dataArray groups")
    return [_parse_group(observation, item, index, version) for index, item in enumerate(body)]


def _parse_group(observation: EntityType, item: Any, index: int, version: str) -> ObservationGroup:
    where = f"group {index}"
    if not isinstance(item, dict):
        raise BadRequest(f"Each dataArray group must be a JSON object ({where})")
    streams = [name for name in STREAM_LINKS if name in item]
    if len(streams) != 1 or not isinstance(item[streams[0]], dict) or "@iot.id" not in item[streams[0]]:
        raise BadRequest(f"A dataArray group names exactly one Datastream or MultiDatastream by "
                         f"@iot.id ({where})", target="Datastream")
    components = _parse_components(observation, item.get("components"), where, version)
    rows = item.get("dataArray")
    if not isinstance(rows, list):
        raise BadRequest(f"'dataArray' must be a JSON array ({where})", target="dataArray")
    count = item.get("dataArray@iot.count")
    if count is not None and count != len(rows):
        raise BadRequest(f"'dataArray@iot.count' is {count} but dataArray has {len(rows)} rows "
                         f"({where})", target="dataArray@iot.count")
    return ObservationGroup((streams[0], item[streams[0]]["@iot.id"]), components, rows)


def _parse_components(observation: EntityType, value: Any, where: str, version: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise BadRequest(f"'components' must be a JSON array of names ({where})", target="components")
    if len(set(value)) != len(value):
        raise BadRequest(f"'components' has duplicates ({where})", target="components")
    for name in value:
        prop = observation.prop(name)
        settable = prop is not None and not prop.read_only and prop.since <= version
        if not settable and name != FEATURE_COMPONENT:
            raise BadRequest(f"Unknown component '{name}' ({where}); use Observation properties or "
                             f"'{FEATURE_COMPONENT}'", target="components")
    for name in REQUIRED_COMPONENTS:
        if name not in value:
            raise BadRequest(f"'components' must include '{name}' ({where})", target="components")
    return tuple(value)


def row_body(group: ObservationGroup, row: Any) -> JSON:
    """One row as the body of a single Observation POST."""
    if not isinstance(row, list) or len(row) != len(group.components):
        raise BadRequest(f"A dataArray row must be an array of {len(group.components)} values")
    link, ident = group.stream
    body: JSON = {link: {"@iot.id": ident}}
    for name, value in zip(group.components, row, strict=True):
        if name == FEATURE_COMPONENT:
            body["FeatureOfInterest"] = {"@iot.id": value}
        else:
            body[name] = value
    return body
