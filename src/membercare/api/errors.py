"""Errors of the API: always JSON {"code": ..., "message": ..., "field": ...} with a stable code.

The message follows the request's language (Accept-Language: zh-hans by default, en).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from membercare.sales.pipeline import CheckoutError

logger = logging.getLogger("membercare.api")


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


class ApiError(Exception):
    """An error answered as JSON with `status`, a stable `code` and a translated `message`."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    @property
    def payload(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.field)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": str(message), "field": field}


def error_response(status: int, code: str, message: str, field: str | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, field), status=status, json_dumps_params={"ensure_ascii": False})


def checkout_error_body(exc: CheckoutError) -> dict[str, Any]:
    return error_body(exc.error_code, exc.text, exc.field)


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    """(dotted field, readable text) of one pydantic error, e.g. ("lines.0.quantity", "Input should be ...")."""
    loc = [str(part) for part in error.get("loc", ())]
    if loc and loc[0] in ("body", "query", "path", "header"):
        loc = loc[1:]
    if loc and loc[0] == "payload":  # the view's parameter name, not part of the JSON
        loc = loc[1:]
    return ".".join(loc), str(error.get("msg", ""))


def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = list(exc.errors)
    first = errors[0] if errors else {}
    where = str((first.get("loc") or ("body",))[0])
    field, text = _describe(first)
    detail = "; ".join(f"{f or '(body)'}: {t}" for f, t in (_describe(e) for e in errors[:5]))
    if where == "body":
        return error_response(422, "invalid_body", _("The request body is invalid: %(detail)s") % {"detail": detail},
                              field or None)
    return error_response(422, "invalid_parameter", _("A request parameter is invalid: %(detail)s") % {
        "detail": detail}, field or None)


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        return error_response(422, "invalid_body", _("The request body is not valid JSON."))
    if exc.status_code == 404:
        return error_response(404, "not_found", _("Not found."))
    return error_response(exc.status_code, "http_error", str(exc))


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ApiError)
    def _api_error(request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.field)

    @api.exception_handler(CheckoutError)
    def _checkout_error(request, exc: CheckoutError):
        return error_response(422, exc.error_code, exc.text, exc.field)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request, exc):
        return error_response(401, "unauthenticated", _("Authentication required."))

    @api.exception_handler(PermissionDenied)
    def _forbidden(request, exc):
        return error_response(403, "forbidden", _("You may not do this."))

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return error_response(404, "not_found", _("Not found."))

    @api.exception_handler(DjangoValidationError)
    def _invalid(request, exc: DjangoValidationError):  # a service's refusal without a code of its own
        field = next(iter(exc.error_dict), None) if hasattr(exc, "error_dict") else None
        return error_response(422, "invalid", exc.messages[0] if exc.messages else _("Invalid."),
                              None if field == "__all__" else field)

    @api.exception_handler(Exception)
    def _server_error(request, exc: Exception):  # logged with its traceback; the POS still gets JSON
        logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
        return error_response(500, "server_error", _("Something went wrong on the server; nothing was recorded. "
                                                     "Retry with the same Idempotency-Key."))

    api.add_exception_handler(NinjaValidationError, _validation_error)
    api.add_exception_handler(HttpError, _http_error)
