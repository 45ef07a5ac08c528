"""Authentication on HTTP: Basic with hashed passwords, bearer tokens, client certificates (by the
name the TLS layer verified), 401 with a JSON body and a challenge, public documents."""
from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text

from sta_server.app import create_app
from sta_server.security import users
from sta_server.security.passwords import ITERATIONS, hash_password, verify_password
from sta_server.settings import Settings
from sta_server.sql.security_tables import User
from sta_server.tls import CLIENT_IDENTITY_KEY
from tests.security.conftest import SETUP, As, Grid, basic, password


def test_passwords_are_stored_hashed_in_the_brokers_format(secure_app: Flask, clean_db: Engine) -> None:
    with clean_db.connect() as conn:
        stored = conn.execute(select(User.__table__.c.password_hash).where(User.__table__.c.name == "agent")).scalar()
        dump = conn.execute(text("SELECT string_agg(t::text, ' ') FROM users t")).scalar()
    assert stored is not None and stored.startswith("$7$") and password("agent") not in dump
    assert verify_password(password("agent"), stored)
    assert not verify_password("wrong", stored)
    assert hash_password("x") != hash_password("x")  # salted


def test_requests_without_credentials_are_401_with_a_challenge(secure_client: FlaskClient, grid: Grid) -> None:
    for path in ("/v1.1/Things", f"/v1.1/Things({grid.thing_public})", "/v1.1/Observations", "/metrics"):
        response = secure_client.get(path)
        assert response.status_code == 401, path
        assert response.get_json()["error"]["code"] == "Unauthorized"
        assert "Basic" in response.headers["WWW-Authenticate"]
        assert "Bearer" in response.headers["WWW-Authenticate"]
    assert secure_client.post("/v1.1/Things", json={"name": "x", "description": "x"}).status_code == 401


def test_public_documents_need_no_credentials(secure_client: FlaskClient) -> None:
    assert secure_client.get("/v1.1").status_code == 200
    assert secure_client.get("/openapi.json").status_code == 200


def test_wrong_credentials_are_401_never_anonymous(secure_client: FlaskClient, grid: Grid) -> None:
    for headers in (basic("agent", "wrong"), basic("nobody", "x"), {"Authorization": "Basic !!!"},
                    {"Authorization": "Bearer sta_nottoken"}, {"Authorization": "Digest abc"},
                    {"Authorization": "Basic"}):
        status, body = As(secure_client, None, headers).get("Things")
        assert status == 401, headers
        assert body["error"]["code"] == "Unauthorized"


def test_unknown_users_cost_the_same_password_hash(secure_client: FlaskClient, grid: Grid,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A refusal hashes the given password whether the user exists, has no password or is
    disabled: the time it takes tells nothing about which user names exist."""
    hashed: list[int] = []
    real = hashlib.pbkdf2_hmac

    def counting(name: str, password_: bytes, salt: bytes, iterations: int, length: int | None = None) -> bytes:
        hashed.append(iterations)
        return real(name, password_, salt, iterations, length)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counting)
    for headers in (basic("agent", "wrong"), basic("nobody", "wrong"), basic("nobody", password("agent"))):
        assert As(secure_client, None, headers).get("Things")[0] == 401
    assert hashed == [ITERATIONS, ITERATIONS, ITERATIONS]


def test_bearer_tokens_work_until_revoked_or_expired(secure_settings: Settings, grid: Grid,
                                                     clean_db: Engine) -> None:
    with clean_db.begin() as conn:
        ident, token = users.create_token(conn, SETUP, "resident", "app")
        _, expired = users.create_token(conn, SETUP, "resident", "old", datetime.now(UTC) - timedelta(days=1))
        stored = conn.execute(text("SELECT token_hash FROM api_tokens WHERE id = :i"), {"i": ident}).scalar()
    assert token.startswith("sta_") and stored != token and token not in str(stored)
    client = create_app(secure_settings, clean_db).test_client()
    me = As(client, None, {"Authorization": f"Bearer {token}"})
    assert me.ids("Things") == [grid.thing_a]
    assert As(client, None, {"Authorization": f"Bearer {expired}"}).get("Things")[0] == 401
    with clean_db.begin() as conn:
        users.revoke_token(conn, SETUP, ident)
    fresh = create_app(secure_settings, clean_db).test_client()  # no remembered check
    assert As(fresh, None, {"Authorization": f"Bearer {token}"}).get("Things")[0] == 401


def test_disabled_users_and_changed_passwords_are_refused(secure_settings: Settings, grid: Grid,
                                                          clean_db: Engine) -> None:
    with clean_db.begin() as conn:
        users.change_user(conn, SETUP, "resident", disabled=True)
        users.change_user(conn, SETUP, "agent", password="new-secret")
    client = create_app(secure_settings, clean_db).test_client()
    assert As(client, "resident").get("Things")[0] == 401
    assert As(client, "agent").get("Things")[0] == 401
    assert As(client, None, basic("agent", "new-secret")).get("Things")[0] == 200


def test_credential_checks_are_remembered_for_the_cache_time(secure_settings: Settings, grid: Grid,
                                                             clean_db: Engine) -> None:
    client = create_app(replace(secure_settings, auth_cache_s=0), clean_db).test_client()
    assert As(client, "resident").get("Things")[0] == 200
    with clean_db.begin() as conn:
        users.change_user(conn, SETUP, "resident", disabled=True)
    assert As(client, "resident").get("Things")[0] == 401  # no cache: effective at once


def test_client_certificate_names_the_user(secure_client: FlaskClient, grid: Grid) -> None:
    """The TLS layer (sta_server/tls.py) puts the verified certificate's CN into the environ; a
    header cannot."""
    response = secure_client.get("/v1.1/Things", environ_base={CLIENT_IDENTITY_KEY: "agent"})
    assert response.status_code == 200
    assert [t["@iot.id"] for t in response.get_json()["value"]] == [grid.thing_a]
    assert secure_client.get("/v1.1/Things", environ_base={CLIENT_IDENTITY_KEY: "stranger"}).status_code == 401
    assert secure_client.get("/v1.1/Things", headers={"X-Client-Cert": "agent"}).status_code == 401


def test_anonymous_reads_public_things_only_when_enabled(secure_settings: Settings, grid: Grid,
                                                         clean_db: Engine) -> None:
    client = create_app(replace(secure_settings, anonymous="public"), clean_db).test_client()
    anonymous = As(client, None)
    assert anonymous.ids("Things") == [grid.thing_public]
    assert anonymous.ids("Datastreams") == [grid.stream_public]
    assert anonymous.ids("Observations") == []
    assert anonymous.get(f"Things({grid.thing_a})")[0] == 404
    status, body = anonymous.post("Things", {"name": "x", "description": "x"})
    assert status == 403 and body["error"]["code"] == "Forbidden"
    assert anonymous.get("/metrics")[0] == 403


def test_authentication_off_acts_as_administrator(settings: Settings, grid: Grid, clean_db: Engine) -> None:
    client = create_app(replace(settings, auth=False), clean_db).test_client()
    assert len(As(client, None).ids("Things")) == 3


def test_basic_header_with_non_ascii_password(secure_settings: Settings, clean_db: Engine) -> None:
    with clean_db.begin() as conn:
        users.add_user(conn, SETUP, "jurgen", "resident", "pässwörd", ["site:X"])
    client = create_app(secure_settings, clean_db).test_client()
    token = base64.b64encode("jurgen:pässwörd".encode()).decode()
    assert As(client, None, {"Authorization": f"Basic {token}"}).get("Things") == (200, {"value": []})
