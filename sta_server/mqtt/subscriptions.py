"""Who listens: a registry of live subscriptions, fed by Mosquitto's `$SYS/broker/log` topics.

Mosquitto 2.0 with `log_dest topic` publishes every SUBSCRIBE on `$SYS/broker/log/M/subscribe`
(`<time>: <client-id> <qos> <topic>`), UNSUBSCRIBE on `.../M/unsubscribe` (`<time>: <client-id>
<topic>`) and connection notices on `$SYS/broker/log/N` (`New client connected from … as <id> (p2,
c1, k60).`, `Client <id> disconnected.`). Clean-session clients lose their subscriptions when they
go, and start without any when they connect; persistent-session clients (c0) keep them, as the
broker keeps queueing for them. Changes go to `on_change` (mqtt/registry_store.py keeps them in the
database, so that a restarted server still knows who listens).

The registry only ever learns from what it sees; it never forgets a subscription because of what it
missed. After a broker restart, clients may reconnect and resubscribe before the server is back
(their log lines are lost to it): their known subscriptions are kept (merged with what comes after),
and a client is forgotten only on a disconnect or clean connect of its own, or an unsubscribe. A
client whose connection the registry never saw (it connected while no server listened) is kept on a
disconnect too: the broker may keep its session; the cost is a notification nobody receives, never a
missed one.
"""
from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable

from sta_server.mqtt.topics import TopicRequest, parse_topic

log = logging.getLogger(__name__)

LOG_TOPICS = ("$SYS/broker/log/M/subscribe", "$SYS/broker/log/M/unsubscribe", "$SYS/broker/log/N")
# Whole lines only (fullmatch): a client id holds no white space (the broker plugin refuses such
# ids, and quotes, parentheses and control characters), so the id is the one word after `as` /
# `Client`; whatever a user name holds comes after it and cannot pass for another client's notice.
_CONNECTED = re.compile(
    r"New client connected from \S+ as (?P<client>\S+) \(p\d+, c(?P<clean>[01]), k\d+(?:, u'[^'\n]*')?\)\.")
_GONE = re.compile(
    r"Client (?P<a>\S+) (?:disconnected(?:\.| due to [^\n]+\.|, not authorised\.|: [^\n]+\.)"
    r"|closed its connection\.|has exceeded timeout, disconnecting\.|been disconnected by administrative action\.)"
    r"|Socket error on client (?P<b>\S+), disconnecting\."
)


# ("add" | "remove", client, topic) or ("drop", client, None)
Change = tuple[str, str, str | None]


def _message(payload: str) -> str:
    """Strip the `<time>: ` prefix (the time format is configurable, but never holds ': ')."""
    return payload.split(": ", 1)[1] if ": " in payload else payload


class SubscriptionRegistry:
    """`may_read(client id, topic)`: whether the subscriber's user may receive the topic (the
    broker's ACL rules, security/mqtt_identity.py). Mosquitto acknowledges a subscription its ACL
    denies and logs it like any other: such a subscription is never registered, so the server runs
    no query and publishes nothing for it. `lookup` asks again (the answer is cached a few seconds
    per user): a topic none of whose subscribers may read it any more (a revoked grant, a moved
    Datastream) is no longer rendered either."""

    def __init__(self, on_change: Callable[[Change], None] | None = None,
                 may_read: Callable[[str, str], bool] | None = None) -> None:
        self.on_change = on_change
        self.may_read = may_read
        self._lock = threading.Lock()
        self._clients: dict[str, set[str]] = defaultdict(set)  # client id -> topics
        self._clean: dict[str, bool] = {}
        self._by_base: dict[str, dict[str, int]] = defaultdict(dict)  # base -> topic -> #clients
        self._subscribers: dict[str, set[str]] = defaultdict(set)  # topic -> client ids

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
        connected = _CONNECTED.fullmatch(message)
        if connected:
            clean = connected["clean"] == "1"
            self._clean[connected["client"]] = clean
            if clean:  # a clean session has no subscriptions yet (left over from before: gone)
                self.drop_client(connected["client"])
            return
        gone = _GONE.fullmatch(message)
        if gone:
            client = gone["a"] or gone["b"]
            if self._clean.pop(client, False):  # unknown: maybe persistent, keep (see above)
                self.drop_client(client)

    def add(self, client: str, topic: str) -> None:
        request = parse_topic(topic)
        if request is None:
            return
        if self.may_read is not None and not self.may_read(client, topic):
            log.debug("subscription %s by %s ignored: its user may not read it", topic, client)
            return
        with self._lock:
            added = topic not in self._clients[client]
            if added:
                self._clients[client].add(topic)
                self._subscribers[topic].add(client)
                counts = self._by_base[request.base]
                counts[topic] = counts.get(topic, 0) + 1
        log.debug("subscription %s by %s", topic, client)
        if added:
            self._changed(("add", client, topic))

    def remove(self, client: str, topic: str) -> None:
        with self._lock:
            removed = topic in self._clients.get(client, set())
            if removed:
                self._clients[client].discard(topic)
                self._release(topic, client)
        if removed:
            self._changed(("remove", client, topic))

    def drop_client(self, client: str) -> None:
        with self._lock:
            topics = self._clients.pop(client, set())
            for topic in topics:
                self._release(topic, client)
        if topics:
            self._changed(("drop", client, None))

    def load(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Subscriptions known from before (the database), without reporting them as changes."""
        on_change, self.on_change = self.on_change, None
        try:
            for client, topic in pairs:
                self.add(client, topic)
        finally:
            self.on_change = on_change

    def snapshot(self) -> list[tuple[str, str]]:
        with self._lock:
            return sorted((client, topic) for client, topics in self._clients.items() for topic in topics)

    def _changed(self, change: Change) -> None:
        if self.on_change is not None:
            self.on_change(change)

    def _release(self, topic: str, client: str) -> None:
        subscribers = self._subscribers.get(topic, set())
        subscribers.discard(client)
        if not subscribers:
            self._subscribers.pop(topic, None)
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
        """The subscribed topics (with their queries) whose path is `base` and which one of their
        subscribers may still read."""
        with self._lock:
            topics = {topic: list(self._subscribers.get(topic, ())) for topic in self._by_base.get(base, {})}
        return [request for topic, clients in topics.items()
                if self._readable(topic, clients) and (request := parse_topic(topic)) is not None]

    def _readable(self, topic: str, clients: list[str]) -> bool:
        return self.may_read is None or any(self.may_read(client, topic) for client in clients)

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._by_base)

    def bases(self) -> set[str]:
        with self._lock:
            return set(self._by_base)
