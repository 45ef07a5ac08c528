"""Measurement primitives: percentiles and CPU/memory of processes read from /proc."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_ms(values_s: list[float]) -> dict[str, float]:
    return {f"p{p}_ms": round(percentile(values_s, p) * 1000, 2) for p in (50, 95, 99)}


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (gunicorn's master, its workers and the ingest process)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def tree_cpu_s(pid: int) -> float:
    return sum(cpu_s(p) for p in process_tree(pid))


def tree_memory_kb(pid: int, key: str = "VmHWM") -> int:
    """Summed over the process tree (shared pages counted once per process: an upper bound)."""
    return sum(memory_kb(p, key) for p in process_tree(pid))


def memory_kb(pid: int, key: str = "VmHWM") -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux clear_refs 5); False if not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def machine_busy_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, all cores."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / TICKS_PER_S, total / TICKS_PER_S


def own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class Probe:
    """CPU of named processes, the load generator and the machine over one scenario."""

    pids: dict[str, int]
    extra_pids: dict[str, list[int]] = field(default_factory=dict)
    start: dict[str, float] = field(default_factory=dict)

    def begin(self) -> None:
        for pid in self.pids.values():
            for member in process_tree(pid):
                reset_peak(member)
        self.start = {name: tree_cpu_s(pid) for name, pid in self.pids.items()}
        self.start["_client"] = own_cpu_s()
        self.start["_machine_busy"], self.start["_machine_total"] = machine_busy_s()
        self.start["_wall"] = time.monotonic()

    def end(self, extra_start: dict[int, float] | None = None) -> dict[str, float]:
        wall = time.monotonic() - self.start["_wall"]
        out: dict[str, float] = {"wall_s": round(wall, 2)}
        for name, pid in self.pids.items():
            out[f"{name}_cpu_pct"] = round(100 * (tree_cpu_s(pid) - self.start[name]) / wall, 1)
        out["server_peak_mb"] = round(tree_memory_kb(self.pids["server"]) / 1024, 1)
        out["server_rss_mb"] = round(tree_memory_kb(self.pids["server"], "VmRSS") / 1024, 1)
        out["client_cpu_pct"] = round(100 * (own_cpu_s() - self.start["_client"]) / wall, 1)
        busy, total = machine_busy_s()
        cores_total = total - self.start["_machine_total"]
        out["machine_cpu_pct"] = round(
            100 * (busy - self.start["_machine_busy"]) / cores_total * (os.cpu_count() or 1), 1)
        return out


def other_cpu_pct(stats: dict[str, float]) -> float:
    """Machine CPU not used by anything of the bench (other users of the machine)."""
    ours = sum(v for k, v in stats.items() if k.endswith("_cpu_pct") and k != "machine_cpu_pct")
    return round(max(0.0, stats["machine_cpu_pct"] - ours), 1)
