"""Warnings a step of the daily care job reports (collected per step by care.daily into DailyRun.warnings).

Below both the daily job and the rules, so that a rule can warn without importing the job that runs it.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

logger = logging.getLogger("membercare.care.daily")  # the job's log, as before the split

step_warnings: ContextVar[list[str] | None] = ContextVar("care_step_warnings", default=None)


def warn(message: str) -> None:
    """A step reports something the specialist should see (stored once in DailyRun.warnings)."""
    collected = step_warnings.get()
    if collected is not None and message not in collected:
        collected.append(message)
    logger.warning("care daily: %s", message)
