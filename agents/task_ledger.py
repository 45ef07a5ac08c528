"""The handled-task ledger, in the site's queue file: which Tasks a plug-in already answered.

A Task is marked handled in the same SQLite transaction that queues its acknowledgement readings
(`Outbox.put(messages, also=ledger.marker(task))`), so after `kill -9` either both happened or
neither: a Task is answered exactly once. After a restart the host hands the handled Tasks to their
plug-ins again (their state, e.g. the schedule in force, is rebuilt) and drops what they return. A
new (or lost) queue file starts empty: the intake then rebuilds "handled" from the acknowledgements
the server holds (agents/task_intake.py).
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from agents.plugin import TaskMessage

SCHEMA = """
CREATE TABLE IF NOT EXISTS handled_tasks (
    task_id TEXT PRIMARY KEY,
    capability TEXT NOT NULL,
    device TEXT NOT NULL,
    parameters TEXT NOT NULL,
    created TEXT NOT NULL,  -- the Task's creationTime (else when it was handled)
    handled TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS handled_tasks_created ON handled_tasks (capability, created);
CREATE TABLE IF NOT EXISTS runtime_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class TaskLedger:
    """Handled Tasks by id; `since(capability)` tells the catch-up query where to start."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        connection.executescript(SCHEMA)
        connection.execute("INSERT OR IGNORE INTO runtime_meta (name, value) VALUES ('created', ?)",
                           (_text(datetime.now(UTC)),))

    def handled(self, task_id: int | str) -> bool:
        found = self.connection.execute("SELECT 1 FROM handled_tasks WHERE task_id = ?", (str(task_id),))
        return found.fetchone() is not None

    @staticmethod
    def marker(task: TaskMessage) -> Callable[[sqlite3.Connection], None]:
        """The statement that marks `task` handled, to run inside the queue's transaction."""

        def mark(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO handled_tasks (task_id, capability, device, parameters, created) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (str(task.task_id), task.capability, task.device, json.dumps(dict(task.parameters)),
                          _text(task.created or datetime.now(UTC))))
        return mark

    def newest(self, capability: str) -> datetime | None:
        """The creationTime of the newest Task handled for `capability` (None: none handled yet)."""
        row = self.connection.execute("SELECT max(created) FROM handled_tasks WHERE capability = ?",
                                      (capability,)).fetchone()
        return None if row[0] is None else datetime.fromisoformat(row[0])

    def began(self) -> datetime:
        """When this ledger (this queue file) was made."""
        row = self.connection.execute("SELECT value FROM runtime_meta WHERE name = 'created'").fetchone()
        return datetime.fromisoformat(row[0])

    def since(self, capability: str) -> datetime:
        """The creationTime of the newest Task handled for `capability`, else when this ledger began."""
        newest = self.newest(capability)
        return self.began() if newest is None else newest

    def mark(self, task: TaskMessage) -> None:
        """Mark `task` handled on its own (a Task the server shows answered already)."""
        self.marker(task)(self.connection)

    def recent(self, retention: timedelta = timedelta(days=2)) -> list[TaskMessage]:
        """Handled Tasks created within `retention` before the newest one, oldest first (to rebuild
        the plug-ins' state after a restart)."""
        newest = self.connection.execute("SELECT max(created) FROM handled_tasks").fetchone()[0]
        if newest is None:
            return []
        rows = self.connection.execute(
            "SELECT task_id, capability, device, parameters, created FROM handled_tasks "
            "WHERE created >= ? ORDER BY created, task_id",
            (_text(datetime.fromisoformat(newest) - retention),)).fetchall()
        return [TaskMessage(_task_id(row[0]), row[1], row[2], json.loads(row[3]),
                            datetime.fromisoformat(row[4])) for row in rows]

    def forget_older_than(self, moment: datetime) -> int:
        """Prune the ledger (the server's Tasks stay; only the local marks go)."""
        cursor = self.connection.execute("DELETE FROM handled_tasks WHERE created < ?", (_text(moment),))
        return cursor.rowcount


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _task_id(text: str) -> int | str:
    return int(text) if text.isdigit() else text
