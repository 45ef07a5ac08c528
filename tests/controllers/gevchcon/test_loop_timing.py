"""When GEVChCon's loop wakes up, and its entry point's configuration errors."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from controllers.gevchcon.decide import Policy
from controllers.gevchcon.loop import next_cycle_at

POLICY = Policy(step_s=900, lead_s=60)


@pytest.mark.parametrize(("now", "wakes"), [
    ("2026-12-06T16:14:00", "2026-12-06T16:29:00"),  # on time: a minute before the step after the next one
    ("2026-12-06T16:05:30", "2026-12-06T16:14:00"),  # started mid-step: the next step's lead
    ("2026-12-06T23:59:00", "2026-12-07T00:14:00"),  # over midnight
])
def test_the_loop_wakes_a_lead_before_each_step(now: str, wakes: str) -> None:
    assert next_cycle_at(datetime.fromisoformat(now).replace(tzinfo=UTC), POLICY) == \
        datetime.fromisoformat(wakes).replace(tzinfo=UTC)


def test_the_entry_point_exits_2_on_a_configuration_error() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEVCHCON_")}
    done = subprocess.run([sys.executable, "-m", "controllers.gevchcon"], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and "GEVCHCON_SITES" in done.stderr
