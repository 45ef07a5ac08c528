"""SenML packs (RFC 8428) from readings: `bn`/`bt` factored out, then `n`, `u`, `t` relative to the
base time, and `v` (numbers), `vb` (booleans) or `vs` (strings). The server matches `bn`+`n` against
a Datastream's `properties.senmlName` and `u` against its unit symbol (docs/formats.md)."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class Reading:
    name: str
    unit: str | None
    value: float | int | bool | str
    time: datetime

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("a reading's time needs a time zone")


def value_field(value: float | int | bool | str) -> tuple[str, Any]:
    if isinstance(value, bool):
        return "vb", value
    if isinstance(value, str):
        return "vs", value
    return "v", value


def common_prefix(names: Sequence[str]) -> str:
    """The base name: the longest common prefix that ends at a `/`, `:` or `.` (never a whole name)."""
    if len(names) < 2:
        prefix = names[0] if names else ""
        cut = max(prefix.rfind(sep) for sep in "/:.")
        return prefix[:cut + 1] if cut >= 0 else ""
    prefix = os.path.commonprefix(list(names))
    cut = max(prefix.rfind(sep) for sep in "/:.")
    return prefix[:cut + 1] if cut >= 0 else ""


def build_pack(readings: Sequence[Reading]) -> list[JSON]:
    """One pack: base name and base time in the first record, each record relative to them."""
    if not readings:
        return []
    base_name = common_prefix([reading.name for reading in readings])
    base_time = min(reading.time for reading in readings).timestamp()
    pack: list[JSON] = []
    for index, reading in enumerate(readings):
        record: JSON = {"bn": base_name, "bt": base_time} if index == 0 and base_name else (
            {"bt": base_time} if index == 0 else {})
        record["n"] = reading.name[len(base_name):]
        if reading.unit is not None:
            record["u"] = reading.unit
        offset = reading.time.timestamp() - base_time
        if offset:
            record["t"] = offset
        key, value = value_field(reading.value)
        record[key] = value
        pack.append(record)
    return pack


def pack_from_tuples(rows: Sequence[tuple[str, str | None, float | int | bool | str, datetime]]) -> list[JSON]:
    """`[("house20/P_Akku", "W", -1200.0, t), …]` -> a SenML pack."""
    return build_pack([Reading(*row) for row in rows])
