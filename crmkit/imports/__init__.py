"""Bulk import of customers and interactions from CSV files, as resumable jobs.

``create_job`` checks a file as a whole and records a job; ``run_job`` imports it batch by batch
(the command line runs it in the foreground, the API through the worker's ``crmkit.imports.run``
task). See :mod:`crmkit.imports.runner`.
"""
from crmkit.imports.csvfile import FileProblem, parse_mapping
from crmkit.imports.models import MODELS, ImportJob, ImportProblem, ImportRef
from crmkit.imports.runner import (common_problems, create_job, get_job, job_dict, run_job,
                                   write_report)

__all__ = ["MODELS", "FileProblem", "ImportJob", "ImportProblem", "ImportRef", "common_problems",
           "create_job", "get_job", "job_dict", "parse_mapping", "run_job", "write_report"]
