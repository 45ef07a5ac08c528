"""`python -m agents.commission <site.yaml>`: commission a site on the server (idempotent).

Exit status: 0 done, 1 the server refused or could not be reached, 2 the site file is invalid (its
error names the file, line and field). `--plan` prints the writes without making them; `--ids FILE`
keeps the ids (a cache for the runtime). The server and credentials come from the `STA_CLIENT_*`
variables (sta_client/settings.py); a `northbound.server_url` in the site file takes precedence.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import pathlib
import sys
from collections.abc import Mapping, Sequence

from agents.commissioning import SiteIds, commission, describe, plan_site, read_existing
from agents.site import SiteFileError, SiteSpec, load_site
from clock import clock_from_env
from sta_client import ClientSettings, StaClient, StaError

log = logging.getLogger("agents.commission")


def client_settings(site: SiteSpec, environ: Mapping[str, str]) -> ClientSettings:
    settings = ClientSettings.from_env(environ=environ)
    if site.northbound.server_url:
        settings = dataclasses.replace(settings, base_url=site.northbound.server_url.rstrip("/"))
    if site.northbound.mqtt_url:
        settings = dataclasses.replace(settings, mqtt_url=site.northbound.mqtt_url)
    return settings


def label_commands(site: SiteSpec, ids: SiteIds) -> list[str]:
    """The `sta-admin` commands that label the site's Things (`site:<id>`, `radial:<radial id>`), so that
    its device agent, residents, aggregator and grid operator see them (docs/security.md); labels are
    an administrator's act on the database, not an HTTP write, so commissioning only says what to run."""
    site_radial = site.site_thing.properties.radial_id
    by_radial: dict[str | None, list[str]] = {}
    for device in site.devices:
        by_radial.setdefault(device.properties.radial_id or site_radial, []).append(str(ids.things[device.key]))
    return [" ".join(["sta-admin label add", *things, f"--label site:{site.id}",
                      *([f"--label radial:{radial}"] if radial else [])])
            for radial, things in by_radial.items()]


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m agents.commission", description=__doc__.split("\n")[0])
    parser.add_argument("site_file", type=pathlib.Path)
    parser.add_argument("--plan", action="store_true", help="show the writes, make none")
    parser.add_argument("--ids", type=pathlib.Path, help="write the ids (JSON) to this file")
    return parser.parse_args(argv)


def _show_plan(site: SiteSpec, client: StaClient, environ: Mapping[str, str]) -> None:
    plan = plan_site(site, read_existing(client, site), clock_from_env(environ).now())
    for step in plan.steps:
        log.info("%s %s %s %s", step.action.value, step.entity_set, step.key, ", ".join(step.changed))
    log.info("site %s: %s", site.id, describe(plan))


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    logging.basicConfig(level=env.get("SMX_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = _arguments(argv)
    try:
        site = load_site(args.site_file)
    except SiteFileError as error:
        log.error("%s", error)
        return 2
    try:
        with StaClient(client_settings(site, env)) as client:
            if args.plan:
                _show_plan(site, client, env)
                return 0
            ids = commission(site, client, clock_from_env(env).now())
    except StaError as error:
        log.error("site %s: the server answered %s", site.id, error)
        return 1
    log.info("site %s ids: %s", site.id, json.dumps(ids.to_json(), sort_keys=True))
    for command in label_commands(site, ids):
        log.info("site %s: label its Things (an administrator): %s", site.id, command)
    if args.ids is not None:
        ids.write(args.ids)
    return 0


if __name__ == "__main__":
    sys.exit(main())
