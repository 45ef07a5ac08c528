"""Pure computations of the report: a stream's data credibility (expected and received Observations,
duplicates, gaps), the Task ledger (created, acknowledged, lost) and the site KPIs (PCC power against
the contract, self-consumption). Inputs are plain values read from the server by district/report.py."""
from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Window:
    """The simulated period reported on, and the wall-clock time since which Tasks count."""

    start: datetime
    end: datetime
    tasks_since: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class StreamStats:
    key: str
    received: int  # distinct phenomenonTimes in the window
    duplicates: int  # Observations beyond the first at one phenomenonTime
    period_s: float | None  # the telemetry period of its connector (None: written by a plug-in or on change)
    periodic: bool  # arrives every period (most of its spacings are the period)
    expected: int  # periodic streams: slots in the window; others: what arrived
    missing_gaps: int  # gaps longer than what a stall of the machine explains (periodic streams)


def stream_stats(key: str, times: Sequence[datetime], period_s: float | None, window: Window,
                 tolerated_gap_s: float, issues: Sequence[object] | None = None) -> StreamStats:
    """`issues`: each Observation's resultTime, when given: a forecast stream holds one Observation per step
    and run, so a duplicate is a second Observation of the same phenomenonTime *and* resultTime."""
    keys = list(zip(times, issues, strict=True)) if issues is not None else [(t, None) for t in times]
    duplicates = sum(n - 1 for n in Counter(keys).values())
    distinct = sorted(set(times))
    periodic = False
    # periodic: it filled at least half of the period's slots, mostly one period apart (a stream written on
    # change or per answered Task is counted as received, never as expected)
    if period_s is not None and len(distinct) >= max(3, window.seconds / period_s / 2):
        spacings = [(b - a).total_seconds() for a, b in zip(distinct, distinct[1:], strict=False)]
        periodic = statistics.median(spacings) <= 1.5 * period_s
    if not periodic or period_s is None:
        return StreamStats(key, len(distinct), duplicates, period_s, False, len(distinct), 0)
    edges = [window.start, *distinct, window.end]
    gaps = sum(1 for a, b in zip(edges, edges[1:], strict=False) if (b - a).total_seconds() > tolerated_gap_s)
    return StreamStats(key, len(distinct), duplicates, period_s, True, int(window.seconds // period_s), gaps)


@dataclass(frozen=True)
class TaskStats:
    created: int
    acknowledged: int
    accepted: int
    lost: tuple[str, ...]  # ids of Tasks with no answer


def task_stats(task_ids: Iterable[str], answers: Mapping[str, bool]) -> TaskStats:
    """`answers`: task id -> accepted, from the site's `setpointAccepted` Observations."""
    ids = sorted(set(task_ids))
    answered = [task for task in ids if task in answers]
    return TaskStats(len(ids), len(answered), sum(1 for task in answered if answers[task]),
                     tuple(task for task in ids if task not in answers))


@dataclass(frozen=True)
class PowerKpis:
    max_import_w: float | None
    max_export_w: float | None
    over_contract_share: float | None  # share of PCC samples beyond the contract (either way)
    self_consumption: float | None  # 1 - exported / produced energy


def integrate_wh(samples: Sequence[tuple[datetime, float]]) -> float:
    """Energy of a power series (W) in Wh, by the trapezoid rule over its own times."""
    total = 0.0
    for (t0, p0), (t1, p1) in zip(samples, samples[1:], strict=False):
        total += (p0 + p1) / 2 * (t1 - t0).total_seconds()
    return total / 3600


def power_kpis(pcc: Sequence[tuple[datetime, float]], pv: Sequence[Sequence[tuple[datetime, float]]],
               contract_in_w: float | None, contract_out_w: float | None) -> PowerKpis:
    """Consumer sign convention: P_grid > 0 imports, PV power <= 0."""
    if not pcc:
        return PowerKpis(None, None, None, None)
    values = [value for _, value in pcc]
    over = sum(1 for value in values if (contract_in_w is not None and value > contract_in_w)
               or (contract_out_w is not None and -value > contract_out_w))
    produced = sum(-integrate_wh(series) for series in pv)
    exported = -integrate_wh([(moment, min(0.0, value)) for moment, value in pcc])
    share = None if produced <= 0 else max(0.0, min(1.0, 1 - exported / produced))
    return PowerKpis(max(0.0, *values), max(0.0, -min(values)), over / len(values), share)


@dataclass
class SiteReport:
    site_id: str
    streams: list[StreamStats] = field(default_factory=list)
    tasks: TaskStats = field(default_factory=lambda: TaskStats(0, 0, 0, ()))
    power: PowerKpis = field(default_factory=lambda: PowerKpis(None, None, None, None))
    process_exits: list[int] = field(default_factory=list)  # unexpected exits of its field process

    @property
    def expected(self) -> int:
        return sum(stream.expected for stream in self.streams if stream.periodic)

    @property
    def received(self) -> int:
        return sum(stream.received for stream in self.streams if stream.periodic)

    @property
    def credibility(self) -> float | None:
        return None if not self.expected else min(1.0, self.received / self.expected)

    def failures(self) -> list[str]:
        found = []
        if not any(stream.received for stream in self.streams):
            found.append("no Observation at all in the period")
        found += [f"{s.key}: {s.duplicates} duplicated Observation(s)" for s in self.streams if s.duplicates]
        found += [f"{s.key}: {s.missing_gaps} gap(s) of missing Observations" for s in self.streams if s.missing_gaps]
        if self.tasks.lost:
            found.append(f"Task(s) never acknowledged: {', '.join(self.tasks.lost)}")
        if self.process_exits:
            found.append(f"field process exited {len(self.process_exits)} time(s) (status "
                         f"{', '.join(map(str, self.process_exits))})")
        return found
