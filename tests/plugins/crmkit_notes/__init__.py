"""A small but complete plugin used by the kernel tests: one model, routes, a command, a job,
permissions, a profile section, personal-data hooks and demo data."""
import click
import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit import Manifest, PeriodicJob, Permission, hookimpl
from crmkit.auth import protect
from crmkit.cli import with_app
from crmkit.errors import ValidationError

manifest = Manifest(name="notes", version="1.0", description="Notes on customers")

# Every endpoint declares its permission: GET needs notes:read, the other methods notes:write.
blp = protect(Blueprint("notes", __name__, url_prefix="/notes", description="Notes"),
              read="notes:read", write="notes:write")


class NoteSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    customer_ref = ma.fields.Integer(required=True)
    body = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1000))
    pinned = ma.fields.Boolean(load_default=False)


@blp.route("")
class Notes(MethodView):
    @blp.response(200, NoteSchema(many=True))
    def get(self):
        from crmkit_notes.models import Note
        return list(Note.select().order_by(Note.id))

    @blp.arguments(NoteSchema)
    @blp.response(201, NoteSchema)
    def post(self, data):
        from crmkit_notes.models import Note
        note = Note.create(**data)
        # Written first, refused after: the request's transaction must drop the row.
        if data["body"] == "refuse-after-write":
            raise ValidationError({"body": "refused after the row was written"})
        if data["body"] == "crash-after-write":
            raise RuntimeError("boom")
        return note


def purge_old_notes():
    return "purged"


@hookimpl
def register_models():
    from crmkit_notes.models import Note
    return [Note]


@hookimpl
def register_blueprints():
    return [blp]


@hookimpl
def register_commands(cli):
    @cli.group("notes")
    def notes_group():
        """Notes on customers."""

    @notes_group.command("count")
    @with_app
    def count():
        """How many notes are stored."""
        from crmkit_notes.models import Note
        click.echo(f"{Note.select().count()} notes")


@hookimpl
def register_permissions():
    return [Permission("notes:read", "Read notes"), Permission("notes:write", "Write notes")]


@hookimpl
def register_jobs():
    return [PeriodicJob("purge-old-notes", "0 3 * * *", purge_old_notes)]


@hookimpl
def customer_profile_section(customer):
    from crmkit_notes.models import Note
    notes = Note.select().where(Note.customer_ref == customer.id)
    return {"count": notes.count(), "pinned": [n.body for n in notes if n.pinned]}


@hookimpl
def export_personal_data(customer):
    from crmkit_notes.models import Note
    return {"notes": [n.body for n in Note.select().where(Note.customer_ref == customer.id)]}


@hookimpl
def erase_personal_data(customer, pseudonym):
    from crmkit_notes.models import Note
    Note.update(body=f"[erased {pseudonym}]").where(Note.customer_ref == customer.id).execute()


@hookimpl
def load_demo_data(size):
    from crmkit_notes.models import Note
    Note.insert_many([{"customer_ref": i, "body": f"demo note {i}"} for i in range(size)]).execute()
