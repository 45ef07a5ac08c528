"""The MQTT subscription registry kept in the database, so that a restarted server still notifies
the subscribers that stayed connected (Mosquitto offers no way to list subscriptions)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from sta_server.sql.base import Base


class MqttSubscription(Base):
    __tablename__ = "mqtt_subscriptions"
    client_id: Mapped[str] = mapped_column(Text, primary_key=True)
    topic: Mapped[str] = mapped_column(Text, primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
