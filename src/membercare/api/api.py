"""REST API for POS systems (django-ninja; OpenAPI at /api/docs).

The loyalty issue adds per-store API keys and the checkout endpoints. Until then staff sessions
authenticate, with the same permission rules as the web pages.
"""

from ninja import NinjaAPI, Schema
from ninja.security import SessionAuth

from membercare.core.permissions import can_see_full_phone
from membercare.members.selectors import member_search

api = NinjaAPI(title="MemberCare API", version="1", auth=SessionAuth(), urls_namespace="api")


class MemberOut(Schema):
    member_no: str
    name: str
    phone: str
    gender: str
    home_store: str


class SearchOut(Schema):
    kind: str
    truncated: bool
    results: list[MemberOut]


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
