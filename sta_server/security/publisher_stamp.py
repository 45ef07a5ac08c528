"""The broker plugin's publisher stamp (broker_plugin/sta_identity.c): next to `sta-publisher` it
adds `sta-stamp`, the hex HMAC-SHA256 under a secret shared with the server of (user, topic,
idempotency key or "", payload), each field preceded by its length (4 bytes, big-endian).

A name is believed only with its stamp: Mosquitto 2.0 sends a client's *will* without passing it
through the plugin, with the properties the client wrote, so a will (or any message from a path
that skips the plugin) naming `sta-publisher=admin` carries no valid stamp. Subscribers do receive
stamps, so a client that may write on the same topic could replay an identical message (same
user, topic, payload and key); a message with an idempotency key is then a duplicate
(docs/security.md, "MQTT identity")."""
from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path

from sta_server.settings import Settings

STAMP_PROPERTY = "sta-stamp"
SECRET_FILE = "stamp.secret"  # in STA_MQTT_AUTH_DIR, beside passwd (scripts/services.sh writes it)
MIN_SECRET = 16
log = logging.getLogger(__name__)


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def compute_stamp(secret: bytes, user: str, topic: str, key: str | None, payload: bytes) -> str:
    message = b"".join(_field(part) for part in (user.encode(), topic.encode(), (key or "").encode(), payload))
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def read_secret(path: Path) -> bytes | None:
    """The first line of the file, as the plugin reads it; None when missing or too short."""
    try:
        words = path.read_text(encoding="utf-8").split()
    except OSError:
        return None
    return words[0].encode() if words and len(words[0]) >= MIN_SECRET else None


class StampCheck:
    """Verifies stamps with the secret of `STA_MQTT_AUTH_DIR/stamp.secret` (read again while it is
    missing: the broker's files may appear after the server starts)."""

    def __init__(self, settings: Settings) -> None:
        self.path = Path(settings.mqtt_auth_dir) / SECRET_FILE if settings.mqtt_auth_dir else None
        self._secret: bytes | None = None
        self._warned = False

    def secret(self) -> bytes | None:
        if self._secret is None and self.path is not None:
            self._secret = read_secret(self.path)
            if self._secret is None and not self._warned:
                self._warned = True
                log.error("no MQTT stamp secret in %s: no publisher name can be verified, creates that "
                          "need one are refused (STA_MQTT_IDENTITY=broker)", self.path)
        return self._secret

    def verified(self, user: str | None, stamp: str | None, topic: str, key: str | None, payload: bytes) -> bool:
        """Whether `stamp` is the plugin's for this user, topic, key and payload (constant time)."""
        secret = self.secret()
        if user is None or stamp is None or secret is None:
            return False
        return hmac.compare_digest(stamp.encode(), compute_stamp(secret, user, topic, key, payload).encode())
