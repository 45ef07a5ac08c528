"""Wire values to storage values, checked against their kind (the inverse of serialize_value)."""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import shapely.geometry
from shapely.errors import GeometryTypeError, ShapelyError

from sta_server.errors import InvalidEntity
from sta_server.model import Kind, Property
from sta_server.model.geometry import geometry_problem
from sta_server.serialize.json_text import unstorable

GEOJSON_TYPES = ("application/geo+json", "application/vnd.geo+json")


def parse_instant(text: Any, name: str = "time") -> datetime:
    if not isinstance(text, str):
        raise InvalidEntity(f"'{name}' must be an ISO 8601 time string", target=name)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidEntity(f"'{name}' is not an ISO 8601 time: {text!r}", target=name) from None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        # The database stores the UTC instant and reads it back as a Python datetime: an instant
        # whose local date is in years 1..9999 but whose UTC date is not (0001-01-01T00:00+14:00)
        # would be stored and then fail every read of the row and of its stream's extents.
        value.astimezone(UTC)
    except OverflowError:
        raise InvalidEntity(f"'{name}' is outside the years 1 to 9999 in UTC: {text!r}",
                            target=name) from None
    return value


def parse_interval(text: Any, name: str) -> tuple[datetime, datetime]:
    if not isinstance(text, str) or text.count("/") != 1:
        raise InvalidEntity(f"'{name}' must be an ISO 8601 interval 'start/end'", target=name)
    start_text, end_text = text.split("/")
    start, end = parse_instant(start_text, name), parse_instant(end_text, name)
    if end < start:
        raise InvalidEntity(f"'{name}' ends before it starts", target=name)
    return start, end


def parse_time(text: Any, name: str) -> tuple[datetime, datetime | None]:
    """An instant (end None) or an interval."""
    if isinstance(text, str) and "/" in text:
        return parse_interval(text, name)
    return parse_instant(text, name), None


def parse_geojson(value: Any, name: str) -> str:
    """Checks a GeoJSON geometry or Feature; returns the geometry as GeoJSON text for PostGIS."""
    geometry = value.get("geometry") if isinstance(value, dict) and value.get("type") == "Feature" else value
    if not isinstance(geometry, dict) or "type" not in geometry:
        raise InvalidEntity(f"'{name}' must be a GeoJSON geometry or Feature", target=name)
    try:
        shape = shapely.geometry.shape(geometry)
    except (GeometryTypeError, ShapelyError, ValueError, TypeError, KeyError, IndexError,
            AttributeError) as error:
        raise InvalidEntity(f"'{name}' is not valid GeoJSON: {error}", target=name) from None
    if shape.is_empty and geometry.get("type") != "GeometryCollection":
        raise InvalidEntity(f"'{name}' is an empty geometry", target=name)
    problem = geometry_problem(shape) or _short_ring(geometry)
    if problem is not None:
        raise InvalidEntity(f"'{name}' is not valid GeoJSON: {problem}", target=name)
    return json.dumps(geometry)


def _short_ring(geometry: dict[str, Any]) -> str | None:
    """RFC 7946 3.1.6: a ring has at least four positions (shapely pads shorter ones silently)."""
    coordinates = geometry.get("coordinates")
    kind = geometry.get("type")
    polygons: Any = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else []
    for polygon in polygons:
        if any(len(ring) < 4 for ring in polygon):
            return "a polygon ring needs at least four positions"
    return None


def parse_result(value: Any) -> tuple[float | None, Any]:
    """Numbers go to the numeric column (exactly as floats), everything else stays JSON."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidEntity("'result' must be a finite number", target="result")
        if isinstance(value, int) and abs(value) >= 2**53:
            return None, value
        return float(value), None
    return None, value


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidEntity(f"'{name}' must be a string", target=name)
    return value


def _object(value: Any, name: str) -> Any:
    if name in ("properties", "parameters", "unitOfMeasurement") and not isinstance(value, dict):
        raise InvalidEntity(f"'{name}' must be a JSON object", target=name)
    if name in ("unitOfMeasurements", "multiObservationDataTypes") and not isinstance(value, list):
        raise InvalidEntity(f"'{name}' must be a JSON array", target=name)
    return value


_PARSERS: dict[Kind, Callable[[Any, str], tuple[Any, ...]]] = {
    Kind.STRING: lambda v, n: (_string(v, n),),
    Kind.JSON: lambda v, n: (_object(v, n),),
    Kind.GEOJSON: lambda v, n: (v, parse_geojson(v, n)),
    Kind.INSTANT: lambda v, n: (parse_instant(v, n),),
    Kind.INTERVAL: parse_interval,
    Kind.TIME: parse_time,
    Kind.RESULT: lambda v, n: parse_result(v),
}


_TEXT_KINDS = frozenset({Kind.STRING, Kind.JSON, Kind.GEOJSON, Kind.RESULT})


def parse_value(prop: Property, value: Any) -> dict[str, Any]:
    """Column name -> value for one property; None clears an optional property."""
    if value is None:
        if prop.required:
            raise InvalidEntity(f"'{prop.name}' may not be null", target=prop.name)
        return {column: None for column in prop.columns()}
    parser = _PARSERS.get(prop.kind)
    if parser is None:
        raise InvalidEntity(f"'{prop.name}' cannot be set", target=prop.name)
    if prop.kind in _TEXT_KINDS:
        problem = unstorable(value)  # CBOR (SenML) and other non-JSON decoders let these through
        if problem is not None:
            raise InvalidEntity(f"'{prop.name}' holds {problem}, which cannot be stored", target=prop.name)
    return dict(zip(prop.columns(), parser(value, prop.name), strict=True))
