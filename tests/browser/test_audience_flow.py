"""Browser (1024×768): the VIP specialist builds "women, card level at least the second level, birthday next month,
not contacted in 30 days" in the audience builder, sees the live count, saves it, and uses it for a bulk send and
a coupon batch (each freezing the members then). The builder's screenshot goes to /tmp/shots-aud/."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import expect

from membercare.audiences.conditions import levels
from membercare.audiences.models import Audience, AudienceSnapshotMember
from membercare.campaigns.models import Coupon
from membercare.campaigns.services import batch_create
from membercare.care.models import Contact
from membercare.loyalty.models import Card
from membercare.messaging.models import BulkSend, Category, MessageTemplate
from membercare.org.models import Role
from tests.factories import BrandFactory, MemberFactory, StaffFactory, StoreFactory

SHOTS = Path("/tmp/shots-aud")


def _add(page, kind: str, path: str = "include") -> None:
    page.select_option(f"select[name='addtype-{path}']", kind)
    with page.expect_response(lambda r: r.request.method == "POST" and "/audiences/new/" in r.url):
        page.click(f"button[value='add:{path}']")
    page.wait_for_selector(f"#editor .cond[data-type='{kind}']")


def test_specialist_builds_saves_and_uses_an_audience(page, login_as):
    today = timezone.localdate()
    nxt = (today.replace(day=1) + dt.timedelta(days=32)).month
    brand = BrandFactory()
    store = StoreFactory(brand=brand)
    second = levels()[1][0]

    def member(gender="F", month=nxt, card=second, contacted=False):
        m = MemberFactory(home_store=store, gender=gender, birthday=dt.date(1990, month, 10), consent_sms=True)
        if card:
            Card.objects.create(number=f"C{m.pk:08d}", member=m, kind=card, brand=brand, issued_at=timezone.now())
        if contacted:
            Contact.objects.create(member=m, at=timezone.now() - dt.timedelta(days=3), channel="phone",
                                   outcome="reached")
        return m

    target = [member(), member()]
    member(gender="M"), member(card="accumulation"), member(month=(nxt % 12) + 1), member(contacted=True)
    specialist = StaffFactory(role=Role.SPECIALIST)
    MessageTemplate.objects.create(name="生日月关怀", category=Category.BIRTHDAY,
                                   body="{title}，祝您生日快乐！{store}{clerk}", updated_at=timezone.now())
    batch = batch_create(by=specialist, name="生日月礼券", brand=brand, kind="amount", value=Decimal("100"),
                         valid_from=today, valid_to=today + dt.timedelta(days=60))

    page.set_viewport_size({"width": 1024, "height": 768})
    login_as(page, specialist)
    page.goto("/audiences/new/")
    page.fill("#aud-name", "下月生日的女士")
    _add(page, "gender")
    page.check("#editor .cond[data-type='gender'] input[value='F']")
    _add(page, "level")
    page.select_option("select[name='v-include.1-op']", "at_least")
    page.select_option("select[name='v-include.1-level']", second)
    _add(page, "birthday_month")
    page.check("#editor .cond[data-type='birthday_month'] input[value='next']")
    _add(page, "not_contacted")
    assert page.input_value("input[name='v-include.3-days']") == "30"
    page.fill("input[name='v-include.3-days']", "30")
    expect(page.locator("#audience-count")).to_have_text("2")
    assert page.locator("#audience-sample li").count() == 2
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "audience_builder_1024x768.png"))  # where the last condition was added
    page.locator("h1").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "audience_builder_top_1024x768.png"))
    with page.expect_navigation():
        page.click("button[value='save']")
    audience = Audience.objects.get(name="下月生日的女士")
    assert re.search(rf"/audiences/{audience.pk}/$", page.url)
    assert [i["type"] for i in audience.definition["include"]["items"]] == ["gender", "level", "birthday_month",
                                                                            "not_contacted"]

    page.goto("/messaging/bulk/new/")
    page.fill("#id_name", "下月生日祝福")
    page.select_option("#id_template", label="生日月关怀")
    page.select_option("#id_saved_audience", str(audience.pk))
    with page.expect_navigation():
        page.click("button[value='preview']")
    assert page.locator("#bulk-preview").is_visible()
    with page.expect_navigation():
        page.click("button[value='schedule']")
    bulk = BulkSend.objects.get(name="下月生日祝福")
    frozen = AudienceSnapshotMember.objects.filter(snapshot_id=bulk.audience["audience_snapshot"])
    assert set(frozen.values_list("member_id", flat=True)) == {m.pk for m in target}

    page.goto(f"/campaigns/coupons/{batch.pk}/issue/")
    page.select_option("#id_saved_audience", str(audience.pk))
    page.fill("#id_holdout_percent", "0")
    page.uncheck("#id_send_message")
    with page.expect_navigation():
        page.click("button[value='preview']")
    assert page.locator("#preview-issue").inner_text() == "2"
    with page.expect_navigation():
        page.click("button[value='issue']")
    assert set(Coupon.objects.filter(batch=batch).values_list("member_id", flat=True)) == {m.pk for m in target}
    page.problems.assert_none()
