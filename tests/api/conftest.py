"""A real HTTP server on a free loopback port, for clients that speak HTTP themselves."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from sta_server.app import create_app
from sta_server.settings import Settings


def _not_ready(environ: object, start_response: object) -> list[bytes]:
    raise RuntimeError("the server's app is set right after it binds")


@pytest.fixture
def live_server(database_url: str, clean_db: Engine) -> Iterator[str]:
    """The service root URL (`http://127.0.0.1:<port>/v1.1`) of the app served in a thread."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, _not_ready, threaded=True)
    root = f"http://127.0.0.1:{server.port}"
    settings = Settings(database_url=database_url, service_root_url=root, mqtt_url=None, auth=False)
    server.app = create_app(settings, clean_db)
    thread = threading.Thread(target=server.serve_forever, name="live-sta-server", daemon=True)
    thread.start()
    try:
        yield f"{root}/v1.1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
