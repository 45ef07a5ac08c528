"""A tiny WSGI app served under the server's own gunicorn configuration (sta_server/workers.py:
TLS options, CRL hook, identity middleware) that answers with what `client_cert_identity` sees.
Run as `python -m tests.tls.identity_app` with the STA_* settings in the environment."""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sta_server.settings import Settings
from sta_server.tls import client_cert_identity
from sta_server.workers import Workers

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def identity_app(settings: Settings) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = json.dumps({"identity": client_cert_identity(environ),
                           "scheme": environ.get("wsgi.url_scheme")}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app


if __name__ == "__main__":
    Workers(Settings.from_env(), app_factory=identity_app).run()
