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
    from crmkit.imports.models import MODELS as IMPORT_MODELS
    from crmkit.privacy.models import Consent
    return [PluginSetting, *CUSTOMER_MODELS, *messaging.models(), *AUTH_MODELS, AuditEvent,
            IdempotencyKey, *IMPORT_MODELS, Consent]


@hookimpl
def register_blueprints():
    from crmkit.customers.api import blp as customers_blp
    from crmkit.customers.api import meta as customer_settings_blp
    from crmkit.customers.dedupe_api import blp as customer_duplicates_blp
    from crmkit.plugins_api import blp
    from crmkit.audit.api import blp as audit_blp
    from crmkit.auth.api import blp as users_blp
    from crmkit.auth.api import roles_blp, tokens_blp
    from crmkit import messaging
    from crmkit.customers.export_api import blp as customer_exports_blp
    from crmkit.imports.api import blp as imports_blp
    from crmkit.privacy.api import blp as privacy_blp
    return [blp, customers_blp, customer_settings_blp, customer_duplicates_blp,
            *messaging.blueprints(), users_blp, roles_blp, tokens_blp, audit_blp,
            customer_exports_blp, imports_blp, privacy_blp]


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
def register_tasks():
    # Kernel one-off tasks; add yours to this list.
    from crmkit.imports.tasks import RUN_IMPORT
    return [RUN_IMPORT]


@hookimpl
def load_demo_data(size):
    from crmkit.customers.demo import load_demo_customers
    load_demo_customers(size)


@hookimpl
def register_jobs():
    from crmkit.idempotency import purge_expired
    from crmkit.jobs import PeriodicJob
    return [PeriodicJob("purge-idempotency-keys", "17 * * * *", purge_expired)]
