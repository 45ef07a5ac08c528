"""`python -m simulation.whatif`: the what-if job runner (server from STA_CLIENT_*, clock from S4G_CLOCK,
its own settings from WHATIF_*; see settings.py)."""
from __future__ import annotations

import asyncio
import logging
import os
import sys

from clock import clock_from_env
from simulation.whatif.service import WhatIfService
from simulation.whatif.settings import WhatIfSettings
from sta_client import ClientSettings


def main() -> int:
    try:
        settings = WhatIfSettings.from_env(os.environ)
        client = ClientSettings.from_env()
        clock = clock_from_env(os.environ)
    except ValueError as err:
        logging.basicConfig(level="ERROR")
        logging.getLogger(__name__).error("configuration: %s", err)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    service = WhatIfService(client, clock, settings.name, settings.position, settings.flush_every)
    try:
        asyncio.run(service.serve(settings.poll_s))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
