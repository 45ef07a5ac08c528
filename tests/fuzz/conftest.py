"""Hypothesis profiles for the fuzz tests: `ci` (the default) is derandomized and small, so the
suite stays fast and a failure repeats; HYPOTHESIS_PROFILE=explore searches at random, and
STA_FUZZ_SCALE=N multiplies every test's number of examples (e.g. 50 for a long local run)."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = int(os.environ.get("STA_FUZZ_SCALE", "1"))
_QUIET = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]

settings.register_profile("ci", derandomize=True, deadline=None, database=None, suppress_health_check=_QUIET)
settings.register_profile("explore", deadline=None, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(count: int) -> int:
    return count * SCALE
