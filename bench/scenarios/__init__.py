"""One module per scenario; each has `run(ctx) -> Result`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from bench.dataset import Sizes


@dataclass
class Context:
    base: str          # http://127.0.0.1:<port>/v1.1
    mqtt_url: str
    engine: Engine
    sizes: Sizes
    quick: bool


@dataclass
class Result:
    name: str
    data: str                   # what the scenario ran on
    throughput: float           # per second
    unit: str                   # of the throughput
    latency: dict[str, float]   # p50_ms, p95_ms, p99_ms
    target: str
    met: bool
    extra: dict[str, Any] = field(default_factory=dict)
