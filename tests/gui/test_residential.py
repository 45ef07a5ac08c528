"""The residential GUI in a real browser against a real server, broker and `python -m gui`."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.gui.conftest import GuiServer, MakeUser, log_in
from tests.gui.households import make_household


def test_login_shows_the_residents_own_site(page: Page, gui_server: GuiServer, gui_url: str,
                                            make_user: MakeUser) -> None:
    with gui_server.admin() as admin:
        house = make_household(gui_server, admin)
    name, password = make_user("resident", f"site:{house.site_id}")
    log_in(page, gui_url, name, password)
    expect(page.locator("#site-list")).to_contain_text(house.site_id)
