"""The GUI's configuration: where the SensorThings server and the broker's WebSockets listener are,
the key that signs the session cookie, where to listen. `GuiSettings.from_env()` reads `GUI_*`
variables; nothing is read at import time and the secret never appears in `repr` or logs."""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_STA_URL = "http://127.0.0.1:8080/v1.1"
DEFAULT_MQTT_WS_URL = "ws://127.0.0.1:18831"


@dataclass(frozen=True)
class GuiSettings:
    sta_url: str = DEFAULT_STA_URL  # the server as the GUI back end reaches it
    mqtt_ws_url: str = DEFAULT_MQTT_WS_URL  # the broker's WebSockets listener as the *browser* reaches it
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    host: str = "127.0.0.1"
    port: int = 8090
    session_max_age_s: int = 8 * 3600
    timezone: str = "UTC"  # history buckets when a site names no `timezone` property
    sta_timeout_s: float = 10.0
    sta_retry_budget_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.sta_url.startswith(("http://", "https://")):
            raise ValueError(f"GUI_STA_URL must be an http(s) URL, not {self.sta_url!r}")
        if not self.mqtt_ws_url.startswith(("ws://", "wss://")):
            raise ValueError(f"GUI_MQTT_WS_URL must be a ws(s) URL, not {self.mqtt_ws_url!r}")
        if len(self.secret_key) < 16:
            raise ValueError("GUI_SECRET_KEY must have at least 16 characters")
        if not 0 < self.port < 65536 or self.session_max_age_s <= 0:
            raise ValueError("GUI_PORT must be a TCP port and GUI_SESSION_MAX_AGE_S positive")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GuiSettings:
        """`GUI_STA_URL`, `GUI_MQTT_WS_URL`, `GUI_SECRET_KEY` (or `GUI_SECRET_KEY_FILE`, first line),
        `GUI_HOST`, `GUI_PORT`, `GUI_SESSION_MAX_AGE_S`, `GUI_TIMEZONE`. Without a secret key a random
        one is made: sessions then end when the process does."""
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = env.get("GUI_" + name, "").strip()
            return value or None

        key_file = text("SECRET_KEY_FILE")
        if key_file is not None:
            with open(key_file, encoding="utf-8") as file:
                secret: str | None = file.readline().strip() or None
        else:
            secret = text("SECRET_KEY")
        defaults = cls()
        return cls(sta_url=(text("STA_URL") or DEFAULT_STA_URL).rstrip("/"),
                   mqtt_ws_url=text("MQTT_WS_URL") or DEFAULT_MQTT_WS_URL,
                   secret_key=secret or defaults.secret_key,
                   host=text("HOST") or defaults.host, port=int(text("PORT") or defaults.port),
                   session_max_age_s=int(text("SESSION_MAX_AGE_S") or defaults.session_max_age_s),
                   timezone=text("TIMEZONE") or defaults.timezone)
