"""Permissions of access control, the audit trail and personal data (registered by the kernel)."""
from crmkit.permissions import Permission

PERMISSIONS = [
    Permission("users:read", "See users and teams"),
    Permission("users:manage", "Create, change and deactivate users; manage teams"),
    Permission("roles:read", "See roles and the permissions they grant"),
    Permission("roles:manage", "Create, change and delete roles"),
    Permission("tokens:write", "Create, list and revoke one's own API tokens"),
    Permission("tokens:manage", "See and revoke every user's API tokens"),
    Permission("audit:read", "Read the audit trail"),
    Permission("customers:reassign", "Give a customer another owner"),
    Permission("privacy:export", "Export everything held on a person"),
    Permission("privacy:erase", "Erase a person's personal data"),
]
