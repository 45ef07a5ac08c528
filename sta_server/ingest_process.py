"""The MQTT ingest process of the multi-process run mode: creates from the broker, their
notifications, nothing else (`python -m sta_server.ingest_process`)."""
from __future__ import annotations

import logging
import os
import pathlib
import signal
import sys
import threading
from dataclasses import replace

from sta_server.counters import CounterWriter
from sta_server.mqtt.service import MqttService
from sta_server.service.events import EventBus
from sta_server.settings import Settings
from sta_server.sql.engine import make_engine
from sta_server.sql.partitions import PartitionKeeper

log = logging.getLogger(__name__)
# Three threads share the GIL here (network, ingest, notifier); CPython hands it over every 5 ms
# by default, and on a busy machine each hand-over also waits for the scheduler. The ingest thread
# gives it up anyway at every database round trip, so a longer interval costs the others little.
SWITCH_INTERVAL_S = 0.02


def main(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    engine = make_engine(settings)
    service = MqttService(settings, engine, EventBus())
    service.start()
    _say_ready()
    keeper = PartitionKeeper(engine, settings.partition_months_ahead)  # the one periodic run of the deployment
    keeper.start()
    counters_dir = os.environ.get("STA_COUNTERS_DIR")  # set by the parent (workers.py): `/metrics` of the workers
    restarts = int(os.environ.get("STA_INGEST_RESTARTS", "0"))  # by the supervisor (sta_server/supervisor.py)
    writer = CounterWriter(pathlib.Path(counters_dir), lambda: replace(service.counters(), ingest_restarts=restarts)
                           ) if counters_dir else None
    if writer is not None:
        writer.start()
    log.info("MQTT ingest process running")
    _wait(stop, os.getppid() if "STA_READY_FD" in os.environ else None)  # started by workers.py: watch it
    keeper.stop()
    service.stop()
    if writer is not None:
        writer.stop()


def _wait(stop: threading.Event, parent: int | None) -> None:
    """Until SIGTERM/SIGINT, or until the parent is gone (killed: whoever restarts it starts a new
    ingest process, which must not find this one holding the same MQTT client id)."""
    while not stop.wait(1.0):
        if parent is not None and os.getppid() != parent:
            log.warning("the parent process %d is gone; the MQTT ingest process stops", parent)
            return


def _say_ready() -> None:
    """Tell the parent (sta_server/workers.py) that creates and subscriptions are being taken."""
    fd = os.environ.get("STA_READY_FD")
    if fd is None:
        return
    try:
        os.write(int(fd), b"ready\n")
        os.close(int(fd))
    except (OSError, ValueError):
        log.warning("could not tell the parent process that ingest is ready")


if __name__ == "__main__":
    main()
