"""The grid as the professional GUI shows it, read from the server's GeoJSON (`Things?$resultFormat=GeoJSON`).

A Thing of kind `radial` carries the feeder's LineString (or Polygon); every other Thing with a Point is a
site or a device of one (`properties.siteId`, `properties.kind`, `properties.radialId`). Pure: a
FeatureCollection in, frozen records out.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
Position = tuple[float, float]  # (longitude, latitude), WGS 84


@dataclass(frozen=True)
class Site:
    """A site (its `site` Thing, or its first device when the site Thing is not visible)."""

    site_id: str
    name: str
    radial_id: str | None
    position: Position
    thing_ids: tuple[int, ...]  # every visible Thing of the site
    kinds: tuple[str, ...]  # the kinds of those Things (meter, ess, pv, chargepoint, ...)


@dataclass(frozen=True)
class Radial:
    """A feeder: its own geometry when a `radial` Thing is visible, else the line through its sites."""

    radial_id: str
    lines: tuple[tuple[Position, ...], ...]
    site_ids: tuple[str, ...] = field(default=())
    thing_id: int | None = None


@dataclass(frozen=True)
class Grid:
    sites: tuple[Site, ...]
    radials: tuple[Radial, ...]

    def site(self, site_id: str) -> Site | None:
        return next((site for site in self.sites if site.site_id == site_id), None)


def _positions(geometry: Mapping[str, Any] | None) -> list[tuple[str, list[Position]]]:
    """(kind, positions) of each part of a GeoJSON geometry: "point", "line" or "ring"."""
    if not geometry:
        return []
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")

    def position(raw: Sequence[float]) -> Position:
        return float(raw[0]), float(raw[1])

    if kind == "Point" and coordinates:
        return [("point", [position(coordinates)])]
    if kind == "MultiPoint":
        return [("point", [position(raw)]) for raw in coordinates or []]
    if kind == "LineString":
        return [("line", [position(raw) for raw in coordinates or []])]
    if kind == "MultiLineString":
        return [("line", [position(raw) for raw in line]) for line in coordinates or []]
    if kind == "Polygon":
        return [("ring", [position(raw) for raw in ring]) for ring in (coordinates or [])[:1]]
    if kind == "GeometryCollection":
        return [part for inner in geometry.get("geometries") or [] for part in _positions(inner)]
    return []


def _first_point(geometry: Mapping[str, Any] | None) -> Position | None:
    parts = _positions(geometry)
    points = [positions[0] for kind, positions in parts if kind == "point" and positions]
    return points[0] if points else None


def _radial_of(features: Sequence[Mapping[str, Any]]) -> str | None:
    for feature in features:
        radial = (feature.get("properties", {}).get("properties") or {}).get("radialId")
        if isinstance(radial, str) and radial:
            return radial
    return None


def _site_of(site_id: str, features: Sequence[Mapping[str, Any]]) -> Site | None:
    by_kind = {(f["properties"].get("properties") or {}).get("kind"): f for f in features}
    head = by_kind.get("site") or features[0]
    position = _first_point(head.get("geometry")) or next(
        (point for f in features if (point := _first_point(f.get("geometry"))) is not None), None)
    if position is None:
        return None
    kinds = tuple(sorted({str(kind) for kind in by_kind if kind}))
    name = str(head["properties"].get("name") or site_id) if "site" in by_kind else site_id
    return Site(site_id, name, _radial_of([head, *features]), position,
                tuple(sorted(int(f["id"]) for f in features)), kinds)


def _line_through(sites: Iterable[Site]) -> tuple[tuple[Position, ...], ...]:
    """A radial without a geometry of its own: the line from its westernmost site, nearest next."""
    remaining = sorted(sites, key=lambda site: site.position)
    if len(remaining) < 2:
        return ()
    path = [remaining.pop(0)]
    while remaining:
        last = path[-1].position
        remaining.sort(key=lambda s: (s.position[0] - last[0]) ** 2 + (s.position[1] - last[1]) ** 2)
        path.append(remaining.pop(0))
    return (tuple(site.position for site in path),)


def read_grid(collection: Mapping[str, Any]) -> Grid:
    """Sites and radials of a Things FeatureCollection (features carry `properties.properties`)."""
    by_site: dict[str, list[Mapping[str, Any]]] = {}
    radial_things: list[Mapping[str, Any]] = []
    for feature in collection.get("features") or []:
        properties = feature.get("properties", {}).get("properties") or {}
        if properties.get("kind") == "radial":
            radial_things.append(feature)
        elif isinstance(properties.get("siteId"), str):
            by_site.setdefault(properties["siteId"], []).append(feature)
    sites = tuple(site for site_id in sorted(by_site) if (site := _site_of(site_id, by_site[site_id])))
    radials: dict[str, Radial] = {}
    for feature in radial_things:
        properties = feature["properties"].get("properties") or {}
        radial_id = str(properties.get("radialId") or feature["properties"].get("name") or feature["id"])
        lines = tuple(tuple(points) for kind, points in _positions(feature.get("geometry")) if kind != "point")
        radials[radial_id] = Radial(radial_id, lines, thing_id=int(feature["id"]))
    for radial_id in sorted({site.radial_id for site in sites if site.radial_id}):
        members = [site for site in sites if site.radial_id == radial_id]
        known = radials.get(radial_id)
        lines = known.lines if known and known.lines else _line_through(members)
        radials[radial_id] = Radial(radial_id, lines, tuple(site.site_id for site in members),
                                    known.thing_id if known else None)
    return Grid(sites, tuple(radials[key] for key in sorted(radials)))
