"""What GEVChCon reads of a charging site, over HTTP through `sta_client` only: the site's Things (by
`properties.siteId`), its charge points (kind `chargepoint`: rating, power and status streams, load-reduction
capability), the site's contract and radial, and the latest values and recent series of its streams."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sta_client import EntityId, Query, StaClient, datetime_literal, string_literal

JSON = dict[str, Any]
CATEGORY = "OM_CategoryObservation"
LOAD_REDUCTION = "ev-load-reduction"


class SiteNotFound(LookupError):
    """The server holds no usable site of that id (named in the message)."""


@dataclass(frozen=True)
class ChargePointRef:
    device: str
    max_power_w: float
    power_stream: EntityId
    status_stream: EntityId
    capability_id: EntityId
    resolution_s: int


@dataclass(frozen=True)
class SiteLayout:
    site_id: str
    radial_id: str
    contract_in_w: float
    properties: JSON  # the site Thing's
    points: tuple[ChargePointRef, ...]
    streams: Mapping[str, EntityId]  # properties.key -> Datastream id, over all the site's Things


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.split("/", maxsplit=1)[0].replace("Z", "+00:00"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _point(thing: JSON) -> ChargePointRef | None:
    props = thing.get("properties") or {}
    streams = thing.get("Datastreams") or []
    power = next((s for s in streams if (s.get("unitOfMeasurement") or {}).get("symbol") == "W"), None)
    status = next((s for s in streams if str(s.get("observationType", "")).endswith(CATEGORY)), None)
    capability = next((c for c in thing.get("TaskingCapabilities") or []
                       if (c.get("properties") or {}).get("template") == LOAD_REDUCTION), None)
    rating = _number(props.get("maxPower_W"))
    if power is None or status is None or capability is None or rating is None:
        return None
    return ChargePointRef(str(props.get("key", thing["@iot.id"])), rating, power["@iot.id"], status["@iot.id"],
                          capability["@iot.id"], int((capability.get("properties") or {}).get("resolution_s", 900)))


class SiteReader:
    def __init__(self, client: StaClient) -> None:
        self.client = client

    def layout(self, site_id: str) -> SiteLayout:
        query = (Query().filter(f"properties/siteId eq {string_literal(site_id)}").orderby("id")
                 .expand("Datastreams", Query().select("id", "properties", "unitOfMeasurement", "observationType"))
                 .expand("TaskingCapabilities", Query().select("id", "properties")))
        things = list(self.client.iter("Things", query))
        site = next((t for t in things if (t.get("properties") or {}).get("kind") == "site"), None)
        if site is None:
            raise SiteNotFound(f"no Thing of kind site with siteId {site_id!r}")
        props = site.get("properties") or {}
        contract = _number(props.get("contractLimitIn_W"))
        if contract is None or contract <= 0:
            raise SiteNotFound(f"site {site_id!r} has no positive contractLimitIn_W")
        points = tuple(p for t in things if (t.get("properties") or {}).get("kind") == "chargepoint"
                       and (p := _point(t)) is not None)
        streams = {str(s["properties"]["key"]): s["@iot.id"] for t in things for s in t.get("Datastreams") or []
                   if isinstance((s.get("properties") or {}).get("key"), str)}
        return SiteLayout(site_id, str(props.get("radialId", "")), contract, props, points, streams)

    def latest(self, stream: EntityId | None) -> tuple[datetime, Any] | None:
        if stream is None:
            return None
        query = Query().select("phenomenonTime", "result").orderby("phenomenonTime desc").top(1)
        rows = self.client.get(f"Datastreams({stream})/Observations", query)["value"]
        return (parse_time(rows[0]["phenomenonTime"]), rows[0]["result"]) if rows else None

    def series(self, stream: EntityId, since: datetime, until: datetime) -> list[tuple[datetime, Any]]:
        query = (Query().select("phenomenonTime", "result")
                 .filter(f"phenomenonTime ge {datetime_literal(since)} and phenomenonTime le {datetime_literal(until)}")
                 .orderby("phenomenonTime asc").top(10_000))
        return [(parse_time(o["phenomenonTime"]), o["result"])
                for o in self.client.iter(f"Datastreams({stream})/Observations", query)]

    def latest_forecast(self, stream: EntityId | None) -> dict[int, float]:
        """The latest forecast run (max resultTime) as time of day (s) -> W: a daily profile."""
        if stream is None:
            return {}
        query = Query().select("resultTime").orderby("resultTime desc").top(1)
        rows = self.client.get(f"Datastreams({stream})/Observations", query)["value"]
        if not rows or not rows[0].get("resultTime"):
            return {}
        issued = parse_time(rows[0]["resultTime"])
        query = (Query().select("phenomenonTime", "result").filter(f"resultTime eq {datetime_literal(issued)}")
                 .orderby("phenomenonTime asc").top(10_000))
        profile: dict[int, float] = {}
        for row in self.client.iter(f"Datastreams({stream})/Observations", query):
            when, value = parse_time(row["phenomenonTime"]), _number(row["result"])
            if value is not None:
                profile[int((when - when.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds())] = value
        return profile


