"""Who is acting: the principal of the current request or MQTT batch, and what its role may do.

Roles (docs/security.md has the full table):

- `admin`: everything, including the audit trail and user management; sees every row.
- `grid_operator`: reads everything in its grants (e.g. `radial:R1`) and creates Tasks there.
- `aggregator`: reads its portfolio's Things (grants such as `site:S17`) and creates Tasks there.
- `device_agent`: reads its own site and writes Observations to its own Datastreams only (with
  generated or visible FeaturesOfInterest).
- `resident`: reads the Things of its own site, nothing else.
- `anonymous`: reads Things labelled `public` (only when STA_ANONYMOUS=public).

What a scoped principal *sees* is enforced by PostgreSQL's row-level security (sql/policies.py); what
it may *write* (which entity types, which verbs) by `authorize` here, called by the services.
"""
from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from sta_server.errors import Forbidden

Action = Literal["create", "update", "delete"]

ROLES = ("admin", "grid_operator", "aggregator", "device_agent", "resident", "anonymous")
PUBLIC_LABEL = "public"

# role -> action -> entity types it may do that to (in rows it can see)
WRITES: dict[str, dict[Action, frozenset[str]]] = {
    "grid_operator": {"create": frozenset({"Task"})},
    "aggregator": {"create": frozenset({"Task"})},
    "device_agent": {"create": frozenset({"Observation"})},
    "resident": {"create": frozenset({"Task"})},  # only on capabilities that name it: `authorize_task`
    "anonymous": {},
}
TASKED_BY = "taskedBy"  # in a TaskingCapability's properties: the roles that may create its Tasks
NAMED_ONLY = frozenset({"resident"})  # roles that task only the capabilities naming them


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    grants: frozenset[str] = field(default_factory=frozenset)
    channel: str = "http"

    @property
    def unrestricted(self) -> bool:
        """Sees and may change everything (row-level security does not apply)."""
        return self.role == "admin"

    def may(self, action: Action, entity_type: str) -> bool:
        return self.unrestricted or entity_type in WRITES.get(self.role, {}).get(action, frozenset())


SERVER = Principal("sta-server", "admin", channel="server")  # the server's own work (no request)
ANONYMOUS = Principal("anonymous", "anonymous", frozenset({PUBLIC_LABEL}))

_current: contextvars.ContextVar[Principal] = contextvars.ContextVar("sta_principal", default=SERVER)


def current() -> Principal:
    return _current.get()


@contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    token = _current.set(principal)
    try:
        yield principal
    finally:
        _current.reset(token)


def set_current(principal: Principal) -> contextvars.Token[Principal]:
    return _current.set(principal)


def reset_current(token: contextvars.Token[Principal]) -> None:
    _current.reset(token)


def authorize_task(capability_properties: object) -> None:
    """403 unless the current principal may task a capability with these properties. A capability
    may name the roles that task it (`properties.taskedBy`, a list); without that list every role
    that creates Tasks may, except residents: they task only the capabilities that name them (the
    household's mode switch and manual set-point, never the DSO's set-point), whatever the channel."""
    principal = current()
    if principal.unrestricted:
        return
    named = capability_properties.get(TASKED_BY) if isinstance(capability_properties, dict) else None
    allowed = principal.role in named if isinstance(named, list) else principal.role not in NAMED_ONLY
    if not allowed:
        raise Forbidden(f"{principal.name} ({principal.role}) may not task this TaskingCapability "
                        f"(its properties.{TASKED_BY} does not name the role)")


def authorize(action: Action, entity_type: str) -> None:
    """403 unless the current principal's role may `action` entities of this type."""
    principal = current()
    if not principal.may(action, entity_type):
        raise Forbidden(f"{principal.name} ({principal.role}) may not {action} {entity_type} entities")
