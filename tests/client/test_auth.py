"""Authentication as the server offers it: HTTP Basic and bearer tokens (users and tokens made with
`sta-admin`), typed 401/403, and MQTT logins of store users at a broker that admits only them."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from sta_client import Forbidden, MqttSession, Query, StaClient, Unauthorized, entity_path
from sta_client.senml import pack_from_tuples
from tests.client.bodies import datastream, location, thing
from tests.client.conftest import RunningServer


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def site(sta_process_auth: RunningServer) -> tuple[str, str, int, int]:
    """A device agent `agent-…` (password and token) granted site:<x>, with a labelled Thing and stream."""
    name, label = f"agent-{uuid.uuid4().hex[:6]}", f"site:S{uuid.uuid4().hex[:6]}"
    with StaClient(sta_process_auth.settings()) as admin:
        thing_id = admin.create("Things", {**thing().to_json(), "Locations": [location().to_json()]})
        stream = admin.create("Datastreams", datastream(thing_id))
    assert isinstance(thing_id, int) and isinstance(stream, int)
    sta_process_auth.admin_cli("user", "add", name, "--role", "device_agent", "--grant", label, "--password-stdin",
                               stdin="agent-secret\n")
    sta_process_auth.admin_cli("label", "add", str(thing_id), "--label", label)
    token = sta_process_auth.admin_cli("token", "create", name, "--label", "box")["token"]
    return name, token, thing_id, stream


def test_basic_authentication(sta_process_auth: RunningServer) -> None:
    with StaClient(sta_process_auth.settings()) as admin:
        new_id = admin.create("Things", thing())
        assert admin.get(entity_path("Things", new_id))["@iot.id"] == new_id
    with StaClient(sta_process_auth.settings(password="wrong")) as wrong, pytest.raises(Unauthorized) as refused:
        wrong.get("Things")
    assert refused.value.status == 401 and refused.value.body["error"]["code"] == "Unauthorized"
    with StaClient(sta_process_auth.settings(username=None, password=None)) as anonymous, \
            pytest.raises(Unauthorized):
        anonymous.get("Things")


def test_bearer_token_sees_its_site_only(sta_process_auth: RunningServer, site: tuple[str, str, int, int]) -> None:
    _, token, thing_id, stream = site
    with StaClient(sta_process_auth.settings(username=None, password=None, token=token)) as agent:
        assert [row["@iot.id"] for row in agent.iter("Things")] == [thing_id]
        ids = agent.create_observations(stream, ["phenomenonTime", "result"], [["2026-05-01T10:00:00Z", 3]])
        assert isinstance(ids[0], int)
        with pytest.raises(Forbidden) as refused:
            agent.create("Things", thing())
    assert refused.value.status == 403
    with StaClient(sta_process_auth.settings(username=None, password=None, token="sta_wrong")) as wrong, \
            pytest.raises(Unauthorized):
        wrong.get("Things")


def test_mqtt_login_of_a_store_user(sta_process_auth: RunningServer, site: tuple[str, str, int, int]) -> None:
    name, _, _, stream = site
    settings = sta_process_auth.settings(username=name, password="agent-secret")
    session = MqttSession(settings, "box-1")
    assert session.client_id == f"{name}:box-1"  # the broker binds client ids to users
    session.start()
    try:
        session.wait_connected(10)
        key = f"{name}/1"
        for _ in range(2):
            assert session.publish_observation(stream, {"phenomenonTime": "2026-05-01T11:00:00Z", "result": 77},
                                               key).wait(10) < 128
    finally:
        session.close()
    with StaClient(sta_process_auth.settings()) as admin:
        def stored() -> list[float]:
            return [row["result"] for row in admin.iter(entity_path("Datastreams", stream, "Observations"),
                                                          Query().filter("result eq 77"))]
        wait_until(lambda: stored() == [77])


def test_mqtt_wrong_password_is_refused(sta_process_auth: RunningServer) -> None:
    session = MqttSession(sta_process_auth.settings(password="wrong"), "box-2")
    session.start()
    try:
        wait_until(lambda: session.last_connect_code is not None)
        assert (session.last_connect_code or 0) >= 128 and not session.connected.is_set()
    finally:
        session.close()


def test_senml_over_mqtt_runs_as_its_publisher(sta_process_auth: RunningServer) -> None:
    """SenML packs name their streams in the body, so the server takes them only from a publisher the
    broker names (STA_MQTT_IDENTITY=broker): here the administrator."""
    device = f"house-{uuid.uuid4().hex[:6]}"
    with StaClient(sta_process_auth.settings()) as admin:
        owner = admin.create("Things", {**thing().to_json(), "Locations": [location().to_json()]})
        stream = admin.create("Datastreams", datastream(owner, properties={"senmlName": f"{device}/P_PV"}))
        session = MqttSession(sta_process_auth.settings(), "senml")
        session.start()
        try:
            session.wait_connected(10)
            pack = pack_from_tuples([(f"{device}/P_PV", "W", 1500.0, datetime(2026, 5, 1, 10, tzinfo=UTC))])
            assert session.publish_senml(pack, f"{device}/1").wait(10) < 128
        finally:
            session.close()

        def stored() -> list[float]:
            return [row["result"] for row in admin.iter(entity_path("Datastreams", stream, "Observations"))]
        wait_until(lambda: stored() == [1500.0])
