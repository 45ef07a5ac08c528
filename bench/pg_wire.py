"""A counting PostgreSQL proxy: what a server sends its database, per request, whatever its driver.

Sits between a server and PostgreSQL on a loopback port and counts, from the frontend's messages
(protocol 3), the statements (`Query` 'Q' and `Execute` 'E'), and the round trips: how many times the
client sends after having heard from the server (a pipeline of statements is one). The traffic is
passed through untouched; only used for counting runs, never for timing (it adds a hop)."""
from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass

_UNTYPED_CODES = {80877103, 80877104}  # SSLRequest, GSSENCRequest: answered by one untyped byte
_STARTUP = 196608  # protocol 3.0


@dataclass
class WireCounts:
    statements: int = 0
    round_trips: int = 0
    messages: int = 0

    def snapshot(self) -> tuple[int, int]:
        return self.statements, self.round_trips


class CountingProxy:
    """`CountingProxy(upstream_port).start()` listens on `self.port`; `counts` grows as it runs."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.counts = WireCounts()
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])

    def start(self) -> CountingProxy:
        threading.Thread(target=self._accept, daemon=True, name="pg-proxy").start()
        return self

    def stop(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            heard = threading.Event()  # the server has sent something since the client last did
            threading.Thread(target=self._frontend, args=(client, server, heard), daemon=True).start()
            threading.Thread(target=_pipe, args=(server, client, heard), daemon=True).start()

    def _frontend(self, client: socket.socket, server: socket.socket, heard: threading.Event) -> None:
        """Client -> server: untyped start-up messages, then typed ones counted as they pass."""
        buffer = b""
        started = False
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                if heard.is_set():
                    heard.clear()
                    with self._lock:
                        self.counts.round_trips += 1
                server.sendall(data)
                buffer += data
                buffer, started = self._consume(buffer, started)
        except OSError:
            pass
        finally:
            _close(client, server)

    def _consume(self, buffer: bytes, started: bool) -> tuple[bytes, bool]:
        while True:
            if not started:
                if len(buffer) < 8:
                    return buffer, started
                length, code = struct.unpack("!II", buffer[:8])
                if len(buffer) < length:
                    return buffer, started
                buffer = buffer[length:]
                started = code not in _UNTYPED_CODES
                continue
            if len(buffer) < 5:
                return buffer, started
            kind = buffer[:1]
            (length,) = struct.unpack("!I", buffer[1:5])
            if len(buffer) < 1 + length:
                return buffer, started
            buffer = buffer[1 + length:]
            with self._lock:
                self.counts.messages += 1
                if kind in (b"Q", b"E"):
                    self.counts.statements += 1


def _pipe(source: socket.socket, target: socket.socket, heard: threading.Event) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
            heard.set()
    except OSError:
        pass
    finally:
        _close(source, target)


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.close()
