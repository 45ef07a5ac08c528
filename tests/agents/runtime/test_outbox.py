"""The store-and-forward queue: ordered, durable, deleted only on acknowledgement, bounded by
dropping the oldest measurements (never acknowledgements), surviving a full disk and a crash."""
from __future__ import annotations

import multiprocessing
import os
import pathlib
import signal
import sqlite3

import pytest

from agents.outbox import Bound, Kind, Message, Outbox, OutboxFull
from agents.plugin import TaskMessage
from agents.task_ledger import TaskLedger


def measurement(number: int, size: int = 10) -> Message:
    return Message("v1.1/SenML", f"{number:0{size}d}".encode())


def ack(number: int) -> Message:
    return Message("v1.1/Datastreams(1)/Observations", f"ack {number}".encode(), Kind.ACKNOWLEDGEMENT)


def payloads(outbox: Outbox) -> list[bytes]:
    return [row.payload for row in outbox.peek(0, 1_000_000)]


def test_rows_come_back_in_the_order_they_were_put_with_their_keys(tmp_path: pathlib.Path) -> None:
    outbox = Outbox(tmp_path / "q.sqlite")
    keys = outbox.put([measurement(n) for n in range(5)]) + outbox.put([ack(5)])
    rows = outbox.peek(0, 100)
    assert [row.payload for row in rows] == [measurement(n).payload for n in range(5)] + [b"ack 5"]
    assert [row.key for row in rows] == keys and len(set(keys)) == 6
    assert outbox.peek(rows[2].id, 2) == rows[3:5]


def test_a_row_goes_only_when_it_is_acknowledged(tmp_path: pathlib.Path) -> None:
    outbox = Outbox(tmp_path / "q.sqlite")
    outbox.put([measurement(n) for n in range(3)])
    first, second, third = outbox.peek()
    assert outbox.delete([second.id]) == 1
    assert outbox.peek() == [first, third]
    assert (outbox.rows, outbox.bytes) == (2, 20)
    assert outbox.delete([second.id]) == 0  # an acknowledgement twice deletes nothing more


def test_rows_and_keys_survive_reopening(tmp_path: pathlib.Path) -> None:
    outbox = Outbox(tmp_path / "q.sqlite")
    outbox.put([measurement(n) for n in range(3)])
    before = outbox.peek()
    outbox.close()
    again = Outbox(tmp_path / "q.sqlite")
    assert again.peek() == before
    assert (again.rows, again.bytes) == (3, 30)


def _put_then_die(path: str, ready: "multiprocessing.synchronize.Event") -> None:  # noqa: UP037
    outbox = Outbox(path)
    outbox.put([measurement(n) for n in range(1000)])
    ready.set()
    os.kill(os.getpid(), signal.SIGKILL)


def test_what_put_returned_survives_kill_9(tmp_path: pathlib.Path) -> None:
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    process = context.Process(target=_put_then_die, args=(str(tmp_path / "q.sqlite"), ready))
    process.start()
    process.join(30)
    assert process.exitcode == -signal.SIGKILL and ready.is_set()
    assert payloads(Outbox(tmp_path / "q.sqlite")) == [measurement(n).payload for n in range(1000)]


def test_over_the_row_bound_the_oldest_measurements_go_and_are_counted(tmp_path: pathlib.Path) -> None:
    outbox = Outbox(tmp_path / "q.sqlite", Bound(max_rows=10))
    outbox.put([ack(0)])
    outbox.put([measurement(n) for n in range(1, 15)])
    # down to 5 % under the bound (9 rows), so that a full queue does not drop on every put
    assert payloads(outbox) == [b"ack 0"] + [measurement(n).payload for n in range(7, 15)]
    assert outbox.counters.dropped == 6 and outbox.rows == 9


def test_over_the_byte_bound_the_oldest_measurements_go(tmp_path: pathlib.Path) -> None:
    outbox = Outbox(tmp_path / "q.sqlite", Bound(max_bytes=100))
    for n in range(15):
        outbox.put([measurement(n)])
    kept = payloads(outbox)
    assert outbox.bytes == sum(map(len, kept)) <= 100
    assert kept == [measurement(n).payload for n in range(15 - len(kept), 15)]
    assert outbox.counters.dropped == 15 - len(kept) > 0


def test_acknowledgements_are_never_dropped_even_over_the_bound(tmp_path: pathlib.Path) -> None:
    outbox = Outbox(tmp_path / "q.sqlite", Bound(max_rows=3))
    outbox.put([measurement(0)])
    outbox.put([ack(n) for n in range(1, 6)])
    assert payloads(outbox) == [f"ack {n}".encode() for n in range(1, 6)]
    assert outbox.counters.dropped == 1 and outbox.rows == 5


def _fill_disk(path: pathlib.Path, pages: int) -> Outbox:
    outbox = Outbox(path, synchronous="NORMAL")
    outbox.connection.execute(f"PRAGMA max_page_count = {pages}")
    return outbox


def test_a_full_disk_drops_the_oldest_measurements_and_keeps_acknowledgements(tmp_path: pathlib.Path) -> None:
    outbox = _fill_disk(tmp_path / "q.sqlite", 40)
    outbox.put([ack(-1)])
    for n in range(2000):
        outbox.put([measurement(n, size=200)])
    rows = payloads(outbox)
    assert outbox.counters.disk_full > 0 and outbox.counters.dropped > 0
    assert rows[0] == b"ack -1"
    kept = [int(row) for row in rows[1:]]
    assert kept == list(range(2000 - len(kept), 2000))  # the newest, in order
    assert outbox.counters.dropped + len(kept) == 2000


def test_a_full_disk_with_nothing_to_drop_refuses_an_acknowledgement(tmp_path: pathlib.Path) -> None:
    outbox = _fill_disk(tmp_path / "q.sqlite", 20)
    with pytest.raises(OutboxFull):
        for _n in range(10_000):
            outbox.put([Message("t", b"x" * 500, Kind.ACKNOWLEDGEMENT)])
    assert outbox.counters.dropped == 0
    assert all(row.kind is Kind.ACKNOWLEDGEMENT for row in outbox.peek(0, 100_000))


def test_a_task_is_marked_handled_in_the_transaction_of_its_acknowledgement(tmp_path: pathlib.Path) -> None:
    outbox = Outbox(tmp_path / "q.sqlite")
    ledger = TaskLedger(outbox.connection)
    task = TaskMessage(7, "ess_setpoint", "ess1", {"power": 100}, None)

    def fail(conn: sqlite3.Connection) -> None:
        ledger.marker(task)(conn)
        raise RuntimeError("crash inside the transaction")

    with pytest.raises(RuntimeError):
        outbox.put([ack(7)], also=fail)
    assert outbox.peek() == [] and not ledger.handled(7)
    outbox.put([ack(7)], also=ledger.marker(task))
    assert len(outbox.peek()) == 1 and ledger.handled(7)
    assert [t.task_id for t in TaskLedger(Outbox(tmp_path / "q.sqlite").connection).recent()] == [7]


def pack(*values: int) -> Message:
    return Message("v1.1/SenML", ("[" + ",".join(f'{{"n":"a","v":{v}}}' for v in values) + "]").encode(),
                   records=len(values), mergeable=True)


def test_packs_never_published_grow_into_one_row_under_one_key(tmp_path: pathlib.Path) -> None:
    outbox = Outbox(tmp_path / "q.sqlite", Bound(merge_records=5))
    keys = [key for n in range(7) for key in outbox.put([pack(n)])]
    rows = outbox.peek()
    assert [row.payload for row in rows] == [pack(0, 1, 2, 3, 4).payload, pack(5, 6).payload]
    assert keys == [rows[0].key] * 5 + [rows[1].key] * 2
    assert (outbox.rows, outbox.bytes) == (2, sum(len(row.payload) for row in rows))


def test_a_published_pack_never_changes(tmp_path: pathlib.Path) -> None:
    outbox = Outbox(tmp_path / "q.sqlite")
    outbox.put([pack(1)])
    outbox.seal(outbox.peek()[-1].id)
    outbox.put([pack(2)])
    outbox.put([ack(3)])
    outbox.put([pack(4)])
    assert [row.payload for row in outbox.peek()] == [pack(1).payload, pack(2).payload, b"ack 3", pack(4).payload]


def test_rows_found_on_reopening_are_sealed(tmp_path: pathlib.Path) -> None:
    """After kill -9 a row may have been published before the crash: it must keep its content."""
    Outbox(tmp_path / "q.sqlite").put([pack(1)])
    again = Outbox(tmp_path / "q.sqlite")
    again.put([pack(2)])
    assert [row.payload for row in again.peek()] == [pack(1).payload, pack(2).payload]
