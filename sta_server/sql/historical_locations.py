"""A Thing's current Locations as its newest HistoricalLocation names them (OGC 18-088 10.2.2:
a HistoricalLocation posted with a time later than the Thing's others moves the Thing)."""
from __future__ import annotations

from sqlalchemy import Connection, delete, exists, insert, select

from sta_server.sql.tables import TABLES

things_locations = TABLES["things_locations"]
historical = TABLES["historical_locations"]
hist_links = TABLES["locations_historical_locations"]


def is_newest(conn: Connection, hist_id: int) -> bool:
    """Whether no other HistoricalLocation of the same Thing has a later time."""
    this = historical.alias("this")
    later = exists().where(historical.c.thing_id == this.c.thing_id, historical.c.time > this.c.time)
    return bool(conn.execute(select(~later).where(this.c.id == hist_id)).scalar())


def move_thing(conn: Connection, hist_id: int) -> int | None:
    """Make the Locations of HistoricalLocation `hist_id` its Thing's current ones (no new
    HistoricalLocation: this one records the move); returns the Thing's id, None when the
    HistoricalLocation names no Location."""
    row = conn.execute(select(historical.c.thing_id).where(historical.c.id == hist_id)).first()
    location_ids = list(conn.execute(select(hist_links.c.location_id).where(
        hist_links.c.historical_location_id == hist_id)).scalars())
    if row is None or not location_ids:
        return None
    thing_id = int(row[0])
    conn.execute(delete(things_locations).where(things_locations.c.thing_id == thing_id))
    conn.execute(insert(things_locations), [{"thing_id": thing_id, "location_id": location}
                                            for location in location_ids])
    return thing_id
