"""REST API (django-ninja; OpenAPI at /api/docs).

/api/pos/ is for POS systems, authenticated by per-store API keys (api/pos.py). The other endpoints
authenticate staff sessions, with the same permission rules as the web pages. Errors are always JSON
{"code", "message", "field"} (api/errors.py).
"""

import os

from ninja import NinjaAPI, Schema
from ninja.security import SessionAuth

from membercare.core.permissions import can_see_full_phone
from membercare.members.selectors import member_search

from .errors import install_error_handlers
from .mall import router as mall_router
from .pos import router as pos_router


class MemberCareAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        """The document as the server behaves: every write requires its Idempotency-Key header (the views take it
        as optional only to answer its absence with their own 400 idempotency_key_required)."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key":
                        parameter["required"] = True
                        parameter["schema"] = {"type": "string", "minLength": 1, "maxLength": 100,
                                               "title": "Idempotency-Key"}
        return schema


api = MemberCareAPI(title="MemberCare API", version="1", auth=SessionAuth(), urls_namespace="api")
install_error_handlers(api)
api.add_router("/pos/", pos_router)
api.add_router("/pos/", mall_router)  # the points mall at the till
api.add_router("/messaging/", "membercare.api.messaging.router")

if os.environ.get("MEMBERCARE_BENCH_ENDPOINT") == "1":  # the benchmark's reference endpoint, never in production
    from .bench_ref import router as bench_router

    api.add_router("/bench/", bench_router)


class StaffMemberOut(Schema):  # the staff search's shape (the POS API's MemberOut is another)
    member_no: str
    name: str
    phone: str
    gender: str
    home_store: str


class SearchOut(Schema):
    kind: str
    truncated: bool
    results: list[StaffMemberOut]


@api.get("/members/search", response=SearchOut, tags=["members"])
def members_search(request, q: str):
    """Find members as at the counter: card number, phone, last 4 digits, name or tag."""
    result = member_search(q)
    full = can_see_full_phone(request.auth)
    return {
        "kind": result.kind,
        "truncated": result.truncated,
        "results": [
            {"member_no": m.member_no, "name": m.name, "phone": m.phone if full else m.masked_phone,
             "gender": m.gender, "home_store": m.home_store.code}
            for m in result.members
        ],
    }
