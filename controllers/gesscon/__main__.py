"""`python -m controllers.gesscon`: commission the GESSCon Things (one per radial of GESSCON_RADIALS), then
run the loop on the project clock.

Environment: `GESSCON_*` (controllers/gesscon/settings.py, docs/controllers.md), `STA_CLIENT_*` (the server),
`S4G_CLOCK`, `S4G_CLOCK_START`, `S4G_CLOCK_FACTOR` (real or accelerated). Exit 2 on invalid settings."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys

from clock import clock_from_env
from controllers.gesscon.gesscon_thing import commission_gesscon
from controllers.gesscon.loop import GessconLoop
from controllers.gesscon.settings import GessconSettings, SettingsError
from sta_client import ClientSettings, StaClient

log = logging.getLogger("controllers.gesscon")


def main() -> int:
    try:
        settings = GessconSettings.from_env(os.environ)
        clock = clock_from_env(os.environ)
    except (SettingsError, ValueError) as error:
        logging.basicConfig(level=logging.ERROR)
        log.error("invalid configuration: %s", error)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with StaClient(ClientSettings.from_env()) as sta:
        things = commission_gesscon(sta, settings.radials, latitude=settings.latitude,
                                    longitude=settings.longitude)
        log.info("GESSCon Things: %s", ", ".join(f"{r} -> {ids.thing}" for r, ids in things.items()))
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(GessconLoop(sta, clock, settings, things).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
