"""The release artifact (issue 17): `make dist` builds one wheel; installed into a fresh virtualenv (the
dependencies at the lock file's versions), migrated and served by gunicorn with DJANGO_DEBUG=0, away from this
checkout (no node_modules, no compiled files of the source tree), it gives the Chinese login page and the
chart script with 200."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


@pytest.mark.release
def test_the_wheel_installs_and_serves_the_chinese_ui_with_its_charts(tmp_path):
    dist = tmp_path / "dist"
    run(["make", "-s", "dist", f"DIST={dist}"], cwd=ROOT)
    wheel = next(dist.glob("membercare-*.whl"))
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "pip"), "install", "-q", "-c", str(ROOT / "requirements.lock"), str(wheel)])

    site = tmp_path / "site"
    site.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "DJANGO_DEBUG": "0",
           "DJANGO_SECRET_KEY": "release-test-secret-key-" + "x" * 40,
           "MEMBERCARE_FIELD_KEY": "cmVsZWFzZS10ZXN0LWZpZWxkLWtleS0zMi1ieXRlcyE=",
           "DATABASE_URL": f"sqlite:///{site / 'db.sqlite3'}", "MEMBERCARE_VAR_DIR": str(site / "var"),
           "MEMBERCARE_HTTPS": "0", "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "LOG_FORMAT": "json",
           "MEMBERCARE_PUBLIC_URL": "https://vip.example.com", "MESSAGING_OUTBOX_ALLOWED": "1"}
    run([str(venv / "bin" / "membercare"), "migrate", "--noinput", "-v", "0"], cwd=site, env=env)
    port = free_port()
    server = subprocess.Popen([str(venv / "bin" / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", "2",
                               "membercare.wsgi"], cwd=site, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _body = get(base + "/healthz")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()[-3000:]
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.5)
        status, body = get(base + "/login/")
        html = body.decode()
        assert status == 200 and 'lang="zh-hans"' in html and "登录" in html and "Log in" not in html
        for script in ("vendor/chartjs/chart.umd.min.js", "vendor/htmx/htmx.min.js"):
            status, body = get(f"{base}/static/{script}")
            assert status == 200 and len(body) > 10_000, script
        assert not os.path.exists(site / "node_modules")
    finally:
        server.terminate()
        server.wait(20)
