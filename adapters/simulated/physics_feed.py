"""A simulated house's physics from the grid simulation (docs/simulation.md, "The sites' physics"): the latest
``physics.P_pv``, ``physics.P_load`` and ``physics.V`` Observations the simulation writes on the site's Thing.

Site-file option of a ``simulated-house``: ``physics: {source: simulation, site: <site id>, share: 1.0,
pv_share: <share>, load_share: <share>, own: [], max_age_s: 1800, refresh_s: 60}`` (``share``: the house's
part of its bus's loads and PV, when the bus stands for more than this house, e.g. 0.2 of SimBench's 23 kW PV
for a 5 kWp roof; ``pv_share`` / ``load_share`` when the two parts differ, ``house_shares`` below; ``own``:
keys the house keeps its own models for, e.g. ``[physics.P_pv]`` on a bus without SimBench PV, where the
voltage and load still come from the simulation); the server from
``STA_CLIENT_*`` (the runtime's own account: the Datastreams carry the site's labels). A value missing,
older than ``max_age_s`` or unreadable is ``None``: the house falls back to its own models, counts it
(``counters``) and logs the change once, never raises.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from clock import Clock
from sta_client import ClientSettings, Query, StaClient, StaError, TransportError, datetime_literal, string_literal

log = logging.getLogger(__name__)

KEYS = ("physics.P_pv", "physics.P_load", "physics.V")


@dataclass(frozen=True)
class PhysicsOptions:
    site: str
    max_age_s: float = 1800.0
    refresh_s: float = 60.0
    share: float = 1.0  # of the bus's PV and load (the voltage is the bus's)
    pv_share: float | None = None  # of the bus's PV (None: share)
    load_share: float | None = None  # of the bus's load (None: share)
    own: frozenset[str] = frozenset()  # keys left to the house's own models (never read from the feed)

    def share_of(self, key: str) -> float:
        """The factor on the bus's value of ``key`` (1 for the voltage)."""
        if key == "physics.P_pv":
            return self.share if self.pv_share is None else self.pv_share
        if key == "physics.P_load":
            return self.share if self.load_share is None else self.load_share
        return 1.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> PhysicsOptions | None:
        """The ``physics`` option of a connector (None: the house's own models)."""
        physics = options.get("physics")
        if not isinstance(physics, Mapping) or physics.get("source") != "simulation":
            return None
        if not physics.get("site"):
            raise ValueError("physics: {source: simulation} needs the site id (site: <id>)")
        shares = {name: None if physics.get(name) is None else float(physics[name])
                  for name in ("share", "pv_share", "load_share")}
        for name, value in shares.items():
            if value is not None and not 0 < value <= 1:
                raise ValueError(f"physics.{name} must be in (0, 1], not {value}")
        own = physics.get("own") or []
        if not isinstance(own, list) or not set(map(str, own)) <= set(KEYS):
            raise ValueError(f"physics.own must be a list of {', '.join(KEYS)}, not {own!r}")
        return cls(str(physics["site"]), float(physics.get("max_age_s", 1800)), float(physics.get("refresh_s", 60)),
                   shares["share"] or 1.0, shares["pv_share"], shares["load_share"], frozenset(map(str, own)))


def house_shares(pv_kwp: float, annual_kwh: float, bus_pv_kw: float, bus_annual_kwh: float) -> dict[str, Any]:
    """The ``physics`` option's parts for a house on a bus (pure): its PV share is its peak power over the
    installed PV of the bus's SimBench generators, its load share its annual energy over the bus's profile
    loads' (each capped at 1, rounded to 3 places); a bus without SimBench PV (or a house without PV) keeps
    the house's own PV model (``own: [physics.P_pv]``), the load and voltage still from the simulation."""
    found: dict[str, Any] = {"load_share": round(min(1.0, annual_kwh / bus_annual_kwh), 3)} if bus_annual_kwh > 0 \
        else {"own": ["physics.P_load"]}
    if bus_pv_kw > 0 and pv_kwp > 0:
        found["pv_share"] = round(min(1.0, pv_kwp / bus_pv_kw), 3)
    else:
        found["own"] = [*found.get("own", []), "physics.P_pv"]
    return found


def parse_latest(things: list[dict[str, Any]]) -> dict[str, tuple[datetime, float]]:
    """Key -> (phenomenonTime, result) of the newest Observation of each physics Datastream (pure)."""
    found: dict[str, tuple[datetime, float]] = {}
    for thing in things:
        for stream in thing.get("Datastreams") or []:
            key = str((stream.get("properties") or {}).get("key"))
            observations = stream.get("Observations") or []
            if key not in KEYS or not observations:
                continue
            result = observations[0].get("result")
            if isinstance(result, int | float) and not isinstance(result, bool):
                when = datetime.fromisoformat(str(observations[0]["phenomenonTime"]).replace("Z", "+00:00"))
                found[key] = (when, float(result))
    return found


class PhysicsFeed:
    """The latest physics values of one site, re-read at most every ``refresh_s`` of clock time."""

    def __init__(self, options: PhysicsOptions, settings: ClientSettings | None = None) -> None:
        self.options = options
        self._settings = settings
        self._client: StaClient | None = None
        self._values: dict[str, tuple[datetime, float]] = {}
        self._read_at: datetime | None = None
        self._stale = False
        self.counters: Counter[str] = Counter()

    def refresh(self, now: datetime) -> None:
        """Read the newest values at or before ``now`` (blocking HTTP; the house calls it in a thread)."""
        if self._read_at is not None and now - self._read_at < timedelta(seconds=self.options.refresh_s) \
                and now >= self._read_at:
            return
        self._read_at = now
        observations = (Query().filter(f"phenomenonTime le {datetime_literal(now)}")
                        .orderby("phenomenonTime desc").select("phenomenonTime", "result").top(1))
        streams = Query().select("id", "properties").expand("Observations", observations).top(100)
        query = (Query().filter(f"properties/kind eq {string_literal('site')} and "
                                f"properties/siteId eq {string_literal(self.options.site)}")
                 .select("id").expand("Datastreams", streams).top(1))
        try:
            if self._client is None:
                self._client = StaClient(self._settings or ClientSettings.from_env())
            self._values = parse_latest(list(self._client.iter("Things", query)))
        except (StaError, TransportError, OSError, ValueError) as err:
            self.counters["physics_errors"] += 1
            log.warning("site %s: the simulation's physics could not be read: %s", self.options.site, err)

    def value(self, key: str, now: datetime) -> float | None:
        """The value of ``key`` in force at ``now``, or None (missing or stale: counted, logged once; a key
        in ``own``: None, not counted)."""
        if key in self.options.own:
            return None
        found = self._values.get(key)
        fresh = found is not None and timedelta(0) <= now - found[0] <= timedelta(seconds=self.options.max_age_s)
        if not fresh:
            self.counters[f"stale:{key}"] += 1
            if not self._stale:
                log.warning("site %s: no fresh %s from the simulation at %s: the house's own models stand in",
                            self.options.site, key, now.isoformat())
            self._stale = True
            return None
        if self._stale:
            log.info("site %s: the simulation's physics are fresh again at %s", self.options.site, now.isoformat())
            self._stale = False
        assert found is not None
        return found[1] * self.options.share_of(key)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def physics_or(feed: PhysicsFeed | None, key: str, when: datetime, own: float) -> float:
    """The feed's value of ``key`` at ``when`` (times its share), or ``own`` (no feed, a key in ``own``, a
    missing or stale value: counted and logged once by the feed)."""
    found = None if feed is None else feed.value(key, when)
    return own if found is None else found


def add_physics_arguments(parser: argparse.ArgumentParser) -> None:
    """An emulator's ``--physics-site SITE [--pv-share X --load-share Y --own KEY --physics-refresh-s S]``."""
    parser.add_argument("--physics-site", default=None, help="the site whose simulated physics drive the device")
    parser.add_argument("--pv-share", type=float, default=None, help="of the bus's PV (default 1)")
    parser.add_argument("--load-share", type=float, default=None, help="of the bus's load (default 1)")
    parser.add_argument("--own", action="append", choices=list(KEYS), help="a value the device keeps its own model for")
    parser.add_argument("--physics-refresh-s", type=float, default=60.0, help="clock seconds between reads")


def physics_option(args: argparse.Namespace) -> dict[str, Any] | None:
    """The site-file ``physics`` option from those arguments (None without ``--physics-site``)."""
    if not args.physics_site:
        return None
    return {"source": "simulation", "site": args.physics_site, "pv_share": args.pv_share,
            "load_share": args.load_share, "own": args.own or [], "refresh_s": args.physics_refresh_s}


async def refresh_forever(feed: PhysicsFeed, clock: Clock) -> None:
    """Re-read the feed (blocking HTTP in a thread) every ``refresh_s`` of clock time (the feed skips a call
    that comes sooner: it is asked four times as often, so a late wake-up does not double the period)."""
    while True:
        await asyncio.to_thread(feed.refresh, clock.now())
        await clock.sleep(feed.options.refresh_s / 4)
