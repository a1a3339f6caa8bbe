"""The REST API: authenticated, masked per role, documented at /api/docs."""

from tests.factories import MemberFactory


def test_search_needs_authentication(client, db):
    assert client.get("/api/members/search", {"q": "5678"}).status_code == 401


def test_search_masks_phones_for_a_clerk(login, clerk, store):
    MemberFactory(home_store=store, phone="13912345678", name="王芳")
    body = login(clerk).get("/api/members/search", {"q": "5678"}).json()
    assert body["kind"] == "last4"
    assert [r["phone"] for r in body["results"]] == ["139****5678"]


def test_search_shows_full_phones_to_the_specialist(login, specialist, store):
    MemberFactory(home_store=store, phone="13912345678", name="王芳")
    body = login(specialist).get("/api/members/search", {"q": "王芳"}).json()
    assert body["kind"] == "name" and body["results"][0]["phone"] == "13912345678"


def test_openapi_is_published(login, clerk):
    schema = login(clerk).get("/api/openapi.json").json()
    assert "/api/members/search" in schema["paths"]
