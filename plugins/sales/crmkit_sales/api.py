"""The sales API: blueprints the kernel mounts under ``/api/v1/sales``. Each ``api_*`` module is a
thin door into the domain modules."""
from crmkit_sales.api_catalog import blp as catalog_blp
from crmkit_sales.api_catalog import templates_blp
from crmkit_sales.api_deals import blp as deals_blp
from crmkit_sales.api_leads import blp as leads_blp
from crmkit_sales.api_leads import forms_blp
from crmkit_sales.api_pipelines import blp as pipelines_blp
from crmkit_sales.api_reports import blp as reports_blp
from crmkit_sales.api_reports import rules_blp
from crmkit_sales.api_tasks import blp as tasks_blp

BLUEPRINTS = [pipelines_blp, deals_blp, tasks_blp, leads_blp, forms_blp, catalog_blp,
              templates_blp, reports_blp, rules_blp]
