"""A member's whole record on request (HQ only, logged), and the profile's erasure page."""

import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from membercare.members.models import ExportLog, Member, SensitiveAccessLog
from membercare.privacy.models import Erasure
from tests.privacy.conftest import ADDRESS, EMAIL, ID_NUMBER, NAME

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
