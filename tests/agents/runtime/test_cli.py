"""`python -m agents run`: one field process per queue file."""
from __future__ import annotations

import pathlib

import pytest

from agents.cli import QueueInUse, lock_queue


def test_a_second_process_on_the_same_queue_is_refused_until_the_first_leaves(tmp_path: pathlib.Path) -> None:
    queue = tmp_path / "site.sqlite"
    first = lock_queue(queue)
    with pytest.raises(QueueInUse):
        lock_queue(queue)
    first.close()
    lock_queue(queue).close()
