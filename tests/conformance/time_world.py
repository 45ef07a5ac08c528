"""The data set of the OGC/FROST DateTimeTests (FROST-Server.Tests c03filtering, ets-sta10
filteringExtension): one Datastream with 25 Observations whose phenomenonTime, resultTime and
validTime are instants or intervals around 2016-01-01T07:00/08:00, and a second Datastream
without Observations; or, for the MdDateTimeTests, the same with MultiDatastreams. Observations are
known by their index in the suite (0..24)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.app import create_app
from sta_server.settings import Settings
from tests.conftest import get, post
from tests.sql.filter_data import truncate

# As the suites write them: instants as Java's ZonedDateTime.toString() (no seconds when zero),
# intervals as start/end instants.
T2014, T2015, T2017, T2017_2, T2018 = (
    "2014-01-01T06:00Z", "2015-01-01T06:00Z", "2017-01-01T09:00Z", "2017-01-01T10:00Z", "2018-01-01T09:00Z")
T600, T659, T700, T701, T759, T800, T801, T900 = (
    f"2016-01-01T{hm}Z" for hm in ("06:00", "06:59", "07:00", "07:01", "07:59", "08:00", "08:01", "09:00"))


def interval(start: str, end: str) -> str:
    """`2016-01-01T07:00:00Z/2016-01-01T08:00:00Z` (Java's Instant.toString() of both ends)."""
    return "/".join(moment.replace("Z", ":00Z") for moment in (start, end))


I2015 = interval(T2015, "2015-01-01T07:00Z")
I2017 = interval(T2017, T2017_2)
I600_659, I600_700, I600_701 = interval(T600, T659), interval(T600, T700), interval(T600, T701)
I700_800, I701_759, I759_900 = interval(T700, T800), interval(T701, T759), interval(T759, T900)
I800_900, I801_900, I659_801 = interval(T800, T900), interval(T801, T900), interval(T659, T801)
I700_759, I700_801, I659_800 = interval(T700, T759), interval(T700, T801), interval(T659, T800)
I701_800 = interval(T701, T800)
I2014_2015, I2014_2017_2, I2014_2018 = interval(T2014, T2015), interval(T2014, T2017_2), interval(T2014, T2018)
I2015_2017_2, I2015_2018, I2017_2_2018 = interval(T2015, T2017_2), interval(T2015, T2018), interval(T2017_2, T2018)

# index: (phenomenonTime, resultTime, validTime)
OBSERVATIONS: list[tuple[str, str | None, str | None]] = [
    *[(t, t, None) for t in (T600, T659, T700, T701, T759, T800, T801, T900)],  # 0..7
    *[(i, None, i) for i in (I600_659, I600_700, I600_701, I700_800, I701_759, I759_900, I800_900,
                             I801_900, I659_801, I700_759, I700_801, I659_800, I701_800)],  # 8..20
    (T2015, T2015, None), (T2017, T2017, None), (I2015, T2015, I2015), (I2017, T2017_2, I2017),  # 21..24
]


UNIT = {"name": "degree celcius", "symbol": "°C", "definition": "ucum:T"}
SENSOR = {"name": "Sensor 1", "description": "The first sensor.", "encodingType": "text", "metadata": "Some metadata."}
OBSERVED = {"name": "Temperature", "definition": "http://ucom.org/temperature",
            "description": "The temperature of the thing."}
OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/"


def _stream(entity_set: str, name: str, thing: int, links: dict[str, Any]) -> dict[str, Any]:
    """A Datastream, or (MdDateTimeTests) a MultiDatastream of one observed property."""
    common = {"name": name, "description": f"{name} of thing 1, sensor 1.", "Thing": {"@iot.id": thing}, **links}
    if entity_set == "Datastreams":
        return {**common, "unitOfMeasurement": UNIT, "observationType": OM + "OM_Measurement"}
    return {**common, "unitOfMeasurements": [UNIT], "observationType": OM + "OM_ComplexObservation",
            "multiObservationDataTypes": [OM + "OM_Measurement"]}


def _build(client: FlaskClient, entity_set: str) -> dict[str, Any]:
    location = {"name": "Location 1.0", "description": "Location of Thing 1.",
                "encodingType": "application/vnd.geo+json", "location": {"type": "Point", "coordinates": [8, 51]}}
    thing = post(client, "Things", {"name": "Thing 1", "description": "The first thing.", "Locations": [location]})
    first = post(client, entity_set, _stream(entity_set, "Datastream 1", thing["@iot.id"], {
        "Sensor": SENSOR, ("ObservedProperty" if entity_set == "Datastreams" else "ObservedProperties"):
            OBSERVED if entity_set == "Datastreams" else [OBSERVED]}))["@iot.id"]
    links = {"Sensor": {"@iot.id": get(client, f"{entity_set}({first})/Sensor")["@iot.id"]}}
    observed = get(client, f"{entity_set}({first})/" + ("ObservedProperty" if entity_set == "Datastreams"
                                                        else "ObservedProperties"))
    links |= ({"ObservedProperty": {"@iot.id": observed["@iot.id"]}} if entity_set == "Datastreams"
              else {"ObservedProperties": [{"@iot.id": observed["value"][0]["@iot.id"]}]})
    second = post(client, entity_set, _stream(entity_set, "Datastream 2", thing["@iot.id"], links))["@iot.id"]
    observations = []
    for index, (phenomenon, result_time, valid) in enumerate(OBSERVATIONS):
        body: dict[str, Any] = {"phenomenonTime": phenomenon, "resultTime": result_time}
        if entity_set == "Datastreams":
            body |= {"result": index, "Datastream": {"@iot.id": first}}
        else:
            body |= {"result": [index], "MultiDatastream": {"@iot.id": first}}
        if valid is not None:
            body["validTime"] = valid
        observations.append(post(client, "Observations", body)["@iot.id"])
    return {entity_set: [first, second], "Observations": observations}


def time_world(settings: Settings, engine: Engine,
               entity_set: str = "Datastreams") -> Iterator[tuple[FlaskClient, dict[str, Any]]]:
    """A client over the DateTimeTests data (MdDateTimeTests' with entity_set="MultiDatastreams"):
    (client, {"Observations": ids by index, entity_set: ids of the two streams})."""
    truncate(engine)
    app = create_app(settings, engine)
    app.testing = True
    client = app.test_client()
    try:
        yield client, _build(client, entity_set)
    finally:
        truncate(engine)
