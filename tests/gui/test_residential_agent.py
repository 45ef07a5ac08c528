"""The whole chain with a real field process: a Fur-like house (sites/fur-house.yaml, simulated devices,
its LESSAg) runs on a stepped clock against the test server as its own device agent; its resident orders
a battery set-point in the browser; the LESSAg takes the Task and answers it, and the page shows the
answer."""
from __future__ import annotations

import asyncio
import dataclasses
import pathlib
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from agents.cli import site_parts
from agents.commissioning import commission
from agents.runtime import RuntimeOptions, SiteRuntime
from agents.site import CapabilitySpec, PluginSpec, SiteSpec
from agents.site.capabilities import TemplateInput, ess_setpoint
from clock import SteppedClock
from sta_client import ClientSettings, Query
from tests.agents.commission.conftest import example_site
from tests.faults.conftest import wait_for
from tests.gui.conftest import GuiServer, MakeUser, log_in

START = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)  # partitions from this month on


def household_site() -> SiteSpec:
    """sites/fur-house.yaml under an id of its own, with the household's set-point capability (taskedBy
    names residents; the LESSAg takes it as a user set-point, below the grid's orders)."""
    site = example_site("fur-house")
    site = dataclasses.replace(site, id=f"fur-gui-{uuid.uuid4().hex[:6]}")
    ess = site.device("ess")
    user = CapabilitySpec("user_setpoint", "Household battery set-point", "the resident's manual set-point",
                          ess_setpoint(TemplateInput(ess.properties, None)), template="ess-setpoint",
                          properties={"taskedBy": ["resident"]})
    devices = tuple(dataclasses.replace(d, capabilities=(*d.capabilities, user)) if d.key == "ess" else d
                    for d in site.devices)
    plugins = (PluginSpec("lessag", {"strategy": "self-consumption", "cycle_s": 60,
                                     "roles": {"user_setpoint": "user-setpoint"}}),)
    return dataclasses.replace(site, devices=devices, plugins=plugins)


class FieldBox:
    """The site's runtime in a thread of its own (its queue's SQLite connection belongs to that thread),
    its clock stepped 10 s at a time until stopped; what the runtime raised is kept in `failure`."""

    def __init__(self, make: Callable[[], SiteRuntime], clock: SteppedClock) -> None:
        self.make, self.clock = make, clock
        self.stop = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._drive()), daemon=True)

    async def _drive(self) -> None:
        running = asyncio.create_task(self.make().run())
        while not self.stop.is_set() and not running.done():
            await self.clock.advance(10)
            await asyncio.sleep(0.2)
        running.cancel()
        outcome = (await asyncio.gather(running, return_exceptions=True))[0]
        if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
            self.failure = outcome


def test_the_residents_set_point_is_answered_by_the_sites_lessag(page: Page, gui_server: GuiServer, gui_url: str,
                                                                 make_user: MakeUser, tmp_path: pathlib.Path) -> None:
    site = household_site()
    clock = SteppedClock(START)
    with gui_server.admin() as admin:
        ids = commission(site, admin, clock.now())
        gui_server.admin_cli("label", "add", *(str(i) for i in ids.things.values()), "--label", f"site:{site.id}")
        agent = make_user("device_agent", f"site:{site.id}")
        settings: ClientSettings = gui_server.settings(username=agent[0], password=agent[1])
        box = FieldBox(lambda: SiteRuntime(clock, settings, site_parts(site, ids, clock, senml=False),
                                           RuntimeOptions(tmp_path / "site.sqlite", report_s=10, client_id="smx")),
                       clock)
        box.thread.start()
        try:
            soc = f"Datastreams({ids.datastreams['SoC']})/Observations"
            wait_for(lambda: bool(admin.page(soc, Query().top(1)).values), 60, "the site's first readings", step=0.5)
            log_in(page, gui_url, *make_user("resident", f"site:{site.id}"))
            page.goto(f"{gui_url}/home/{site.id}")
            page.fill("input[name=power_kw]", "1.2")
            page.click("#manual-setpoint button[type=submit]")
            expect(page.locator(".flash.ok")).to_contain_text("Set-point sent")
            tasks = admin.page(f"TaskingCapabilities({ids.capabilities['user_setpoint']})/Tasks").values
            assert [t["taskingParameters"]["powerSetpoint"] for t in tasks] == [1200.0]
            answers = f"Datastreams({ids.datastreams['setpointAccepted']})/Observations"
            wait_for(lambda: any(o.get("parameters", {}).get("taskId") == tasks[0]["@iot.id"]
                                 for o in admin.page(answers, Query().select("result", "parameters")).values),
                     60, "the LESSAg's answer", step=0.5)
            page.reload()
            expect(page.locator(f"#task-{tasks[0]['@iot.id']} .answer")).to_have_text("accepted")
        finally:
            box.stop.set()
            box.thread.join(timeout=30)
    assert box.failure is None, repr(box.failure)
