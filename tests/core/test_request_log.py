"""Production logs and error pages (issue 17): a request id on every log line and response, JSON lines in
production, Chinese 400 and 500 pages that need neither the database nor a logged-in user."""

import importlib
import json
import logging
import logging.config
import re

import pytest
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import path

from membercare.core.request_log import HEADER, incoming_id

log = logging.getLogger("membercare.tests.request_log")


def logs_something(request):
    log.warning("checkout refused")
    return HttpResponse("ok")


def breaks(request):
    raise RuntimeError("a bug")


def suspicious(request):
    raise SuspiciousOperation("a damaged request")


urlpatterns = [path("t/log/", logs_something), path("t/500/", breaks), path("t/400/", suspicious),
               *importlib.import_module("membercare.urls").urlpatterns]


def test_an_incoming_id_is_kept_only_when_it_is_a_plain_token():
    assert incoming_id("7b0c1e1f-5e2f-4d7a-9f00-3a1b2c3d4e5f") == "7b0c1e1f-5e2f-4d7a-9f00-3a1b2c3d4e5f"
    for bad in (None, "", "short", "x" * 65, "abc def 12345", "id\nforged log line", "<script>alert(1)"):
        made = incoming_id(bad)
        assert made != bad and re.fullmatch(r"[0-9a-f]{32}", made)


@override_settings(ROOT_URLCONF=__name__)
def test_every_log_line_of_a_request_carries_its_id_as_json(clerk, settings, capsys):
    config = dict(settings.LOGGING)
    config["handlers"] = {"console": {**settings.LOGGING["handlers"]["console"], "formatter": "json"}}
    logging.config.dictConfig(config)
    try:
        client = Client()
        client.force_login(clerk)
        given = client.get("/t/log/", headers={HEADER: "nginx-req-00000001"})
        made = client.get("/t/log/")
    finally:
        logging.config.dictConfig(settings.LOGGING)
    assert given[HEADER] == "nginx-req-00000001" and re.fullmatch(r"[0-9a-f]{32}", made[HEADER])
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "checkout refused" in line]
    assert [line["request_id"] for line in lines] == ["nginx-req-00000001", made[HEADER]]
    assert {line["level"] for line in lines} == {"WARNING"} and lines[0]["logger"] == "membercare.tests.request_log"


def test_production_logs_json_and_development_text(monkeypatch):
    import membercare.settings as s

    monkeypatch.setenv("LOG_FORMAT", "json")
    try:
        assert importlib.reload(s).LOGGING["handlers"]["console"]["formatter"] == "json"
        monkeypatch.setenv("LOG_FORMAT", "text")
        assert importlib.reload(s).LOGGING["handlers"]["console"]["formatter"] == "text"
    finally:
        monkeypatch.delenv("LOG_FORMAT")
        importlib.reload(s)


@pytest.mark.parametrize("url,status,title", [("/t/500/", 500, "系统出错了"), ("/t/400/", 400, "请求有误")])
@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_error_pages_are_chinese_and_stand_alone(clerk, url, status, title, django_assert_max_num_queries):
    client = Client(raise_request_exception=False)
    client.force_login(clerk)
    with django_assert_max_num_queries(3):  # the session and the user; the page itself reads nothing
        response = client.get(url)
    html = response.content.decode()
    assert response.status_code == status and f"<h1>{title}</h1>" in html and 'lang="zh-hans"' in html
    assert "Traceback" not in html and "a bug" not in html and "a damaged request" not in html
    assert response[HEADER]
