"""crmkit: a plugin-based, extensible CRM framework."""
__version__ = "0.1.0"

from crmkit.app import create_app
from crmkit.hooks import hookimpl, hookspec
from crmkit.jobs import PeriodicJob
from crmkit.permissions import Permission
from crmkit.plugins import Manifest, PluginError
from crmkit.tasks import Task

__all__ = ["Manifest", "PeriodicJob", "Permission", "PluginError", "Task", "__version__",
           "create_app", "hookimpl", "hookspec"]
