"""Audiences: validation refusals (named, nothing written), scope and permissions per role, the builder page, and a
saved audience used by a bulk send and a coupon issue (frozen; promotions exclude seed 004's segments)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from membercare.audiences.definition import MAX_CONDITIONS, DefinitionError, clean_definition
from membercare.audiences.models import Audience, AudienceSnapshotMember
from membercare.audiences.selectors import audience_count, audience_sample, visible_audiences
from membercare.audiences.services import audience_create, audience_update
from membercare.campaigns.services import batch_create, coupon_issue
from membercare.care.models import MemberSegments
from membercare.messaging.bulk import bulk_schedule
from membercare.messaging.models import Category, MessageTemplate
from membercare.org.models import Role
from tests.factories import BrandFactory, MemberFactory, StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db

WOMEN = {"include": {"op": "and", "items": [{"type": "gender", "params": {"values": ["F"]}}]},
         "exclude": {"op": "or", "items": []}}


def test_refusals_name_the_condition_and_write_nothing():
    specialist = StaffFactory(role=Role.SPECIALIST)
    bad = {"include": {"op": "and", "items": [{"type": "age", "params": {"min": "50", "max": "20"}},
                                              {"type": "gender", "params": {"values": ["X"]}},
                                              {"type": "nope", "params": {}}]}}
    with pytest.raises(ValidationError) as exc:
        audience_create(by=specialist, name="", definition=bad)
    text = " ".join(sum(exc.value.message_dict.values(), []))
    assert "纳入条件 1“年龄”：下限高于上限" in text and "纳入条件 2“性别”" in text
    assert "纳入条件 3：未知的条件" in text and "name" in exc.value.message_dict
    assert not Audience.objects.exists()


def test_bounds_depth_and_size():
    deep = {"op": "and", "items": [{"op": "or", "items": [{"op": "and", "items": [{"op": "or", "items": []}]}]}]}
    with pytest.raises(DefinitionError) as exc:
        clean_definition({"include": deep})
    assert any("最多嵌套 3 层" in m for _p, m in exc.value.problems)
    many = {"include": {"op": "and",
                        "items": [{"type": "gender", "params": {"values": ["F"]}}] * (MAX_CONDITIONS + 1)}}
    with pytest.raises(DefinitionError):
        clean_definition(many)
    with pytest.raises(DefinitionError):
        clean_definition("x" * 60_000)
    with pytest.raises(DefinitionError):
        clean_definition({"include": {"op": "and", "items": [{"type": "age", "params": {"min": "1e9"}}]}})


def test_scope_and_permissions():
    a, b = StoreFactory(), StoreFactory()
    MemberFactory(home_store=a), MemberFactory(home_store=b), MemberFactory(home_store=b, gender="M")
    manager = StaffFactory(role=Role.MANAGER, stores=[a])
    clerk = StaffFactory(role=Role.CLERK, stores=[a])
    specialist = StaffFactory(role=Role.SPECIALIST)
    chain = audience_create(by=specialist, name="全部女士", definition=WOMEN)
    assert audience_count(chain) == 2
    assert audience_count(chain, user=manager) == 1  # a manager counts their own stores' members only
    mine = audience_create(by=manager, name="本店女士", definition=WOMEN)
    assert list(mine.stores.all()) == [a] and audience_count(mine) == 1
    assert set(visible_audiences(manager)) == {mine} and set(visible_audiences(specialist)) == {chain, mine}
    with pytest.raises(ValidationError):
        audience_create(by=manager, name="别店", definition=WOMEN, stores=[b])
    with pytest.raises(PermissionDenied):
        audience_update(chain, by=manager, name="x", definition=WOMEN)
    with pytest.raises(PermissionDenied):
        audience_create(by=clerk, name="x", definition=WOMEN)
    assert all("****" in row["phone"] for row in audience_sample(chain, 10))


def test_builder_page_roles(client):
    store = StoreFactory()
    MemberFactory(home_store=store)
    client.force_login(StaffFactory(role=Role.CLERK, stores=[store]))
    assert client.get("/audiences/").status_code == 403
    client.force_login(StaffFactory(role=Role.SPECIALIST))
    builder = client.get("/audiences/new/")
    assert builder.status_code == 200
    # the site's menu keeps its headings (the builder's own menu of conditions once hid them)
    assert b"<summary></summary>" not in builder.content and builder.content.count(b"<summary>") >= 4
    assert b'<optgroup label="' in builder.content
    post = {"name": "女士", "node": ["include.0"], "t-include.0": "gender", "v-include.0-values": ["F"],
            "op-include": "and", "op-exclude": "or", "action": "add:include", "addtype-include": "level"}
    page = client.post("/audiences/new/", post, HTTP_HX_REQUEST="true")
    assert b'data-type="level"' in page.content and b'value="F" checked' in page.content
    count = client.post("/audiences/count/", post)
    assert b'id="audience-count">1<' in count.content
    refused = client.post("/audiences/new/", {**post, "action": "save", "v-include.0-values": ["Q"]})
    assert refused.status_code == 200 and not Audience.objects.exists() and b'value="\xe5\xa5\xb3\xe5\xa3\xab"' in \
        refused.content
    saved = client.post("/audiences/new/", {**post, "action": "save"})
    assert saved.status_code == 302 and Audience.objects.get().definition["include"]["items"][0]["type"] == "gender"


def test_bulk_send_and_coupon_issue_freeze_and_exclude_by_default(client):
    store = StoreFactory()
    plain, high, low = (MemberFactory(home_store=store, consent_sms=True) for _ in range(3))
    day = timezone.localdate()
    MemberSegments.objects.create(member=high, computed_on=day, lifecycle="active", high_ticket=True)
    MemberSegments.objects.create(member=low, computed_on=day, lifecycle="active", low_ticket_low_freq=True)
    specialist = StaffFactory(role=Role.SPECIALIST)
    audience = audience_create(by=specialist, name="女士", definition=WOMEN)
    promo = MessageTemplate.objects.create(name="促销", category=Category.PROMOTION, body="{name}您好，新品八折",
                                           updated_at=timezone.now())
    bulk = bulk_schedule(name="八折", template=promo, audience={"saved_audience": audience.pk},
                         scheduled_at=timezone.now(), by=specialist)
    snap = bulk.audience["audience_snapshot"]
    assert set(AudienceSnapshotMember.objects.filter(snapshot_id=snap).values_list("member_id", flat=True)) == {
        plain.pk}
    MemberFactory(home_store=store)  # joins later: not in the frozen list
    assert bulk.preview["total"] == 1
    client.force_login(specialist)
    detail = client.get(f"/messaging/bulk/{bulk.pk}/").content.decode()
    assert "女士 · " in detail and "确定的 1 位会员" in detail
    batch = batch_create(by=specialist, name="满减", brand=BrandFactory(), kind="amount", value=Decimal("50"),
                         valid_from=day, valid_to=day + dt.timedelta(days=30))
    issue = coupon_issue(batch=batch, audience={"saved_audience": audience.pk, "include_segments": ["high_ticket"]},
                         holdout_share=0, by=specialist)
    got = set(issue.coupons.values_list("member_id", flat=True))
    assert high.pk in got and low.pk not in got and plain.pk in got


def test_builder_pages_show_no_english(client):
    """Every condition type on the editor (each with a parameter problem, so the messages show too), the list and the
    live count, read as tests/web/test_untranslated.py reads pages."""
    from membercare.audiences.conditions import CONDITIONS
    from tests.web.test_untranslated import english_in, visible_text

    store = StoreFactory()
    MemberFactory(home_store=store)
    specialist = StaffFactory(role=Role.SPECIALIST)
    client.force_login(specialist)
    every = {"include": {"op": "and", "items": [{"type": code, "params": {}} for code in CONDITIONS]}}
    good = audience_create(by=specialist, name="女士", definition=WOMEN)
    post = {"name": "全部条件", "op-include": "and", "op-exclude": "or", "action": "save",
            "node": [f"include.{i}" for i in range(len(every["include"]["items"]))]}
    for i, item in enumerate(every["include"]["items"]):
        post[f"t-include.{i}"] = item["type"]
    pages = [client.get("/audiences/", HTTP_ACCEPT_LANGUAGE="zh-hans"),
             client.get(f"/audiences/{good.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans"),
             client.post("/audiences/new/", post, HTTP_ACCEPT_LANGUAGE="zh-hans"),
             client.post("/audiences/count/", post, HTTP_ACCEPT_LANGUAGE="zh-hans"),
             client.post("/audiences/count/", {"node": ["include.0"], "t-include.0": "gender",
                                               "v-include.0-values": ["F"]}, HTTP_ACCEPT_LANGUAGE="zh-hans")]
    found = []
    for page in pages:
        assert page.status_code == 200
        texts, _links = visible_text(page.content.decode())
        found += [snippet for text in texts for snippet in english_in(text)]
    assert not found, found
    assert len(CONDITIONS) >= 17  # the built-in ones, prediction's and service's
