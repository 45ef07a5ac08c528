"""Bus and line geometries of a SimBench grid as GeoJSON, and the nearest bus of a position.

SimBench gives bus coordinates only (GeoJSON strings in ``net.bus.geo``, WGS84, in northern
Germany). Lines become straight LineStrings between their buses. A grid may be moved so that its
transformer's low-voltage bus sits at a chosen anchor (a pilot site's position): bus mapping by
nearest Location then works for the site's Things.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]
_EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class LonLat:
    lon: float
    lat: float


def bus_points(bus_geo: dict[int, str | None], anchor_bus: int | None = None,
               anchor: LonLat | None = None) -> dict[int, LonLat]:
    """Bus positions from SimBench's ``geo`` strings, shifted so ``anchor_bus`` lands on ``anchor``."""
    points: dict[int, LonLat] = {}
    for bus, text in bus_geo.items():
        if not isinstance(text, str):
            continue
        lon, lat = json.loads(text)["coordinates"][:2]
        points[bus] = LonLat(float(lon), float(lat))
    if anchor is None or anchor_bus is None or anchor_bus not in points:
        return points
    d_lon = anchor.lon - points[anchor_bus].lon
    d_lat = anchor.lat - points[anchor_bus].lat
    return {bus: LonLat(p.lon + d_lon, p.lat + d_lat) for bus, p in points.items()}


def point_geojson(point: LonLat) -> JSON:
    return {"type": "Point", "coordinates": [round(point.lon, 7), round(point.lat, 7)]}


def line_geojson(start: LonLat, end: LonLat) -> JSON:
    return {"type": "LineString",
            "coordinates": [[round(start.lon, 7), round(start.lat, 7)], [round(end.lon, 7), round(end.lat, 7)]]}


def distance_m(a: LonLat, b: LonLat) -> float:
    """Great-circle (haversine) distance in metres."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    d_lat, d_lon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(d_lon / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def nearest_bus(points: dict[int, LonLat], position: LonLat, max_distance_m: float) -> int | None:
    """The bus nearest to a position, or None when none lies within ``max_distance_m``."""
    best: tuple[float, int] | None = None
    for bus, point in points.items():
        distance = distance_m(point, position)
        if best is None or distance < best[0]:
            best = (distance, bus)
    if best is None or best[0] > max_distance_m:
        return None
    return best[1]
