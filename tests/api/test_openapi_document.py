"""The OpenAPI document says what the server does (issue 16, defect 8)."""

import pytest
from django.urls import reverse

from membercare.api.api import api


@pytest.fixture
def schema():
    return api.get_openapi_schema()


def test_the_staff_search_and_the_pos_member_have_their_own_schemas(schema):
    components = schema["components"]["schemas"]
    search = schema["paths"]["/api/members/search"]["get"]["responses"][200]["content"]["application/json"]
    assert search["schema"]["$ref"] == "#/components/schemas/SearchOut"
    assert components["SearchOut"]["properties"]["results"]["items"]["$ref"] == "#/components/schemas/StaffMemberOut"
    assert set(components["StaffMemberOut"]["properties"]) == {"member_no", "name", "phone", "gender", "home_store"}
    assert "card" in components["MemberOut"]["properties"]  # the POS lookup's member


def test_every_write_requires_its_idempotency_key(schema):
    writes = [(path, op) for path, ops in schema["paths"].items() for method, op in ops.items()
              if method == "post" and path.startswith("/api/pos/") and "quote" not in path
              and path != "/api/pos/gift-cards/check"]  # reads by POST: a basket, a gift card's secret code
    assert "Idempotency-Key" not in str(schema["paths"]["/api/pos/gift-cards/check"]["post"].get("parameters"))
    assert writes
    for path, op in writes:
        header = [p for p in op["parameters"] if p["name"] == "Idempotency-Key"]
        assert header and header[0]["required"] is True and header[0]["schema"]["type"] == "string", path


def test_quantities_are_whole_numbers_from_one(schema, client, keys, member):
    for name in ("LineIn", "ReturnLineIn"):
        quantity = schema["components"]["schemas"][name]["properties"]["quantity"]
        assert quantity["type"] == "integer" and quantity["minimum"] == 1 and quantity["maximum"] == 9999
    r = client.post("/api/pos/quote", {"phone": "13800001234", "lines": [{"sku": "SHIRT", "quantity": True}]},
                    content_type="application/json", headers={"Authorization": f"Bearer {keys['SH01']}"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_body" and r.json()["field"] == "lines.0.quantity"


def test_the_document_is_served(client):
    assert client.get(reverse("api:openapi-json")).status_code == 200
