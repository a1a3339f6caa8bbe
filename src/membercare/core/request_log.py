"""A request id on every log line and response, and the JSON log format of production.

Written here rather than taken from a library: django-log-request-id and django-guid are not in the package
index this project installs from, and what is needed is small — a middleware that takes the proxy's
X-Request-ID (when it is a short token) or makes one, keeps it in a context variable for the request's
duration, returns it in the response's X-Request-ID header, and a logging filter that puts it on every record.
The JSON formatting itself is python-json-logger's.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
_VALID = re.compile(r"[A-Za-z0-9._:-]{8,64}")  # what nginx's $request_id and a UUID look like; nothing else
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def incoming_id(value: str | None) -> str:
    """The proxy's id when it is a plain token of 8 to 64 characters, else a new one (never a client's
    arbitrary text in our logs)."""
    return value if value and _VALID.fullmatch(value) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = incoming_id(request.headers.get(HEADER))
        request.request_id = rid
        token = request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response[HEADER] = rid
        return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (or "-" outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True
