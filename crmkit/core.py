"""The kernel registered as the built-in plugin ``crmkit``: its models, routes and permissions."""
from crmkit.hooks import hookimpl
from crmkit.permissions import Permission
from crmkit.plugins import Manifest

manifest = Manifest(name="crmkit", description="The crmkit kernel")


@hookimpl
def register_models():
    from crmkit.customers import MODELS as CUSTOMER_MODELS
    from crmkit.audit.models import AuditEvent
    from crmkit.auth.models import MODELS as AUTH_MODELS
    from crmkit.idempotency import IdempotencyKey
    from crmkit.plugin_state import PluginSetting
    from crmkit import messaging
    return [PluginSetting, *CUSTOMER_MODELS, *messaging.models(), *AUTH_MODELS, AuditEvent,
            IdempotencyKey]


@hookimpl
def register_blueprints():
    from crmkit.customers.api import blp as customers_blp
    from crmkit.customers.api import meta as customer_settings_blp
    from crmkit.plugins_api import blp
    from crmkit.audit.api import blp as audit_blp
    from crmkit.auth.api import blp as users_blp
    from crmkit.auth.api import roles_blp, tokens_blp
    from crmkit import messaging
    return [blp, customers_blp, customer_settings_blp, *messaging.blueprints(), users_blp,
            roles_blp, tokens_blp, audit_blp]


@hookimpl
def register_permissions():
    from crmkit import messaging
    from crmkit.auth.kernel_permissions import PERMISSIONS as ACCESS_PERMISSIONS
    return [
        Permission("plugins:read", "See installed plugins and their state"),
        Permission("plugins:manage", "Enable and disable plugins"),
        Permission("customers:read", "See customers, companies, timelines and profiles"),
        Permission("customers:write", "Create and change customers and record interactions"),
        Permission("customers:delete", "Delete customers"),
        Permission("customers:merge", "Merge duplicate customers"),
        Permission("customers:import", "Import customers and interactions"),
        Permission("customers:export", "Export customers and interactions"),
        Permission("settings:manage", "Manage tags and custom field definitions"),
        *ACCESS_PERMISSIONS,
        *messaging.permissions(),
    ]


@hookimpl
def load_demo_data(size):
    from crmkit.customers.demo import load_demo_customers
    load_demo_customers(size)
