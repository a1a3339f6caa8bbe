"""Bounds on what reaches the API's views: the body's size and control characters in any text.

Written by hand (a few lines, no library does this for JSON bodies): before a view runs, an /api/ request
whose body exceeds MAX_BODY_BYTES is answered 413, and one with a control character (NUL and the other C0
codes but tab, newline and carriage return; DEL; C1) in its path, a query parameter or any string of its
JSON body is answered 422 naming the field — the database would otherwise fail on NUL with a 500. The
check costs a byte search per request; the body is parsed only when it holds a \\u escape.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from membercare.core.text import CONTROL

from .errors import error_response

MAX_BODY_BYTES = 256 * 1024  # a 200-line basket is ~20 KB


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, text) of every string (keys included) in a decoded JSON value."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, str(key)
            yield from _strings(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}.{i}" if path else str(i))


def _refuse(field: str, where: str) -> HttpResponse:
    code = "invalid_body" if where == "body" else "invalid_parameter"
    return error_response(422, code, _("%(field)s: control characters are not allowed.") % {"field": field}, field)


class ApiInputGuard:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/"):
            refusal = self.check(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def check(self, request: HttpRequest) -> HttpResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            return error_response(413, "body_too_large", _("The request body is larger than %(kb)d KB.") % {
                "kb": MAX_BODY_BYTES // 1024})
        if CONTROL.search(request.path_info):
            return _refuse("path", "path")
        for key, values in request.GET.lists():
            if CONTROL.search(key) or any(CONTROL.search(v) for v in values):
                return _refuse(key, "query")
        if length and request.content_type == "application/json":
            body = request.body
            if len(body) > MAX_BODY_BYTES:  # a body longer than it said
                return error_response(413, "body_too_large", _("The request body is larger than %(kb)d KB.") % {
                    "kb": MAX_BODY_BYTES // 1024})
            if b"\\u" in body or CONTROL.search(body.decode("utf-8", "replace")):
                try:
                    data = json.loads(body)
                except ValueError:
                    return None  # the view answers invalid JSON itself
                for field, text in _strings(data):
                    if CONTROL.search(text):
                        return _refuse(field or "(body)", "body")
        return None
