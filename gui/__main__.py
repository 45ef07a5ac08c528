"""`python -m gui`: serve the GUI (waitress, threads) with settings from the environment (gui/settings.py)."""
from __future__ import annotations

import logging
import os

import waitress

from gui.app import create_app
from gui.settings import GuiSettings


def main() -> None:
    logging.basicConfig(level=os.environ.get("GUI_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = GuiSettings.from_env()
    logging.getLogger("gui").info("GUI on http://%s:%d/ (server %s, broker %s)", settings.host, settings.port,
                                  settings.sta_url, settings.mqtt_ws_url)
    waitress.serve(create_app(settings), host=settings.host, port=settings.port, threads=8)


if __name__ == "__main__":
    main()
