"""`python -m controllers.gesscon`: commission the GESSCon Things (one per radial of GESSCON_RADIALS), then
run the loop on the project clock.

`python -m controllers.gesscon commission`: only commission them and print `{"<radial>": <Thing id>, …}` (JSON)
on standard output, then exit 0 — for an orchestrator that labels each Thing `radial:<radial>` (sta-admin)
before the loop starts; the loop finds the same Things.

Environment: `GESSCON_*` (controllers/gesscon/settings.py, docs/controllers.md), `STA_CLIENT_*` (the server),
`S4G_CLOCK`, `S4G_CLOCK_START`, `S4G_CLOCK_FACTOR` (real or accelerated). Exit 2 on invalid settings or
arguments."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence

from clock import clock_from_env
from controllers.gesscon.gesscon_thing import commission_gesscon
from controllers.gesscon.loop import GessconLoop
from controllers.gesscon.settings import GessconSettings, SettingsError
from sta_client import ClientSettings, StaClient

log = logging.getLogger("controllers.gesscon")
USAGE = "usage: python -m controllers.gesscon [commission]"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in ([], ["commission"]):
        logging.basicConfig(level=logging.ERROR)
        log.error("unknown arguments %s; %s", args, USAGE)
        return 2
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
        if args == ["commission"]:
            print(json.dumps({r: ids.thing for r, ids in things.items()}))  # noqa: T201 (the command's output)
            return 0
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(GessconLoop(sta, clock, settings, things).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
