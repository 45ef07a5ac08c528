"""The broker's password and ACL files, generated from the user store (docs/security.md).

Mosquitto checks the same users as HTTP: `passwd` holds each enabled user's password hash (the
store keeps Mosquitto's own `$7$` PBKDF2-SHA512 format), `acl` what each may read and write. Both
start from the administrator-written `passwd.base` / `acl.base` of the folder (the server's own
user), are replaced atomically (owner and mode kept) and the broker is told to re-read them with
SIGHUP (pid from `mosquitto.pid` in the same folder). Device agents authenticated by a client
certificate (`use_identity_as_username`) need no password line; their ACL is by name as well.

What a scoped user may see is computed by PostgreSQL's row-level security itself (the user's
grants applied exactly as for an HTTP request), so HTTP and MQTT cannot disagree. Scoped users get
exact topics without query options: options (`$select`, `$expand`, `$filter`) are evaluated by the
server with its own rights and could reach entities the user may not see.
"""
from __future__ import annotations

import logging
import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, select

from sta_server.model import REGISTRY, EntityType
from sta_server.query.path import VERSIONS
from sta_server.security.principal import ANONYMOUS, SERVER, Principal, acting_as
from sta_server.security.users import UserInfo, list_users, valid_name
from sta_server.service.events import EntityChanged
from sta_server.settings import Settings
from sta_server.sql.policies import scope
from sta_server.sql.tables import TABLES

log = logging.getLogger(__name__)
SERVER_BROKER_USER = "sta-server"  # the server's broker user of scripts/services.sh

# entity set -> navigation topics of one visible entity (all of them lead to visible entities only)
READ_TOPICS: dict[str, tuple[str, ...]] = {
    "Things": ("", "/Datastreams", "/MultiDatastreams", "/Locations", "/HistoricalLocations",
               "/TaskingCapabilities"),
    "Datastreams": ("", "/Observations", "/Thing", "/Sensor", "/ObservedProperty"),
    "MultiDatastreams": ("", "/Observations", "/Thing", "/Sensor"),
    "TaskingCapabilities": ("", "/Tasks", "/Thing", "/Actuator"),
    "Locations": ("",),
}
ENTITY_SETS: dict[str, EntityType] = {plural: t for plural in READ_TOPICS if (t := REGISTRY.by_plural(plural))}
# role -> (entity set, navigation) it may create on by publishing
WRITE_TOPICS: dict[str, tuple[tuple[str, str], ...]] = {
    "device_agent": (("Datastreams", "/Observations"), ("MultiDatastreams", "/Observations")),
    "grid_operator": (("TaskingCapabilities", "/Tasks"),),
    "aggregator": (("TaskingCapabilities", "/Tasks"),),
}
# roles that may publish SenML packs (`v1.x/SenML`; the server maps each record to a Datastream the
# publisher may write and refuses the others, docs/formats.md)
SENML_WRITERS = frozenset({"device_agent"})
# the entity types whose creation or deletion changes some user's topics
TOPIC_TYPES = frozenset(entity_type.name for entity_type in ENTITY_SETS.values())


def visible_ids(conn: Connection, grants: Iterable[str]) -> dict[str, list[int]]:
    """The ids a principal with these grants sees, per entity set (under its row-level security,
    in a savepoint: rolling it back ends the scoping)."""
    savepoint = conn.begin_nested()
    try:
        scope(conn, grants)
        return {name: [int(i) for i in conn.execute(select(TABLES[t.table].c.id).order_by(TABLES[t.table].c.id))
                       .scalars()] for name, t in ENTITY_SETS.items()}
    finally:
        savepoint.rollback()


def user_rules(conn: Connection, principal: Principal) -> list[str]:
    if principal.unrestricted:
        return [f"topic readwrite v{version}/#" for version in VERSIONS]
    ids = visible_ids(conn, principal.grants)
    rules = []
    writes = set(WRITE_TOPICS.get(principal.role, ()))
    for version in VERSIONS:
        if principal.role in SENML_WRITERS:  # each record is stored under the publisher's rights, or refused
            rules.append(f"topic write v{version}/SenML")
        for entity_set, navigations in READ_TOPICS.items():
            if ENTITY_SETS[entity_set].since > version:
                continue
            for ident in ids[entity_set]:
                for navigation in navigations:
                    access = "readwrite" if (entity_set, navigation) in writes else "read"
                    rules.append(f"topic {access} v{version}/{entity_set}({ident}){navigation}")
    return rules


def base_names(base_passwd: str, base_acl: str) -> frozenset[str]:
    """The users of `passwd.base` (`name:hash`) and `acl.base` (`user name`)."""
    names = {line.split(":", 1)[0] for line in base_passwd.splitlines() if ":" in line and not line.startswith("#")}
    names |= {line[5:].strip() for line in base_acl.splitlines() if line.startswith("user ")}
    return frozenset(names)


def reserved_names(settings: Settings) -> frozenset[str]:
    """Names no user of the store may take: the server's own broker user (`STA_MQTT_URL`, and
    `sta-server`, the project's) and the users of the base files in STA_MQTT_AUTH_DIR."""
    user = urlsplit(settings.mqtt_url).username if settings.mqtt_url else None
    names = {SERVER_BROKER_USER, *([user] if user else [])}
    if settings.mqtt_auth_dir:
        folder = Path(settings.mqtt_auth_dir)
        names |= base_names(_read(folder / "passwd.base"), _read(folder / "acl.base"))
    return frozenset(names)


def _people(conn: Connection, reserved: frozenset[str]) -> list[UserInfo]:
    """The enabled users the files may name: never a second line for a base user, never a name
    outside the safe set (a row from before the check)."""
    people = []
    for user in list_users(conn):
        if user.disabled:
            continue
        if user.name in reserved or not valid_name(user.name):
            log.warning("user %r is left out of the broker's files: its name is reserved or not valid", user.name)
            continue
        people.append(user)
    return people


def render(conn: Connection, settings: Settings, base_passwd: str = "", base_acl: str = "") -> tuple[str, str]:
    """The contents of `passwd` and `acl`."""
    people = _people(conn, base_names(base_passwd, base_acl))
    passwd = [base_passwd.rstrip("\n")] if base_passwd.strip() else []
    passwd += [f"{u.name}:{u.password_hash}" for u in people if u.password_hash]
    acl = ["# Generated by the SensorThings server from its user store: edit acl.base, not this file."]
    if settings.anonymous == "public":  # rules before any `user` line apply to anonymous clients
        acl += user_rules(conn, ANONYMOUS)
    if base_acl.strip():
        acl.append(base_acl.rstrip("\n"))
    for user in people:
        acl += ["", f"user {user.name}", *user_rules(conn, Principal(user.name, user.role, frozenset(user.grants)))]
    return "\n".join(passwd) + "\n", "\n".join(acl) + "\n"


def sync(conn: Connection, settings: Settings) -> bool:
    """Rewrite the files in STA_MQTT_AUTH_DIR and signal the broker; False when nothing changed."""
    assert settings.mqtt_auth_dir
    folder = Path(settings.mqtt_auth_dir)
    passwd, acl = render(conn, settings, _read(folder / "passwd.base"), _read(folder / "acl.base"))
    changed = _replace(folder / "passwd", passwd) | _replace(folder / "acl", acl)
    if changed:
        _reload(folder)
    return changed


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _replace(path: Path, content: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == content:
        return False
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        if path.exists():  # keep the owner (the broker's user) and the mode
            info = path.stat()
            os.chmod(tmp, info.st_mode & 0o777)
            if os.geteuid() == 0:
                os.chown(tmp, info.st_uid, info.st_gid)
        else:
            os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def _reload(folder: Path, timeout_s: float = 5.0, resend_s: float = 0.25) -> None:
    """SIGHUP to the broker; with the project's plugin (broker_plugin/, its `reloaded` file in the
    folder), wait until the broker has re-read the files: Mosquitto takes a signal only between
    two polls of its sockets (up to 100 ms), so a message it reads meanwhile still meets the old ACL.

    The signal is sent again every `resend_s` until the broker confirms: Mosquitto 2.0 clears its
    reload flag at the end of a reload (`flag_reload = false` after re-reading the files), so a
    SIGHUP that arrives while it is still applying the previous one is lost."""
    stamp = folder / "reloaded"
    before = _read(stamp) if stamp.exists() else None
    try:
        pid = int((folder / "mosquitto.pid").read_text().strip())
    except (OSError, ValueError) as error:
        log.warning("could not signal the broker (%s): %s", folder / "mosquitto.pid", error)
        return
    start = time.monotonic()
    deadline = start + timeout_s
    signals = 0
    while True:
        try:
            os.kill(pid, signal.SIGHUP)
        except OSError as error:
            log.warning("could not signal the broker %s: %s", pid, error)
            return
        signals += 1
        if before is None:
            break
        resend = time.monotonic() + resend_s
        while _read(stamp) == before and time.monotonic() < min(resend, deadline):
            time.sleep(0.005)
        if _read(stamp) != before:
            break
        if time.monotonic() >= deadline:
            log.warning("broker %s has not confirmed the reload within %.1fs (%d signals)", pid, timeout_s, signals)
            return
    log.info("broker %s re-read its password and ACL files in %.3fs (%d signal%s)", pid, time.monotonic() - start,
             signals, "" if signals == 1 else "s")


def moves_topics(event: EntityChanged) -> bool:
    """An update that can take topics away from someone: a Datastream, MultiDatastream or
    TaskingCapability given another Thing, a Location linked to other Things, a Thing's Locations."""
    return (event.change == "updated" and event.entity_type.name in TOPIC_TYPES
            and any(event.entity_type.link(name) is not None for name in event.fields))


class BrokerFileKeeper:
    """Keeps the files current. An update that moves topics (`moves_topics`) rewrites them and
    signals the broker before the request answers, so the old site's subscribers stop receiving
    at once; a new or deleted entity that decides topics (a Thing, Datastream…) within `period`
    seconds, from a thread; also at start and every `resync` seconds (changes made by other
    processes; `sta-admin` rewrites them itself after a user's grants or a Thing's labels change)."""

    def __init__(self, engine: Engine, settings: Settings, period: float = 1.0, resync: float = 30.0) -> None:
        self.engine, self.settings, self.period, self.resync = engine, settings, period, resync
        self._writing = threading.Lock()
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="broker-files", daemon=True)

    def start(self) -> None:
        self._dirty.set()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._dirty.set()
        self._thread.join(timeout=5)

    def on_events(self, events: list[EntityChanged]) -> None:
        if any(moves_topics(e) for e in events):
            self.sync_now()
        elif any(e.entity_type.name in TOPIC_TYPES and e.change != "updated" for e in events):
            self._dirty.set()

    def sync_now(self) -> None:
        """Rewrite the files now, with the server's own rights (not the request's user's)."""
        with self._writing, acting_as(SERVER), self.engine.connect() as conn:
            sync(conn, self.settings)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._dirty.wait(timeout=self.resync)
            if self._stop.is_set():
                return
            self._dirty.clear()
            try:
                self.sync_now()
            except Exception:  # the files stay as they were; retried on the next change
                log.exception("could not rewrite the broker's files")
            self._stop.wait(self.period)

