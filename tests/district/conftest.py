"""Real server processes for the district tests (tests/client/conftest.py)."""
from tests.client.conftest import (  # noqa: F401 (fixtures)
    RunningServer,
    client_auth_database_url,
    sta_process_auth,
    sta_secure_broker,
)
