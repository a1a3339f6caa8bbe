"""The multi-node acceptance test of issue 17, on this machine: two app servers (gunicorn with
deploy/gunicorn.conf.py, DJANGO_DEBUG=0 and the production variables) on two ports, one Celery worker, the
scheduler started on both nodes (two `celery beat`), a PostgreSQL primary with a streaming replica created by
the test, Redis (db 7), an S3-compatible server (moto's server mode) — and a browser session (requests) that

- previews a member import on server A and confirms it on server B;
- starts a member export on A, waits for the worker, downloads it from B (the same bytes as from A and as in
  the bucket);
- sees a dashboard request (and the prediction page) read from the replica — the replica logs every statement
  with the connection's application name, one per process — while the member list does not;
- sees each of the schedule's jobs run once at their moment though both schedulers run (RedBeat's lock), as
  the worker's task events tell.

Each process keeps its own MEMBERCARE_VAR_DIR, which stays without files: everything shared goes through the
database, Redis and the bucket. Runs in the PostgreSQL run of the suite (DATABASE_URL=postgres://…); it needs
the PostgreSQL server binaries (and `runuser` as root) and Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.core.event_log import EventLog
from tests.core.pg_cluster import free_port, primary_and_replica, psql

ROOT = Path(__file__).resolve().parents[2]
REDIS = "redis://127.0.0.1:6379/7"
BUCKET = "membercare-files"
MEMBERS = 5001  # more than the export's inline limit (5,000): the export runs as a job on the worker
PASSWORD = "pass12345"  # tests.factories.StaffFactory's

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                       reason="the multi-node test runs in the PostgreSQL run of the suite (DATABASE_URL=postgres://…)"),
]


def wait_until(check: Callable[[], object], what: str, timeout: float = 120, every: float = 0.3,
               diagnose: Callable[[], str] = lambda: "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{diagnose()}"
        time.sleep(every)


@dataclass
class Node:
    name: str
    proc: subprocess.Popen
    log: Path
    var: Path

    def tail(self) -> str:
        return f"--- {self.name} ---\n" + self.log.read_text(errors="replace")[-3000:]


@dataclass
class Deployment:
    a: str
    b: str
    primary: int
    replica: int
    replica_log: Path
    store: int
    s3: object
    redis: object
    events: EventLog
    tick_at: float
    nodes: dict[str, Node] = field(default_factory=dict)

    def tails(self) -> str:
        return "\n".join(node.tail() for node in self.nodes.values())

    def replica_lines(self, app: str) -> list[str]:
        """The statements the replica ran for one process (its connections' application_name)."""
        text = self.replica_log.read_text(errors="replace")
        return [line for line in text.splitlines() if line.startswith(f"[{app}]") and "statement:" in line]


def start(name: str, cmd: list[str], env: dict[str, str], tmp: Path) -> Node:
    var = tmp / f"var-{name}"
    var.mkdir()
    log = tmp / f"{name}.log"
    proc_env = {**env, "MEMBERCARE_VAR_DIR": str(var),
                "DATABASE_URL": f"{env['DATABASE_URL']}?application_name=mc-{name}",
                "DATABASE_REPLICA_URL": f"{env['DATABASE_REPLICA_URL']}?application_name=mc-{name}"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=proc_env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    return Node(name, proc, log, var)


def stop(node: Node) -> None:
    if node.proc.poll() is None:
        os.killpg(node.proc.pid, signal.SIGTERM)
        try:
            node.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(node.proc.pid, signal.SIGKILL)
            node.proc.wait(10)


def production_env(p1: int, p2: int, s3_url: str, public_url: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_", "CELERY_", "MEMBERCARE_", "DJANGO_", "SQLITE_", "GUNICORN_",
                                "SENTRY_", "PROMETHEUS_", "PYTEST_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "membercare.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "MEMBERCARE_FIELD_KEY": Fernet.generate_key().decode(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "MEMBERCARE_PUBLIC_URL": public_url,
        "MEMBERCARE_HTTPS": "0",  # plain HTTP on one machine: no TLS proxy in front in this test
        "MESSAGING_OUTBOX_ALLOWED": "1",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{p1}/membercare",
        "DATABASE_REPLICA_URL": f"postgres://postgres@127.0.0.1:{p2}/membercare",
        "CELERY_BROKER_URL": REDIS,
        "MEMBERCARE_CACHE_URL": REDIS,
        "MEMBERCARE_S3_BUCKET": BUCKET,
        "MEMBERCARE_S3_ENDPOINT_URL": s3_url,
        "MEMBERCARE_S3_REGION": "us-east-1",
        "MEMBERCARE_S3_ACCESS_KEY_ID": "test",
        "MEMBERCARE_S3_SECRET_ACCESS_KEY": "test",
        "MEMBERCARE_S3_ADDRESSING_STYLE": "path",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "LOG_LEVEL": "WARNING",
    })
    return env


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    import boto3
    import redis
    from moto.server import ThreadedMotoServer

    tmp = tmp_path_factory.mktemp("multinode")
    redis_client = redis.Redis.from_url(REDIS)
    try:
        redis_client.ping()
    except redis.ConnectionError:
        pytest.fail("Redis must run on 127.0.0.1:6379 (the deployment's broker, cache and scheduler lock)")
    redis_client.flushdb()
    with ExitStack() as stack:
        stack.callback(redis_client.flushdb)
        p1, p2, base = stack.enter_context(primary_and_replica(
            "-c log_statement=all -c log_line_prefix='[%a] '"))
        s3_port = free_port("MEMBERCARE_TEST_PORTS")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
        server.start()
        stack.callback(server.stop)
        s3_url = f"http://127.0.0.1:{s3_port}"
        s3 = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
        s3.create_bucket(Bucket=BUCKET)

        port_a = free_port("MEMBERCARE_TEST_PORTS")
        port_b = free_port("MEMBERCARE_TEST_PORTS", exclude=(port_a,))
        env = production_env(p1, p2, s3_url, f"http://127.0.0.1:{port_a}")
        django = [sys.executable, "-m", "django"]
        done = subprocess.run([*django, "migrate", "-v", "0"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        done = subprocess.run([sys.executable, str(ROOT / "tests" / "core" / "multinode_seed.py")], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        store = int(re.search(r'"store": (\d+)', done.stdout).group(1))

        events = stack.enter_context(EventLog(REDIS))
        tick_at = time.time() + 40  # the nightly jobs' moment: while the pages below are used
        deployment = Deployment(a=f"http://127.0.0.1:{port_a}", b=f"http://127.0.0.1:{port_b}", primary=p1,
                                replica=p2, replica_log=base / "r.log", store=store, s3=s3, redis=redis_client,
                                events=events, tick_at=tick_at)
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "membercare.wsgi"]
        celery = [sys.executable, "-m", "celery"]
        beat_env = {**env, "MULTINODE_TICK_AT": str(tick_at)}
        for name, cmd, node_env in (
            ("web-a", gunicorn, {**env, "GUNICORN_BIND": f"127.0.0.1:{port_a}"}),
            ("web-b", gunicorn, {**env, "GUNICORN_BIND": f"127.0.0.1:{port_b}"}),
            ("worker", [*celery, "-A", "membercare.celery_app", "worker", "-l", "info", "--concurrency", "2",
                        "-n", "mc-node-worker@%h"], env),
            ("beat-a", [*celery, "-A", "tests.core.multinode_beat", "beat", "-l", "info", "--pidfile="], beat_env),
            ("beat-b", [*celery, "-A", "tests.core.multinode_beat", "beat", "-l", "info", "--pidfile="], beat_env),
        ):
            deployment.nodes[name] = node = start(name, cmd, node_env, tmp)
            stack.callback(stop, node)
        import requests

        def ready(url: str) -> bool:
            try:
                # A node still booting on a busy machine may accept the connection and answer late:
                # not ready yet, ask again (the 180 s deadline still bounds the wait).
                return requests.get(f"{url}/healthz", timeout=30).status_code == 200
            except (requests.ConnectionError, requests.Timeout):
                return False

        for url in (deployment.a, deployment.b):
            wait_until(lambda url=url: ready(url), f"{url}/healthz", timeout=180, diagnose=deployment.tails)
        yield deployment


@pytest.fixture(scope="module")
def browser(deployment):
    """A manager's browser session (a VIP specialist), logged in on server A; the same cookies go to B, as
    behind a load balancer."""
    import requests

    session = requests.Session()
    assert session.get(f"{deployment.a}/login/", timeout=60).status_code == 200
    response = session.post(f"{deployment.a}/login/", data={
        "username": "mn_specialist", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        allow_redirects=False, timeout=60)
    assert response.status_code == 302, (response.status_code, response.text[:2000])
    return session


def post(session, url: str, **kw):
    data = {**kw.pop("data", {}), "csrfmiddlewaretoken": session.cookies["csrftoken"]}
    return session.post(url, data=data, allow_redirects=False, timeout=180, **kw)


def members_csv(count: int) -> bytes:
    surnames, given = "王李张刘陈杨黄赵吴周", "伟芳娜敏静丽强磊军洋"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "手机号", "生日", "性别", "门店编码"])
    for i in range(count):
        writer.writerow([surnames[i % 10] + given[(i // 10) % 10] + given[(i // 100) % 10], f"139{i:08d}",
                         f"19{70 + i % 30}-0{1 + i % 9}-1{i % 10}", "男女"[i % 2], "MN01"])
    return out.getvalue().encode("utf-8-sig")


def bucket_keys(deployment: Deployment) -> list[str]:
    return sorted(o["Key"] for o in deployment.s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def local_files(deployment: Deployment) -> list[str]:
    return [str(p) for node in deployment.nodes.values() for p in (node.var / "media").rglob("*") if p.is_file()]


def test_an_import_previewed_on_server_a_is_confirmed_on_server_b(deployment, browser):
    response = browser.post(f"{deployment.a}/members/import/", files={
        "file": ("members.csv", members_csv(MEMBERS), "text/csv")}, data={
        "default_store": deployment.store, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        allow_redirects=False, timeout=180)
    assert response.status_code == 302, (response.status_code, response.text[-3000:], deployment.tails())
    preview = response.headers["Location"]
    assert re.fullmatch(r"/members/import/\d+/", preview)
    assert [k for k in bucket_keys(deployment) if k.startswith("imports/")]  # the uploaded file: in the bucket
    page = browser.get(f"{deployment.b}{preview}", timeout=120)
    assert page.status_code == 200 and re.search(r"\b5,?001\b", page.text), page.text[-2000:]
    assert psql(deployment.primary, "SELECT count(*) FROM members_member", "membercare") == "0"  # a preview only

    response = post(browser, f"{deployment.b}{preview}", data={"action": "confirm"})
    assert response.status_code == 302, (response.status_code, response.text[-3000:], deployment.tails())
    assert psql(deployment.primary, "SELECT count(*) FROM members_member", "membercare") == str(MEMBERS)
    assert psql(deployment.primary, "SELECT status FROM members_importjob", "membercare") == "imported"
    assert local_files(deployment) == []


def test_an_export_started_on_server_a_downloads_from_server_b(deployment, browser):
    from openpyxl import load_workbook

    page = browser.get(f"{deployment.a}/members/export/", timeout=120)
    assert page.status_code == 200, (page.status_code, page.text[-2000:])
    job = int(re.search(r'id="job-(\d+)"', page.text).group(1))

    def finished() -> str | None:  # server B polls the job the worker runs
        html = browser.get(f"{deployment.b}/jobs/{job}/", timeout=60).text
        status = re.search(rf'id="job-{job}"[^>]*data-status="(\w+)"', html).group(1)
        return html if status in ("done", "failed") else None

    html = wait_until(finished, f"export job {job}", timeout=300, every=1, diagnose=deployment.tails)
    assert 'data-status="done"' in html, (html[-2000:], deployment.tails())
    link = re.search(rf'href="(/jobs/{job}/download/)"', html).group(1)
    from_b = browser.get(f"{deployment.b}{link}", timeout=120)
    from_a = browser.get(f"{deployment.a}{link}", timeout=120)
    key = f"exports/members-{job}.xlsx"
    in_bucket = deployment.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert from_b.status_code == 200 and from_b.content == from_a.content == in_bucket
    sheet = load_workbook(io.BytesIO(from_b.content), read_only=True).active
    assert sum(1 for _ in sheet.iter_rows(values_only=True)) == MEMBERS + 1
    # the export job read its members from the replica
    assert any("members_member" in line for line in deployment.replica_lines("mc-worker"))
    assert local_files(deployment) == []


def test_a_dashboard_request_reads_the_replica(deployment, browser):
    def new_lines(app: str, before: int) -> list[str]:
        time.sleep(0.5)  # the replica's log is written as each statement runs
        return deployment.replica_lines(app)[before:]

    before = len(deployment.replica_lines("mc-web-b"))
    assert browser.get(f"{deployment.b}/members/", timeout=120).status_code == 200
    assert new_lines("mc-web-b", before) == []  # any other page: the primary

    response = browser.get(f"{deployment.b}/analytics/", timeout=120)
    assert response.status_code == 200, response.text[-2000:]
    lines = new_lines("mc-web-b", before)
    assert any("analytics_" in line for line in lines), (lines, deployment.replica_log.read_text()[-3000:])

    before = len(deployment.replica_lines("mc-web-a"))
    response = browser.get(f"{deployment.a}/prediction/", timeout=120)  # the prediction summary page
    assert response.status_code == 200, response.text[-2000:]
    assert any("prediction_" in line for line in new_lines("mc-web-a", before))


def test_the_scheduler_on_both_nodes_runs_each_nightly_job_once(deployment):
    from membercare.celery_app import app

    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    events = deployment.events

    def runs() -> dict[str, list[dict]]:
        received: dict[str, list[dict]] = {}
        for event in list(events.events):
            if event["type"] == "task-received" and event.get("name") in scheduled:
                received.setdefault(event["name"], []).append(event)
        return received

    def finished(task_id: str) -> dict | None:
        return next((e for e in list(events.events) if e.get("uuid") == task_id and e["type"] in (
            "task-succeeded", "task-failed")), None)

    def all_ran() -> bool:
        got = runs()
        return set(got) == scheduled and all(finished(e["uuid"]) for found in got.values() for e in found)

    wait_until(all_ran, "every scheduled job to run", timeout=max(60, deployment.tick_at - time.time() + 240),
               every=1, diagnose=lambda: f"{sorted(runs())} of {sorted(scheduled)}\n{deployment.tails()}")
    # a second scheduler sending too would have sent at the same moment (it checks every 5 s): wait past that
    time.sleep(max(0.0, deployment.tick_at + 15 - time.time()))
    got = runs()
    assert Counter({name: len(found) for name, found in got.items()}) == Counter(dict.fromkeys(scheduled, 1)), (
        deployment.tails())
    failed = {name: finished(found[0]["uuid"]) for name, found in got.items()
              if finished(found[0]["uuid"])["type"] == "task-failed"}
    assert failed == {}, failed
    # both nodes started the scheduler and both still run: one holds the lock and sent every job, the other waits
    beats = [deployment.nodes["beat-a"], deployment.nodes["beat-b"]]
    assert all(beat.proc.poll() is None for beat in beats)
    assert deployment.redis.exists("membercare:beat::lock")
    logs = [beat.log.read_text(errors="replace") for beat in beats]
    assert sorted("beat: Acquired lock" in log for log in logs) == [False, True], deployment.tails()
    assert sorted(log.count("Sending due task") for log in logs) == [0, len(scheduled)], deployment.tails()
    assert psql(deployment.primary, "SELECT count(*) FROM care_dailyrun", "membercare") == "1"
