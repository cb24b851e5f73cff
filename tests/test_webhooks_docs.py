"""The receiver snippet in docs/webhooks.md verifies real deliveries and rejects forgeries."""
import re
from pathlib import Path

import pytest

from crmkit.db import connection, write_transaction
from crmkit.events import emit
from crmkit.worker.testing import Receiver, run_due

DOC = (Path(__file__).resolve().parent.parent / "docs" / "webhooks.md").read_text()


def receiver_snippet():
    match = re.search(r"<!-- receiver-snippet -->\s*```python\n(.*?)```", DOC, re.S)
    assert match, "docs/webhooks.md has no receiver snippet"
    namespace = {}
    exec(compile(match.group(1), "docs/webhooks.md", "exec"), namespace)
    return namespace["verify_crmkit_webhook"]


def test_the_documented_receiver_check_accepts_real_deliveries_and_refuses_forgeries(make_app):
    verify = receiver_snippet()
    app = make_app(WEBHOOKS_ALLOWED_HOSTS="127.0.0.1")
    with Receiver() as receiver:
        secret = app.test_client().post("/api/v1/webhooks", json={
            "url": receiver.url, "event_types": ["*"]}).json["secret"]
        with app.app_context(), connection(), write_transaction():
            event = emit("customer.created", {"id": 7, "name": "Ada"})
        run_due(app)
    [request] = receiver.requests
    verified = verify(secret, request.headers, request.body)
    assert verified["id"] == str(event.uuid) and verified["payload"] == {"id": 7, "name": "Ada"}

    with pytest.raises(ValueError, match="signature"):
        verify("whsec_another-secret-entirely", request.headers, request.body)
    with pytest.raises(ValueError, match="signature"):
        verify(secret, request.headers, request.body.replace(b"Ada", b"Eve"))
    stale = {**request.headers, "Crmkit-Timestamp": str(int(request.headers[
        "Crmkit-Timestamp"]) - 3600)}
    with pytest.raises(ValueError, match="stale"):
        verify(secret, stale, request.body)
