"""docs/mqtt.md describes ingest batching with the numbers the code uses."""
from __future__ import annotations

import inspect
import pathlib

from sta_server.mqtt.ingest import Ingest
from sta_server.settings import Settings
from tests.conftest import ROOT


def _creates_section() -> str:
    text = (pathlib.Path(ROOT) / "docs/mqtt.md").read_text()
    return " ".join(text.split("\n## Creates\n", 1)[1].split("\n## ", 1)[0].split())


def test_the_batch_size_and_wait_are_the_defaults() -> None:
    max_wait_s = inspect.signature(Ingest).parameters["max_wait_s"].default
    assert (f"within {max_wait_s * 1000:.0f} ms, up to `STA_MQTT_INGEST_BATCH` messages "
            f"(default {Settings().mqtt_ingest_batch:,})") in _creates_section()


def test_the_receive_maximum_is_the_default() -> None:
    assert f"(`STA_MQTT_RECEIVE_MAXIMUM`, default {Settings().mqtt_receive_maximum:,};" in _creates_section()
