"""The Content-Security-Policy (issue 16): sent on every page, and the templates leave nothing it refuses —
no inline <script>, no on...= handler, no hx-on (htmx's eval is off)."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "membercare" / "web" / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.I)


def test_no_template_has_inline_script_or_handlers():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, HANDLER):
            offenders += [f"{path.relative_to(TEMPLATES)}: {m.group(0).strip()}" for m in pattern.finditer(text)
                          if 'type="application/json"' not in m.group(0)]
    assert offenders == []


@pytest.mark.django_db
def test_pages_send_the_policy(client, specialist):
    client.force_login(specialist)
    for response in (client.get(reverse("member_list")), client.get("/login/")):
        policy = response.headers["Content-Security-Policy"]
        for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'",
                          "form-action 'self'"):
            assert directive in policy
        assert "unsafe-eval" not in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
