"""Personal data over HTTP: export, erasure and marketing consent of one customer."""
from __future__ import annotations

import datetime as dt

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields as f
from marshmallow import validate as v

from crmkit.auth.declare import protect, requires
from crmkit.customers.service import get_customer
from crmkit.privacy import consent
from crmkit.privacy.personal_data import erase_person, export_personal_data

blp = protect(Blueprint("privacy", __name__, description="Personal data: export, erasure and "
                                                          "marketing consent"),
              read="customers:read", write="customers:write")


class PersonalDataOut(ma.Schema):
    generated_at = f.String()
    customer = f.Dict()
    interactions = f.List(f.Dict())
    consents = f.List(f.Dict())
    plugins = f.Dict(metadata={"description": "What each enabled plugin holds, by plugin name"})


class ErasureOut(ma.Schema):
    customer_id = f.Integer()
    pseudonym = f.String()
    plugins = f.List(f.String(), metadata={"description": "Plugins that erased their part"})


class ConsentIn(ma.Schema):
    channel = f.String(required=True, validate=v.Length(min=1, max=30),
                       metadata={"description": "email, sms, phone, post, push, whatsapp ..."})
    granted = f.Boolean(required=True)
    source = f.String(required=True, validate=v.Length(min=1, max=100),
                      metadata={"description": "Where the decision came from"})
    at = f.AwareDateTime(default_timezone=dt.timezone.utc,
                         metadata={"description": "When the person decided; default now"})


class ConsentState(ma.Schema):
    channel = f.String()
    granted = f.Boolean()
    at = f.AwareDateTime()
    source = f.String()


class ConsentsOut(ma.Schema):
    current = f.List(f.Nested(ConsentState))
    history = f.List(f.Nested(ConsentState))


def _consents_out(customer_id: int) -> dict:
    current = [{"channel": channel, **state}
               for channel, state in consent.current_consents(customer_id).items()]
    history = [{"channel": c.channel, "granted": c.granted, "at": c.at, "source": c.source}
               for c in consent.consent_history(customer_id)]
    return {"current": current, "history": history}


@blp.route("/customers/<int:customer_id>/personal-data")
class PersonalData(MethodView):
    @requires("privacy:export")
    @blp.response(200, PersonalDataOut)
    def get(self, customer_id):
        """Everything the kernel and every enabled plugin hold on this person, as one document."""
        return export_personal_data(get_customer(customer_id))


@blp.route("/customers/<int:customer_id>/erase")
class Erase(MethodView):
    @requires("privacy:erase")
    @blp.response(200, ErasureOut)
    def post(self, customer_id):
        """Erase this person's personal data in the kernel and in every plugin. Financial and
        aggregate records stay under a pseudonym. Cannot be undone."""
        return erase_person(get_customer(customer_id))


@blp.route("/customers/<int:customer_id>/consents")
class Consents(MethodView):
    @blp.response(200, ConsentsOut)
    def get(self, customer_id):
        """Marketing consent per channel: the current state and the full history."""
        return _consents_out(get_customer(customer_id).id)

    @blp.arguments(ConsentIn)
    @blp.response(201, ConsentsOut)
    def post(self, data, customer_id):
        """Record a grant or a withdrawal of consent on one channel."""
        customer = get_customer(customer_id)
        consent.record_consent(customer.id, data["channel"], data["granted"], data["source"],
                               data.get("at"))
        return _consents_out(customer.id)
