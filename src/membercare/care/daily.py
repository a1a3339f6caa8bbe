"""The daily care job: recompute every segment, then run every enabled care rule.

Each step runs in its own transaction together with the record that it finished (DailyRun.steps), so a
run killed half-way leaves finished steps done and unfinished ones untouched; running again resumes with
the first unfinished step. A second run on a day that finished does nothing (unless forced; even then the
task rules create nothing twice: (rule, member, key) is unique).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from .config import care_config
from .models import DailyRun
from .step_warnings import step_warnings as _step_warnings
from .step_warnings import warn

logger = logging.getLogger(__name__)

StepFn = Callable[[dt.date, dict], int]

__all__ = ["StepFn", "care_daily", "daily_steps", "warn"]


def daily_steps() -> list[tuple[str, StepFn]]:
    """(name, function(day, config) -> count) in order: segments first, rules after (they read segments).
    The dashboards' facts are a job of their own after this one (analytics.tasks.analytics_daily)."""
    from .owners import owners_step
    from .rules import RULES
    from .segments import segments_compute

    # owners before the rules: the tasks of the day go to the re-derived owner
    return [("segments", segments_compute), ("owners", owners_step),
            *((f"rule:{code}", fn) for code, fn in RULES.items())]


def _enabled(name: str, config: dict) -> bool:
    if not name.startswith("rule:"):
        return True
    return bool(config["rules"].get(name[5:], {}).get("enabled", False))


def care_daily(day: dt.date | None = None, *, force: bool = False,
               only: list[str] | None = None) -> DailyRun:
    """Run (or resume) the daily job for `day` (default today). `only`: step names to run (tests, bench)."""
    day = day or timezone.localdate()
    config = care_config()
    run, _created = DailyRun.objects.get_or_create(day=day, defaults={"started_at": timezone.now()})
    if run.finished_at and not force and not only:
        return run
    for name, fn in daily_steps():
        if only is not None and name not in only:
            continue
        if not _enabled(name, config):
            continue
        if name in run.steps and not force:
            continue
        started = time.perf_counter()
        with transaction.atomic():
            locked = DailyRun.objects.select_for_update().get(pk=run.pk)
            if name in locked.steps and not force:  # another process finished it meanwhile
                run = locked
                continue
            token = _step_warnings.set([])
            try:
                count = fn(day, config)
                warnings = _step_warnings.get() or []
            finally:
                _step_warnings.reset(token)
            locked.steps[name] = {"finished_at": timezone.now().isoformat(), "count": int(count or 0),
                                  "seconds": round(time.perf_counter() - started, 3)}
            locked.warnings = [*locked.warnings, *(w for w in warnings if w not in locked.warnings)]
            locked.save(update_fields=["steps", "warnings"])
            run = locked
        logger.info("care daily %s %s: %s in %.1f s", day, name, count, time.perf_counter() - started)
    if only is None:
        run.finished_at = timezone.now()
        run.save(update_fields=["finished_at"])
    return run
