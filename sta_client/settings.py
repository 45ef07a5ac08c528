"""The client's configuration: where the server and broker are, how to authenticate, how long to wait
and how long to keep retrying. `ClientSettings.from_env()` reads `STA_CLIENT_*` variables; secrets
never appear in `repr` or logs."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_BASE_URL = "http://127.0.0.1:8080/v1.1"


@dataclass(frozen=True)
class ClientSettings:
    base_url: str = DEFAULT_BASE_URL
    mqtt_url: str | None = field(default=None, repr=False)  # may carry user:password
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_ca_file: str | None = None
    timeout_s: float = 10.0
    connect_timeout_s: float = 5.0
    retry_budget_s: float = 30.0
    max_attempts: int = 8
    backoff_base_s: float = 0.2
    backoff_max_s: float = 10.0
    mqtt_client_id: str | None = None
    mqtt_session_expiry_s: int = 3600
    mqtt_keepalive_s: int = 30

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.connect_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_attempts < 1 or self.retry_budget_s < 0:
            raise ValueError("max_attempts must be at least 1 and retry_budget_s not negative")
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username")

    @classmethod
    def from_env(cls, prefix: str = "STA_CLIENT_", environ: Mapping[str, str] | None = None) -> ClientSettings:
        """`<prefix>BASE_URL`, `MQTT_URL`, `USERNAME`, `PASSWORD`, `TOKEN`, `TLS_CERT_FILE`,
        `TLS_KEY_FILE`, `TLS_CA_FILE`, `TIMEOUT_S`, `CONNECT_TIMEOUT_S`, `RETRY_BUDGET_S`,
        `MAX_ATTEMPTS`, `MQTT_CLIENT_ID`, `MQTT_SESSION_EXPIRY_S`, `MQTT_KEEPALIVE_S`; `PASSWORD_FILE` and
        `TOKEN_FILE` name files holding the secret instead (first line)."""
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = env.get(prefix + name, "").strip()
            return value or None

        def secret(name: str) -> str | None:
            path = text(f"{name}_FILE")
            if path is None:
                return text(name)
            with open(path, encoding="utf-8") as file:
                return file.readline().strip() or None

        def number(name: str, default: float) -> float:
            value = text(name)
            return default if value is None else float(value)

        defaults = cls()
        return cls(
            base_url=(text("BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            mqtt_url=text("MQTT_URL"), username=text("USERNAME"), password=secret("PASSWORD"), token=secret("TOKEN"),
            tls_cert_file=text("TLS_CERT_FILE"), tls_key_file=text("TLS_KEY_FILE"), tls_ca_file=text("TLS_CA_FILE"),
            timeout_s=number("TIMEOUT_S", defaults.timeout_s),
            connect_timeout_s=number("CONNECT_TIMEOUT_S", defaults.connect_timeout_s),
            retry_budget_s=number("RETRY_BUDGET_S", defaults.retry_budget_s),
            max_attempts=int(number("MAX_ATTEMPTS", defaults.max_attempts)),
            mqtt_client_id=text("MQTT_CLIENT_ID"),
            mqtt_session_expiry_s=int(number("MQTT_SESSION_EXPIRY_S", defaults.mqtt_session_expiry_s)),
            mqtt_keepalive_s=int(number("MQTT_KEEPALIVE_S", defaults.mqtt_keepalive_s)),
        )
