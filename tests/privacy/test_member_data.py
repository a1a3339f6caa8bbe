"""A member's whole record on request (HQ only, logged), and the profile's erasure page."""

import datetime as dt
import io
import re

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from membercare.members.models import ExportLog, Member, SensitiveAccessLog
from membercare.privacy.models import Erasure
from tests.privacy.conftest import ADDRESS, EMAIL, ID_NUMBER, NAME, TZ

pytestmark = pytest.mark.django_db
LATIN = re.compile(r"[A-Za-z]")


def _download(client, user, member):
    client.force_login(user)
    return client.get(reverse("member_data_download", args=[member.pk]))


def test_the_member_gets_their_whole_record_in_chinese(client, victim, specialist_):
    r = _download(client, specialist_, victim)
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    sheets = {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}
    assert {"个人档案", "会员卡", "积分", "小票", "小票明细", "消息", "联系记录", "投诉", "优惠券"} <= set(sheets)
    latin = [(title, h) for title, rows in sheets.items() for h in (title, *rows[0])
             if not h or LATIN.search(str(h).replace("VIP", ""))]
    assert latin == [], latin
    cards = sheets["会员卡"]
    kinds = [row[1] for row in cards[1:]]  # the column of the level (Card.kind)
    assert kinds and all(k and not LATIN.search(k) for k in kinds), kinds  # 精英卡, 累积卡: the level's name
    profile = dict(sheets["个人档案"][1:])
    assert profile["姓名"] == NAME and profile["手机号"] == victim.phone and profile["身份证号"] == ID_NUMBER
    assert profile["地址"] == ADDRESS and profile["电子邮箱"] == EMAIL
    receipts = sheets["小票"][1:]
    assert len(receipts) == victim.receipts.count() > 0
    assert any(NAME in str(c) for row in sheets["联系记录"][1:] for c in row)
    log = ExportLog.objects.get(kind="member_data")
    assert log.exported_by == specialist_ and log.full_data and log.filters == {"member": victim.member_no}
    assert SensitiveAccessLog.objects.filter(member=victim, viewer=specialist_, field="id_number").exists()


def test_stores_may_neither_download_nor_erase(client, victim):
    from membercare.org.models import Role, Staff

    for role in (Role.CLERK, Role.MANAGER):
        user = Staff.objects.filter(role=role, stores=victim.home_store).first()
        assert _download(client, user, victim).status_code == 403
        r = client.post(reverse("member_erase", args=[victim.pk]),
                        {"reason": "x", "confirm_member_no": victim.member_no})
        assert r.status_code == 403
        assert client.get(reverse("member_detail", args=[victim.pk])).content.decode().count(
            reverse("member_erase", args=[victim.pk])) == 0
    assert not ExportLog.objects.filter(kind="member_data").exists() and not Erasure.objects.exists()


def test_the_erasure_page_asks_then_erases(client, victim, specialist_):
    client.force_login(specialist_)
    page = client.get(reverse("member_erase", args=[victim.pk])).content.decode()
    assert "删除个人信息" in page and victim.member_no in page
    r = client.post(reverse("member_erase", args=[victim.pk]), {"reason": "本人申请", "confirm_member_no": "M1"})
    assert r.status_code == 200 and "请输入会员号" in r.content.decode()
    assert Member.objects.filter(pk=victim.pk).exists()
    r = client.post(reverse("member_erase", args=[victim.pk]),
                    {"reason": "本人申请", "confirm_member_no": victim.member_no}, follow=True)
    assert r.redirect_chain[-1][0] == reverse("member_list")
    assert "个人信息已删除" in r.content.decode()
    assert not Member.objects.filter(pk=victim.pk).exists() and Erasure.objects.filter(member_id=victim.pk).exists()
    assert client.get(reverse("member_detail", args=[victim.pk])).status_code == 404


def test_the_record_holds_perk_uses_member_dates_and_every_kind_of_row(client, victim, specialist_):
    """PIPL: what the chain holds of the member beyond receipts (perks used, the dates they gave, birthday
    privilege uses, after-sales orders, gifts, stored value) is in the download, each on its own sheet."""
    from membercare.loyalty.models import PerkUse
    from membercare.members.services import member_date_add

    with time_machine.travel(dt.datetime(2025, 6, 15, 15, 0, tzinfo=TZ), tick=False):
        PerkUse.objects.create(member=victim, card_number="E0000001", tier="elite", perk_code="alteration",
                               perk_name="免费改衣", period_key="2025-Q2", store=victim.home_store,
                               used_at=dt.datetime(2025, 6, 1, 11, 0, tzinfo=TZ), note="裤脚改短")
        member_date_add(member=victim, by=specialist_, name="结婚纪念日", calendar="solar", month=10, day=1)
        r = _download(client, specialist_, victim)
    book = load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    sheets = {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}
    assert {"权益使用记录", "纪念日", "生日特权使用记录", "售后服务", "领取的赠品", "储值卡"} <= set(sheets)
    perks = sheets["权益使用记录"]
    assert perks[0][:2] == ("时间", "权益名称")
    assert [row[1] for row in perks[1:]] == ["免费改衣"] and perks[1][6] == "裤脚改短"
    assert [row[0] for row in sheets["纪念日"][1:]] == ["结婚纪念日"]
