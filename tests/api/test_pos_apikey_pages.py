"""The administrator's API key pages: list, issue (key shown once), revoke; nobody else gets in."""

import pytest
from django.utils import translation

from membercare.loyalty.models import ApiKey


@pytest.mark.parametrize("role_user", ["clerk", "manager", "specialist"])
def test_only_the_administrator_sees_the_pages(login, request, role_user, store):
    client = login(request.getfixturevalue(role_user))
    assert client.get("/settings/api-keys/").status_code == 403
    assert client.post("/settings/api-keys/new/", {"store": store.pk, "name": "x"}).status_code == 403
    assert not ApiKey.objects.exists()


def test_issue_shows_the_key_once_and_it_works(login, admin_user, store, client):
    page = login(admin_user)
    assert page.get("/settings/api-keys/new/").status_code == 200
    r = page.post("/settings/api-keys/new/", {"store": store.pk, "name": "收银机 1"})
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    key = ApiKey.objects.get()
    plaintext = r.context["plaintext"]
    assert plaintext.startswith(f"mc_{key.prefix}_") and plaintext in r.content.decode()
    listing = page.get("/settings/api-keys/").content.decode()
    assert "收银机 1" in listing and key.prefix in listing and plaintext not in listing
    r = client.get("/api/pos/cards/NOPE", headers={"Authorization": f"Bearer {plaintext}"})
    assert r.status_code == 404 and r.json()["code"] == "card_unknown"  # authenticated: the card is what is missing


def test_a_key_needs_a_name(login, admin_user, store):
    with translation.override("en"):
        r = login(admin_user).post("/settings/api-keys/new/", {"store": store.pk, "name": ""},
                                   headers={"Accept-Language": "en"})
    assert r.status_code == 200 and r.context["form"].errors["name"]
    assert not ApiKey.objects.exists()


def test_revoke_from_the_page(login, admin_user, store, client):
    page = login(admin_user)
    page.post("/settings/api-keys/new/", {"store": store.pk, "name": "till"})
    key = ApiKey.objects.get()
    assert page.get(f"/settings/api-keys/{key.pk}/revoke/").status_code == 405  # POST only
    r = page.post(f"/settings/api-keys/{key.pk}/revoke/")
    assert r.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    listing = page.get("/settings/api-keys/", headers={"Accept-Language": "en"}).content.decode()
    assert f"/settings/api-keys/{key.pk}/revoke/" not in listing and "Revoked" in listing
