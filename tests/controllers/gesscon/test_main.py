"""`python -m controllers.gesscon` refuses invalid settings with exit status 2 (before touching the server)."""
from __future__ import annotations

import pytest

from controllers.gesscon.__main__ import main


@pytest.mark.parametrize("env", [{}, {"GESSCON_RADIALS": "r1", "GESSCON_STEP_S": "7"},
                                 {"GESSCON_RADIALS": "r1", "S4G_CLOCK": "sundial"}])
def test_invalid_settings_exit_2(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name in ("GESSCON_RADIALS", "GESSCON_STEP_S", "S4G_CLOCK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main() == 2


def test_unknown_arguments_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GESSCON_RADIALS", "r1")
    assert main(["run", "--fast"]) == 2
