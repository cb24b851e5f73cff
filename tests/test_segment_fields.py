"""``register_segment_fields``: fields plugins offer for segments, joined to customers in SQL."""
import peewee
import pytest

from crmkit import Manifest, PluginError, hookimpl
from crmkit.customers.models import Customer, Interaction
from crmkit.segment_fields import join_field, segment_fields


class Visits:
    """A throwaway plugin offering how often a customer visited, and their last visit."""

    manifest = Manifest(name="visits")

    @hookimpl
    def register_segment_fields(self):
        def count():
            return (Interaction.select(Interaction.customer.alias("customer_id"),
                                       peewee.fn.COUNT(Interaction.id).alias("value"))
                    .where(Interaction.type == "visit").group_by(Interaction.customer))

        def last():
            return (Interaction.select(Interaction.customer.alias("customer_id"),
                                       peewee.fn.MAX(Interaction.occurred_at).alias("value"))
                    .where(Interaction.type == "visit").group_by(Interaction.customer))

        return [{"name": "visits.count", "type": "integer", "label": "Visits", "values": count},
                {"name": "visits.last", "type": "datetime", "label": "Last visit",
                 "values": last}]


def test_hook_register_segment_fields(make_app):
    from crmkit import db
    app = make_app(plugins=[Visits()])
    with app.app_context(), db.connection():
        fields = segment_fields()
        assert fields["visits.count"].as_dict() == {
            "name": "visits.count", "type": "integer", "label": "Visits", "plugin": "visits",
            "choices": None}
        people = {name: Customer.create(name=name) for name in ("Ada", "Bob", "Cy")}
        for name, visits in (("Ada", 3), ("Bob", 1)):
            for _ in range(visits):
                Interaction.create(customer=people[name], type="visit")
        # One statement: customers LEFT JOIN the field's (customer_id, value) rows.
        query, visits = join_field(Customer.select(Customer.name), fields["visits.count"])
        assert [c.name for c in query.where(visits >= 2)] == ["Ada"]
        assert sorted(c.name for c in query.where(visits.is_null())) == ["Cy"]
        # Two fields in one query need their own aliases; both stay set-based.
        query, count = join_field(Customer.select(Customer.name), fields["visits.count"])
        query, last = join_field(query, fields["visits.last"])
        assert sorted(c.name for c in query.where(count >= 1, last.is_null(False))) == [
            "Ada", "Bob"]


@pytest.mark.parametrize("field, message", [
    ({"name": "other.count", "type": "integer", "values": list}, "must start with the plugin"),
    ({"name": "Bad Name", "type": "integer", "values": list}, "must be dotted lower case"),
    ({"name": "broken.x", "type": "money", "values": list}, "has type 'money'"),
    ({"name": "broken.x", "type": "integer"}, "needs 'values'"),
])
def test_hook_register_segment_fields_checks_what_plugins_offer(make_app, field, message):
    class Broken:
        manifest = Manifest(name="broken")

        @hookimpl
        def register_segment_fields(self):
            return [field]

    app = make_app(plugins=[Broken()])
    with app.app_context(), pytest.raises(PluginError, match=message):
        segment_fields()


def test_hook_register_segment_fields_refuses_a_name_offered_twice(make_app):
    class Twice(Visits):
        @hookimpl
        def register_segment_fields(self):
            fields = super().register_segment_fields()
            return fields + fields[:1]

    app = make_app(plugins=[Twice()])
    with app.app_context(), pytest.raises(PluginError, match="'visits.count' is offered by"):
        segment_fields()
