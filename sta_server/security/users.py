"""The user store: users with a role and grants, their API tokens, and the labels of Things.

Every change is written to the audit trail by the caller's principal (security/audit.py)."""
from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from sta_server.errors import BadRequest, NotFound
from sta_server.security import audit
from sta_server.security.passwords import UNKNOWN_USER_HASH, hash_password, hash_token, new_token, verify_password
from sta_server.security.principal import ROLES, Principal
from sta_server.sql.security_tables import NAME_MAX_LENGTH, ApiToken, ThingLabel, User
from sta_server.sql.tables import TABLES

users = TABLES[User.__tablename__]
tokens = TABLES[ApiToken.__tablename__]
labels = TABLES[ThingLabel.__tablename__]
NAME_LIMIT = min(64, NAME_MAX_LENGTH)
NAME_PATTERN = re.compile(rf"[A-Za-z0-9._-]{{1,{NAME_LIMIT}}}")


@dataclass(frozen=True)
class UserInfo:
    id: int
    name: str
    role: str
    grants: tuple[str, ...]
    disabled: bool
    has_password: bool
    password_hash: str | None


def valid_name(name: str) -> bool:
    """Letters, digits, '.', '_' and '-', 1 to 64: a name that is safe as a broker user name, a
    client id prefix (`<user>:…`), a line of the password and ACL files and in a log line."""
    return NAME_PATTERN.fullmatch(name) is not None


def _check(name: str, role: str | None = None, reserved: Collection[str] = ()) -> None:
    if not valid_name(name):
        raise BadRequest(f"'{name}' is not a valid user name (1 to {NAME_LIMIT} letters, digits, '.', '_', '-')")
    if name in reserved:
        raise BadRequest(f"'{name}' is reserved (a user of the broker's own files, such as the server's)")
    _check_role(role)


def _check_role(role: str | None) -> None:
    if role is not None and role not in ROLES:
        raise BadRequest(f"Unknown role '{role}'; one of {', '.join(ROLES)}")


def add_user(conn: Connection, actor: Principal, name: str, role: str, password: str | None = None,
             grants: Iterable[str] = (), reserved: Collection[str] = ()) -> int:
    """`reserved`: names no user may take (security/broker_files.py:reserved_names)."""
    _check(name, role, reserved)
    if conn.execute(select(users.c.id).where(users.c.name == name)).first() is not None:
        raise BadRequest(f"User '{name}' exists")
    ident = int(conn.execute(insert(users).values(
        name=name, role=role, grants=sorted(set(grants)),
        password_hash=hash_password(password) if password else None).returning(users.c.id)).scalar_one())
    audit.record(conn, actor, "user.created", "User", [ident], {"name": name, "role": role,
                                                                 "grants": sorted(set(grants))})
    return ident


def get_user(conn: Connection, name: str) -> UserInfo:
    row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    if row is None:
        raise NotFound(f"No user '{name}'")
    return _info(row)


def _info(row: object) -> UserInfo:
    r = dict(row)  # type: ignore[call-overload]
    return UserInfo(r["id"], r["name"], r["role"], tuple(r["grants"]), r["disabled"],
                    r["password_hash"] is not None, r["password_hash"])


def list_users(conn: Connection) -> list[UserInfo]:
    return [_info(row) for row in conn.execute(select(users).order_by(users.c.name)).mappings()]


def change_user(conn: Connection, actor: Principal, name: str, *, role: str | None = None,
                password: str | None = None, add_grants: Iterable[str] = (), remove_grants: Iterable[str] = (),
                disabled: bool | None = None) -> None:
    user = get_user(conn, name)
    _check_role(role)
    values: dict[str, object] = {}
    detail: dict[str, object] = {}
    if role is not None:
        values["role"] = detail["role"] = role
    if password is not None:
        values["password_hash"] = hash_password(password)
        detail["password"] = "changed"
    add, remove = set(add_grants), set(remove_grants)
    if add or remove:
        values["grants"] = detail["grants"] = sorted((set(user.grants) | add) - remove)
    if disabled is not None:
        values["disabled"] = detail["disabled"] = disabled
    if values:
        conn.execute(update(users).where(users.c.id == user.id).values(**values))
        audit.record(conn, actor, "user.changed", "User", [user.id], {"name": name, **detail})


def remove_user(conn: Connection, actor: Principal, name: str) -> None:
    user = get_user(conn, name)
    conn.execute(delete(users).where(users.c.id == user.id))
    audit.record(conn, actor, "user.deleted", "User", [user.id], {"name": name})


def create_token(conn: Connection, actor: Principal, name: str, label: str | None = None,
                 expires_at: datetime | None = None) -> tuple[int, str]:
    """A new API token for user `name`: (its id, the token). The token is shown only here."""
    user = get_user(conn, name)
    token = new_token()
    ident = int(conn.execute(insert(tokens).values(
        user_id=user.id, name=label, token_hash=hash_token(token), expires_at=expires_at,
    ).returning(tokens.c.id)).scalar_one())
    audit.record(conn, actor, "token.created", "ApiToken", [ident], {"user": name, "name": label})
    return ident, token


def list_tokens(conn: Connection, name: str) -> list[dict[str, object]]:
    user = get_user(conn, name)
    stmt = select(tokens.c.id, tokens.c.name, tokens.c.created_at, tokens.c.expires_at, tokens.c.revoked_at)
    return [dict(row) for row in conn.execute(stmt.where(tokens.c.user_id == user.id)
                                              .order_by(tokens.c.id)).mappings()]


def revoke_token(conn: Connection, actor: Principal, token_id: int) -> None:
    done = conn.execute(update(tokens).where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
                        .values(revoked_at=func.now()).returning(tokens.c.id)).first()
    if done is None:
        raise NotFound(f"No active token {token_id}")
    audit.record(conn, actor, "token.revoked", "ApiToken", [token_id], None)


def _principal(row: object, channel: str) -> Principal:
    r = dict(row)  # type: ignore[call-overload]
    return Principal(r["name"], r["role"], frozenset(r["grants"]), channel)


def by_password(conn: Connection, name: str, password: str, channel: str = "http") -> Principal | None:
    """The user with this name and password. An unknown, disabled or password-less user costs
    the same password hash as a wrong password (nothing to learn from the time it takes)."""
    row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    stored = row["password_hash"] if row is not None else None
    matches = verify_password(password, stored or UNKNOWN_USER_HASH)
    if row is None or row["disabled"] or stored is None or not matches:
        return None
    return _principal(row, channel)


def by_token(conn: Connection, token: str, channel: str = "http") -> Principal | None:
    stmt = (select(users).join(tokens, tokens.c.user_id == users.c.id)
            .where(tokens.c.token_hash == hash_token(token), tokens.c.revoked_at.is_(None),
                   users.c.disabled.is_(False))
            .where((tokens.c.expires_at.is_(None)) | (tokens.c.expires_at > func.now())))
    row = conn.execute(stmt).mappings().first()
    return None if row is None else _principal(row, channel)


def by_name(conn: Connection, name: str, channel: str = "http") -> Principal | None:
    """The user a verified client certificate names (its common name)."""
    row = conn.execute(select(users).where(users.c.name == name, users.c.disabled.is_(False))).mappings().first()
    return None if row is None else _principal(row, channel)


def label_things(conn: Connection, actor: Principal, thing_ids: Iterable[int], add: Iterable[str] = (),
                 remove: Iterable[str] = ()) -> None:
    ids, add_set, remove_set = sorted(set(thing_ids)), sorted(set(add)), sorted(set(remove))
    things = TABLES["things"]
    found = {int(i) for i in conn.execute(select(things.c.id).where(things.c.id.in_(ids))).scalars()}
    if missing := sorted(set(ids) - found):
        raise NotFound(f"No Thing with id {', '.join(map(str, missing))}")
    if add_set:
        rows = [{"thing_id": i, "label": label} for i in ids for label in add_set]
        conn.execute(pg_insert(labels).values(rows).on_conflict_do_nothing())
    if remove_set:
        conn.execute(delete(labels).where(labels.c.thing_id.in_(ids), labels.c.label.in_(remove_set)))
    audit.record(conn, actor, "labels.changed", "Thing", ids, {"added": add_set, "removed": remove_set})


def labels_of(conn: Connection, thing_id: int) -> list[str]:
    stmt = select(labels.c.label).where(labels.c.thing_id == thing_id).order_by(labels.c.label)
    return [str(label) for label in conn.execute(stmt).scalars()]
