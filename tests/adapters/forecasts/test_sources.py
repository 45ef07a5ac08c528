"""Providers over real HTTP on 127.0.0.1 (never the internet): Open-Meteo's answer parsed, a timeout
and a server error as `SourceUnavailable`, and in a day-ahead round a timeout leaves the weather
Datastreams stale with nothing written."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from adapters.forecasts import store, streams
from adapters.forecasts.jobs import DayAheadConfig, run_day_ahead
from adapters.forecasts.sources import OpenMeteoHttp, SourceUnavailable
from sta_client.http import StaClient
from sta_client.query import Query
from tests.adapters.forecasts.conftest import fixture_path

NO_SITE = ("no-such-site",)  # weather only: no PV or site Thing of the shared server is served


class Provider:
    """A tiny Open-Meteo stand-in: `mode` = ok (the recorded fixture), hang (answers after release), 500."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.release = threading.Event()
        self.queries: list[dict[str, list[str]]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                provider.queries.append(parse_qs(urlsplit(self.path).query))
                if provider.mode == "hang":
                    provider.release.wait(30)
                status = 500 if provider.mode == "500" else 200
                body = fixture_path("open_meteo_fur_2026-06-20.json").read_bytes() if status == 200 else b"{}"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (the timeout case)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/forecast"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[Provider]:
    running = Provider()
    yield running
    running.close()


def test_open_meteo_over_http_is_parsed(provider: Provider) -> None:
    weather = OpenMeteoHttp("fur", 56.8, 8.9, url=provider.url).fetch(date(2026, 6, 21))
    assert len(weather.frame) == 72
    assert provider.queries[0]["latitude"] == ["56.8"] and provider.queries[0]["timezone"] == ["GMT"]
    assert "shortwave_radiation" in provider.queries[0]["hourly"][0]


def test_a_timeout_is_source_unavailable(provider: Provider) -> None:
    provider.mode = "hang"
    with pytest.raises(SourceUnavailable, match="Timeout"):
        OpenMeteoHttp("fur", 56.8, 8.9, url=provider.url, timeout_s=0.3).fetch(date(2026, 6, 21))


def test_a_server_error_is_source_unavailable(provider: Provider) -> None:
    provider.mode = "500"
    with pytest.raises(SourceUnavailable, match="500"):
        OpenMeteoHttp("fur", 56.8, 8.9, url=provider.url).fetch(date(2026, 6, 21))


def test_a_timeout_in_the_round_marks_the_weather_stale_and_writes_nothing(provider: Provider, sta: StaClient) -> None:
    issued = datetime(2026, 6, 20, 20, tzinfo=UTC)
    ok = DayAheadConfig(weather=(OpenMeteoHttp("timeout-point", 56.8, 8.9, url=provider.url),), site_ids=NO_SITE)
    assert run_day_ahead(sta, ok, date(2026, 6, 21), issued).written["weather:timeout-point"] == 72
    provider.mode = "hang"
    slow = DayAheadConfig(weather=(OpenMeteoHttp("timeout-point", 56.8, 8.9, url=provider.url, timeout_s=0.3),),
                          site_ids=NO_SITE)
    report = run_day_ahead(sta, slow, date(2026, 6, 22), issued.replace(day=21))
    assert "weather:timeout-point" not in report.written
    assert any("Timeout" in reason for reason in report.stale)
    thing = sta.page("Things", Query().filter("properties/key eq 'weather:timeout-point'").select("id")).values[0]
    ghi = store.find_or_create_stream(sta, thing["@iot.id"], streams.GHI)
    assert sta.get(f"Datastreams({ghi})")["properties"]["stale"] is True
    latest = store.read_latest(sta, ghi)
    assert latest is not None and latest[0] == issued and len(latest[1]) == 24
