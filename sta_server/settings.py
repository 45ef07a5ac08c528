"""Configuration from environment variables, validated once at startup and passed in explicitly."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:55432/sta"
DEFAULT_MQTT_URL = "mqtt://127.0.0.1:18830"


def normalise_database_url(url: str) -> str:
    """Accept libpq-style URLs (postgresql://, postgres://) and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _optional(value: str | None, default: str | None) -> str | None:
    """`off` (or `none`) disables a component whose URL has a default."""
    if value is not None and value.lower() in ("off", "none"):
        return None
    return value or default


def _count_threshold(mode: str | None, exact_up_to: str | None) -> int | None:
    if mode in (None, "", "exact"):
        return None
    if mode != "estimate":
        raise ValueError("STA_COUNT_MODE must be 'exact' or 'estimate'")
    return int(exact_up_to or 10000)


def _switch(value: str | None, default: bool, name: str) -> bool:
    if value is None:
        return default
    if value.lower() in ("on", "true", "1", "yes"):
        return True
    if value.lower() in ("off", "false", "0", "no"):
        return False
    raise ValueError(f"{name} must be 'on' or 'off'")


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    mqtt_url: str | None = DEFAULT_MQTT_URL
    # where clients reach the broker, as the service root announces it (comma-separated); default:
    # the broker of mqtt_url, without credentials, on the service root's host
    mqtt_public_urls: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    http_workers: int = 1  # > 1: gunicorn workers plus one MQTT ingest process (sta_server/workers.py)
    # TLS (docs/tls.md). HTTPS: served by gunicorn (sta_server/workers.py) even with one worker.
    tls_cert_file: str | None = None  # server certificate (chain) in PEM: HTTPS on STA_HTTP_PORT
    tls_key_file: str | None = None  # its private key (else read from tls_cert_file)
    tls_client_ca_file: str | None = None  # CA(s) of client certificates (device agents)
    tls_client_certs: str = "none"  # none | optional | required
    tls_crl_file: str | None = None  # revoked client certificates (PEM CRL), re-read when it changes
    mqtt_ca_file: str | None = None  # CA of the broker's certificate (mqtts://); else the system CAs
    mqtt_cert_file: str | None = None  # the server's own client certificate at the broker
    mqtt_key_file: str | None = None
    service_root_url: str | None = None  # external base URL (behind a reverse proxy)
    default_top: int = 100
    max_top: int = 10000
    log_level: str = "INFO"
    db_pool_size: int = 10
    partition_months_ahead: int = 3  # monthly Observation partitions created ahead (sql/partitions.py)
    statement_timeout_ms: int = 30000
    # hostile input (docs/limits.md)
    max_body_bytes: int = 16 * 1024 * 1024  # larger request bodies: 413
    max_expand_depth: int = 5  # deeper $expand: 400
    max_csv_rows: int = 1_000_000  # a CSV without $top stops here (Link to the next part)
    mqtt_max_message_bytes: int = 1024 * 1024  # larger MQTT creates: rejected
    mqtt_rate_per_topic: float = 0.0  # MQTT creates per second and topic beyond which they wait (0: no pace)
    mqtt_burst_per_topic: int = 10000  # ... beyond a burst of this many
    count_estimate_threshold: int | None = None  # STA_COUNT_MODE=estimate (threshold STA_COUNT_EXACT_UP_TO)
    mqtt_client_id: str = "sta-server"
    mqtt_notify_qos: int = 1
    mqtt_shared_group: str | None = None  # spread creates over processes ($share/<group>/…)
    db_connect_timeout_s: int = 5
    db_pool_timeout_s: float = 10.0
    mqtt_receive_maximum: int = 5000  # unacknowledged creates the broker may send at once
    mqtt_ingest_batch: int = 2000  # MQTT creates stored per transaction (at most)
    mqtt_notify_buffer: int = 10000  # notifications kept while the broker is unreachable
    mqtt_keepalive_s: int = 30  # MQTT keep-alive of the server's connections
    # how long the broker keeps the ingest's session (and the creates queued in it) while the server is away
    mqtt_session_expiry_s: int = 7 * 24 * 3600
    mqtt_broker_queue_messages: int = 1_000_000  # the broker's max_queued_messages (scripts/services.sh)
    mqtt_broker_queue_bytes: int = 256 * 1024 * 1024  # ... and max_queued_bytes: alarm at half of either
    mqtt_registry_persist: bool = True  # the subscription registry kept in the database (restarts)
    idempotency_retention_h: float = 24.0
    mqtt_ingest_report_s: float = 60.0  # an INFO line with the ingest counters, while they move
    auth: bool = True  # STA_AUTH=off: no authentication, everyone acts as an administrator (tests, demos)
    anonymous: str = "off"  # STA_ANONYMOUS=public: requests without credentials read Things labelled public
    auth_cache_s: float = 60.0  # successful credential checks remembered this long (revocation delay)
    mqtt_auth_dir: str | None = None  # the broker's passwd/acl are generated here from the user store
    mqtt_identity: str = "topic"  # "broker": the broker plugin names each publisher (security/mqtt_identity.py)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str, alias: str | None = None) -> str | None:
            return env.get(name) or (env.get(alias) if alias else None) or None

        defaults = cls()
        settings = cls(
            database_url=normalise_database_url(
                get("STA_DATABASE_URL", "DATABASE_URL") or defaults.database_url
            ),
            mqtt_url=_optional(get("STA_MQTT_URL", "MQTT_URL"), defaults.mqtt_url),
            mqtt_public_urls=get("STA_MQTT_PUBLIC_URLS"),
            http_host=get("STA_HTTP_HOST") or defaults.http_host,
            http_port=int(get("STA_HTTP_PORT") or defaults.http_port),
            http_workers=int(get("STA_HTTP_WORKERS") or defaults.http_workers),
            tls_cert_file=get("STA_TLS_CERT_FILE"),
            tls_key_file=get("STA_TLS_KEY_FILE"),
            tls_client_ca_file=get("STA_TLS_CLIENT_CA_FILE"),
            tls_client_certs=(get("STA_TLS_CLIENT_CERTS")
                              or ("optional" if get("STA_TLS_CLIENT_CA_FILE") else "none")).lower(),
            tls_crl_file=get("STA_TLS_CRL_FILE"),
            mqtt_ca_file=get("STA_MQTT_CA_FILE"),
            mqtt_cert_file=get("STA_MQTT_CERT_FILE"),
            mqtt_key_file=get("STA_MQTT_KEY_FILE"),
            service_root_url=get("STA_SERVICE_ROOT_URL"),
            default_top=int(get("STA_DEFAULT_TOP") or defaults.default_top),
            max_top=int(get("STA_MAX_TOP") or defaults.max_top),
            log_level=(get("STA_LOG_LEVEL") or defaults.log_level).upper(),
            db_pool_size=int(get("STA_DB_POOL_SIZE") or defaults.db_pool_size),
            partition_months_ahead=int(get("STA_PARTITION_MONTHS_AHEAD") or defaults.partition_months_ahead),
            statement_timeout_ms=int(get("STA_STATEMENT_TIMEOUT_MS") or defaults.statement_timeout_ms),
            max_body_bytes=int(get("STA_MAX_BODY_BYTES") or defaults.max_body_bytes),
            max_expand_depth=int(get("STA_MAX_EXPAND_DEPTH") or defaults.max_expand_depth),
            max_csv_rows=int(get("STA_MAX_CSV_ROWS") or defaults.max_csv_rows),
            mqtt_max_message_bytes=int(get("STA_MQTT_MAX_MESSAGE_BYTES") or defaults.mqtt_max_message_bytes),
            mqtt_rate_per_topic=float(get("STA_MQTT_RATE_PER_TOPIC") or defaults.mqtt_rate_per_topic),
            mqtt_burst_per_topic=int(get("STA_MQTT_BURST_PER_TOPIC") or defaults.mqtt_burst_per_topic),
            count_estimate_threshold=_count_threshold(get("STA_COUNT_MODE"), get("STA_COUNT_EXACT_UP_TO")),
            mqtt_client_id=get("STA_MQTT_CLIENT_ID") or defaults.mqtt_client_id,
            mqtt_notify_qos=int(get("STA_MQTT_NOTIFY_QOS") or defaults.mqtt_notify_qos),
            mqtt_shared_group=get("STA_MQTT_SHARED_GROUP"),
            db_connect_timeout_s=int(get("STA_DB_CONNECT_TIMEOUT_S") or defaults.db_connect_timeout_s),
            db_pool_timeout_s=float(get("STA_DB_POOL_TIMEOUT_S") or defaults.db_pool_timeout_s),
            mqtt_receive_maximum=int(get("STA_MQTT_RECEIVE_MAXIMUM") or defaults.mqtt_receive_maximum),
            mqtt_ingest_batch=int(get("STA_MQTT_INGEST_BATCH") or defaults.mqtt_ingest_batch),
            mqtt_notify_buffer=int(get("STA_MQTT_NOTIFY_BUFFER") or defaults.mqtt_notify_buffer),
            mqtt_keepalive_s=int(get("STA_MQTT_KEEPALIVE_S") or defaults.mqtt_keepalive_s),
            mqtt_session_expiry_s=int(get("STA_MQTT_SESSION_EXPIRY_S") or defaults.mqtt_session_expiry_s),
            mqtt_broker_queue_messages=int(get("STA_MQTT_BROKER_QUEUE_MESSAGES")
                                           or defaults.mqtt_broker_queue_messages),
            mqtt_broker_queue_bytes=int(get("STA_MQTT_BROKER_QUEUE_BYTES") or defaults.mqtt_broker_queue_bytes),
            mqtt_registry_persist=_switch(get("STA_MQTT_REGISTRY_PERSIST"), defaults.mqtt_registry_persist,
                                          "STA_MQTT_REGISTRY_PERSIST"),
            idempotency_retention_h=float(get("STA_IDEMPOTENCY_RETENTION_H") or defaults.idempotency_retention_h),
            mqtt_ingest_report_s=float(get("STA_MQTT_INGEST_REPORT_S") or defaults.mqtt_ingest_report_s),
            auth=_switch(get("STA_AUTH"), defaults.auth, "STA_AUTH"),
            anonymous=(get("STA_ANONYMOUS") or defaults.anonymous).lower(),
            auth_cache_s=float(get("STA_AUTH_CACHE_S") or defaults.auth_cache_s),
            mqtt_auth_dir=get("STA_MQTT_AUTH_DIR"),
            mqtt_identity=get("STA_MQTT_IDENTITY") or defaults.mqtt_identity,
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if not 0 < self.default_top <= self.max_top:
            raise ValueError("STA_DEFAULT_TOP must be positive and at most STA_MAX_TOP")
        if self.http_workers < 1:
            raise ValueError("STA_HTTP_WORKERS must be at least 1")
        if not 0 < self.http_port < 65536:
            raise ValueError("STA_HTTP_PORT must be a TCP port")
        if self.service_root_url and urlsplit(self.service_root_url).scheme not in ("http", "https"):
            raise ValueError("STA_SERVICE_ROOT_URL must be an http(s) URL")
        if self.mqtt_notify_qos not in (0, 1, 2):
            raise ValueError("STA_MQTT_NOTIFY_QOS must be 0, 1 or 2")
        if not 0 < self.mqtt_receive_maximum <= 65535:
            raise ValueError("STA_MQTT_RECEIVE_MAXIMUM must be 1..65535")
        if self.mqtt_ingest_batch < 1:
            raise ValueError("STA_MQTT_INGEST_BATCH must be positive")
        if self.db_connect_timeout_s < 1 or self.mqtt_notify_buffer < 1:
            raise ValueError("STA_DB_CONNECT_TIMEOUT_S and STA_MQTT_NOTIFY_BUFFER must be positive")
        self._validate_limits()
        if self.anonymous not in ("off", "public"):
            raise ValueError("STA_ANONYMOUS must be 'off' or 'public'")
        if self.mqtt_identity not in ("topic", "broker"):
            raise ValueError("STA_MQTT_IDENTITY must be 'topic' or 'broker'")
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("STA_LOG_LEVEL must be a logging level name")
        self._validate_tls()

    def _validate_tls(self) -> None:
        if self.tls_client_certs not in ("none", "optional", "required"):
            raise ValueError("STA_TLS_CLIENT_CERTS must be none, optional or required")
        if not self.tls_cert_file and (self.tls_key_file or self.tls_client_ca_file or self.tls_crl_file):
            raise ValueError("STA_TLS_KEY_FILE, STA_TLS_CLIENT_CA_FILE and STA_TLS_CRL_FILE need STA_TLS_CERT_FILE")
        if (self.tls_client_certs != "none" or self.tls_crl_file) and not self.tls_client_ca_file:
            raise ValueError("client certificates (STA_TLS_CLIENT_CERTS, STA_TLS_CRL_FILE) need STA_TLS_CLIENT_CA_FILE")
        if (self.mqtt_ca_file or self.mqtt_cert_file) and not (
                self.mqtt_url and urlsplit(self.mqtt_url).scheme in ("mqtts", "ssl")):
            raise ValueError("STA_MQTT_CA_FILE and STA_MQTT_CERT_FILE need an mqtts:// STA_MQTT_URL")
        if self.mqtt_key_file and not self.mqtt_cert_file:
            raise ValueError("STA_MQTT_KEY_FILE needs STA_MQTT_CERT_FILE")
        for name, path in (("STA_TLS_CERT_FILE", self.tls_cert_file), ("STA_TLS_KEY_FILE", self.tls_key_file),
                           ("STA_TLS_CLIENT_CA_FILE", self.tls_client_ca_file),
                           ("STA_TLS_CRL_FILE", self.tls_crl_file), ("STA_MQTT_CA_FILE", self.mqtt_ca_file),
                           ("STA_MQTT_CERT_FILE", self.mqtt_cert_file), ("STA_MQTT_KEY_FILE", self.mqtt_key_file)):
            if path and not os.path.isfile(path):
                raise ValueError(f"{name}: no such file {path}")

    def _validate_limits(self) -> None:
        if self.max_body_bytes < 1024 or self.mqtt_max_message_bytes < 256:
            raise ValueError("STA_MAX_BODY_BYTES must be at least 1024, STA_MQTT_MAX_MESSAGE_BYTES at least 256")
        if self.max_expand_depth < 1 or self.max_csv_rows < 1 or self.statement_timeout_ms < 0:
            raise ValueError("STA_MAX_EXPAND_DEPTH and STA_MAX_CSV_ROWS must be positive, "
                             "STA_STATEMENT_TIMEOUT_MS not negative")
        if self.mqtt_rate_per_topic < 0 or self.mqtt_burst_per_topic < 1:
            raise ValueError("STA_MQTT_RATE_PER_TOPIC must not be negative, STA_MQTT_BURST_PER_TOPIC positive")

    @property
    def base_url(self) -> str:
        """The external base URL without trailing slash, e.g. https://grid.example/sta."""
        scheme = "https" if self.tls_cert_file else "http"
        return (self.service_root_url or f"{scheme}://{self.http_host}:{self.http_port}").rstrip("/")
