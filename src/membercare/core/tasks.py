"""Celery task that runs background jobs (defined in core/jobs.py; named here for Celery's autodiscovery)."""

from .jobs import run_job_task

__all__ = ["run_job_task"]
