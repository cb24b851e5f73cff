"""A minimal HTTP POST client for webhooks: pinned address, no redirects, kept-alive connections.

The standard library is enough and keeps control where it matters: the connection goes to the
address the target check approved (never a fresh DNS answer), redirects are not followed (a
redirect could point anywhere), and connections are reused within one batch of deliveries.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from crmkit.webhooks.targets import Target

MAX_RESPONSE_BYTES = 64 * 1024


_tls_context: ssl.SSLContext | None = None


def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the system's CA bundle takes ~90 ms."""
    global _tls_context
    if _tls_context is None:
        _tls_context = ssl.create_default_context()
    return _tls_context


def _no_delay(sock: socket.socket) -> None:
    # http.client writes headers and body separately; with Nagle's algorithm the body then waits
    # for the server's delayed ACK (~40 ms a request).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _OneWrite:
    """Send request line, headers and body in one write (http.client makes two of them)."""

    _pending: list[bytes] | None = None

    def endheaders(self, message_body=None, *, encode_chunked=False):
        self._pending = []
        try:
            super().endheaders(message_body, encode_chunked=encode_chunked)
        finally:
            data, self._pending = b"".join(self._pending), None
        super().send(data)

    def send(self, data):
        if self._pending is not None:
            self._pending.append(bytes(data))
        else:
            super().send(data)


class _HTTPConnection(_OneWrite, http.client.HTTPConnection):
    def connect(self):
        super().connect()
        _no_delay(self.sock)


class _PinnedHTTPSConnection(_OneWrite, http.client.HTTPSConnection):
    """TLS to a checked address, with the host name used for SNI and certificate checks."""

    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=tls_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        _no_delay(sock)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class Outcome:
    status_code: int | None
    error: str | None
    latency_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Session:
    """Connections kept open for the length of one batch, keyed by (target, address)."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._connections: dict[tuple, http.client.HTTPConnection] = {}

    def _connection(self, target: Target, address: str) -> http.client.HTTPConnection:
        key = (target.scheme, target.host, target.port, address)
        conn = self._connections.get(key)
        if conn is None:
            if target.scheme == "https":
                conn = _PinnedHTTPSConnection(target.host, address, target.port, self.timeout)
            else:
                conn = _HTTPConnection(address, target.port, timeout=self.timeout)
            self._connections[key] = conn
        return conn

    def _drop(self, target: Target, address: str) -> None:
        conn = self._connections.pop((target.scheme, target.host, target.port, address), None)
        if conn is not None:
            conn.close()

    def post(self, target: Target, address: str, body: bytes, headers: dict[str, str]) -> Outcome:
        started = time.perf_counter()
        headers = {"Host": target.host_header, "Content-Length": str(len(body)), **headers}
        for reused in (True, False):
            conn = self._connection(target, address)
            fresh = conn.sock is None
            try:
                conn.request("POST", target.path, body=body, headers=headers)
                response = conn.getresponse()
                excerpt = response.read(MAX_RESPONSE_BYTES)
                if not response.isclosed() or response.will_close:
                    self._drop(target, address)  # unread rest, or the server asked to close
                return self._outcome(started, response, excerpt)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._drop(target, address)
                if reused and not fresh:
                    continue  # a kept-alive connection the server had closed: try a new one
                return Outcome(None, f"{type(exc).__name__}: {exc}", _ms(started))
            except (OSError, http.client.HTTPException) as exc:
                self._drop(target, address)
                return Outcome(None, f"{type(exc).__name__}: {exc}".strip(), _ms(started))
        return Outcome(None, "connection closed", _ms(started))  # pragma: no cover

    @staticmethod
    def _outcome(started: float, response, excerpt: bytes) -> Outcome:
        code = response.status
        if 200 <= code < 300:
            return Outcome(code, None, _ms(started))
        if 300 <= code < 400:
            where = response.getheader("Location", "")
            return Outcome(code, f"redirect to {where!r} not followed", _ms(started))
        text = excerpt[:300].decode("utf-8", "replace").strip()
        return Outcome(code, f"HTTP {code}" + (f": {text}" if text else ""), _ms(started))

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
