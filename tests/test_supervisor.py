"""The supervisor of the ingest process (sta_server/supervisor.py) with real processes: a process
that ends is started again after a back-off, logged and counted; `stop` ends it for good."""
from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time

import pytest

from sta_server import supervisor
from sta_server.supervisor import Supervisor

SPAWNED: list[int] = []


def _sleeper(restarts: int) -> subprocess.Popen[bytes]:
    SPAWNED.append(restarts)
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def _wait(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_killed_process_is_restarted_with_a_back_off(monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(supervisor, "FIRST_DELAY_S", 0.2)
    SPAWNED.clear()
    watched = Supervisor("test process", _sleeper)
    watched.start()
    try:
        first = watched.process
        assert first is not None
        first.send_signal(signal.SIGKILL)
        _wait(lambda: watched.process is not first)
        second = watched.process
        assert second is not None and second.poll() is None
        second.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        _wait(lambda: watched.process is not second)
        assert time.monotonic() - killed_at >= 0.4  # the delay doubled
        assert watched.restarts == 2
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 2 and "restart 2 in 0 s" in errors[1] and "exit status -9" in errors[0]
    finally:
        watched.stop()
    last = watched.process
    assert last is not None and last.poll() is not None
    watched._thread.join(timeout=2)  # the watch has ended: nothing restarts it
    assert not watched._thread.is_alive()
    assert watched.process is last and watched.restarts == 2
    assert SPAWNED == [0, 1, 2]  # each start knows the restarts before it (for /metrics)
