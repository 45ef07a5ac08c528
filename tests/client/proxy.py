"""Small real HTTP servers on 127.0.0.1 for the retry tests: a forwarding proxy in front of the real
`sta-server` that counts requests and can lose or hold back answers, and a scripted server that
answers given statuses (e.g. 503 with Retry-After once) — the retry timing needs no SensorThings."""
from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

HeaderValue = str | Callable[[], str]  # a callable is evaluated when the answer is sent
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class ProxyState:
    target: str  # http://127.0.0.1:port
    counts: Counter[str] = field(default_factory=Counter)  # "POST /v1.1/Things" -> n
    lose: int = 0  # answers still to lose (the request reaches the server, the answer is dropped)
    hold_s: float = 0.0  # hold back the next answer this long (client timeout), once
    methods: tuple[str, ...] = ("POST",)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _forwarding_handler(state: ProxyState) -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
            return

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with state.lock:
                state.counts[f"{self.command} {self.path.split('?')[0]}"] += 1
                lose = state.lose > 0 and self.command in state.methods
                state.lose -= 1 if lose else 0
                hold, state.hold_s = (state.hold_s, 0.0) if self.command in state.methods else (0.0, state.hold_s)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            answer = httpx.request(self.command, state.target + self.path, content=body, headers=headers, timeout=30)
            if lose:
                self.close_connection = True
                return
            time.sleep(hold)  # the client gives up first: its read timeout
            self.send_response(answer.status_code)
            for name, value in answer.headers.items():
                if name.lower() not in HOP_HEADERS | {"content-encoding"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _forward  # noqa: N815

    return Forward


@dataclass
class Scripted:
    """Answers in turn: (status, headers, body); the last one repeats. Records request times."""

    answers: list[tuple[int, dict[str, HeaderValue], bytes]]
    times: list[float] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)


def _scripted_handler(script: Scripted) -> type[BaseHTTPRequestHandler]:
    class Answer(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            script.times.append(time.monotonic())
            script.keys.append(self.headers.get("Idempotency-Key"))
            status, headers, body = script.answers[min(len(script.times) - 1, len(script.answers) - 1)]
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value() if callable(value) else value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer  # noqa: N815

    return Answer


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Run a handler on a free 127.0.0.1 port; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def proxy(target: str) -> Iterator[tuple[ProxyState, int]]:
    state = ProxyState(target)
    with serving(_forwarding_handler(state)) as port:
        yield state, port


@contextmanager
def scripted(*answers: tuple[int, dict[str, HeaderValue], bytes]) -> Iterator[tuple[Scripted, int]]:
    script = Scripted(list(answers))
    with serving(_scripted_handler(script)) as port:
        yield script, port
