"""Test helpers for background work: run everything due in-process, and a real webhook receiver.

Plugin tests use them too::

    from crmkit.worker.testing import Receiver, run_due

    with Receiver() as receiver:
        ...  # create a subscription to receiver.url, make changes
        run_due(app)
        assert len(receiver.requests) == 1
"""
from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass


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
    """An HTTP/1.1 server on 127.0.0.1 that records every POST (keep-alive, as real receivers do).

    ``respond(received) -> status`` decides the answer (default 200). Create it with ``start=False``
    to have a URL whose server is down; ``start()`` brings it up on the same port. It is a small
    asyncio server rather than ``http.server``: tests send it tens of thousands of requests.
    """

    def __init__(self, respond: Callable[[Received], int] | None = None, start: bool = True,
                 port: int | None = None):
        self.respond = respond or (lambda received: 200)
        self.port = port or free_port()
        self.requests: list[Received] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().title()] = value.strip()
                body = await reader.readexactly(int(headers.get("Content-Length") or 0))
                received = Received(request_line.split(" ")[1], headers, body)
                self.requests.append(received)
                status = self.respond(received)
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True))
        self._thread = threading.Thread(target=loop.run_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._loop = None

        async def shut():
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shut(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)
        loop.close()

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
