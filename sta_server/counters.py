"""The MQTT counters of one server process, and how the processes of the multi-process run mode
(sta_server/workers.py) share them: each process writes its own counters to a file of a run
directory the parent created (mode 0700: readable by the server's user only), at most once a second
and when they changed; `GET /metrics`, answered by any HTTP worker, adds its own live counters to
the other processes' files. Standard library only: every layer may use it."""
from __future__ import annotations

import json
import logging
import os
import pathlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

log = logging.getLogger(__name__)
SUFFIX = ".counters.json"


@dataclass(frozen=True)
class MqttCounters:
    """`takes_creates`: the process subscribes to the create topics (ingest counters are its own)."""

    takes_creates: bool = False
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # by error code
    duplicates: int = 0
    batches: int = 0
    queue_length: int = 0
    notifications_published: int = 0
    subscribed_paths: int = 0
    paced: int = 0  # creates held back by the per-topic pace (stored later)
    broker_messages: int = -1  # what the broker holds ($SYS/broker/store/messages/count); -1: not known
    broker_bytes: int = -1
    broker_dropped: int = -1  # messages the broker dropped since it started
    broker_alarm: bool = False  # its queue is past half of its bound (sta_server/mqtt/broker_watch.py)
    ingest_restarts: int = 0  # restarts of the ingest process before this one (sta_server/supervisor.py)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> MqttCounters:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Totals:
    """The counters of every process: ingest ones from the processes that take creates, the
    notifications summed over all, the largest subscription registry."""

    processes: int
    counters: MqttCounters


def total(counters: Iterable[MqttCounters]) -> Totals:
    every = list(counters)
    ingest = [c for c in every if c.takes_creates]
    rejected: dict[str, int] = {}
    for item in ingest:
        for code, count in item.rejected.items():
            rejected[code] = rejected.get(code, 0) + count
    summed = MqttCounters(
        takes_creates=bool(ingest), accepted=sum(c.accepted for c in ingest), rejected=rejected,
        duplicates=sum(c.duplicates for c in ingest), batches=sum(c.batches for c in ingest),
        queue_length=sum(c.queue_length for c in ingest),
        notifications_published=sum(c.notifications_published for c in every),
        subscribed_paths=max((c.subscribed_paths for c in every), default=0),
        paced=sum(c.paced for c in ingest), broker_messages=max((c.broker_messages for c in every), default=-1),
        broker_bytes=max((c.broker_bytes for c in every), default=-1),
        broker_dropped=max((c.broker_dropped for c in every), default=-1),
        broker_alarm=any(c.broker_alarm for c in every),
        ingest_restarts=max((c.ingest_restarts for c in every), default=0))
    return Totals(len(every), summed)


def counter_file(folder: pathlib.Path, pid: int) -> pathlib.Path:
    return folder / f"{pid}{SUFFIX}"


def write_counters(folder: pathlib.Path, pid: int, counters: MqttCounters) -> None:
    """Replace the process's file atomically (a reader sees the old or the new counters)."""
    target = counter_file(folder, pid)
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps(asdict(counters)))
    os.replace(partial, target)


def read_other_counters(folder: pathlib.Path, own_pid: int) -> list[MqttCounters]:
    """The counters the other processes wrote last (a process that ended keeps its counts)."""
    found = []
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        if path.name == counter_file(folder, own_pid).name:
            continue
        try:
            found.append(MqttCounters.from_json(json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            log.warning("unreadable counter file %s", path)
    return found


class CounterWriter:
    """A thread writing `source()` to the process's file every `interval_s` while it changes,
    and once more when stopped."""

    def __init__(self, folder: pathlib.Path, source: Callable[[], MqttCounters], interval_s: float = 1.0) -> None:
        self.folder = folder
        self.source = source
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._last: MqttCounters | None = None
        self._thread = threading.Thread(target=self._run, name="sta-counters", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.write()

    def write(self) -> None:
        counters = self.source()
        if counters == self._last:
            return
        try:
            write_counters(self.folder, os.getpid(), counters)
            self._last = counters
        except OSError as error:
            log.warning("could not write the counters to %s: %s", self.folder, error)

    def _run(self) -> None:
        while True:
            self.write()
            if self._stop.wait(self.interval_s):
                return
