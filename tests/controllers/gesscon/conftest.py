"""Real-server fixtures for the GESSCon loop tests (sta_process: its own server, database and broker)."""
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401
