"""The district starts its children one after the other, each taking seconds to import: with
`S4G_CLOCK_ANCHOR` (the Unix time at which `S4G_CLOCK_START` was the time) an accelerated clock made
later reads the district's time, not the start plus nothing."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from clock import clock_from_env

START = datetime(2026, 6, 21, 3, 0, tzinfo=UTC)


def test_an_anchored_clock_made_later_has_moved_on_by_the_elapsed_time_times_the_factor() -> None:
    anchor = time.time() - 30.0  # the orchestrator read START 30 s ago
    clock = clock_from_env({"S4G_CLOCK": "accelerated", "S4G_CLOCK_START": START.isoformat(),
                            "S4G_CLOCK_FACTOR": "10", "S4G_CLOCK_ANCHOR": repr(anchor)})
    assert START + timedelta(seconds=300) <= clock.now() < START + timedelta(seconds=360)


def test_without_an_anchor_the_clock_starts_at_its_start() -> None:
    clock = clock_from_env({"S4G_CLOCK": "accelerated", "S4G_CLOCK_START": START.isoformat(), "S4G_CLOCK_FACTOR": "10"})
    assert START <= clock.now() < START + timedelta(seconds=60)
