"""MQTT topics as SensorThings requests: `v1.1/Datastreams(1)/Observations?$select=result`.

Subscription topics reuse the HTTP path and query parsers, so a topic means what the same URL means.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl

from sta_server.errors import StaError
from sta_server.query.ast import Query
from sta_server.query.options import parse_query
from sta_server.query.path import VERSIONS, ResourcePath, parse_path


@dataclass(frozen=True)
class TopicRequest:
    topic: str
    base: str  # the topic without its query: what events are matched against
    path: ResourcePath
    query: Query


@lru_cache(maxsize=65536)
def parse_topic(topic: str) -> TopicRequest | None:
    """The request a topic stands for, or None when it is not a SensorThings topic."""
    version_text, _, rest = topic.partition("/")
    if not version_text.startswith("v") or version_text[1:] not in VERSIONS or not rest:
        return None
    path_text, _, query_text = rest.partition("?")
    try:
        path = parse_path(version_text[1:], path_text)
        query = parse_query(dict(parse_qsl(query_text, keep_blank_values=True)))
    except StaError:
        return None
    return TopicRequest(topic, f"{version_text}/{path_text}", path, query)


def entity_topic(version: str, plural: str, ident: int) -> str:
    return f"v{version}/{plural}({ident})"
