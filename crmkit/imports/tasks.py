"""The worker's side of imports: one task runs one import job to its end."""
from __future__ import annotations

from crmkit.tasks import Task


def run_import(import_id: int) -> None:
    from crmkit.imports.runner import run_as_uploader
    # A run handed out again while the first is still busy (an import outlasting the lease)
    # watches the first and takes over only if it goes quiet.
    run_as_uploader(import_id)


# Not atomic: the job commits batch by batch and is idempotent by itself (a rerun resumes after
# the last committed batch, and a run that loses the job's position check stops).
RUN_IMPORT = Task("crmkit.imports.run", run_import, max_attempts=5, retry_delay_seconds=30,
                  lease_seconds=1800, atomic=False)
