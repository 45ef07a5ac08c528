"""Each site of the district made ready for its field process, as an administrator would do it by hand
(sites/README.md, docs/security.md): commission the site file (`python -m agents.commission`), label its
Things `site:<id>` and `radial:<id>` and give it a `device_agent` user granted that site only, whose
password is kept in a file of the run directory. All of it through the project's own commands: the
orchestrator imports neither `agents` (a sibling layer) nor `sta_server`."""
from __future__ import annotations

import json
import logging
import os
import pathlib
import secrets
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from district.manifest import SiteEntry

log = logging.getLogger("district.provision")


class ProvisionError(RuntimeError):
    """A command of the provisioning failed (its output is in the message)."""


@dataclass(frozen=True)
class Credentials:
    """What a field process logs in with (the password stays in its file)."""

    username: str
    password_file: pathlib.Path


@dataclass(frozen=True)
class Tools:
    python: str  # the virtualenv's interpreter (runs `-m agents.commission`)
    sta_admin: str  # the `sta-admin` executable
    cwd: pathlib.Path


def agent_name(site_id: str) -> str:
    return f"agent-{site_id}"


def commission_site(tools: Tools, entry: SiteEntry, env: Mapping[str, str], ids_path: pathlib.Path) -> dict[str, Any]:
    """Commission the site as the administrator of `env` (STA_CLIENT_*); its ids, also kept in `ids_path`
    (the field process reads them there if the server is unreachable when it starts)."""
    ids_path.parent.mkdir(parents=True, exist_ok=True)
    _run([tools.python, "-m", "agents.commission", str(entry.path), "--ids", str(ids_path)], env, tools.cwd,
         f"commissioning {entry.facts.site_id}")
    ids: dict[str, Any] = json.loads(ids_path.read_text())
    return ids


def grant_site(tools: Tools, entry: SiteEntry, ids: Mapping[str, Any], env: Mapping[str, str],
               secrets_dir: pathlib.Path) -> Credentials:
    """Label the site's Things and make (or refresh) its device agent; `env` carries the server's
    STA_DATABASE_URL and STA_MQTT_AUTH_DIR, as `sta-admin` needs them."""
    site_id = entry.facts.site_id
    labels = [f"site:{site_id}", *(f"radial:{radial}" for radial in sorted(entry.facts.radials))]
    things = [str(thing) for thing in ids["things"].values()]
    _run([tools.sta_admin, "label", "add", *things, *(arg for label in labels for arg in ("--label", label))],
         env, tools.cwd, f"labelling {site_id}")
    return _user(tools, agent_name(site_id), "device_agent", site_id, env, secrets_dir)


def resident_name(site_id: str) -> str:
    return f"resident-{site_id}"


def make_resident(tools: Tools, site_id: str, env: Mapping[str, str], secrets_dir: pathlib.Path) -> Credentials:
    """A resident of the site (the residential GUI's login): reads its own site, tasks only the
    capabilities that name residents (the household's mode switch and manual set-point)."""
    return _user(tools, resident_name(site_id), "resident", site_id, env, secrets_dir)


def _user(tools: Tools, name: str, role: str, site_id: str, env: Mapping[str, str],
          secrets_dir: pathlib.Path) -> Credentials:
    """Make (or refresh) a user with one role and the grant of one site; its password kept in a 0600 file."""
    secret = secrets_dir / f"{name}.secret"
    secrets_dir.mkdir(parents=True, exist_ok=True)
    if not secret.exists():
        descriptor = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(24) + "\n")
    grant = ["--role", role, "--grant", f"site:{site_id}", "--password-file", str(secret)]
    try:
        _run([tools.sta_admin, "user", "add", name, *grant], env, tools.cwd, f"making the user {name}")
    except ProvisionError:
        if name not in _users(tools, env):
            raise
        # made by an earlier run: the same role, grant and (kept) password again
        _run([tools.sta_admin, "user", "change", name, *grant], env, tools.cwd, f"refreshing the user {name}")
    return Credentials(name, secret)


def sync_broker(tools: Tools, env: Mapping[str, str]) -> None:
    """The broker's password file and ACL rewritten from the user store (needs STA_MQTT_AUTH_DIR)."""
    if env.get("STA_MQTT_AUTH_DIR"):
        _run([tools.sta_admin, "broker", "sync"], env, tools.cwd, "the broker's users")


def _users(tools: Tools, env: Mapping[str, str]) -> set[str]:
    output = _run([tools.sta_admin, "user", "list"], env, tools.cwd, "listing users")
    listed = json.loads(output) if output.strip() else []
    return {str(user["name"]) for user in listed if isinstance(user, dict) and "name" in user}


def _run(argv: list[str], env: Mapping[str, str], cwd: pathlib.Path, what: str) -> str:
    done = subprocess.run(argv, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=180, check=False)
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-2000:]
        raise ProvisionError(f"{what} failed (status {done.returncode}): {output}")
    return done.stdout
