"""The HTTP worker setup of the default run mode (sta_server/workers.py): granian for plain HTTP,
gunicorn for HTTPS (gthread, 8 threads per worker, idle keep-alive connections kept 2 s), chosen by
bench/http_workers.py, bench/wsgi_overhead.py and bench/write_paths.py (docs/benchmarks.md), each
overridable for measuring others."""
from __future__ import annotations

import dataclasses

import pytest

from sta_server.settings import Settings
from sta_server.workers import Workers, http_options, http_server


def _app(settings: Settings) -> object:
    return lambda environ, start_response: []


def test_defaults_are_the_measured_setup() -> None:
    assert http_options({}) == {"worker_class": "gthread", "threads": 8, "keepalive": 2}


def test_variables_override_each_setting() -> None:
    options = http_options({"STA_HTTP_WORKER_CLASS": "sync", "STA_HTTP_THREADS": "2", "STA_HTTP_KEEPALIVE": "0"})
    assert options == {"worker_class": "sync", "threads": 2, "keepalive": 0}


@pytest.mark.parametrize("environ", [{"STA_HTTP_THREADS": "0"}, {"STA_HTTP_KEEPALIVE": "-1"},
                                     {"STA_HTTP_THREADS": "eight"}])
def test_bad_values_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        http_options(environ)


def test_gunicorn_gets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STA_HTTP_THREADS", "3")
    monkeypatch.setenv("STA_HTTP_KEEPALIVE", "7")
    settings = Settings.from_env({"STA_HTTP_WORKERS": "2", "STA_HTTP_PORT": "18099"})
    config = Workers(settings, _app).cfg  # type: ignore[arg-type]
    assert (config.workers, config.threads, config.keepalive, config.worker_class_str) == (2, 3, 7, "gthread")
    assert config.bind == ["127.0.0.1:18099"]


def test_http_server_choice() -> None:
    plain = Settings.from_env({})
    assert http_server({}, plain) == "granian"
    assert http_server({"STA_HTTP_SERVER": "gunicorn"}, plain) == "gunicorn"
    https = dataclasses.replace(plain, tls_cert_file="/etc/sta/cert.pem")
    assert http_server({}, https) == "gunicorn"  # the client identity needs gunicorn
    assert http_server({"STA_HTTP_SERVER": "granian"}, https) == "gunicorn"
    with pytest.raises(ValueError):
        http_server({"STA_HTTP_SERVER": "uvicorn"}, plain)
