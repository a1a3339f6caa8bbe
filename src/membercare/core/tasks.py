"""Celery tasks of core (defined in core/jobs.py; named here for Celery's autodiscovery)."""

from .jobs import jobs_reap_task, run_job_task

__all__ = ["jobs_reap_task", "run_job_task"]
