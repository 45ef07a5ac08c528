"""The platform's own users, API tokens, the access labels of Things, and the audit trail.

A user has one role (security/roles.py) and a set of grants: labels such as `site:S17` or
`radial:R1`. A Thing carries labels too (`thing_labels`); a scoped user sees a Thing when they share
one, and everything else is seen through Things (sql/policies.py). Passwords are kept as PBKDF2-SHA512
in Mosquitto's `$7$` format (one hash serves HTTP Basic and the broker); API tokens as SHA-256.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sta_server.sql.base import Base

NAME_MAX_LENGTH = 128


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False, unique=True)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(Text)  # None: tokens or a client certificate only
    grants: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now())


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    name: Mapped[str | None] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ThingLabel(Base):
    __tablename__ = "thing_labels"
    __table_args__ = (Index("ix_thing_labels_label", "label", "thing_id"),)
    thing_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("things.id", ondelete="CASCADE"),
                                          primary_key=True)
    label: Mapped[str] = mapped_column(Text, primary_key=True)


class AuditRecord(Base):
    """One row per (transaction, action, entity type): who, when, through which channel, which ids."""

    __tablename__ = "audit_records"
    # append-only for scoped principals (no SELECT): no RETURNING of the new id
    __table_args__ = (Index("ix_audit_records_type_time", "entity_type", "at"), {"implicit_returning": False})
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                         server_default=func.now(), index=True)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)  # http, mqtt, cli
    action: Mapped[str] = mapped_column(String(32), nullable=False)  # created, updated, deleted, user.*
    entity_type: Mapped[str] = mapped_column(Text, nullable=False)
    entity_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)
    detail: Mapped[Any | None] = mapped_column(JSONB)
