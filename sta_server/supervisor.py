"""Supervision of the MQTT ingest process of the multi-process run mode (sta_server/workers.py):
started before the HTTP workers, restarted whenever it ends without being asked to (`kill -9`, a
crash, an out-of-memory kill), with a back-off, logged at ERROR and counted. gunicorn supervises its
HTTP workers itself; whoever starts `sta-server` (systemd, a container runtime) supervises the
master, and the ingest process leaves when the master is gone (sta_server/ingest_process.py).

The master's gunicorn arbiter reaps every child (`waitpid(-1)`), the ingest process included, so
its exit status may be lost: an end is noticed by polling (`Popen.poll` reports a reaped child as
ended)."""
from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

POLL_S = 0.2
FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0
STABLE_S = 60.0  # up this long: the next restart waits FIRST_DELAY_S again


class Supervisor:
    """Keeps one process running: `spawn(restarts so far)` starts it (and waits until it is ready)."""

    def __init__(self, name: str, spawn: Callable[[int], subprocess.Popen[bytes]]) -> None:
        self.name = name
        self.spawn = spawn
        self.restarts = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name=f"sta-supervise-{name}", daemon=True)

    def start(self) -> None:
        self.process = self.spawn(0)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """End the process (SIGTERM, then SIGKILL after `timeout_s`) and stop restarting it."""
        self._stopping.set()
        with self._lock:
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()

    def _watch(self) -> None:
        delay = FIRST_DELAY_S
        while not self._stopping.is_set():
            started = time.monotonic()
            while self.process is not None and self.process.poll() is None:
                if self._stopping.wait(POLL_S):
                    return
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= STABLE_S:
                delay = FIRST_DELAY_S
            self.restarts += 1
            code = None if self.process is None else self.process.returncode
            log.error("the %s (pid %s) ended (exit status %s); restart %d in %.0f s", self.name,
                      None if self.process is None else self.process.pid, code, self.restarts, delay)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, MAX_DELAY_S)
            self._restart()

    def _restart(self) -> None:
        try:
            process = self.spawn(self.restarts)
        except OSError as error:
            log.error("could not start the %s: %s", self.name, error)
            return  # the watch loop sees no live process and tries again after the next delay
        with self._lock:
            self.process = process
        if self._stopping.is_set():  # stopped while this one was starting
            process.terminate()
            return
        log.warning("the %s is running again (pid %d)", self.name, process.pid)
