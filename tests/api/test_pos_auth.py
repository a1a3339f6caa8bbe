"""POS API authentication: per-store keys, revoked at once, last use recorded cheaply."""

import datetime as dt

import pytest
from django.utils import timezone

from membercare.loyalty.apikeys import apikey_authenticate, apikey_issue, apikey_revoke
from membercare.loyalty.models import ApiKey

from .conftest import Pos


def test_no_key_is_refused(client, chain, member):
    r = client.get("/api/pos/members/lookup", {"phone": "13800001234"})
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


@pytest.mark.parametrize("header", ["Bearer mc_nope_nope", "Bearer garbage", "Basic abc", "Bearer "])
def test_a_wrong_key_is_refused(client, keys, member, header):
    r = client.get("/api/pos/members/lookup", {"phone": "13800001234"}, headers={"Authorization": header})
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


def test_a_right_prefix_with_a_wrong_secret_is_refused(client, keys, member):
    prefix = keys["SH01"].split("_")[1]
    r = client.get("/api/pos/members/lookup", {"phone": "13800001234"},
                   headers={"Authorization": f"Bearer mc_{prefix}_wrongsecret"})
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


def test_x_api_key_header_works_too(client, keys, member):
    r = client.get("/api/pos/members/lookup", {"phone": "13800001234"}, headers={"X-Api-Key": keys["SH01"]})
    assert r.status_code == 200 and r.json()["phone"] == "138****1234"


def test_a_revoked_key_stops_working_at_once(client, pos, hq_admin, chain, member):
    assert pos.get("members/lookup", {"phone": "13800001234"})[0] == 200
    key = ApiKey.objects.get(store=chain.shop)
    apikey_revoke(key=key, by=hq_admin)
    status, body = pos.get("members/lookup", {"phone": "13800001234"})
    assert status == 401 and body["code"] == "api_key_revoked"
    status, body = pos.checkout(("SHIRT", 1))
    assert status == 401 and body["code"] == "api_key_revoked"


def test_a_closed_store_s_key_is_refused(pos, chain, member):
    chain.shop.is_active = False
    chain.shop.save()
    status, body = pos.get("members/lookup", {"phone": "13800001234"})
    assert status == 403 and body["code"] == "store_inactive"


def test_a_staff_session_does_not_open_the_pos_api(login, hq_admin, member):
    r = login(hq_admin).get("/api/pos/members/lookup", {"phone": "13800001234"})
    assert r.status_code == 401


def test_the_session_search_endpoint_still_works_for_staff(login, hq_admin, member):
    assert login(hq_admin).get("/api/members/search", {"q": "1234"}).status_code == 200


def test_only_a_hash_is_stored_and_the_key_names_its_store(chain, hq_admin):
    key, plain = apikey_issue(store=chain.shop2, name="收银机 2", by=hq_admin)
    assert plain.startswith(f"mc_{key.prefix}_") and len(plain) > 40
    assert plain.split("_", 2)[2] not in key.key_hash and len(key.key_hash) == 64
    assert apikey_authenticate(plain).store == chain.shop2


def test_only_the_administrator_issues_and_revokes(chain, specialist, hq_admin):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        apikey_issue(store=chain.shop, name="x", by=specialist)
    key, _plain = apikey_issue(store=chain.shop, name="x", by=hq_admin)
    with pytest.raises(PermissionDenied):
        apikey_revoke(key=key, by=specialist)
    assert ApiKey.objects.get().revoked_at is None


def test_a_key_needs_a_name(chain, hq_admin):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        apikey_issue(store=chain.shop, name="  ", by=hq_admin)
    assert not ApiKey.objects.exists()


def test_last_use_is_written_at_most_once_a_minute(client, keys, chain, member):
    pos = Pos(client, keys["SH01"])
    pos.get("members/lookup", {"phone": "13800001234"})
    key = ApiKey.objects.get(store=chain.shop)
    first = key.last_used_at
    assert first is not None
    pos.get("members/lookup", {"phone": "13800001234"})
    key.refresh_from_db()
    assert key.last_used_at == first  # not rewritten within the minute
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - dt.timedelta(minutes=2))
    pos.get("members/lookup", {"phone": "13800001234"})
    key.refresh_from_db()
    assert key.last_used_at > first - dt.timedelta(seconds=1) and key.last_used_at > timezone.now() - dt.timedelta(
        seconds=30)


# Writes may take the key from the process's memory; the write's own transaction confirms it.


def _sales():
    from membercare.loyalty.models import PointsEntry
    from membercare.sales.models import Receipt

    return Receipt.objects.count(), PointsEntry.objects.count()


def test_a_checkout_with_a_remembered_key_revoked_since_is_refused_and_writes_nothing(pos, hq_admin, chain,
                                                                                       member):
    assert pos.checkout(("SHIRT", 1))[0] == 201  # the key is now remembered by this process
    before = _sales()
    apikey_revoke(key=ApiKey.objects.get(store=chain.shop), by=hq_admin)
    status, body = pos.checkout(("SHIRT", 1))
    assert status == 401 and body["code"] == "api_key_revoked" and body["message"] == "此 API 密钥已被吊销。"
    assert _sales() == before
    status, body = pos.checkout(("NOPE", 1))  # a refusal is not recorded under a revoked key either
    assert status == 401 and body["code"] == "api_key_revoked"


def test_a_checkout_with_a_remembered_key_of_a_store_closed_since_is_refused(pos, chain, member):
    assert pos.checkout(("SHIRT", 1))[0] == 201
    before = _sales()
    chain.shop.is_active = False
    chain.shop.save()
    status, body = pos.checkout(("SHIRT", 1))
    assert status == 403 and body["code"] == "store_inactive"
    assert _sales() == before


def test_a_remembered_prefix_with_a_wrong_secret_is_refused(client, keys, pos, chain, member):
    assert pos.checkout(("SHIRT", 1))[0] == 201
    prefix = keys["SH01"].split("_")[1]
    status, body = Pos(client, f"mc_{prefix}_wrongsecret").checkout(("SHIRT", 1))
    assert status == 401 and body["code"] == "unauthenticated"


def test_a_repeated_checkout_does_not_look_the_key_up_again(pos, chain, member):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert pos.checkout(("SHIRT", 1))[0] == 201
    with CaptureQueriesContext(connection) as ctx:
        assert pos.checkout(("SHIRT", 1))[0] == 201
    touching_keys = [q["sql"] for q in ctx.captured_queries if "loyalty_apikey" in q["sql"]]
    assert len(touching_keys) == 1 and touching_keys[0].startswith("INSERT INTO")  # only the record's confirmation


@pytest.mark.parametrize("change", ["code", "brand"])
def test_a_checkout_with_a_remembered_key_whose_store_changed_since_is_refused_once(pos, chain, member, change):
    assert pos.checkout(("SHIRT", 1))[0] == 201
    before = _sales()
    if change == "code":
        chain.shop.code = "SH09"
    else:
        chain.shop.brand = chain.shop2.brand.__class__.objects.create(company=chain.main.company, code="NEW",
                                                                        name="新品牌")
    chain.shop.save()
    status, body = pos.checkout(("SHIRT", 1), idem="same-sale")
    assert status == 409 and body["code"] == "store_changed" and body["message"].startswith("门店信息")
    assert _sales() == before  # nothing was recorded under the store's old details
    status, body = pos.checkout(("SHIRT", 1), idem="same-sale")  # sent again: the key is looked up afresh
    assert status == 201 and body["store"] == chain.shop.code
    assert body["number"].startswith("SH09-" if change == "code" else "SH01-")
