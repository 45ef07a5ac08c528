"""The results table printed at the end of a run."""
from __future__ import annotations

from typing import Any

COLUMNS = ("scenario", "data", "throughput", "p50 ms", "p95 ms", "p99 ms", "srv CPU%", "pg CPU%",
           "mqtt CPU%", "client CPU%", "other CPU%", "srv peak MB", "target", "met")


def _cells(row: dict[str, Any]) -> list[str]:
    lat, proc = row["latency"], row["process"]
    return [row["name"], row["data"], f"{row['throughput']:,.1f} {row['unit']}",
            str(lat.get("p50_ms", "")), str(lat.get("p95_ms", "")), str(lat.get("p99_ms", "")),
            str(proc["server_cpu_pct"]), str(proc["postgres_cpu_pct"]), str(proc["mosquitto_cpu_pct"]),
            str(proc["client_cpu_pct"]), str(proc.get("other_cpu_pct", "")), str(proc["server_peak_mb"]), row["target"],
            "yes" if row["met"] else "NO"]


def render_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table (readable in a terminal, pasteable into docs/benchmarks.md)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    return "\n".join(lines)
