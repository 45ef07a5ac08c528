"""Storage tables (SQLAlchemy 2 typed declarative). Column names follow model/ (Property.columns())."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sta_server.sql.base import Base

Id = Annotated[int, mapped_column(BigInteger, primary_key=True, autoincrement=True)]
Str = Annotated[str | None, mapped_column(Text)]
ReqStr = Annotated[str, mapped_column(Text, nullable=False)]
Json = Annotated[Any, mapped_column(JSONB, nullable=True)]
ReqJson = Annotated[Any, mapped_column(JSONB, nullable=False)]
Time = Annotated[datetime | None, mapped_column(DateTime(timezone=True))]
Geom = Annotated[Any, mapped_column(Geometry(srid=4326, spatial_index=False), nullable=True)]


def _fk(table: str, *, nullable: bool = False) -> Any:
    return mapped_column(
        BigInteger, ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=nullable, index=True
    )


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[Id]
    name: Mapped[ReqStr]
    description: Mapped[Str]
    properties: Mapped[Json]


class Location(Base):
    __tablename__ = "locations"
    __table_args__ = (Index("ix_locations_geom", "location_geom", postgresql_using="gist"),)
    id: Mapped[Id]
    name: Mapped[ReqStr]
    description: Mapped[Str]
    encoding_type: Mapped[ReqStr]
    location: Mapped[ReqJson]
    location_geom: Mapped[Geom]
    properties: Mapped[Json]


class HistoricalLocation(Base):
    __tablename__ = "historical_locations"
    id: Mapped[Id]
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    thing_id: Mapped[int] = _fk("things")


class Sensor(Base):
    __tablename__ = "sensors"
    id: Mapped[Id]
    name: Mapped[ReqStr]
    description: Mapped[Str]
    encoding_type: Mapped[ReqStr]
    metadata_: Mapped[ReqStr] = mapped_column("metadata", Text, nullable=False)
    properties: Mapped[Json]


class ObservedProperty(Base):
    __tablename__ = "observed_properties"
    id: Mapped[Id]
    name: Mapped[ReqStr]
    definition: Mapped[ReqStr]
    description: Mapped[Str]
    properties: Mapped[Json]


class Datastream(Base):
    __tablename__ = "datastreams"
    __table_args__ = (Index("ix_datastreams_observed_area", "observed_area", postgresql_using="gist"),)
    id: Mapped[Id]
    name: Mapped[ReqStr]
    description: Mapped[Str]
    unit_of_measurement: Mapped[ReqJson]
    observation_type: Mapped[ReqStr]
    observed_area: Mapped[Geom]
    phenomenon_time_start: Mapped[Time]
    phenomenon_time_end: Mapped[Time]
    result_time_start: Mapped[Time]
    result_time_end: Mapped[Time]
    properties: Mapped[Json]
    thing_id: Mapped[int] = _fk("things")
    sensor_id: Mapped[int] = _fk("sensors")
    observed_property_id: Mapped[int] = _fk("observed_properties")


class MultiDatastream(Base):
    __tablename__ = "multi_datastreams"
    __table_args__ = (
        Index("ix_multi_datastreams_observed_area", "observed_area", postgresql_using="gist"),
    )
    id: Mapped[Id]
    name: Mapped[ReqStr]
    description: Mapped[Str]
    unit_of_measurements: Mapped[ReqJson]
    observation_type: Mapped[ReqStr]
    multi_observation_data_types: Mapped[ReqJson]
    observed_area: Mapped[Geom]
    phenomenon_time_start: Mapped[Time]
    phenomenon_time_end: Mapped[Time]
    result_time_start: Mapped[Time]
    result_time_end: Mapped[Time]
    properties: Mapped[Json]
    thing_id: Mapped[int] = _fk("things")
    sensor_id: Mapped[int] = _fk("sensors")


class FeatureOfInterest(Base):
    __tablename__ = "features"
    __table_args__ = (Index("ix_features_geom", "feature_geom", postgresql_using="gist"),)
    id: Mapped[Id]
    name: Mapped[ReqStr]
    description: Mapped[Str]
    encoding_type: Mapped[ReqStr]
    feature: Mapped[ReqJson]
    feature_geom: Mapped[Geom]
    properties: Mapped[Json]
    # The Location this feature was generated from (None for features created by clients).
    source_location_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("locations.id", ondelete="SET NULL"), index=True
    )


class Observation(Base):
    __tablename__ = "observations"
    __table_args__ = (
        Index("ix_observations_datastream_time", "datastream_id", "phenomenon_time_start", "id"),
        Index("ix_observations_multi_datastream_time", "multi_datastream_id", "phenomenon_time_start"),
        CheckConstraint(
            "(datastream_id IS NULL) <> (multi_datastream_id IS NULL)", name="ck_observations_one_stream"
        ),
        # monthly partitions, made by migration 0006 and sql/partitions.py (which explains the choice)
        {"postgresql_partition_by": "RANGE (phenomenon_time_start)"},
    )
    id: Mapped[Id]  # drawn from the sequence observations_id_seq; unique alone in practice
    # part of the primary key: a partitioned table's keys must contain the partition key
    phenomenon_time_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    phenomenon_time_end: Mapped[Time]
    result_number: Mapped[float | None] = mapped_column(Double)
    result_json: Mapped[Json]
    result_time: Mapped[Time]
    result_quality: Mapped[Json]
    valid_time_start: Mapped[Time]
    valid_time_end: Mapped[Time]
    parameters: Mapped[Json]
    datastream_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("datastreams.id", ondelete="CASCADE")
    )
    multi_datastream_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("multi_datastreams.id", ondelete="CASCADE")
    )
    feature_of_interest_id: Mapped[int] = _fk("features")


class Actuator(Base):
    __tablename__ = "actuators"
    id: Mapped[Id]
    name: Mapped[ReqStr]
    description: Mapped[ReqStr]
    encoding_type: Mapped[ReqStr]
    metadata_: Mapped[ReqStr] = mapped_column("metadata", Text, nullable=False)
    properties: Mapped[Json]


class TaskingCapability(Base):
    __tablename__ = "tasking_capabilities"
    id: Mapped[Id]
    name: Mapped[ReqStr]
    description: Mapped[ReqStr]
    properties: Mapped[Json]
    tasking_parameters: Mapped[ReqJson]
    thing_id: Mapped[int] = _fk("things")
    actuator_id: Mapped[int] = _fk("actuators")


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_capability_time", "tasking_capability_id", "creation_time"),)
    id: Mapped[Id]
    creation_time: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    tasking_parameters: Mapped[ReqJson]
    tasking_capability_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tasking_capabilities.id", ondelete="CASCADE"), nullable=False
    )


def _link_table(name: str, left: str, right: str, *extra: Column[Any]) -> Table:
    """A many-to-many link table between the tables `left` and `right` (columns `<singular>_id`)."""
    return Table(
        name, Base.metadata,
        Column(_SINGULAR[left] + "_id", BigInteger, ForeignKey(f"{left}.id", ondelete="CASCADE"),
               primary_key=True),
        Column(_SINGULAR[right] + "_id", BigInteger, ForeignKey(f"{right}.id", ondelete="CASCADE"),
               primary_key=True, index=True),
        *extra,
    )


_SINGULAR = {
    "things": "thing", "locations": "location", "historical_locations": "historical_location",
    "multi_datastreams": "multi_datastream", "observed_properties": "observed_property",
}
things_locations = _link_table("things_locations", "things", "locations")
locations_historical_locations = _link_table(
    "locations_historical_locations", "locations", "historical_locations"
)
# Ordered, and one ObservedProperty may come twice (FROST MultiDatastreamTests): keyed by position.
multi_datastreams_observed_properties = Table(
    "multi_datastreams_observed_properties", Base.metadata,
    Column("multi_datastream_id", BigInteger, ForeignKey("multi_datastreams.id", ondelete="CASCADE"),
           primary_key=True),
    Column("observed_property_id", BigInteger, ForeignKey("observed_properties.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("rank", Integer, primary_key=True),
)

# A live view of the metadata: it includes the tables the modules imported below add to it.
TABLES: Mapping[str, Table] = Base.metadata.tables
from sta_server.sql import (  # noqa: E402 - these tables join the metadata
    idempotency_tables,  # noqa: F401 - idempotency keys
    rollup_tables,  # noqa: F401 - rollups
    security_tables,  # noqa: F401 - users, tokens, labels, audit trail
    subscription_tables,  # noqa: F401 - the MQTT subscription registry
)
