"""Error reports to Sentry by DSN (issue 17), and nothing personal in them (PIPL): a server started with
SENTRY_DSN pointing at a local collector raises in a view; the report arrives with the request id and without
the phone number, the ID number, the cookies or the query string."""

import gzip
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

from membercare.core.errors import scrub

ROOT = Path(__file__).resolve().parents[2]


def test_scrub_strips_personal_data():
    event = {"request": {"url": "https://vip.example.com/members/?q=13812345678", "method": "GET",
                         "cookies": {"sessionid": "x"}, "headers": {"Cookie": "x"}, "data": {"phone": "1"}},
             "user": {"username": "clerk"}, "breadcrumbs": {"values": [{"message": "SELECT …"}]},
             "exception": {"values": [{"value": "member 13812345678 id 11010519850321002X not found",
                                       "stacktrace": {"frames": [{"vars": {"phone": "13812345678"}}]}}]}}
    out = json.dumps(scrub(event))
    for secret in ("13812345678", "11010519850321002X", "sessionid", "clerk", "SELECT", "q="):
        assert secret not in out, secret
    assert "[masked]" in out and "https://vip.example.com/members/" in out


class Collector(http.server.BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802 (the HTTP verb)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        elif self.headers.get("Content-Encoding") == "deflate":
            body = zlib.decompress(body)
        Collector.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_server_error_is_reported_without_personal_data(tmp_path):
    collector = http.server.HTTPServer(("127.0.0.1", _port()), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    Collector.received.clear()
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "from django.urls import path\n"
        "import membercare.urls as u\n"
        "def boom(request):\n"
        "    raise ValueError('member 13812345678 with ID 11010519850321002X failed')\n"
        "u.urlpatterns.insert(0, path('api/boom/', boom))\n"  # under /api/: no login in the way
        "from django.test.utils import setup_test_environment; setup_test_environment()\n"
        "c = Client(raise_request_exception=False)\n"
        "r = c.get('/api/boom/?phone=13812345678', headers={'X-Request-ID': 'req-sentry-0001'})\n"
        "import sentry_sdk; sentry_sdk.flush(5)\n"
        "print(r.status_code)\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "membercare.settings", "DJANGO_DEBUG": "1",
           "SENTRY_DSN": f"http://publickey@127.0.0.1:{collector.server_port}/1",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DJANGO_ALLOWED_HOSTS": "testserver",
           "PYTHONPATH": str(ROOT / "src")}
    try:
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and done.stdout.strip().endswith("500"), done.stderr[-2000:]
        deadline = time.monotonic() + 10
        while not Collector.received and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        collector.shutdown()
    sent = b"".join(Collector.received).decode("utf-8", "replace")
    assert "ValueError" in sent and "req-sentry-0001" in sent
    for secret in ("13812345678", "11010519850321002X", "phone="):
        assert secret not in sent, secret
