"""Commissioning against a real `sta-server` process (helper A's fixture in tests/client/conftest.py),
through a real `StaClient` whose HTTP transport counts the writes it sends."""
from __future__ import annotations

import dataclasses
import pathlib
import uuid
from collections.abc import Iterator

import httpx
import pytest

from agents.site import SiteSpec, load_site, parse_site
from sta_client import StaClient
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401 (fixtures)
from tests.conftest import ROOT

WRITES = ("POST", "PATCH", "PUT", "DELETE")


class CountingTransport(httpx.HTTPTransport):
    """The ordinary transport, remembering the method and path of each request it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        return super().handle_request(request)

    def writes(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path in self.sent if method in WRITES]


@dataclasses.dataclass
class Counted:
    client: StaClient
    transport: CountingTransport


@pytest.fixture
def sta(sta_process: RunningServer) -> Iterator[Counted]:  # noqa: F811
    transport = CountingTransport()
    with StaClient(sta_process.settings(), transport=transport) as client:
        yield Counted(client, transport)


def site_text(name: str) -> str:
    """The text of an example file of sites/ with a site id of its own (tests share one server)."""
    text = (pathlib.Path(ROOT) / "sites" / f"{name}.yaml").read_text()
    site_id = load_site(pathlib.Path(ROOT) / "sites" / f"{name}.yaml").id
    return text.replace(f"  id: {site_id}\n", f"  id: {site_id}-{uuid.uuid4().hex[:8]}\n", 1)


def example_site(name: str) -> SiteSpec:
    return parse_site(site_text(name), f"{name}.yaml")
