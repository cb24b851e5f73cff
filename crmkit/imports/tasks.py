"""The worker's side of imports: one task runs one import job to its end."""
from __future__ import annotations

from crmkit.tasks import Task


def run_import(import_id: int) -> None:
    from crmkit.imports.runner import run_job
    run_job(import_id)


# Not atomic: the job commits batch by batch and is idempotent by itself (a rerun resumes after
# the last committed batch). The lease outlasts the largest imports so that no second run is
# started while the first is still busy; were one started, the job's position check stops it.
RUN_IMPORT = Task("crmkit.imports.run", run_import, max_attempts=5, retry_delay_seconds=30,
                  lease_seconds=24 * 3600, atomic=False)
