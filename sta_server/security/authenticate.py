"""HTTP authentication: who sends a request, set as the current principal for its whole handling.

Credentials, in this order: `Authorization: Basic` (user name and password), `Authorization:
Bearer` (an API token), a verified TLS client certificate (its CN names the user; docs/tls.md).
Without credentials a request is anonymous: allowed only with STA_ANONYMOUS=public (reading what
is labelled public) and on the public documents (service root, OpenAPI). Wrong credentials are
always a 401 (never a silent fall-back to anonymous). With STA_AUTH=off every request acts as an
administrator.

A successful check is remembered for STA_AUTH_CACHE_S (keyed by a hash of the credentials), so a
client that sends Basic on every request does not pay the password hash each time; a disabled
user, changed password or revoked token takes effect within that time.
"""
from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable

from flask import Flask, current_app, g, request
from sqlalchemy import Connection, Engine

from sta_server.errors import Unauthorized
from sta_server.security import users
from sta_server.security.principal import ANONYMOUS, Principal, reset_current, set_current
from sta_server.settings import Settings
from sta_server.tls import client_cert_identity

OPEN = Principal("anonymous", "admin")  # STA_AUTH=off
PUBLIC_PATHS = ("/openapi.json", "/api-docs")
_CACHE_LIMIT = 10_000


class CredentialCache:
    """Recently verified credentials -> principal, for `ttl` seconds."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) >= _CACHE_LIMIT:
                now = time.monotonic()
                self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
                if len(self._entries) >= _CACHE_LIMIT:
                    self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl, principal)


def identify(engine: Engine, settings: Settings, cache: CredentialCache, authorization: str | None,
             certificate_user: str | None, path: str) -> Principal:
    """The principal of a request (raises Unauthorized)."""
    if not settings.auth:
        return OPEN
    if authorization:
        scheme, _, credentials = authorization.strip().partition(" ")
        check = _CHECKS.get(scheme.lower())
        if check is None or not credentials.strip():
            raise Unauthorized("Use HTTP Basic or a Bearer token")
        key = hashlib.sha256(f"{scheme.lower()} {credentials.strip()}".encode()).hexdigest()
        principal = cache.get(key)
        if principal is None:
            with engine.connect() as conn:
                principal = check(conn, credentials.strip())
            if principal is None:
                raise Unauthorized("Wrong user name, password or token")
            cache.put(key, principal)
        return principal
    if certificate_user:
        key = "cert " + certificate_user
        principal = cache.get(key)
        if principal is None:
            with engine.connect() as conn:
                principal = users.by_name(conn, certificate_user)
            if principal is None:
                raise Unauthorized(f"The client certificate names no user ('{certificate_user}')")
            cache.put(key, principal)
        return principal
    if settings.anonymous == "public" or _public(path):
        return ANONYMOUS
    raise Unauthorized()


def _public(path: str) -> bool:
    stripped = path.rstrip("/")
    return stripped in ("", "/v1.0", "/v1.1") or path.startswith(PUBLIC_PATHS)


def _basic(conn: Connection, credentials: str) -> Principal | None:
    try:
        name, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise Unauthorized("Malformed Basic credentials") from None
    return users.by_password(conn, name, password)


def _bearer(conn: Connection, token: str) -> Principal | None:
    return users.by_token(conn, token)


_CHECKS: dict[str, Callable[[Connection, str], Principal | None]] = {"basic": _basic, "bearer": _bearer}


def register_authentication(app: Flask) -> None:
    app.config["STA_CREDENTIALS"] = CredentialCache(app.config["STA_SETTINGS"].auth_cache_s)

    @app.before_request
    def _authenticate() -> None:
        principal = identify(current_app.config["STA_ENGINE"], current_app.config["STA_SETTINGS"],
                             current_app.config["STA_CREDENTIALS"], request.headers.get("Authorization"),
                             client_cert_identity(request.environ), request.path)
        g.sta_principal_token = set_current(principal)

    @app.teardown_request
    def _forget(_error: BaseException | None) -> None:
        token = g.pop("sta_principal_token", None)
        if token is not None:
            reset_current(token)
