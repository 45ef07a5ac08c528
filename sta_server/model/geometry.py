"""What PostGIS refuses in a geometry, checked before it gets there (a parse error in the database
would be a 500): the kinds of the Simple Features model, finite coordinates, polygon rings of at
least four positions. Shared by GeoJSON bodies (serialize/values.py) and WKT literals in $filter."""
from __future__ import annotations

from typing import Any

import numpy
import shapely

KINDS = frozenset({"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
                   "GeometryCollection"})


def geometry_problem(shape: Any) -> str | None:
    """None for a geometry PostGIS takes, else what is wrong with it."""
    kind = shape.geom_type
    if kind not in KINDS:
        return f"{kind} is not a geometry type here"
    if not numpy.isfinite(shapely.get_coordinates(shape, include_z=bool(shapely.has_z(shape)))).all():
        return "coordinates must be finite numbers"
    parts = shapely.get_parts(shape) if kind != "GeometryCollection" else [shape]
    for part in parts:
        if part.geom_type == "GeometryCollection":
            problems = [geometry_problem(member) for member in part.geoms]
            return next((p for p in problems if p is not None), None)
        if part.geom_type == "Polygon" and not part.is_empty:
            rings = [part.exterior, *part.interiors]
            if any(len(ring.coords) < 4 for ring in rings):
                return "a polygon ring needs at least four positions"
    return None
