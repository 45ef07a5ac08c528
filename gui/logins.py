"""Who is logged in: the server's own users, their credentials kept on the GUI's side only.

The browser's cookie holds a random login id (signed by Flask); the name and password stay in this
process's memory, so every request the back end makes to the server runs as the user who is logged in
(`StaClient` with their Basic credentials) and the server's row-level security decides what they see.
There is no privileged GUI account. A restart of the GUI ends every login (one process: `python -m gui`
serves with threads, not several processes)."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Login:
    username: str
    password: str = field(repr=False)
    started_s: float

    @property
    def mqtt_client_id_prefix(self) -> str:
        """The broker binds client ids to users: `<user>:` and anything after it."""
        return f"{self.username}:gui-"


class LoginStore:
    """Logins by id, forgotten after `max_age_s` or on logout; thread-safe."""

    def __init__(self, max_age_s: int) -> None:
        self.max_age_s = max_age_s
        self._logins: dict[str, Login] = {}
        self._lock = threading.Lock()

    def add(self, username: str, password: str) -> str:
        login_id = secrets.token_urlsafe(32)
        with self._lock:
            self._forget_old()
            self._logins[login_id] = Login(username, password, time.monotonic())
        return login_id

    def find(self, login_id: str | None) -> Login | None:
        if login_id is None:
            return None
        with self._lock:
            login = self._logins.get(login_id)
            if login is not None and time.monotonic() - login.started_s > self.max_age_s:
                del self._logins[login_id]
                return None
            return login

    def remove(self, login_id: str | None) -> None:
        with self._lock:
            self._logins.pop(login_id or "", None)

    def _forget_old(self) -> None:
        now = time.monotonic()
        for login_id in [key for key, login in self._logins.items() if now - login.started_s > self.max_age_s]:
            del self._logins[login_id]
