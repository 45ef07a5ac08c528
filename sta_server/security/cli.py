"""`sta-admin`: manage users, roles, grants, API tokens and the labels of Things.

    sta-admin user add NAME --role ROLE [--grant LABEL ...] [--password-stdin | --password-file FILE]
    sta-admin user change NAME [--role ROLE] [--grant LABEL ...] [--revoke LABEL ...]
                               [--password-stdin | --password-file FILE] [--disable | --enable]
    sta-admin user remove NAME
    sta-admin user list
    sta-admin token create NAME [--label TEXT] [--days N]     (prints the token once)
    sta-admin token list NAME
    sta-admin token revoke TOKEN_ID
    sta-admin label add THING_ID [THING_ID ...] --label LABEL [--label ...]
    sta-admin label remove THING_ID [THING_ID ...] --label LABEL [--label ...]
    sta-admin label list THING_ID
    sta-admin broker sync                                     (write the broker's passwd/acl files)

Passwords are read from standard input or a file, never from the command line (it is visible to
other users of the machine). The database comes from STA_DATABASE_URL; every change is written to
the audit trail with channel `cli` and the operating-system user as actor, and the broker's files
are rewritten when STA_MQTT_AUTH_DIR is set.
"""
from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from sta_server.errors import StaError
from sta_server.security import broker_files, users
from sta_server.security.principal import ROLES, Principal
from sta_server.settings import Settings
from sta_server.sql.engine import make_engine

log = logging.getLogger(__name__)


def _password(args: argparse.Namespace) -> str | None:
    if getattr(args, "password_file", None):
        with open(args.password_file, encoding="utf-8") as handle:
            return handle.read().rstrip("\r\n")
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\r\n")
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sta-admin", description=__doc__.split("\n")[0])
    groups = parser.add_subparsers(dest="group", required=True)

    user = groups.add_parser("user").add_subparsers(dest="command", required=True)
    add = user.add_parser("add")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--grant", action="append", default=[], metavar="LABEL")
    _password_options(add)
    change = user.add_parser("change")
    change.add_argument("name")
    change.add_argument("--role", choices=ROLES)
    change.add_argument("--grant", action="append", default=[], metavar="LABEL")
    change.add_argument("--revoke", action="append", default=[], metavar="LABEL")
    _password_options(change)
    state = change.add_mutually_exclusive_group()
    state.add_argument("--disable", action="store_true")
    state.add_argument("--enable", action="store_true")
    user.add_parser("remove").add_argument("name")
    user.add_parser("list")

    token = groups.add_parser("token").add_subparsers(dest="command", required=True)
    create = token.add_parser("create")
    create.add_argument("name")
    create.add_argument("--label")
    create.add_argument("--days", type=float, help="expires after this many days (default: never)")
    token.add_parser("list").add_argument("name")
    token.add_parser("revoke").add_argument("token_id", type=int)

    label = groups.add_parser("label").add_subparsers(dest="command", required=True)
    for verb in ("add", "remove"):
        sub = label.add_parser(verb)
        sub.add_argument("thing_ids", nargs="+", type=int)
        sub.add_argument("--label", action="append", required=True, dest="labels")
    label.add_parser("list").add_argument("thing_id", type=int)

    groups.add_parser("broker").add_subparsers(dest="command", required=True).add_parser("sync")
    return parser


def _password_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    source.add_argument("--password-file", help="read the password from this file")


def run(conn: Connection, args: argparse.Namespace, actor: Principal, reserved: frozenset[str] = frozenset()) -> Any:
    """Carry out one command; returns what to print (JSON-able) or None. `reserved`: user names
    nobody may take (the broker's own users: security/broker_files.py)."""
    key = (args.group, args.command)
    if key == ("user", "add"):
        ident = users.add_user(conn, actor, args.name, args.role, _password(args), args.grant, reserved)
        return {"id": ident, "name": args.name, "role": args.role}
    if key == ("user", "change"):
        disabled = True if args.disable else False if args.enable else None
        users.change_user(conn, actor, args.name, role=args.role, password=_password(args),
                          add_grants=args.grant, remove_grants=args.revoke, disabled=disabled)
        return None
    if key == ("user", "remove"):
        users.remove_user(conn, actor, args.name)
        return None
    if key == ("user", "list"):
        return [{"id": u.id, "name": u.name, "role": u.role, "grants": list(u.grants), "disabled": u.disabled,
                 "password": u.has_password} for u in users.list_users(conn)]
    if key == ("token", "create"):
        expires = datetime.now(UTC) + timedelta(days=args.days) if args.days else None
        ident, token = users.create_token(conn, actor, args.name, args.label, expires)
        return {"id": ident, "token": token, "expires": expires.isoformat() if expires else None}
    if key == ("token", "list"):
        return users.list_tokens(conn, args.name)
    if key == ("token", "revoke"):
        users.revoke_token(conn, actor, args.token_id)
        return None
    if key[0] == "label" and args.command in ("add", "remove"):
        change = {"add": args.labels} if args.command == "add" else {"remove": args.labels}
        users.label_things(conn, actor, args.thing_ids, **change)
        return None
    if key == ("label", "list"):
        return users.labels_of(conn, args.thing_id)
    if key == ("broker", "sync"):
        return None
    raise SystemExit(f"unknown command {' '.join(key)}")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    engine = make_engine(settings)
    actor = Principal(getpass.getuser(), "admin", channel="cli")
    try:
        with engine.begin() as conn:
            output = run(conn, args, actor, broker_files.reserved_names(settings))
        if settings.mqtt_auth_dir:
            with engine.connect() as conn:
                broker_files.sync(conn, settings)
    except StaError as error:
        print(f"sta-admin: {error.message}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if output is not None:
        print(json.dumps(output, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
