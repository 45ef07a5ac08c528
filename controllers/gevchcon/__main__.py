"""`python -m controllers.gevchcon`: GEVChCon's loop on the project clock (`S4G_CLOCK`, clock/), configured
from `GEVCHCON_*` (settings.py) and the server connection from `STA_CLIENT_*`. Exit status 2 on a
configuration error."""
from __future__ import annotations

import asyncio
import logging
import os
import sys

from clock import clock_from_env
from controllers.gevchcon.loop import run
from controllers.gevchcon.settings import Settings, SettingsError
from sta_client import ClientSettings, StaClient

log = logging.getLogger("controllers.gevchcon")


def main() -> int:
    logging.basicConfig(level=os.environ.get("S4G_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
        clock = clock_from_env(os.environ)
        client_settings = ClientSettings.from_env()
    except (SettingsError, ValueError) as error:
        log.error("configuration: %s", error)
        return 2
    log.info("GEVChCon for sites %s, every %d s", ", ".join(settings.sites), settings.policy.step_s)
    with StaClient(client_settings) as client:
        try:
            asyncio.run(run(clock, client, settings))
        except KeyboardInterrupt:
            log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
