"""TLS settings (STA_TLS_*, STA_MQTT_CA_FILE, …) and the server's SSL context hook, without processes."""
from __future__ import annotations

import ssl

import pytest

from sta_server.settings import Settings
from sta_server.tls import ServerContext, client_cert_identity, gunicorn_tls_options
from tests.tls.pki import Pki


def https_env(pki: Pki, **extra: str) -> dict[str, str]:
    return {"STA_TLS_CERT_FILE": str(pki.server.cert), "STA_TLS_KEY_FILE": str(pki.server.key), **extra}


def test_https_settings(pki: Pki) -> None:
    settings = Settings.from_env(https_env(pki, STA_HTTP_PORT="8443"))
    assert settings.tls_client_certs == "none"
    assert settings.base_url == "https://127.0.0.1:8443"
    options = gunicorn_tls_options(settings)
    assert options["certfile"] == str(pki.server.cert) and options["cert_reqs"] == ssl.CERT_NONE
    assert gunicorn_tls_options(Settings.from_env({})) == {}


def test_client_ca_makes_client_certificates_optional(pki: Pki) -> None:
    settings = Settings.from_env(https_env(pki, STA_TLS_CLIENT_CA_FILE=str(pki.ca), STA_TLS_CRL_FILE=str(pki.crl)))
    assert settings.tls_client_certs == "optional"
    assert gunicorn_tls_options(settings)["cert_reqs"] == ssl.CERT_OPTIONAL
    required = Settings.from_env(https_env(pki, STA_TLS_CLIENT_CA_FILE=str(pki.ca), STA_TLS_CLIENT_CERTS="Required"))
    assert gunicorn_tls_options(required)["cert_reqs"] == ssl.CERT_REQUIRED


@pytest.mark.parametrize(("extra", "message"), [
    ({"STA_TLS_CERT_FILE": "/nonexistent/server.pem"}, "no such file"),
    ({"STA_TLS_CLIENT_CERTS": "sometimes"}, "none, optional or required"),
    ({"STA_TLS_CLIENT_CERTS": "required"}, "need STA_TLS_CLIENT_CA_FILE"),
    ({"STA_TLS_CRL_FILE": "{crl}"}, "need STA_TLS_CLIENT_CA_FILE"),
    ({"STA_TLS_CERT_FILE": "", "STA_TLS_KEY_FILE": "", "STA_TLS_CLIENT_CA_FILE": "{ca}"}, "need STA_TLS_CERT_FILE"),
    ({"STA_MQTT_URL": "mqtt://127.0.0.1:1883", "STA_MQTT_CA_FILE": "{ca}"}, "mqtts://"),
    ({"STA_MQTT_URL": "mqtts://127.0.0.1", "STA_MQTT_KEY_FILE": "{ca}"}, "needs STA_MQTT_CERT_FILE"),
])
def test_inconsistent_tls_settings_are_refused(pki: Pki, extra: dict[str, str], message: str) -> None:
    env = https_env(pki, **{name: value.format(ca=pki.ca, crl=pki.crl) for name, value in extra.items()})
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)


def test_mqtts_settings(pki: Pki) -> None:
    settings = Settings.from_env({"STA_MQTT_URL": "mqtts://broker:8883", "STA_MQTT_CA_FILE": str(pki.ca),
                                  "STA_MQTT_CERT_FILE": str(pki.server.cert), "STA_MQTT_KEY_FILE": str(pki.server.key)})
    assert (settings.mqtt_ca_file, settings.mqtt_cert_file) == (str(pki.ca), str(pki.server.cert))


def test_server_context_is_rebuilt_when_the_crl_changes(pki: Pki) -> None:
    settings = Settings.from_env(https_env(pki, STA_TLS_CLIENT_CA_FILE=str(pki.ca), STA_TLS_CRL_FILE=str(pki.crl)))
    hook = ServerContext(settings)
    built: list[ssl.SSLContext] = []

    def factory() -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
        context.load_cert_chain(pki.server.cert, pki.server.key)
        built.append(context)
        return context

    first = hook(None, factory)
    assert first.verify_flags & ssl.VERIFY_CRL_CHECK_LEAF
    assert first.minimum_version == ssl.TLSVersion.TLSv1_2
    assert hook(None, factory) is first and len(built) == 1  # unchanged files: the same context
    pki.write_crl()
    second = hook(None, factory)
    assert second is not first and len(built) == 2
    try:
        pki.crl.write_text("not a CRL")  # a broken file: logged, the previous context stays
        assert hook(None, factory) is second
    finally:
        pki.write_crl()  # the session's CRL, for the other tests


def test_identity_comes_from_the_transport_only() -> None:
    assert client_cert_identity({"HTTP_STA.TLS.CLIENT_IDENTITY": "agent-1"}) is None
    assert client_cert_identity({"sta.tls.client_identity": "agent-1"}) == "agent-1"
    assert client_cert_identity({"sta.tls.client_identity": ""}) is None
