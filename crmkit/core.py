"""The kernel registered as the built-in plugin ``crmkit``: its models, routes and permissions."""
from crmkit.hooks import hookimpl
from crmkit.permissions import Permission
from crmkit.plugins import Manifest

manifest = Manifest(name="crmkit", description="The crmkit kernel")


@hookimpl
def register_models():
    from crmkit.plugin_state import PluginSetting
    return [PluginSetting]


@hookimpl
def register_blueprints():
    from crmkit.plugins_api import blp
    return [blp]


@hookimpl
def register_permissions():
    return [
        Permission("plugins:read", "See installed plugins and their state"),
        Permission("plugins:manage", "Enable and disable plugins"),
    ]
