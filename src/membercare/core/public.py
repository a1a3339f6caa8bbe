"""Public links (survey links, event RSVP links inside members' messages) start with one base address.

`public_base_url()` picks, in this order:
1. settings.MEMBERCARE_PUBLIC_URL (environment variable of the same name; `make demo` sets it from HOST),
2. the host of the request being served (`PublicUrlMiddleware` remembers it for the request's duration, so a
   service that builds a link while a page is handled needs no request passed down),
3. http://127.0.0.1:8000 (a job with neither: only in development).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

FALLBACK = "http://127.0.0.1:8000"

_request_base: ContextVar[str] = ContextVar("membercare_request_base_url", default="")


def public_base_url(request: HttpRequest | None = None) -> str:
    """The address public links start with, without a trailing slash."""
    configured = (getattr(settings, "MEMBERCARE_PUBLIC_URL", "") or "").strip()
    if configured:
        return configured.rstrip("/")
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return (_request_base.get() or FALLBACK).rstrip("/")


class PublicUrlMiddleware:
    """Remembers the request's own address (scheme and host) while it is served, for `public_base_url()`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            base = request.build_absolute_uri("/")
        except DisallowedHost:  # a host outside ALLOWED_HOSTS gets its 400 elsewhere
            base = ""
        token = _request_base.set(base)
        try:
            return self.get_response(request)
        finally:
            _request_base.reset(token)
