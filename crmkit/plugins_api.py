"""``GET /api/v1/plugins``: the read-only plugin list."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit.auth.declare import protect

blp = protect(Blueprint("plugins", __name__, url_prefix="/plugins",
                        description="Installed plugins and their state"),
              read="plugins:read", write="plugins:manage")


class PluginSchema(ma.Schema):
    name = ma.fields.String()
    version = ma.fields.String()
    enabled = ma.fields.Boolean(metadata={"description": "The installation's choice"})
    state = ma.fields.String(metadata={
        "description": "active, disabled, dropped (a requirement is missing or off) or error"})
    reason = ma.fields.String()
    requires = ma.fields.List(ma.fields.String())
    auto_install = ma.fields.Boolean()
    builtin = ma.fields.Boolean()
    description = ma.fields.String()
    hooks = ma.fields.List(ma.fields.String())


@blp.route("")
class PluginList(MethodView):
    @blp.response(200, PluginSchema(many=True))
    def get(self):
        """List installed plugins with their state and the hooks they implement."""
        pm = current_app.extensions["crmkit"].pm
        return [info.as_dict() for info in sorted(pm.infos.values(), key=lambda i: i.name)]
