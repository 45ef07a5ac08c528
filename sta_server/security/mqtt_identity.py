"""Who is on the other end of an MQTT message: the publisher of a create, the user behind a
subscriber's client id (docs/mqtt.md, "Who publishes"; docs/security.md).

The project's broker runs the plugin of `broker_plugin/`: it replaces any `sta-publisher` user
property of a PUBLISH with the user name the broker authenticated, signed by `sta-stamp` (an HMAC
the server checks, security/publisher_stamp.py: a will message, which skips the plugin, has no valid
one), and admits a client id only when it is the user name or starts with `<user name>:`
(anonymous clients: no ':' and no user's name).
With `STA_MQTT_IDENTITY=broker` (set by scripts/services.sh for that broker) a create runs as that
user — the same role permissions and row-level security as over HTTP. With any other broker
(`STA_MQTT_IDENTITY=topic`, the default: the property could be forged there) a create runs as the
*site that owns the topic's entity*: a device agent of that site on `…/Datastreams(7)/Observations`
and `…/MultiDatastreams(7)/Observations`, a task creator on `…/TaskingCapabilities(3)/Tasks`, seeing
only the Things that carry the `site:` labels of that entity's Thing. Collection topics and SenML,
whose bodies name their streams, are refused in that mode. With STA_AUTH=off every create runs as
an administrator, as every HTTP request does.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from sta_server.mqtt.topics import parse_topic
from sta_server.security import users
from sta_server.security.broker_files import user_rules
from sta_server.security.principal import ANONYMOUS, Principal
from sta_server.settings import Settings
from sta_server.sql.tables import TABLES

PUBLISHER_PROPERTY = "sta-publisher"  # stamped by the broker plugin (broker_plugin/sta_identity.c)
PROBE_TOPIC = "sta-identity-probe"  # + /<the server's client id>: see IdentityProbe
SITE_PREFIX = "site:"
# navigation of a topic's entity set -> the role the site publishes with in `topic` mode
SITE_ROLES: dict[tuple[str, str], str] = {
    ("Datastreams", "Observations"): "device_agent",
    ("MultiDatastreams", "Observations"): "device_agent",
    ("TaskingCapabilities", "Tasks"): "aggregator",
}
_CACHE_LIMIT = 10_000
log = logging.getLogger(__name__)
T = TypeVar("T")


def bind_client_id(user: str | None, client_id: str) -> str:
    """A client id the broker plugin admits for `user`: the id itself when it already belongs to
    the user (or the client is anonymous), else `<user>:<id>`."""
    if user is None or client_id == user or client_id.startswith(f"{user}:"):
        return client_id
    return f"{user}:{client_id}"


def client_user(client_id: str) -> tuple[str, bool]:
    """The user name a client id names, and whether that is certain (`<user>:…`); an id without
    ':' is its user's name, or an anonymous client's id when no user has that name."""
    name, separator, _ = client_id.partition(":")
    return name, bool(separator)


class _Expiring:
    """A small cache of computed values for `ttl` seconds (None values included)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, compute: Callable[[], T]) -> T:
        entry = self._entries.get(key)
        if entry is not None and entry[0] >= time.monotonic():
            return entry[1]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            if len(self._entries) >= _CACHE_LIMIT:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl, value)
        return value


class IdentityProbe:
    """Does the broker really name publishers (`STA_MQTT_IDENTITY=broker` on a broker without the
    plugin would trust forged names)? After each connect the server asks (mqtt/identity_probe.py):
    a broker with the plugin hands a message with a forged `sta-publisher` back stamped with the
    server's own user name and nothing else. Creates wait for the answer; when it is no, they run
    as in `topic` mode (and an ERROR says why)."""

    FORGED = "forged-by-the-identity-probe"

    def __init__(self, user: str | None, wait_s: float = 30.0) -> None:
        self.user, self.wait_s = user, wait_s
        self.trusted = False
        self._answered = threading.Event()

    def sent(self) -> None:
        self._answered.clear()

    def answer(self, stamps: list[str]) -> None:
        self.trusted = self.user is not None and stamps == [self.user]
        if self.trusted:
            log.info("the MQTT broker names publishers: creates run as their user")
        else:
            log.error("the MQTT broker does not name publishers (its stamps: %s; is broker_plugin/ loaded?): "
                      "creates run as the site of their topic, as with STA_MQTT_IDENTITY=topic", stamps)
        self._answered.set()

    def trust(self) -> bool:
        """Waits (on the ingest thread, the messages unacknowledged) for the answer to the last
        question; an ERROR every `wait_s` while there is none."""
        while not self._answered.wait(self.wait_s):
            log.error("no answer yet from the MQTT broker on whether it names publishers: MQTT creates wait")
        return self.trusted


class Published(Protocol):
    """What names the publisher of an MQTT create (mqtt/ingest.py:Incoming)."""

    @property
    def topic(self) -> str: ...
    @property
    def publisher(self) -> str | None: ...
    @property
    def unstamped(self) -> bool: ...


class Publishers:
    """The principal each MQTT create runs with. `key` is pure (messages are grouped by it before
    a transaction starts); `principal` looks the key up, cached for STA_AUTH_CACHE_S."""

    def __init__(self, engine: Engine, settings: Settings, probe: IdentityProbe | None = None) -> None:
        self.engine, self.settings, self.probe = engine, settings, probe
        self._cache = _Expiring(settings.auth_cache_s)

    def key(self, topic: str, publisher: str | None, unstamped: bool = False) -> str:
        """`unstamped`: the message named a publisher without the plugin's valid stamp (a will,
        security/publisher_stamp.py): nobody, when publishers are named by the broker."""
        if not self.settings.auth:
            return f"open:{publisher or 'anonymous'}"
        if self.settings.mqtt_identity == "broker" and (self.probe is None or self.probe.trust()):
            return "unstamped" if unstamped else f"user:{publisher}" if publisher else "anonymous"
        return f"topic:{_owning_entity(topic) or ''}"

    def key_of(self, message: Published) -> str:
        return self.key(message.topic, message.publisher, message.unstamped)

    def resolve(self, message: Published) -> Principal | str:
        """The principal a message is stored as, or why nobody may."""
        key = self.key_of(message)
        return self.principal(key) or self.refusal(key)

    def principal(self, key: str) -> Principal | None:
        """None: nobody who may create anything (the messages are rejected)."""
        kind, _, name = key.partition(":")
        if kind == "open":
            return Principal(name, "admin", channel="mqtt")
        if kind not in ("user", "topic") or not name:
            return None
        return self._cache.get(key, lambda: self._look_up(kind, name))

    def _look_up(self, kind: str, name: str) -> Principal | None:
        with self.engine.connect() as conn:
            return users.by_name(conn, name, "mqtt") if kind == "user" else _site_principal(conn, name)

    def refusal(self, key: str) -> str:
        if key == "anonymous":
            return "anonymous clients may not create entities"
        if key == "unstamped":
            return ("the message names a publisher without a valid broker stamp (sta-stamp): a will message, "
                    "or a broker without the stamp secret")
        if key == "topic:":
            return ("creates on collection topics and SenML need a broker that names the publisher "
                    "(STA_MQTT_IDENTITY=broker, broker_plugin/)")
        return f"the publisher ({key}) is not an enabled user"


def _owning_entity(topic: str) -> str | None:
    """`v1.1/Datastreams(7)` for `v1.1/Datastreams(7)/Observations`, when the site publishes there."""
    request = parse_topic(topic)
    if request is None or len(request.path.steps) != 2 or request.path.steps[1].link is None:
        return None
    first, last = request.path.steps
    if first.id is None or (first.entity_type.plural, last.entity_type.plural) not in SITE_ROLES:
        return None
    return f"v{request.path.version}/{first.entity_type.plural}({first.id})"


def _site_principal(conn: Connection, entity: str) -> Principal | None:
    """The site that owns `v1.1/Datastreams(7)`: the `site:` labels of its Thing."""
    request = parse_topic(f"{entity}/Thing")
    if request is None:
        return None
    step = request.path.steps[0]
    table = TABLES[step.entity_type.table]
    labels = TABLES["thing_labels"]
    stmt = (select(labels.c.label).join(table, table.c.thing_id == labels.c.thing_id)
            .where(table.c.id == step.id, labels.c.label.startswith(SITE_PREFIX)))
    grants = frozenset(str(label) for label in conn.execute(stmt).scalars())
    if not grants:
        return None
    plural = step.entity_type.plural
    role = next(r for (entity_set, _), r in SITE_ROLES.items() if entity_set == plural)
    return Principal(entity, role, grants, channel="mqtt")


def _matches(pattern: str, topic: str) -> bool:
    """MQTT topic filter matching (`+` one level, `#` the rest)."""
    wanted, given = pattern.split("/"), topic.split("/")
    for index, level in enumerate(wanted):
        if level == "#":
            return True
        if index >= len(given) or (level != "+" and level != given[index]):
            return False
    return len(wanted) == len(given)


class TopicAccess:
    """May a subscriber's user read a topic? The same rules as the broker's ACL
    (security/broker_files.py), so the server never renders what the broker would not deliver."""

    def __init__(self, engine: Engine, settings: Settings, ttl: float = 5.0) -> None:
        self.engine, self.settings = engine, settings
        self._rules = _Expiring(ttl)

    def may_read(self, client_id: str, topic: str) -> bool:
        """Called on the MQTT network thread. With the database unreachable the subscription is
        let through (logged): the broker's ACL still decides delivery, and a subscription refused
        now would never be notified once the database is back."""
        if not self.settings.auth:
            return True
        name, certain = client_user(client_id)
        try:
            exact, wildcards = self._rules.get(name if certain else f"{name}?", lambda: self._topics(name, certain))
        except SQLAlchemyError as error:
            log.warning("cannot check %s's subscription to %s (%s): let through", client_id, topic,
                        type(error).__name__)
            return True
        return topic in exact or any(_matches(pattern, topic) for pattern in wildcards)

    def _topics(self, name: str, certain: bool) -> tuple[frozenset[str], tuple[str, ...]]:
        """The topics the user may read: exact ones (scoped users) and filters (administrators)."""
        with self.engine.connect() as conn:
            principal = users.by_name(conn, name, "mqtt")
            if principal is None and not certain and self.settings.anonymous == "public":
                principal = ANONYMOUS
            rules = user_rules(conn, principal) if principal is not None else []
        readable = [rule.split(" ", 2)[2] for rule in rules if rule.split(" ", 2)[1] in ("read", "readwrite")]
        wildcards = tuple(topic for topic in readable if "#" in topic or "+" in topic)
        return frozenset(readable).difference(wildcards), wildcards

