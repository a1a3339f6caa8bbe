"""Background jobs with progress: long work (recomputing predictions, large exports) run through the
Celery queue while a page polls how far it got.

API (stable; other apps use it):

    from membercare.core.jobs import job_start, job_for_user, Progress

    def export_members(progress: Progress, *, store_id: int) -> dict:   # module-level function
        rows = ...
        for i, chunk in enumerate(chunks):
            ...                                   # do a chunk of work (commit per chunk, see below)
            progress(i + 1, len(chunks), _("Writing rows"))
        return {"url": reverse("job_download", args=[progress.job_id]), "label": _("Download"),
                "path": job_file_save(progress, "members", out)}   # kept in the file storage

    job = job_start("members_export", request.user, export_members, store_id=3)
    return render(request, "web/_job_progress.html", {"job": job})    # or redirect to job_status

- `job_start(kind, user, fn, **kwargs) -> Job`: records a Job (status queued) and runs
  `fn(progress, **kwargs)` through the Celery task `membercare.core.jobs.run_job`. `fn` must be a
  module-level function (it is found again by its dotted path in the worker) and `kwargs` must be
  JSON-serialisable (they are stored in Job.params). With CELERY_TASK_ALWAYS_EAGER (the default in
  settings, tests and the demo) the job runs inline before job_start returns; otherwise it is queued
  after the current transaction commits.
- `progress(done, total=None, message=None)`: writes done/total/message to the Job row in its own
  short statement (autocommit), so a polling page sees it while the job runs. Calls closer than
  PROGRESS_EVERY seconds apart are coalesced (the last call of a run is always written when the job
  finishes). `progress.job_id` is the Job's id (e.g. to name an export file).
  Write your work in several short transactions and call progress between them: a progress call made
  inside an open `transaction.atomic()` is only seen when that transaction commits.
- What `fn` returns is stored in Job.result (JSON: a dict, a list, a string such as a file path under
  the file storage, or None). If the result is a dict with "url" (and optionally "label"), the progress
  partial shows a link to it once the job is done (e.g. the download view of an export; that view must
  check permissions itself, e.g. with `job_for_user`).
- If `fn` raises, the job ends `failed` with the error message (the traceback goes to the log); it
  does not raise in the caller.
- A worker that dies mid-job (killed, the machine lost) leaves the job "running": `jobs_reap()` (every
  five minutes from the scheduler) marks such a job failed once it has run longer than the task's hard time
  limit — no worker lets a task run longer — with a message that says so; `job_restart(job, user)` starts
  the same work again as a new job (the status partial offers it on a failed job).
- Status page/partial: URL name `job_status` (`/jobs/<pk>/`), template `web/_job_progress.html`
  (include it with `{% include "web/_job_progress.html" with job=job %}`); it polls itself with htmx
  every second until the job is done or failed. Only the job's creator (or an administrator) may see
  a job: `job_for_user(user, pk)` raises PermissionDenied/Http404 otherwise.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import time
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from membercare.core.models import Job
from membercare.core.permissions import can_administer

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between two progress writes of a job


class Progress:
    """The callback handed to a job's function: progress(done, total=None, message=None)."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self._last: float | None = None  # the first call is always written
        self._pending: dict[str, Any] | None = None

    def __call__(self, done: int, total: int | None = None, message: str | None = None) -> None:
        values: dict[str, Any] = {"done": int(done)}
        if total is not None:
            values["total"] = int(total)
        if message is not None:
            values["message"] = str(message)[:300]
        now = time.monotonic()
        if self._last is not None and now - self._last < PROGRESS_EVERY and not (total is not None and done >= total):
            self._pending = {**(self._pending or {}), **values}
            return
        self._last = now
        self._pending = None
        Job.objects.filter(pk=self.job_id).update(**values)

    def flush(self) -> None:
        if self._pending:
            Job.objects.filter(pk=self.job_id).update(**self._pending)
            self._pending = None


def _dotted(fn: Callable) -> str:
    path = f"{fn.__module__}.{fn.__qualname__}"
    if "<" in path or "." in fn.__qualname__:
        raise ValueError(f"job function must be a module-level function, not {path}")
    return path


def _resolve(path: str) -> Callable:
    module, _sep, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def job_start(kind: str, user: Any, fn: Callable, **kwargs: Any) -> Job:
    """Record a job and run `fn(progress, **kwargs)` in the background queue (inline when eager)."""
    job = Job.objects.create(kind=kind, function=_dotted(fn), params=kwargs,
                             created_by=user if getattr(user, "is_authenticated", False) else None)
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        run_job(job.pk)
        job.refresh_from_db()
    else:
        transaction.on_commit(lambda: run_job_task.delay(job.pk))
    return job


def run_job(job_id: int) -> None:
    """Run a queued job (the Celery task's body): status running → done or failed."""
    job = Job.objects.get(pk=job_id)
    if job.status != Job.Status.QUEUED:
        log.warning("job %s is %s, not queued: not run again", job_id, job.status)
        return
    Job.objects.filter(pk=job_id).update(status=Job.Status.RUNNING, started_at=timezone.now())
    progress = Progress(job_id)
    try:
        result = _resolve(job.function)(progress, **job.params)
    except Exception as exc:  # the job records its failure; the queue does not retry it
        log.exception("job %s (%s) failed", job_id, job.kind)
        progress.flush()
        Job.objects.filter(pk=job_id).update(status=Job.Status.FAILED, finished_at=timezone.now(),
                                             message=(str(exc) or exc.__class__.__name__)[:300])
        return
    progress.flush()
    Job.objects.filter(pk=job_id).update(status=Job.Status.DONE, finished_at=timezone.now(), result=result)


@shared_task(name="membercare.core.jobs.run_job")
def run_job_task(job_id: int) -> None:
    """The Celery task running a queued job (core.tasks names it for Celery's autodiscovery)."""
    run_job(job_id)


EXPORTS = "exports/"  # the folder of jobs' files in the file storage (the local disk, or the shared bucket)


def job_file_save(progress: Progress, name: str, content: Any, suffix: str = ".xlsx") -> str:
    """Keep a job's finished file (an open binary file, read from its start) in the file storage under
    exports/, named after the job; returns the storage name for the job's result "path" (downloaded through
    `job_download`, which serves nothing else)."""
    from django.core.files import File
    from django.core.files.storage import default_storage

    if suffix not in (".xlsx", ".csv"):
        raise ValueError(suffix)
    content.seek(0)
    return default_storage.save(f"{EXPORTS}{name}-{progress.job_id}{suffix}", File(content))


def job_file_open(job: Job) -> tuple[Any, str] | None:
    """(the open file, its file name) of a finished job's file, or None: only a name the job wrote under
    exports/ is ever opened."""
    from django.core.files.storage import default_storage

    path = (job.result or {}).get("path") if isinstance(job.result, dict) else None
    if not path or not path.startswith(EXPORTS) or ".." in path or "\\" in path or not default_storage.exists(path):
        return None
    return default_storage.open(path, "rb"), path.rsplit("/", 1)[-1]


INTERRUPTED = "interrupted"  # Job.result["error"] of a job whose worker died


def jobs_reap(now: Any = None) -> int:
    """Mark failed the jobs left running by a worker that died: running longer than the task's hard time
    limit (settings.CELERY_TASK_TIME_LIMIT), which no live worker allows. Returns how many."""
    from django.utils.translation import gettext

    now = now or timezone.now()
    limit = int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 3900) or 3900)
    cutoff = now - dt.timedelta(seconds=limit)
    return Job.objects.filter(status=Job.Status.RUNNING, started_at__lt=cutoff).update(
        status=Job.Status.FAILED, finished_at=now, result={"error": INTERRUPTED},
        message=gettext("Interrupted: the background process running it stopped. Start it again.")[:300])


@shared_task(name="membercare.core.jobs.jobs_reap")
def jobs_reap_task() -> int:
    return jobs_reap()


def job_restart(job: Job, user: Any) -> Job:
    """The same work as a failed `job`, started again as a new job by `user`."""
    if job.status != Job.Status.FAILED:
        raise ValueError("only a failed job is started again")
    return job_start(job.kind, user, _resolve(job.function), **job.params)


def can_see_job(user: Any, job: Job) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return job.created_by_id == user.pk or can_administer(user)


def job_for_user(user: Any, pk: int) -> Job:
    """The job `pk` if `user` started it (or is an administrator); Http404 / PermissionDenied otherwise."""
    job = Job.objects.filter(pk=pk).first()
    if job is None:
        raise Http404
    if not can_see_job(user, job):
        raise PermissionDenied
    return job


def latest_job(kind: str, user: Any | None = None) -> Job | None:
    """The most recent job of a kind (started by `user` if given), e.g. to show a running recompute."""
    jobs = Job.objects.filter(kind=kind)
    if user is not None:
        jobs = jobs.filter(created_by=user)
    return jobs.order_by("-created_at", "-pk").first()
