"""GEVChCon's configuration from environment variables."""
from __future__ import annotations

import pytest

from controllers.gevchcon.settings import Settings, SettingsError


def test_settings_come_from_the_environment_with_defaults() -> None:
    settings = Settings.from_env({"GEVCHCON_SITES": "park-a, park-b", "GEVCHCON_STEP_S": "1800",
                                  "GEVCHCON_MARGIN_W": "5000", "GEVCHCON_LOAD_KEY": "P_house"})
    assert settings.sites == ("park-a", "park-b")
    assert (settings.policy.step_s, settings.policy.margin_w, settings.policy.lead_s) == (1800, 5000, 60)
    assert (settings.keys.load, settings.keys.pv) == ("P_house", "P_pv")
    assert settings.assumptions.departure_h == pytest.approx(7.32)


@pytest.mark.parametrize(("environ", "message"), [
    ({}, "GEVCHCON_SITES"), ({"GEVCHCON_SITES": "a", "GEVCHCON_MARGIN_W": "lots"}, "GEVCHCON_MARGIN_W"),
    ({"GEVCHCON_SITES": "a", "GEVCHCON_STEP_S": "10"}, "GEVCHCON_STEP_S")])
def test_a_bad_variable_is_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)
