"""Maintained hourly aggregates of Datastream Observations (rollups.py keeps them up to date).

`rollup_hourly` holds, per Datastream and UTC hour of phenomenonTime start, the count of all
Observations, the count of numeric results and their sum, min and max. `rollup_dirty` lists the
(Datastream, hour) pairs whose rows are stale: every write marks them in its own transaction, a
reader refreshes them before it uses the rollups.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Double, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from sta_server.sql.base import Base


def _stream() -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("datastreams.id", ondelete="CASCADE"), primary_key=True)


class RollupHourly(Base):
    __tablename__ = "rollup_hourly"
    datastream_id: Mapped[int] = _stream()
    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    observations: Mapped[int] = mapped_column(BigInteger, nullable=False)
    numbers: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total: Mapped[float | None] = mapped_column(Double)
    minimum: Mapped[float | None] = mapped_column(Double)
    maximum: Mapped[float | None] = mapped_column(Double)


class RollupDirty(Base):
    __tablename__ = "rollup_dirty"
    datastream_id: Mapped[int] = _stream()
    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    marks: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="1")
