"""SimBench's year-long 15-minute profiles as absolute powers, looked up by calendar time.

SimBench ships one profile year (2016, 35,136 quarter hours, times without a zone). A moment of any
year reads the row of the same month, day and quarter hour (29 February of a non-leap year never
occurs; a moment past the last row, or a missing row, is a gap the caller records).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import simbench

log = logging.getLogger(__name__)

PROFILE_STEP = timedelta(minutes=15)
PROFILE_YEAR = 2016
_YEAR_START = datetime(PROFILE_YEAR, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class StepProfile:
    """The powers of one quarter hour, by pandapower element index (MW / Mvar, load convention for
    loads and storages: positive = consumption/charging; sgens positive = generation)."""

    load_p_mw: pd.Series
    load_q_mvar: pd.Series
    sgen_p_mw: pd.Series
    storage_p_mw: pd.Series


@dataclass(frozen=True)
class Profiles:
    """The absolute profiles of one grid: one DataFrame per quantity, rows = quarter hours of 2016."""

    load_p_mw: pd.DataFrame
    load_q_mvar: pd.DataFrame
    sgen_p_mw: pd.DataFrame
    storage_p_mw: pd.DataFrame

    @property
    def rows(self) -> int:
        return len(self.load_p_mw.index)

    def row_of(self, moment: datetime) -> int | None:
        """The profile row of a moment (its quarter hour, same month/day/time in 2016), or None."""
        utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        try:
            in_profile_year = utc.replace(year=PROFILE_YEAR)
        except ValueError:
            return None
        row = int((in_profile_year - _YEAR_START) // PROFILE_STEP)
        return row if 0 <= row < self.rows else None

    def at(self, moment: datetime) -> StepProfile | None:
        """The powers at a moment, or None for a gap (no row, or a row with missing values)."""
        row = self.row_of(moment)
        if row is None:
            return None
        step = StepProfile(self.load_p_mw.iloc[row], self.load_q_mvar.iloc[row],
                           self.sgen_p_mw.iloc[row], self.storage_p_mw.iloc[row])
        if any(bool(np.isnan(part.to_numpy(dtype=float)).any())
               for part in (step.load_p_mw, step.load_q_mvar, step.sgen_p_mw, step.storage_p_mw)):
            return None
        return step


def read_profiles(net: object) -> Profiles:
    """Absolute powers of a SimBench net's loads, sgens and storages (``simbench.get_absolute_values``)."""
    values = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    return Profiles(load_p_mw=values[("load", "p_mw")], load_q_mvar=values[("load", "q_mvar")],
                    sgen_p_mw=values[("sgen", "p_mw")], storage_p_mw=values[("storage", "p_mw")])


def profile_times(start: datetime, end: datetime, step: timedelta = PROFILE_STEP) -> list[datetime]:
    """The step times in [start, end)."""
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    times: list[datetime] = []
    moment = start
    while moment < end:
        times.append(moment)
        moment += step
    return times
