"""`sta-admin`: users, roles, grants, tokens and Thing labels from the command line, audited."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import Engine, text

from sta_server.security import cli
from sta_server.security.passwords import verify_password
from sta_server.settings import Settings


@pytest.fixture
def admin_cli(settings: Settings, clean_db: Engine, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("STA_DATABASE_URL", settings.database_url)
    monkeypatch.delenv("STA_MQTT_AUTH_DIR", raising=False)

    def run(*argv: str, stdin: str = "") -> tuple[int, Any]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        code = cli.main(list(argv))
        text_ = out.getvalue()
        return code, json.loads(text_) if text_.strip() else None

    return run


def test_users_roles_grants_and_passwords(admin_cli: Any, clean_db: Engine) -> None:
    code, made = admin_cli("user", "add", "ops", "--role", "grid_operator", "--grant", "radial:R1",
                           "--password-stdin", stdin="s3cret\n")
    assert code == 0 and made["role"] == "grid_operator"
    assert admin_cli("user", "change", "ops", "--grant", "radial:R2", "--revoke", "radial:R1")[0] == 0
    code, listed = admin_cli("user", "list")
    assert listed == [{"id": made["id"], "name": "ops", "role": "grid_operator", "grants": ["radial:R2"],
                       "disabled": False, "password": True}]
    with clean_db.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE name = 'ops'")).scalar()
    assert verify_password("s3cret", stored) and "s3cret" not in stored
    assert admin_cli("user", "add", "ops", "--role", "admin")[0] == 1  # exists
    assert admin_cli("user", "add", "bad name", "--role", "admin")[0] == 1
    assert admin_cli("user", "change", "ops", "--disable")[0] == 0
    assert admin_cli("user", "list")[1][0]["disabled"] is True
    assert admin_cli("user", "remove", "ops")[0] == 0
    assert admin_cli("user", "list")[1] == []


def test_tokens_are_shown_once_and_revocable(admin_cli: Any, clean_db: Engine) -> None:
    admin_cli("user", "add", "agent-7", "--role", "device_agent", "--grant", "site:S7")
    code, token = admin_cli("token", "create", "agent-7", "--label", "field box", "--days", "30")
    assert code == 0 and token["token"].startswith("sta_") and token["expires"]
    code, listed = admin_cli("token", "list", "agent-7")
    assert [t["name"] for t in listed] == ["field box"] and "token" not in listed[0]
    with clean_db.connect() as conn:
        assert token["token"] not in str(conn.execute(text("SELECT * FROM api_tokens")).all())
    assert admin_cli("token", "revoke", str(token["id"]))[0] == 0
    assert admin_cli("token", "revoke", str(token["id"]))[0] == 1  # already revoked


def test_thing_labels_and_the_audit_of_it_all(admin_cli: Any, clean_db: Engine) -> None:
    with clean_db.begin() as conn:
        thing = conn.execute(text("INSERT INTO things (name) VALUES ('house') RETURNING id")).scalar()
    assert admin_cli("label", "add", str(thing), "--label", "site:S7", "--label", "radial:R1")[0] == 0
    assert admin_cli("label", "remove", str(thing), "--label", "radial:R1")[0] == 0
    assert admin_cli("label", "list", str(thing))[1] == ["site:S7"]
    assert admin_cli("label", "add", "999999", "--label", "x")[0] == 1
    with clean_db.connect() as conn:
        rows = conn.execute(text("SELECT channel, action, entity_type FROM audit_records ORDER BY id")).all()
    assert [(r.channel, r.action, r.entity_type) for r in rows] == [
        ("cli", "labels.changed", "Thing"), ("cli", "labels.changed", "Thing")]


def test_command_line_is_installed_as_sta_admin(settings: Settings) -> None:
    done = subprocess.run([sys.executable, "-m", "sta_server.security.cli", "--help"], capture_output=True,
                          text=True, check=True)
    assert "user" in done.stdout and "token" in done.stdout and "label" in done.stdout
