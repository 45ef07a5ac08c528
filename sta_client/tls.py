"""The TLS context of both transports (HTTPS and mqtts://): the CA to trust and, for device agents,
the client certificate whose CN names the user."""
from __future__ import annotations

import ssl

from sta_client.settings import ClientSettings


def needs_tls(settings: ClientSettings, url: str) -> bool:
    return url.startswith(("https://", "mqtts://", "wss://")) or settings.tls_cert_file is not None


def ssl_context(settings: ClientSettings) -> ssl.SSLContext:
    """System CAs (or `tls_ca_file`), plus the client certificate and key when configured."""
    context = ssl.create_default_context(cafile=settings.tls_ca_file)
    if settings.tls_cert_file is not None:
        context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    return context
