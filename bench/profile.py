"""Profile one scenario (its short --quick duration):
`.venv/bin/python bench/profile.py --database-url URL --scenario 4 [--source DIR]`.

Runs the scenario against a kept bench database (`run.py --keep`) with `py-spy record` attached to the
server, and prints the hottest frames (own time and inclusive time) from the collapsed stacks."""
from __future__ import annotations

import argparse
import collections
import importlib
import logging
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import create_engine  # noqa: E402

from bench import dataset  # noqa: E402
from bench.harness import ROOT  # noqa: E402
from bench.run import SCENARIOS, Services  # noqa: E402
from bench.scenarios import Context  # noqa: E402

log = logging.getLogger("bench")


def summarize(collapsed_path: str, top: int = 25) -> str:
    """Own and inclusive sample shares per frame, from py-spy's raw (collapsed) output."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    with open(collapsed_path) as handle:
        for line in handle:
            stack, _, count_text = line.rstrip().rpartition(" ")
            count = int(count_text)
            frames = stack.split(";")
            total += count
            own[frames[-1]] += count
            for frame in set(frames):
                inclusive[frame] += count
    lines = [f"{total} samples", "-- own time --"]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines.append("-- inclusive (sta_server frames) --")
    ours = [(f, n) for f, n in inclusive.most_common() if "sta_server" in f][:top]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in ours]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--scenario", required=True, choices=list(SCENARIOS))
    parser.add_argument("--source", default=ROOT)
    parser.add_argument("--quick-data", action="store_true", help="the database was made by run.py --quick")
    parser.add_argument("--out", default="/tmp")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    engine = create_engine(args.database_url)
    module_name, function = SCENARIOS[args.scenario]
    run = getattr(importlib.import_module(f"bench.scenarios.{module_name}"), function)
    collapsed = os.path.join(args.out, f"sta-profile-{args.scenario}.txt")
    with Services(args.database_url, os.path.abspath(args.source)) as (probe, base, mqtt_url):
        spy = subprocess.Popen([os.path.join(ROOT, ".venv/bin/py-spy"), "record", "--pid", str(probe.pids["server"]),
                                "--format", "raw", "--output", collapsed, "--rate", "100", "--nonblocking"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            sizes = dataset.QUICK if args.quick_data else dataset.Sizes()
            result = run(Context(base, mqtt_url, engine, sizes, quick=True))  # short runs
        finally:
            spy.send_signal(2)
            spy.wait(timeout=30)
    log.info("%s: %.1f %s %s", result.name, result.throughput, result.unit, result.latency)
    print(summarize(collapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
