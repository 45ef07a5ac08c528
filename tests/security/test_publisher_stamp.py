"""The publisher stamp's check (security/publisher_stamp.py): it holds for exactly the user,
topic, idempotency key and payload the broker plugin stamped (the plugin's own stamps are
compared with `compute_stamp` in test_broker_plugin.py)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from sta_server.security.publisher_stamp import StampCheck, compute_stamp, read_secret
from sta_server.settings import Settings

SECRET = "0123456789abcdef0123456789abcdef"
SIGNED = ("agent", "v1.1/Datastreams(1)/Observations", "k-1", b'{"result": 1}')


@pytest.fixture
def check(tmp_path: Path, settings: Settings) -> StampCheck:
    (tmp_path / "stamp.secret").write_text(f"{SECRET}\n")
    return StampCheck(replace(settings, mqtt_auth_dir=str(tmp_path)))


def test_the_stamp_holds_for_what_was_stamped_only(check: StampCheck) -> None:
    stamp = compute_stamp(SECRET.encode(), *SIGNED)
    user, topic, key, payload = SIGNED
    assert check.verified(user, stamp, topic, key, payload)
    assert not check.verified("admin", stamp, topic, key, payload)
    assert not check.verified(user, stamp, "v1.1/Datastreams(2)/Observations", key, payload)
    assert not check.verified(user, stamp, topic, None, payload)  # a replay without its key
    assert not check.verified(user, stamp, topic, key, b'{"result": 2}')
    assert not check.verified(user, None, topic, key, payload)
    assert not check.verified(user, stamp.upper(), topic, key, payload)
    assert not check.verified(user, compute_stamp(b"another secret!!", *SIGNED), topic, key, payload)


def test_fields_are_length_prefixed() -> None:
    """Moving bytes from one field to the next changes the stamp."""
    assert compute_stamp(b"s" * 16, "ab", "c", None, b"") != compute_stamp(b"s" * 16, "a", "bc", None, b"")


def test_no_secret_no_publisher(tmp_path: Path, settings: Settings) -> None:
    check = StampCheck(replace(settings, mqtt_auth_dir=str(tmp_path)))
    user, topic, key, payload = SIGNED
    assert not check.verified(user, compute_stamp(SECRET.encode(), *SIGNED), topic, key, payload)
    (tmp_path / "stamp.secret").write_text("too-short\n")
    assert read_secret(tmp_path / "stamp.secret") is None
    (tmp_path / "stamp.secret").write_text(f"{SECRET}\n")  # written after the server started
    assert check.verified(user, compute_stamp(SECRET.encode(), *SIGNED), topic, key, payload)
