"""The site's shared in-memory data set: the newest reading of every Datastream key.

Connectors fill it on every poll, plug-ins read it (`SiteContext.latest`) and add their own derived
readings. It holds no history: the server does.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from adapters.connector import Reading


class DataSet:
    """Latest reading per Datastream key; an older reading never replaces a newer one."""

    def __init__(self) -> None:
        self._latest: dict[str, Reading] = {}

    def update(self, readings: Iterable[Reading]) -> None:
        for reading in readings:
            known = self._latest.get(reading.datastream)
            if known is None or reading.time >= known.time:
                self._latest[reading.datastream] = reading

    def latest(self, datastream: str) -> Reading | None:
        return self._latest.get(datastream)

    def snapshot(self) -> Mapping[str, Reading]:
        """A copy: plug-ins may keep it while the data set moves on."""
        return dict(self._latest)

    def __len__(self) -> int:
        return len(self._latest)
