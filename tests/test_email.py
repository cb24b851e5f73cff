"""The email service: queued in the caller's transaction, sent by the worker to a real SMTP server."""
import shutil
import ssl
import subprocess

import pytest

from crmkit.db import connection, write_transaction
from crmkit.errors import ValidationError
from crmkit.mail import EmailMessage, send_email
from crmkit.worker.testing import SmtpServer, run_due


def smtp_settings(server, **extra):
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": server.port, "SMTP_TLS": "none",
            "SMTP_FROM": "CRM <crm@shop.example>", "SMTP_RETRY_BASE_SECONDS": 0, **extra}


def queue(app, **kwargs):
    with app.app_context(), connection(), write_transaction():
        return send_email(**kwargs)


def rows(app):
    with app.app_context(), connection():
        return list(EmailMessage.select().order_by(EmailMessage.id))


def test_a_message_with_text_html_and_list_unsubscribe_arrives(make_app):
    with SmtpServer() as server:
        app = make_app(**smtp_settings(server, SMTP_REPLY_TO="help@shop.example"))
        queued = queue(app, to=["Ada <ada@example.com>"], cc=["bob@example.com"],
                       bcc=["audit@shop.example"], subject="Your order",
                       text="Thanks for your order.", html="<p>Thanks for your <b>order</b>.</p>",
                       headers={"List-Unsubscribe": "<https://shop.example/u/1>",
                                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
                       kind="marketing.campaign")
        assert server.messages == []  # queued, not sent, while the caller runs
        run_due(app)
    [(mail_from, rcpts, message)] = server.messages
    assert mail_from == "crm@shop.example"
    assert sorted(rcpts) == ["ada@example.com", "audit@shop.example", "bob@example.com"]
    assert message["From"] == "CRM <crm@shop.example>" and message["To"] == "Ada <ada@example.com>"
    assert message["Cc"] == "bob@example.com" and message["Bcc"] is None
    assert message["Reply-To"] == "help@shop.example"
    assert message["Subject"] == "Your order"
    assert message["List-Unsubscribe"] == "<https://shop.example/u/1>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"] == queued.message_id
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().strip() == "Thanks for your order."
    assert "<b>order</b>" in message.get_body(("html",)).get_content()
    [sent] = rows(app)
    assert (sent.status, sent.attempts, sent.kind) == ("sent", 1, "marketing.campaign")


def test_html_only_and_explicit_sender(make_app):
    with SmtpServer() as server:
        app = make_app(**smtp_settings(server))
        queue(app, to="ada@example.com", subject="Hi", html="<p>Hi</p>",
              from_address="Sales <sales@shop.example>", reply_to="rep@shop.example")
        run_due(app)
    [(mail_from, _, message)] = server.messages
    assert mail_from == "sales@shop.example" and message["Reply-To"] == "rep@shop.example"
    assert message.get_content_type() == "text/html"


def test_a_rolled_back_transaction_sends_nothing(make_app):
    with SmtpServer() as server:
        app = make_app(**smtp_settings(server))
        with pytest.raises(RuntimeError):
            with app.app_context(), connection(), write_transaction():
                send_email(to="ada@example.com", subject="Never", text="never")
                raise RuntimeError("the change failed")
        run_due(app)
    assert server.messages == [] and rows(app) == []


@pytest.mark.parametrize("kwargs, field", [
    ({"to": []}, "to"), ({"to": "not-an-address"}, "to"), ({"cc": ["x@"]}, "cc"),
    ({"text": None}, "text"), ({"subject": "two\nlines"}, "subject"),
    ({"headers": {"From": "evil@example.com"}}, "headers"),
    ({"headers": {"X-Note": "line\r\nBcc: evil@example.com"}}, "headers"),
    ({"from_address": "nobody"}, "from_address"),
])
def test_bad_messages_are_refused(app, kwargs, field):
    message = {"to": "ada@example.com", "subject": "Hi", "text": "Hello", **kwargs}
    with pytest.raises(ValidationError) as raised:
        queue(app, **message)
    assert field in raised.value.fields


def test_server_down_is_retried_and_a_5xx_answer_fails_for_good(make_app):
    with SmtpServer() as probe:
        port = probe.port
    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TLS="none",
                   SMTP_FROM="crm@shop.example", SMTP_RETRY_BASE_SECONDS=60)
    queue(app, to="ada@example.com", subject="Hi", text="Hello")
    run_due(app)  # nobody listens: one failed attempt, retried in a minute
    [waiting] = rows(app)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in waiting.last_error

    with SmtpServer(reject_with="550 5.1.1 No such user", port=port):
        strict = make_app(**smtp_settings(probe))
        queue(strict, to="ghost@example.com", subject="Hi", text="Hello")
        with strict.app_context(), connection():
            EmailMessage.update(next_attempt_at=EmailMessage.created_at).execute()
        run_due(strict)
    states = {r.to: (r.status, r.attempts) for r in rows(app)}
    assert states == {'["ada@example.com"]': ("failed", 2), '["ghost@example.com"]': ("failed", 1)}
    assert "550" in rows(app)[1].last_error


def test_without_an_smtp_host_messages_wait(app):
    queue(app, to="ada@example.com", subject="Hi", text="Hello")
    run_due(app)
    [waiting] = rows(app)
    assert (waiting.status, waiting.attempts) == ("pending", 0)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_starttls_and_login(make_app, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    with SmtpServer(tls_context=tls, logins={"crm": "s3cret"}) as server:
        app = make_app(**smtp_settings(server, SMTP_TLS="starttls", SMTP_CA_FILE=str(cert),
                                       SMTP_USER="crm", SMTP_PASSWORD="s3cret"))
        queue(app, to="ada@example.com", subject="Secure", text="Over TLS")
        run_due(app)
    assert [m.get_content().strip() for _, _, m in server.messages] == ["Over TLS"]
    [sent] = rows(app)
    assert sent.status == "sent"
