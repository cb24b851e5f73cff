"""Test helpers for background work: run everything due in-process, and a real webhook receiver.

Plugin tests use them too::

    from crmkit.worker.testing import Receiver, run_due

    with Receiver() as receiver:
        ...  # create a subscription to receiver.url, make changes
        run_due(app)
        assert len(receiver.requests) == 1
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def run_due(app, max_rounds: int = 1000) -> int:
    """Fan out events and run every due job, delivery and email now, in this thread (huey in
    immediate mode). Returns the number of pump rounds."""
    from crmkit.worker.pump import drain
    from crmkit.worker.runtime import Runtime
    return drain(Runtime(app, immediate=True), max_rounds)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST.

    ``respond(received) -> status`` decides the answer (default 200). Create it with ``start=False``
    to have a URL whose server is down; ``start()`` brings it up on the same port.
    """

    def __init__(self, respond: Callable[[Received], int] | None = None, start: bool = True,
                 port: int | None = None):
        self.respond = respond or (lambda received: 200)
        self.port = port or free_port()
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do
            # Headers and body in one segment: otherwise Nagle and delayed ACKs cost ~40 ms a reply.
            disable_nagle_algorithm = True
            wbufsize = -1

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                received = Received(self.path, dict(self.headers.items()), self.rfile.read(length))
                with receiver._lock:
                    receiver.requests.append(received)
                status = receiver.respond(received)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts.

    ``messages`` holds ``(mail_from, rcpt_tos, parsed email.message.EmailMessage)``.
    ``reject_with="550 No such user"`` answers every message with that reply instead.
    ``tls_context`` enables STARTTLS; ``logins={"user": "password"}`` requires AUTH.
    Needs the ``aiosmtpd`` package (crmkit's ``test`` extra).
    """

    def __init__(self, reject_with: str | None = None, tls_context=None,
                 logins: dict[str, str] | None = None, port: int | None = None):
        import email
        import email.policy

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        server = self
        self.messages: list[tuple[str, list[str], object]] = []
        self.reject_with = reject_with
        self.port = port or free_port()

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                if server.reject_with:
                    return server.reject_with
                parsed = email.message_from_bytes(envelope.original_content or envelope.content,
                                                  policy=email.policy.default)
                server.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
                return "250 OK"

        def authenticate(smtp, session, envelope, mechanism, auth_data):
            ok = logins is not None and logins.get(auth_data.login.decode()) == \
                auth_data.password.decode()
            return AuthResult(success=ok)

        kwargs = {}
        if tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=True)
        if logins is not None:
            kwargs.update(authenticator=authenticate, auth_required=True)
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                      ready_timeout=10, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
