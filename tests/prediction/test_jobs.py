"""The generic background-job facility (core/jobs.py): progress, result, failure, status view permissions."""

import pytest
from django.urls import reverse
from django.utils import translation

from membercare.core import jobs
from membercare.core.jobs import job_start
from membercare.core.models import Job

SEEN: list[tuple] = []


def _counting_job(progress, *, n: int) -> dict:
    for i in range(n):
        progress(i + 1, n, f"step {i + 1}")
        row = Job.objects.get(pk=progress.job_id)  # each update is written at once (status visible while running)
        SEEN.append((row.status, row.done, row.total, row.message))
    return {"url": "/somewhere/", "label": "Download", "count": n}


def _failing_job(progress) -> None:
    progress(1, 3, "first")
    raise ValueError("the store 9 does not exist")


@pytest.fixture(autouse=True)
def _no_throttle(monkeypatch):
    monkeypatch.setattr(jobs, "PROGRESS_EVERY", 0.0)
    SEEN.clear()


def test_job_runs_with_progress_and_result(specialist):
    job = job_start("test_count", specialist, _counting_job, n=3)
    assert SEEN == [("running", 1, 3, "step 1"), ("running", 2, 3, "step 2"), ("running", 3, 3, "step 3")]
    assert job.status == Job.Status.DONE and job.finished
    assert (job.done, job.total, job.percent) == (3, 3, 100)
    assert job.result == {"url": "/somewhere/", "label": "Download", "count": 3}
    assert job.params == {"n": 3} and job.created_by == specialist
    assert job.started_at <= job.finished_at


def test_progress_coalesces_fast_calls_and_flushes_the_last(specialist, monkeypatch):
    monkeypatch.setattr(jobs, "PROGRESS_EVERY", 3600.0)
    job = Job.objects.create(kind="x", function="x.y")
    progress = jobs.Progress(job.pk)
    progress(1, 10, "a")
    progress(5, None, "b")  # too soon: held back
    job.refresh_from_db()
    assert (job.done, job.total, job.message) == (1, 10, "a")
    progress.flush()
    job.refresh_from_db()
    assert (job.done, job.total, job.message) == (5, 10, "b")
    progress(10, 10)  # the last step is always written
    job.refresh_from_db()
    assert job.done == 10


def test_failing_job_is_recorded_not_raised(specialist):
    job = job_start("test_fail", specialist, _failing_job)
    assert job.status == Job.Status.FAILED
    assert job.message == "the store 9 does not exist"
    assert job.done == 1 and job.finished_at is not None


def test_nested_function_is_refused(specialist):
    def inner(progress):
        return None

    with pytest.raises(ValueError):
        job_start("x", specialist, inner)


def test_status_view_only_for_creator_or_admin(client, specialist, clerk, admin_user):
    job = job_start("test_count", specialist, _counting_job, n=2)
    url = reverse("job_status", args=[job.pk])
    client.force_login(clerk)
    assert client.get(url).status_code == 403
    client.force_login(admin_user)
    assert client.get(url).status_code == 200
    client.force_login(specialist)
    with translation.override("en"):
        page = client.get(url, HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-status="done"' in html and "every 1s" not in html  # finished: polling stops
    assert 'href="/somewhere/"' in html
    assert client.get(reverse("job_status", args=[job.pk + 1000])).status_code == 404


def test_running_job_partial_polls_every_second(client, specialist):
    job = Job.objects.create(kind="x", function="x.y", created_by=specialist, status=Job.Status.RUNNING,
                             done=40, total=160, message="Fitting")
    client.force_login(specialist)
    html = client.get(reverse("job_status", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in html and reverse("job_status", args=[job.pk]) in html
    assert 'value="25"' in html and "Fitting" in html


def test_a_job_whose_worker_died_is_marked_and_started_again(client, specialist, clerk, settings):
    import datetime as dt

    from django.utils import timezone

    settings.CELERY_TASK_TIME_LIMIT = 600
    now = timezone.now()
    dead = Job.objects.create(kind="test_count", function=f"{__name__}._counting_job", params={"n": 2},
                              created_by=specialist, status=Job.Status.RUNNING,
                              started_at=now - dt.timedelta(seconds=601))
    alive = Job.objects.create(kind="test_count", function=f"{__name__}._counting_job", params={"n": 2},
                               created_by=specialist, status=Job.Status.RUNNING,
                               started_at=now - dt.timedelta(seconds=599))
    assert jobs.jobs_reap(now) == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == Job.Status.FAILED and dead.result == {"error": jobs.INTERRUPTED}
    assert "重新开始" in dead.message and alive.status == Job.Status.RUNNING  # alive: within the time limit
    assert jobs.jobs_reap(now) == 0  # marked once

    client.force_login(specialist)
    partial = client.get(reverse("job_status", args=[dead.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert reverse("job_restart", args=[dead.pk]) in partial and "重新开始" in partial
    client.force_login(clerk)
    assert client.post(reverse("job_restart", args=[dead.pk])).status_code == 403  # not the clerk's job
    client.force_login(specialist)
    response = client.post(reverse("job_restart", args=[dead.pk]))
    again = Job.objects.latest("pk")
    assert response.status_code == 302 and response.url == reverse("job_status", args=[again.pk])
    assert again.pk != dead.pk and again.status == Job.Status.DONE and again.result["count"] == 2
    assert client.post(reverse("job_restart", args=[alive.pk])).url == reverse("job_status", args=[alive.pk])
    assert Job.objects.count() == 3  # a running job is not started twice
