"""HTTP load: keep-alive stdlib connections (the cheapest Python client, so the generator costs
little CPU), closed-loop worker threads bounded by a request count and a deadline."""
from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


class Http:
    """One keep-alive connection; `request` returns (status, body)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.prefix = parts.path.rstrip("/")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        payload = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        target = path if path.startswith("/") and path.startswith(self.prefix) else f"{self.prefix}/{path}"
        try:
            self.conn.request(method, target, body=payload, headers=headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            raise

    def get_json(self, path_or_url: str) -> Any:
        status, body = self.request("GET", _path_of(path_or_url))
        if status != 200:
            raise RuntimeError(f"GET {path_or_url} -> {status}: {body[:300]!r}")
        return json.loads(body)

    def close(self) -> None:
        self.conn.close()


def _path_of(path_or_url: str) -> str:
    if path_or_url.startswith("http"):
        parts = urlsplit(path_or_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return path_or_url


@dataclass
class LoadResult:
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    requests: int = 0
    wall_s: float = 0.0
    first_error: str = ""


def run_closed_loop(base: str, make_request: Callable[[int, int], tuple[str, str, Any]], *, clients: int,
                    max_requests: int, duration_s: float, expect: int = 201) -> LoadResult:
    """`clients` threads send make_request(client, n) -> (method, path, body) back to back until
    max_requests in total or duration_s have passed."""
    result = LoadResult()
    lock = threading.Lock()
    counter = iter(range(max_requests))
    deadline = time.monotonic() + duration_s

    def worker(client: int) -> None:
        conn = Http(base)
        local: list[float] = []
        errors, first = 0, ""
        while time.monotonic() < deadline:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            method, path, body = make_request(client, n)
            started = time.perf_counter()
            try:
                status, text = conn.request(method, path, body)
            except (http.client.HTTPException, OSError) as error:
                status, text = -1, str(error).encode()
            local.append(time.perf_counter() - started)
            if status != expect:
                errors += 1
                first = first or f"{status}: {text[:200]!r}"
        conn.close()
        with lock:
            result.latencies_s.extend(local)
            result.errors += errors
            result.first_error = result.first_error or first

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall_s = time.monotonic() - started
    result.requests = len(result.latencies_s)
    return result
