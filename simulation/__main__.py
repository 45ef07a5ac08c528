"""`python -m simulation`: the closed loop on the project clock (SIM_* and STA_CLIENT_* variables,
the clock from S4G_CLOCK*; see docs/simulation.md). Ends on SIGINT/SIGTERM."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from clock import clock_from_env
from simulation.grid import GridModel
from simulation.loop import ClosedLoop, LoopSettings
from sta_client import ClientSettings, StaClient

log = logging.getLogger("simulation")


async def _main() -> int:
    clock = clock_from_env(os.environ)
    try:
        settings = LoopSettings.from_env(os.environ, clock.now())
    except ValueError as err:
        log.error("bad simulation settings: %s", err)
        return 2
    model = GridModel.load(settings.grid, settings.anchor, settings.label)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with StaClient(ClientSettings.from_env()) as sta:
        closed = ClosedLoop(model, sta, settings)
        await asyncio.to_thread(closed.setup)
        log.info("simulation of %s (%s): %d devices, step %.0f s", model.name, model.code, len(closed.devices),
                 settings.step_s)
        runner = asyncio.create_task(closed.run(clock, stop))
        await stop.wait()
        runner.cancel()
    log.info("simulation stopped: %s", dict(model.counters))
    return 0


def main() -> int:
    logging.basicConfig(level=os.environ.get("SIM_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return asyncio.run(_main())


if __name__ == "__main__":
    sys.exit(main())
