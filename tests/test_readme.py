"""README.md's "Layout" section names every folder of the repository and every package of the server."""
from __future__ import annotations

import pathlib

import pytest

from tests.conftest import ROOT

NOT_OURS = {".git", ".venv", ".run", "build", "__pycache__"}  # created by tools and scripts, git-ignored


def _layout() -> str:
    text = (pathlib.Path(ROOT) / "README.md").read_text()
    return text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]


def _folders(parent: pathlib.Path) -> list[str]:
    return sorted(path.name for path in parent.iterdir()
                  if path.is_dir() and path.name not in NOT_OURS and not path.name.endswith(".egg-info")
                  and not (path.name.startswith(".") and path.name != ".ci") and not path.name.endswith("_cache"))


@pytest.mark.parametrize("folder", _folders(pathlib.Path(ROOT)))
def test_every_folder_is_in_the_layout(folder: str) -> None:
    assert f"`{folder}/" in _layout()


@pytest.mark.parametrize(("parent", "folder"), [
    (parent, folder) for parent in ("sta_server", "sta_server/api", "tests", "bench")
    for folder in _folders(pathlib.Path(ROOT) / parent)])
def test_every_package_is_in_the_layout(parent: str, folder: str) -> None:
    name = folder if parent in ("sta_server", "tests", "bench") else f"{parent.split('/', 1)[1]}/{folder}"
    assert f"`{name}/`" in _layout(), parent
