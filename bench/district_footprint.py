"""CPU and memory of the default deployment (`bash scripts/run.sh`: the orchestrator and every process
under it), sampled from /proc while it runs; the PostgreSQL backends of its database and the project's
Mosquitto are reported apart (the cluster and the broker are shared with other users of the checkout).

    .venv/bin/python -m bench.district_footprint --pid <orchestrator pid> --minutes 10 [--out results.json]

CPU = (utime + stime) of the live processes, differenced between samples (a process that ends between
two samples loses its last interval); memory = the sum of PSS (/proc/<pid>/smaps_rollup), so shared
library pages are counted once overall."""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import time
from collections.abc import Callable
from dataclasses import dataclass

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    cpu_s: dict[int, float]
    pss_kib: int
    processes: int


def children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(root: int) -> list[int]:
    tree, found, stack = children_of(), [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(tree.get(pid, []))
    return found


def matching(fragment: str) -> list[int]:
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if fragment in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cpu_s(pid: int) -> float | None:
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def pss_kib(pid: int) -> int:
    try:
        for line in pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def sample(pids: list[int]) -> Sample:
    times = {pid: t for pid in pids if (t := cpu_s(pid)) is not None}
    return Sample(times, sum(pss_kib(pid) for pid in times), len(times))


def cores(before: Sample, after: Sample, seconds: float) -> float:
    used = sum(after.cpu_s[pid] - before.cpu_s.get(pid, 0.0) for pid in after.cpu_s if pid in before.cpu_s)
    used += sum(after.cpu_s[pid] for pid in after.cpu_s if pid not in before.cpu_s)  # started in between
    return used / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--pid", type=int, required=True, help="the orchestrator (python -m district run)")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every-s", type=float, default=10.0)
    parser.add_argument("--database", default="sta", help="the deployment's database (its backends)")
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args()
    groups: dict[str, Callable[[], list[int]]] = {"deployment": lambda: descendants(args.pid),
              "postgres_backends": lambda: matching(f"postgres: postgres {args.database} "),
              "mosquitto": lambda: matching("mosquitto -d -c")}
    rows: dict[str, list[tuple[float, int, int]]] = {name: [] for name in groups}
    previous = {name: sample(find()) for name, find in groups.items()}
    loads = [os.getloadavg()[0]]
    started = last = time.monotonic()
    while time.monotonic() - started < args.minutes * 60:
        time.sleep(args.every_s)
        now = time.monotonic()
        for name, find in groups.items():
            current = sample(find())
            rows[name].append((cores(previous[name], current, now - last), current.pss_kib, current.processes))
            previous[name] = current
        loads.append(os.getloadavg()[0])
        last = now
    result = {"minutes": args.minutes, "load_average_1min": {"min": min(loads), "max": max(loads),
                                                              "mean": sum(loads) / len(loads)}}
    for name, series in rows.items():
        result[name] = {"cores_mean": sum(r[0] for r in series) / len(series),
                        "cores_max_interval": max(r[0] for r in series),
                        "pss_mib_mean": sum(r[1] for r in series) / len(series) / 1024,
                        "pss_mib_max": max(r[1] for r in series) / 1024,
                        "processes": max(r[2] for r in series)}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
