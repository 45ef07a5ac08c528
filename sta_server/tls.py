"""Transport security of the HTTP server (docs/tls.md): the SSL context gunicorn serves HTTPS with
(client certificates checked against a CA and a revocation list, re-read when their files change)
and the identity a client certificate proves, for the authentication layer."""
from __future__ import annotations

import logging
import os
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sta_server.settings import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

CLIENT_IDENTITY_KEY = "sta.tls.client_identity"  # WSGI environ key: the client certificate's CN
CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def client_cert_identity(environ: WSGIEnvironment) -> str | None:
    """The common name (CN) of the client certificate of the request's TLS connection, or None.

    The certificate was verified during the TLS handshake (signed by STA_TLS_CLIENT_CA_FILE, not
    revoked by STA_TLS_CRL_FILE, in its validity period); the transport (`with_client_identity`)
    puts the CN into the environ, so no HTTP header can forge it. A device agent's certificate has
    its user name as CN. Tests of the authentication layer may set `CLIENT_IDENTITY_KEY` in a test
    client's environ."""
    value = environ.get(CLIENT_IDENTITY_KEY)
    return value if isinstance(value, str) and value else None


def peer_identity(sock: object) -> str | None:
    """The CN of the verified certificate the peer of a TLS socket presented (None without one,
    and when the subject has no CN or more than one)."""
    if not isinstance(sock, ssl.SSLSocket):
        return None
    cert = sock.getpeercert()
    if not cert:
        return None
    subject = cert.get("subject", ())  # ((("commonName", "agent-1"),), …): relative names of attributes
    names = [attribute[1] for rdn in subject if isinstance(rdn, tuple) for attribute in rdn
             if isinstance(attribute, tuple) and attribute[0] == "commonName"]
    return names[0] if len(names) == 1 and names[0] else None


def with_client_identity(app: WSGIApplication) -> WSGIApplication:
    """Wrap a WSGI app served by gunicorn: every request gets `CLIENT_IDENTITY_KEY`, taken from the
    connection's socket (`gunicorn.socket`)."""

    def wrapped(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        environ[CLIENT_IDENTITY_KEY] = peer_identity(environ.get("gunicorn.socket"))
        return app(environ, start_response)

    return wrapped


def _stamp(path: str) -> tuple[int, int, int]:
    try:
        status = os.stat(path)
    except OSError:
        return (0, 0, 0)
    return (status.st_ino, status.st_size, status.st_mtime_ns)


class ServerContext:
    """gunicorn's `ssl_context` hook. gunicorn asks for a context on every new connection: this
    one builds it once, from gunicorn's (certificate, key, client CA, verify mode), adds the CRL
    (`VERIFY_CRL_CHECK_LEAF`: a client certificate's serial must not be on it; the CRL itself
    must be current) and TLS ≥ 1.2, and builds it again when one of the files changes, so a
    renewed certificate or a new CRL takes effect without a restart. A file that fails to load
    keeps the previous context (logged as an error)."""

    def __init__(self, settings: Settings) -> None:
        self.crl_file = settings.tls_crl_file
        self.files = [path for path in (settings.tls_cert_file, settings.tls_key_file,
                                        settings.tls_client_ca_file, settings.tls_crl_file) if path]
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None
        self._stamps: list[tuple[int, int, int]] = []

    def __call__(self, conf: Any, default_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        stamps = [_stamp(path) for path in self.files]
        with self._lock:
            if self._context is None or stamps != self._stamps:
                self._stamps = stamps
                try:
                    self._context = self.build(default_factory)
                    log.info("TLS: loaded %s", ", ".join(self.files))
                except (OSError, ssl.SSLError) as error:
                    if self._context is None:
                        raise
                    log.error("TLS: reloading %s failed (%s); keeping the previous certificates and CRL",
                              ", ".join(self.files), error)
            assert self._context is not None
            return self._context

    def build(self, default_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        context = default_factory()
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.crl_file:
            context.load_verify_locations(cafile=self.crl_file)
            context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        return context


def gunicorn_tls_options(settings: Settings) -> dict[str, Any]:
    """gunicorn settings for HTTPS (empty without STA_TLS_CERT_FILE)."""
    if not settings.tls_cert_file:
        return {}
    return {"certfile": settings.tls_cert_file, "keyfile": settings.tls_key_file,
            "ca_certs": settings.tls_client_ca_file, "cert_reqs": CERT_REQS[settings.tls_client_certs],
            "ssl_context": ServerContext(settings)}
