"""User names (red team, issue 14 §1): `sta-admin` once accepted `sta-server` (the server's broker
account: passwd then held two lines, the resident got the server's ACL and the server was locked
out) and names such as `res/C`, `res+`, `v1.1/Datastreams(2)`. Names are now 1 to 64 of
`[A-Za-z0-9._-]`, the broker's own users are reserved, and the broker files never name a base
user twice."""
from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from sta_server.security import cli
from sta_server.security.broker_files import render
from sta_server.security.passwords import hash_password
from sta_server.settings import Settings
from sta_server.sql.tables import TABLES


@pytest.fixture
def auth_dir(tmp_path: Path) -> Path:
    (tmp_path / "passwd.base").write_text(f"sta-server:{hash_password('server-pw')}\n")
    (tmp_path / "acl.base").write_text("user sta-server\ntopic readwrite #\n\nuser bridge-7\ntopic read x/#\n")
    return tmp_path


def _add(settings: Settings, auth_dir: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> int:
    monkeypatch.setenv("STA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("STA_MQTT_AUTH_DIR", str(auth_dir))
    monkeypatch.setenv("STA_MQTT_URL", "mqtt://edge-server:pw@127.0.0.1:1")
    monkeypatch.setattr(sys, "stdin", io.StringIO("pw\n"))
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    return cli.main(["user", "add", name, "--role", "resident", "--grant", "site:A", "--password-stdin"])


@pytest.mark.parametrize(("name", "code"), [
    ("sta-server", 1),  # the server's broker account (of passwd.base)
    ("bridge-7", 1),  # a user of acl.base
    ("edge-server", 1),  # the user of STA_MQTT_URL
    ("res/C", 1), ("res+", 1), ("res#", 1), ("v1.1/Datastreams(2)", 1), ("a b", 1), ("u'x'", 1), ("", 1),
    ("x" * 65, 1),
    ("x" * 64, 0), ("site-A.resident_2", 0),
])
def test_only_safe_and_free_names_are_taken(settings: Settings, clean_db: Engine, auth_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch, name: str, code: int) -> None:
    assert _add(settings, auth_dir, monkeypatch, name) == code
    assert cli.main(["broker", "sync"]) == 0
    passwd = (auth_dir / "passwd").read_text().splitlines()
    assert [line.split(":")[0] for line in passwd].count("sta-server") == 1


def test_the_broker_files_never_name_a_base_user_twice(settings: Settings, clean_db: Engine, auth_dir: Path) -> None:
    """Rows from before the check (written straight into the table) are left out of the files."""
    with clean_db.begin() as conn:
        for name in ("sta-server", "bridge-7", "res/C", "resident-1"):
            conn.execute(insert(TABLES["users"]).values(name=name, role="resident", grants=["site:A"],
                                                        password_hash=hash_password("pw")))
        passwd, acl = render(conn, settings, (auth_dir / "passwd.base").read_text(),
                             (auth_dir / "acl.base").read_text())
    assert [line.split(":")[0] for line in passwd.splitlines()] == ["sta-server", "resident-1"]
    users = [line for line in acl.splitlines() if line.startswith("user ")]
    assert users == ["user sta-server", "user bridge-7", "user resident-1"]
