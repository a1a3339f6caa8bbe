"""Perks on the staff member profile (with a use recorded there) and on the member centre's card page."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from membercare.checkout.pipeline import LineIn, checkout_post
from membercare.loyalty.models import Card, PerkUse
from membercare.membercentre.services import session_start
from tests.loyalty.conftest import chain, member  # noqa: F401

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def diamond(chain, member):  # noqa: F811
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 3)],
                  sold_at=dt.datetime(2026, 11, 1, 12, tzinfo=TZ))  # ¥15,000 on one receipt: diamond
    return Card.objects.get(member=member, kind="diamond")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_profile_shows_perks_left_and_records_a_use(client, chain, member, diamond):  # noqa: F811
    client.force_login(chain.clerk)
    url = reverse("member_detail", args=[member.pk])
    page = client.get(url).content.decode()
    panel = _text(page[page.index('id="member-perks"'):page.index("</div>", page.index('id="member-perks"'))])
    assert "免费改衣 剩 4/4 次，每季度 · 至 2026-12-31" in panel
    assert "机场绿色通道 剩 2/2 次，每年 · 至 2026-12-31" in panel and "邮寄会刊 不限次数" in panel
    response = client.post(reverse("member_perk_use", args=[member.pk]), {"perk": "airport", "note": "深圳机场"})
    assert response.status_code == 302
    use = PerkUse.objects.get()
    assert (use.perk_code, use.store_id, use.clerk_id, use.note, use.receipt_id) == (
        "airport", chain.shop.pk, chain.clerk.pk, "深圳机场", None)
    client.post(reverse("member_perk_use", args=[member.pk]), {"perk": "airport"})
    page = client.get(client.post(reverse("member_perk_use", args=[member.pk]), {"perk": "airport"})["Location"])
    assert "本年度机场绿色通道已用 2 次（每年 2 次）。" in page.content.decode()
    assert PerkUse.objects.count() == 2


def test_the_member_centre_card_shows_my_perks(client, chain, member, diamond):  # noqa: F811
    PerkUse.objects.create(member=member, card_number=diamond.number, tier="diamond", perk_code="alteration",
                           perk_name="免费改衣", period_key="2026-Q4", store=chain.shop,
                           used_at=dt.datetime(2026, 11, 2, tzinfo=TZ))
    client.cookies["mc_member"] = session_start(member=member)
    html = client.get("/m/card/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    block = _text(html[html.index('id="my-perks"'):])
    assert "我的权益" in block and "免费改衣 至 2026-12-31 剩 3/4 次，每季度" in block


def test_a_mistaken_use_is_reversed_with_a_reason_by_its_clerk_that_day_or_the_manager(client, chain, member,  # noqa: F811
                                                                                      diamond):
    from tests.factories import StaffFactory

    client.force_login(chain.clerk)
    client.post(reverse("member_perk_use", args=[member.pk]), {"perk": "airport", "note": "订错了"})
    use = PerkUse.objects.get()
    url = reverse("member_perk_reverse", args=[member.pk, use.pk])
    page = client.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert f'action="{url}"' in page and "撤销原因" in page
    # a reason is required: nothing changes without one
    page = client.get(client.post(url, {"reason": "  "})["Location"]).content.decode()
    assert "请填写撤销原因。" in page and not PerkUse.objects.get().reversed
    # another clerk may not; nor may the recording clerk on a later day
    other = StaffFactory(role="clerk", stores=[chain.shop])
    client.force_login(other)
    assert client.post(url, {"reason": "误操作"}).status_code == 403
    client.force_login(chain.clerk)
    with time_machine.travel(dt.datetime(2026, 11, 21, 10, tzinfo=TZ), tick=False):
        assert client.post(url, {"reason": "误操作"}).status_code == 403
    page = client.get(client.post(url, {"reason": "误操作，会员未使用"})["Location"]).content.decode()
    use.refresh_from_db()
    assert use.reversed and use.reversed_by == chain.clerk and use.reverse_reason == "误操作，会员未使用"
    assert "已撤销 2026-11-20 的机场绿色通道使用记录。" in page
    panel = _text(page[page.index('id="member-perks"'):page.index("</div>", page.index('id="member-perks"'))])
    assert "机场绿色通道 剩 2/2 次" in panel  # the quota is given back
    assert f'action="{url}"' not in page and "误操作，会员未使用" in page
    # twice: refused with the reason, still one reversal
    page = client.get(client.post(url, {"reason": "再来"})["Location"]).content.decode()
    assert "这次使用已撤销。" in page and PerkUse.objects.get().reverse_reason == "误操作，会员未使用"


def test_a_manager_may_reverse_their_stores_uses_read_in_one_query_for_the_list(client, chain, member,  # noqa: F811
                                                                              diamond):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import StaffFactory

    def add_uses(store, n):
        for i in range(n):
            PerkUse.objects.create(member=member, card_number=diamond.number, tier="diamond", perk_code="magazine",
                                   perk_name="邮寄会刊", period_key="", store=store,
                                   used_at=dt.datetime(2026, 11, 2, 10, i, tzinfo=TZ))

    manager = StaffFactory(role="manager", stores=[chain.shop])
    client.force_login(manager)
    add_uses(chain.shop, 2)
    add_uses(chain.shop2, 2)
    page = client.get(reverse("member_detail", args=[member.pk])).content.decode()
    own = [u.pk for u in PerkUse.objects.filter(store=chain.shop)]
    other = [u.pk for u in PerkUse.objects.filter(store=chain.shop2)]
    for pk in own:
        assert f'action="{reverse("member_perk_reverse", args=[member.pk, pk])}"' in page
    for pk in other:
        assert f'action="{reverse("member_perk_reverse", args=[member.pk, pk])}"' not in page
    with CaptureQueriesContext(connection) as four:
        client.get(reverse("member_detail", args=[member.pk]))
    add_uses(chain.shop2, 6)  # ten uses listed now
    with CaptureQueriesContext(connection) as ten:
        client.get(reverse("member_detail", args=[member.pk]))
    assert len(ten.captured_queries) == len(four.captured_queries)
