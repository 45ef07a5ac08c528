"""Fixtures of the browser tests (reused by tests/gui/test_professional*.py):

- `gui_server`: a real `sta-server` with authentication on, its own database and a Mosquitto that admits
  only the server's users, with a **WebSockets listener** (`gui_server.broker.ws_port`) for the browser;
- `gui_url`: `python -m gui` as a subprocess against it (base URL, e.g. http://127.0.0.1:PORT);
- `browser`: Debian's Chromium (`/usr/bin/chromium`) through Playwright's sync API, headless, offline flags;
- `page`: a fresh browser context and page per test;
- `make_user(role, *grants) -> (name, password)`: a server user, present at the broker when it returns;
- `log_in(page, gui_url, name, password)`: the login form, filled;
- `screenshot(page, name)`: a PNG into docs/ when `GUI_SCREENSHOTS=docs` (refreshing the documentation's
  pictures), else into a temporary folder (a test run leaves the checkout unchanged).
"""
from __future__ import annotations

import os
import pathlib
import secrets
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from alembic import command
from playwright.sync_api import Browser, Page, expect, sync_playwright

from sta_client import StaClient
from tests.client.conftest import SERVER_ACL, RunningServer
from tests.conftest import ROOT, _admin_url, alembic_config, throwaway_database
from tests.faults.conftest import Server, wait_for
from tests.mosquitto import Broker, free_port

ADMIN = "gui-admin"
ADMIN_PASSWORD = "gui-admin-secret"  # noqa: S105 (a test user)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MakeUser = Callable[..., tuple[str, str]]
SCRATCH = pathlib.Path(tempfile.gettempdir()) / "sta-gui-screenshots"


class WsBroker(Broker):
    """The tests' Mosquitto with a second, WebSockets listener (same users, ACL and plugin)."""

    def __init__(self) -> None:
        super().__init__()
        self.ws_port = free_port()
        conf = self.folder / "mosquitto.conf"
        conf.write_text(conf.read_text().replace("allow_anonymous true", "allow_anonymous false")
                        + f"pid_file {self.folder}/mosquitto.pid\n"
                        + f"listener {self.ws_port} 127.0.0.1\nprotocol websockets\n")
        shutil.copy(self.folder / "passwd", self.folder / "passwd.base")
        for name in ("acl.base", "acl"):
            (self.folder / name).write_text(SERVER_ACL)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"


class GuiServer(RunningServer):
    @property
    def ws_url(self) -> str:
        """The broker's WebSockets listener, as the browser reaches it."""
        assert isinstance(self.broker, WsBroker)
        return self.broker.ws_url

    def admin(self) -> StaClient:
        return StaClient(self.settings(username=ADMIN, password=ADMIN_PASSWORD))


@pytest.fixture(scope="session")
def gui_server() -> Iterator[GuiServer]:
    """`sta-server` with authentication on, broker identities, its own database and WebSockets broker."""
    broker = WsBroker()
    broker.start()
    wait_for((broker.folder / "mosquitto.pid").exists, 10, "the broker's pid file")
    with throwaway_database(_admin_url()) as url:
        command.upgrade(alembic_config(url), "head")
        server = Server(url, broker.server_url, f"sta-gui-test-{uuid.uuid4().hex[:6]}", STA_AUTH="on",
                        STA_MQTT_AUTH_DIR=str(broker.folder), STA_MQTT_IDENTITY="broker")
        running = GuiServer(server, broker, url, auth=True)
        running.admin_cli("user", "add", ADMIN, "--role", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
        try:
            server.start()
            yield running
        finally:
            server.stop()
            shutil.rmtree(server.log_path.parent, ignore_errors=True)
            broker.remove()


@pytest.fixture(scope="session")
def make_user(gui_server: GuiServer) -> MakeUser:
    def make(role: str, *grants: str) -> tuple[str, str]:
        name, password = f"{role.replace('_', '-')}-{uuid.uuid4().hex[:8]}", secrets.token_hex(12)
        argv = ["user", "add", name, "--role", role, "--password-stdin"]
        for grant in grants:
            argv += ["--grant", grant]
        gui_server.admin_cli(*argv, stdin=password + "\n")
        passwd = gui_server.broker.folder / "passwd"
        wait_for(lambda: f"\n{name}:" in "\n" + passwd.read_text(), 10, f"{name} at the broker")
        return name, password
    return make


@pytest.fixture(scope="session")
def gui_url(gui_server: GuiServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m gui` against the test server (its log in a temporary file)."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("gui") / "gui.log"
    env = dict(os.environ, GUI_STA_URL=gui_server.base_url, GUI_MQTT_WS_URL=gui_server.ws_url,
               GUI_SECRET_KEY=secrets.token_hex(16), GUI_PORT=str(port), GUI_TIMEZONE="Europe/Rome")
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen([os.path.join(ROOT, ".venv/bin/python"), "-m", "gui"], env=env, cwd=ROOT,
                                   stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"python -m gui exited:\n{log_path.read_text()[-2000:]}")
        try:
            return httpx.get(url + "/login", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False
    try:
        wait_for(answers, 30, f"python -m gui (log {log_path})")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


# Playwright's sync API keeps an event loop running in this thread while it is open: it ends with the GUI
# tests, so that later tests' asyncio.run() works (three simulation tests failed after them in CI)
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


# Assertions wait as long as actions do: on a loaded machine a page and its server answer can take over
# Playwright's default 5 s (a flaky 403 check in a run beside other test suites).
expect.set_options(timeout=10_000)


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


def screenshot(page: Page, name: str, *, full_page: bool = False) -> pathlib.Path:
    folder = pathlib.Path(ROOT) / "docs" if os.environ.get("GUI_SCREENSHOTS") == "docs" else SCRATCH
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def log_in(page: Page, gui_url: str, name: str, password: str) -> None:
    page.goto(gui_url + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
