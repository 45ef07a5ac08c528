"""Who listens: a registry of live subscriptions, fed by Mosquitto's `$SYS/broker/log` topics.

Mosquitto 2.0 with `log_dest topic` publishes every SUBSCRIBE on `$SYS/broker/log/M/subscribe`
(`<time>: <client-id> <qos> <topic>`), UNSUBSCRIBE on `.../M/unsubscribe` (`<time>: <client-id>
<topic>`) and connection notices on `$SYS/broker/log/N` (`New client connected from … as <id> (p2,
c1, k60).`, `Client <id> disconnected.`). Clean-session clients lose their subscriptions when they
go; persistent-session clients (c0) keep them, as the broker keeps queueing for them.
"""
from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict

from sta_server.mqtt.topics import TopicRequest, parse_topic

log = logging.getLogger(__name__)

LOG_TOPICS = ("$SYS/broker/log/M/subscribe", "$SYS/broker/log/M/unsubscribe", "$SYS/broker/log/N")
_CONNECTED = re.compile(r"New client connected from \S+ as (?P<client>\S+) \(p\d+, c(?P<clean>[01])")
_GONE = re.compile(
    r"(?:Client (?P<a>\S+) (?:disconnected|closed its connection|has exceeded timeout)"
    r"|Socket error on client (?P<b>\S+), disconnecting)"
)


def _message(payload: str) -> str:
    """Strip the `<time>: ` prefix (the time format is configurable, but never holds ': ')."""
    return payload.split(": ", 1)[1] if ": " in payload else payload


class SubscriptionRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[str, set[str]] = defaultdict(set)  # client id -> topics
        self._clean: dict[str, bool] = {}
        self._by_base: dict[str, dict[str, int]] = defaultdict(dict)  # base -> topic -> #clients

    def feed(self, log_topic: str, payload: str) -> None:
        message = _message(payload.strip())
        if log_topic.endswith("/subscribe"):
            client, _, rest = message.partition(" ")
            _qos, _, topic = rest.partition(" ")
            self.add(client, topic)
        elif log_topic.endswith("/unsubscribe"):
            client, _, topic = message.partition(" ")
            self.remove(client, topic)
        else:
            self._notice(message)

    def _notice(self, message: str) -> None:
        connected = _CONNECTED.search(message)
        if connected:
            self._clean[connected["client"]] = connected["clean"] == "1"
            return
        gone = _GONE.search(message)
        if gone:
            client = gone["a"] or gone["b"]
            if self._clean.pop(client, True):
                self.drop_client(client)

    def add(self, client: str, topic: str) -> None:
        request = parse_topic(topic)
        if request is None:
            return
        with self._lock:
            if topic not in self._clients[client]:
                self._clients[client].add(topic)
                counts = self._by_base[request.base]
                counts[topic] = counts.get(topic, 0) + 1
        log.debug("subscription %s by %s", topic, client)

    def remove(self, client: str, topic: str) -> None:
        with self._lock:
            if topic in self._clients.get(client, set()):
                self._clients[client].discard(topic)
                self._release(topic)

    def drop_client(self, client: str) -> None:
        with self._lock:
            for topic in self._clients.pop(client, set()):
                self._release(topic)

    def _release(self, topic: str) -> None:
        request = parse_topic(topic)
        if request is None:
            return
        counts = self._by_base.get(request.base, {})
        counts[topic] = counts.get(topic, 1) - 1
        if counts[topic] <= 0:
            del counts[topic]
        if not counts:
            self._by_base.pop(request.base, None)

    def lookup(self, base: str) -> list[TopicRequest]:
        """The subscribed topics (with their queries) whose path is `base`."""
        with self._lock:
            topics = list(self._by_base.get(base, {}))
        return [request for topic in topics if (request := parse_topic(topic)) is not None]

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._by_base)

    def bases(self) -> set[str]:
        with self._lock:
            return set(self._by_base)
