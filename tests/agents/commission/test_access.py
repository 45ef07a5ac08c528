"""With authentication on: an administrator commissions, runs the logged `sta-admin label add` commands,
and the site's device agent then sees its Things, streams and capabilities and can publish."""
from __future__ import annotations

import shlex
import uuid
from datetime import UTC, datetime

from agents.commission import label_commands
from agents.commissioning import commission
from sta_client import Query, StaClient, entity_path, string_literal
from tests.agents.commission.conftest import example_site
from tests.client.conftest import (  # noqa: F401 (fixtures)
    RunningServer,
    client_auth_database_url,
    sta_process_auth,
    sta_secure_broker,
)


def test_a_labelled_site_is_visible_to_its_device_agent(sta_process_auth: RunningServer) -> None:  # noqa: F811
    site = example_site("fur-house")
    with StaClient(sta_process_auth.settings()) as admin:
        ids = commission(site, admin, datetime(2026, 6, 1, tzinfo=UTC))
    for command in label_commands(site, ids):
        sta_process_auth.admin_cli(*shlex.split(command)[1:])
    name = f"agent-{uuid.uuid4().hex[:6]}"
    sta_process_auth.admin_cli("user", "add", name, "--role", "device_agent", "--grant", f"site:{site.id}")
    token = sta_process_auth.admin_cli("token", "create", name)["token"]
    with StaClient(sta_process_auth.settings(username=None, password=None, token=token)) as agent:
        things = list(agent.iter("Things", Query().filter(f"properties/siteId eq {string_literal(site.id)}")))
        assert {thing["properties"]["key"] for thing in things} == set(ids.things)
        capabilities = list(agent.iter(entity_path("Things", ids.things["ess"], "TaskingCapabilities")))
        assert {capability["properties"]["key"] for capability in capabilities} == {"ess_setpoint", "ess_schedule"}
        assert agent.create(entity_path("Datastreams", ids.datastreams["SoC"], "Observations"),
                            {"phenomenonTime": "2026-06-01T12:00:00Z", "result": 55.0})
