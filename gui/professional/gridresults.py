"""The simulated grid on the map: buses and lines of the simulation engine (Things of kind `simulation`),
drawn where their FeatureOfInterest lies and coloured by the newest bus voltage (`bus<n>.vm`, per unit)
and line loading (`line<n>.loading`, %), as simulation/entities.py names them. Pure.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gui.professional.status import NOMINAL_V, Band, voltage_band
from gui.professional.topology import Position

LOADING_WARN_PCT = 80.0
LOADING_LIMIT_PCT = 100.0


@dataclass(frozen=True)
class BusResult:
    key: str  # bus7
    position: Position
    vm_pu: float | None
    band: Band
    topic: str


@dataclass(frozen=True)
class LineResult:
    key: str  # line3
    positions: tuple[Position, ...]
    loading_pct: float | None
    band: Band


def loading_band(loading_pct: float | None) -> Band:
    if loading_pct is None:
        return Band.unknown
    if loading_pct > LOADING_LIMIT_PCT:
        return Band.violation
    return Band.warn if loading_pct > LOADING_WARN_PCT else Band.ok


def pu_band(vm_pu: float | None) -> Band:
    return voltage_band(None if vm_pu is None else vm_pu * NOMINAL_V)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _geometry(row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    observations = row.get("Observations") or []
    feature = (observations[0].get("FeatureOfInterest") or {}).get("feature") if observations else None
    return feature if isinstance(feature, dict) else None


def read_results(rows: Iterable[Mapping[str, Any]]) -> tuple[list[BusResult], list[LineResult]]:
    """Datastream rows (with `properties.key` and their newest Observation expanded with its
    FeatureOfInterest) → buses and lines; a stream without an Observation or geometry is left out."""
    buses: dict[str, BusResult] = {}
    lines: dict[str, LineResult] = {}
    for row in rows:
        key = str((row.get("properties") or {}).get("key") or "")
        geometry = _geometry(row)
        if geometry is None or "." not in key:
            continue
        element, quantity = key.rsplit(".", 1)
        value = _number((row.get("Observations") or [{}])[0].get("result"))
        coordinates = geometry.get("coordinates") or []
        if quantity == "vm" and geometry.get("type") == "Point":
            position = (float(coordinates[0]), float(coordinates[1]))
            buses[element] = BusResult(element, position, value, pu_band(value),
                                       f"v1.1/Datastreams({row['@iot.id']})/Observations")
        elif quantity == "loading" and geometry.get("type") == "LineString":
            positions = tuple((float(c[0]), float(c[1])) for c in coordinates)
            lines[element] = LineResult(element, positions, value, loading_band(value))
    return [buses[k] for k in sorted(buses)], [lines[k] for k in sorted(lines)]
