"""Password and token hashing.

Passwords: PBKDF2-HMAC-SHA512 with a random 12-byte salt, written in Mosquitto's `$7$` format
(`$7$<iterations>$<salt>$<hash>`, base64), so one stored hash serves HTTP Basic and the broker's
password file. Verifying costs tens of milliseconds on purpose; HTTP keeps successful checks for a
short while (security/authenticate.py) so that clients sending Basic on every request stay fast.
API tokens: 32 random bytes; only their SHA-256 is stored (they are not guessable, so a fast hash
is enough).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ITERATIONS = 100_000
_SALT_BYTES = 12
_HASH_BYTES = 64
TOKEN_PREFIX = "sta_"


def hash_password(password: str, iterations: int = ITERATIONS) -> str:
    if not password:
        raise ValueError("a password must not be empty")
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, _HASH_BYTES)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


# Verified instead when the user is unknown (or has no password): a refusal costs the same hash
# whether the name exists or not, so timing does not tell which user names exist.
UNKNOWN_USER_HASH = (f"$7${ITERATIONS}${base64.b64encode(bytes(_SALT_BYTES)).decode()}"
                     f"${base64.b64encode(bytes(_HASH_BYTES)).decode()}")


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        _, kind, iterations, salt, digest = stored.split("$")
        if kind != "7":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations),
                                     len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
