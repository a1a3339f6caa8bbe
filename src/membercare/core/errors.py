"""Error reporting to Sentry (sentry-sdk) without personal data.

The SDK's Django and Celery integrations catch what the web requests and the background tasks raise. What
leaves the machine is stripped first (`scrub`): no cookies, headers or request bodies, no query strings, no
user, no local variables, and any run of 11 digits (a Chinese mobile phone) or 17 digits and a check character
(an ID number) in a message or exception value is masked. The request's id goes along as a tag.
"""

from __future__ import annotations

import re
from typing import Any

PHONE_OR_ID = re.compile(r"(?<!\d)(?:1\d{10}|\d{17}[\dXx])(?!\d)")


def _mask(text: Any) -> Any:
    return PHONE_OR_ID.sub("[masked]", text) if isinstance(text, str) else text


def scrub(event: dict[str, Any], _hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's before_send: the event without personal data."""
    from .request_log import request_id

    request = event.get("request") or {}
    event["request"] = {k: v for k, v in request.items() if k in ("url", "method")}
    if "url" in event["request"]:
        event["request"]["url"] = event["request"]["url"].split("?", 1)[0]
    event.pop("user", None)
    for exc in (event.get("exception") or {}).get("values", []):
        exc["value"] = _mask(exc.get("value"))
        for frame in (exc.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
    if isinstance(event.get("logentry"), dict):
        event["logentry"] = {k: _mask(v) for k, v in event["logentry"].items()}
    event["message"] = _mask(event.get("message"))
    event.setdefault("tags", {})["request_id"] = request_id.get()
    event.pop("breadcrumbs", None)  # SQL statements and log lines may carry members' data
    return event


def sentry_init(dsn: str, *, environment: str = "production") -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(dsn=dsn, environment=environment, send_default_pii=False, include_local_variables=False,
                    max_breadcrumbs=0, traces_sample_rate=0, before_send=scrub,
                    integrations=[DjangoIntegration(), CeleryIntegration()])
