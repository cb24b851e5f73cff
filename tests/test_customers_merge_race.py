"""A merge and an interaction recorded for the merged customer at the same moment: the entry
never ends up on the merged-away record (PostgreSQL; SQLite serialises write transactions)."""
import threading

import pytest

from crmkit import Manifest, db, hookimpl
from crmkit.customers.models import Interaction
from crmkit.testing import _is_postgres, configured_test_database

pytestmark = pytest.mark.skipif(
    not _is_postgres(configured_test_database()),
    reason="concurrent write transactions only interleave on PostgreSQL")


class Pause:
    """A plugin whose hooks stop the transaction they run in until the test lets it go."""

    manifest = Manifest(name="pause")

    def __init__(self):
        self.armed = None  # "merge" or "interaction"
        self.reached, self.release = threading.Event(), threading.Event()

    def _maybe_wait(self, what):
        if self.armed == what:
            self.armed = None
            self.reached.set()
            assert self.release.wait(10)

    @hookimpl
    def customer_merged(self, survivor, merged):
        self._maybe_wait("merge")

    @hookimpl
    def interaction_recorded(self, interaction):
        self._maybe_wait("interaction")


@pytest.fixture
def pause():
    return Pause()


@pytest.fixture
def crmkit_plugins(pause):
    return [pause]


def create(client, name):
    response = client.post("/api/v1/customers", json={"first_name": name})
    assert response.status_code == 201, response.json
    return response.json["id"]


def in_thread(func):
    result = {}

    def run():
        try:
            result["value"] = func()
        except Exception as exc:  # the test asserts on it
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def merge_in_thread(app, keep, fold):
    from crmkit.customers.merge import merge_customers

    def run():
        with app.app_context(), db.connection(), db.write_transaction():
            merge_customers(keep, fold)

    return in_thread(run)


def timeline(app, customer_id):
    with app.app_context(), db.connection():
        return [i.summary for i in Interaction.select().where(Interaction.customer == customer_id)
                .order_by(Interaction.id)]


def test_an_interaction_recorded_during_a_merge_is_refused_naming_the_survivor(app, client,
                                                                              pause):
    keep, fold = create(client, "Ann"), create(client, "Anne")
    pause.armed = "merge"
    merging, merged = merge_in_thread(app, keep, fold)
    assert pause.reached.wait(10)  # the merge holds both customers, not yet committed
    recording, answer = in_thread(lambda: app.test_client().post(
        f"/api/v1/customers/{fold}/interactions", json={"type": "call", "summary": "late call"}))
    recording.join(0.5)
    assert recording.is_alive(), "recording did not wait for the merge"
    pause.release.set()
    merging.join(10)
    recording.join(10)
    assert "error" not in merged and "error" not in answer, (merged, answer)
    response = answer["value"]
    assert response.status_code == 404 and response.json["merged_into"] == keep
    assert timeline(app, fold) == [] and timeline(app, keep) == []


def test_a_merge_waits_for_an_interaction_being_recorded_and_takes_it_along(app, client, pause):
    keep, fold = create(client, "Ann"), create(client, "Anne")
    pause.armed = "interaction"
    recording, answer = in_thread(lambda: app.test_client().post(
        f"/api/v1/customers/{fold}/interactions", json={"type": "call", "summary": "early call"}))
    assert pause.reached.wait(10)  # the entry is written, its transaction still open
    merging, merged = merge_in_thread(app, keep, fold)
    merging.join(0.5)
    assert merging.is_alive(), "the merge did not wait for the recording"
    pause.release.set()
    recording.join(10)
    merging.join(10)
    assert "error" not in merged and "error" not in answer, (merged, answer)
    assert answer["value"].status_code == 201
    assert timeline(app, fold) == [] and timeline(app, keep) == ["early call"]
