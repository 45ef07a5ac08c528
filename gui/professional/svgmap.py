"""GeoJSON positions to SVG: the map is drawn as vectors (no tiles can be reached offline).

An equirectangular projection with the longitude scaled by cos(latitude) at the centre, fitted into a
view box with a margin, north up. Each site becomes a circle, each radial a polyline; the template
draws them and the browser recolours them live. Pure.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gui.professional.gridresults import BusResult, LineResult
from gui.professional.status import BAND_COLOURS, Band, SiteStatus, State, worst_band
from gui.professional.topology import Grid, Position

WIDTH = 800.0
HEIGHT = 500.0
MARGIN = 40.0


@dataclass(frozen=True)
class Projection:
    west: float
    south: float
    scale: float  # SVG units per projected degree
    cos_lat: float
    offset_x: float
    offset_y: float

    def xy(self, position: Position) -> tuple[float, float]:
        lon, lat = position
        x = self.offset_x + (lon - self.west) * self.cos_lat * self.scale
        y = HEIGHT - (self.offset_y + (lat - self.south) * self.scale)
        return round(x, 1), round(y, 1)


def fit(positions: Iterable[Position]) -> Projection:
    """The projection that fits every position into the view box (centred, aspect kept)."""
    points = list(positions) or [(0.0, 0.0)]
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    cos_lat = max(math.cos(math.radians((south + north) / 2)), 0.01)
    span_x, span_y = (east - west) * cos_lat, north - south
    inner_w, inner_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    if span_x <= 0 and span_y <= 0:
        scale = 1.0
    else:
        scale = min(inner_w / span_x if span_x > 0 else math.inf, inner_h / span_y if span_y > 0 else math.inf)
    offset_x = MARGIN + (inner_w - span_x * scale) / 2
    offset_y = MARGIN + (inner_h - span_y * scale) / 2
    return Projection(west, south, scale, cos_lat, offset_x, offset_y)


@dataclass(frozen=True)
class Marker:
    site_id: str
    name: str
    radial_id: str | None
    x: float
    y: float
    colour: str
    band: str
    state: str


@dataclass(frozen=True)
class Feeder:
    radial_id: str
    points: tuple[str, ...]  # one SVG `points` attribute per line
    colour: str
    band: str
    label_x: float
    label_y: float


@dataclass(frozen=True)
class BusMark:
    key: str
    x: float
    y: float
    colour: str
    band: str
    vm_pu: float | None
    topic: str


@dataclass(frozen=True)
class LinePath:
    key: str
    points: str
    colour: str
    band: str
    loading_pct: float | None


@dataclass(frozen=True)
class MapDrawing:
    width: float
    height: float
    markers: tuple[Marker, ...]
    feeders: tuple[Feeder, ...]
    buses: tuple[BusMark, ...] = ()
    lines: tuple[LinePath, ...] = ()


def draw(grid: Grid, statuses: Mapping[str, SiteStatus], buses: Iterable[BusResult] = (),
         lines: Iterable[LineResult] = ()) -> MapDrawing:
    """Markers and feeders of a grid, coloured by each site's voltage band (a feeder by its worst site);
    the simulated buses and lines beneath them, by per-unit voltage and loading."""
    sim_buses, sim_lines = list(buses), list(lines)
    every = [site.position for site in grid.sites] + [p for r in grid.radials for line in r.lines for p in line]
    every += [bus.position for bus in sim_buses] + [p for line in sim_lines for p in line.positions]
    projection = fit(every)
    markers = []
    for site in grid.sites:
        status = statuses.get(site.site_id)
        band = status.band if status else Band.unknown
        x, y = projection.xy(site.position)
        markers.append(Marker(site.site_id, site.name, site.radial_id, x, y, BAND_COLOURS[band], band.value,
                              (status.state if status else State.unknown).value))
    feeders = []
    for radial in grid.radials:
        band = worst_band(statuses[s].band for s in radial.site_ids if s in statuses)
        drawn = [[projection.xy(p) for p in line] for line in radial.lines]
        if not any(drawn):
            continue
        label_x, label_y = drawn[0][0]
        feeders.append(Feeder(radial.radial_id, tuple(" ".join(f"{x},{y}" for x, y in line) for line in drawn),
                              BAND_COLOURS[band], band.value, label_x, label_y - 8))
    bus_marks = tuple(BusMark(bus.key, *projection.xy(bus.position), BAND_COLOURS[bus.band], bus.band.value,
                              bus.vm_pu, bus.topic) for bus in sim_buses)
    line_paths = tuple(LinePath(line.key, " ".join(f"{x},{y}" for x, y in map(projection.xy, line.positions)),
                                BAND_COLOURS[line.band], line.band.value, line.loading_pct) for line in sim_lines)
    return MapDrawing(WIDTH, HEIGHT, tuple(markers), tuple(feeders), bus_marks, line_paths)
