"""Idempotency keys: one row per request (HTTP `Idempotency-Key` header) or MQTT create
(`idempotency-key` user property) that has been committed. The primary key (scope, key) makes a
second writer of the same key wait for the first and then see its row: a retry, a redelivery or a
concurrent duplicate is answered from here instead of being stored twice. `status`, `body` and
`location` replay an HTTP answer; MQTT rows keep none. Rows older than the retention are pruned.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sta_server.sql.base import Base

KEY_MAX_LENGTH = 255


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # "http" or "mqtt"
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), primary_key=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[Any | None] = mapped_column(JSONB)
    location: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now(), index=True)
