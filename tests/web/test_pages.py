"""The web pages: login required, per-role permissions on the server, Chinese by default, English on switch."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from membercare.members.models import Member, MemberChange, SensitiveAccessLog
from membercare.org.models import Role
from tests.factories import MemberFactory, ReceiptFactory, ReceiptLineFactory, StaffFactory

FORM = {"name": "李四", "phone": "139 0000 1111", "gender": "M", "birthday": "1980-05-06",
        "preferred_channel": "phone", "preferred_time": "any"}


@pytest.mark.parametrize("name,args", [("member_search", []), ("member_list", []), ("member_create", []),
                                       ("member_detail", [1]), ("member_edit", [1]), ("member_import", []),
                                       ("member_export", []), ("staff", [])])
def test_every_page_needs_a_login(client, db, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_login_and_logout(client, clerk):
    page = client.get(reverse("login"))
    assert "登录" in page.content.decode()
    bad = client.post(reverse("login"), {"username": "clerk", "password": "wrong"})
    assert "用户名或密码错误" in bad.content.decode()
    ok = client.post(reverse("login"), {"username": "clerk", "password": "pass12345"})
    assert ok.status_code == 302
    assert client.get(reverse("member_search")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("member_search")).status_code == 302


def test_a_clerk_cannot_export_import_reveal_ids_or_open_admin(login, clerk, store):
    member = MemberFactory(home_store=store, id_number="110105198503210026")
    client = login(clerk)
    assert client.get(reverse("member_export")).status_code == 403
    assert client.get(reverse("member_import")).status_code == 403
    assert client.post(reverse("member_reveal_id", args=[member.pk])).status_code == 403
    assert client.get("/admin/").status_code == 302  # to the admin login: not for this role
    listing = client.get(reverse("member_list")).content.decode()
    assert reverse("member_export") not in listing and reverse("member_import") not in listing


def test_the_administrator_opens_django_admin(login, admin_user):
    assert login(admin_user).get("/admin/").status_code == 200


def test_specialist_reveals_an_id_number_and_it_is_logged(login, specialist, store):
    member = MemberFactory(home_store=store, id_number="110105198503210026")
    client = login(specialist)
    detail = client.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert "110105198503210026" not in detail and "110*" in detail
    response = client.post(reverse("member_reveal_id", args=[member.pk]))
    assert response.content.decode() == "110105198503210026"
    assert SensitiveAccessLog.objects.filter(member=member, viewer=specialist).count() == 1


def test_lists_mask_phones_for_clerks_and_show_them_to_the_specialist(login, clerk, specialist, store):
    MemberFactory(home_store=store, phone="13912345678")
    clerk_page = login(clerk).get(reverse("member_list")).content.decode()
    assert "139****5678" in clerk_page and "13912345678" not in clerk_page
    search = login(clerk).get(reverse("member_search"), {"q": "5678"}, HTTP_HX_REQUEST="true").content.decode()
    assert "139****5678" in search and "13912345678" not in search
    assert "13912345678" in login(specialist).get(reverse("member_list")).content.decode()


def test_member_list_shows_only_the_users_stores(login, clerk, specialist, store, other_store):
    MemberFactory(home_store=store, name="本店会员")
    MemberFactory(home_store=other_store, name="外店会员")
    page = login(clerk).get(reverse("member_list")).content.decode()
    assert "本店会员" in page and "外店会员" not in page
    hq = login(specialist).get(reverse("member_list")).content.decode()
    assert "本店会员" in hq and "外店会员" in hq


def test_register_a_member_then_edit_and_see_the_history(login, clerk, store):
    client = login(clerk)
    response = client.post(reverse("member_create"), {**FORM, "id_number": "110105198503210026"})
    member = Member.objects.get(phone="13900001111")
    assert response.status_code == 302 and response.url == reverse("member_detail", args=[member.pk])
    assert member.home_store == store and member.owner == clerk
    edit_page = client.get(reverse("member_edit", args=[member.pk])).content.decode()
    assert "110105198503210026" not in edit_page  # the full ID number never goes back to the browser
    client.post(reverse("member_edit", args=[member.pk]), {**FORM, "id_number": "", "clothing_size": "XL"})
    member.refresh_from_db()
    assert member.clothing_size == "XL" and member.id_number == "110105198503210026"  # empty keeps the ID
    detail = client.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert "修改记录" in detail and "XL" in detail and clerk.display_name in detail
    assert MemberChange.objects.filter(member=member).count() == 2


def test_validation_errors_are_chinese_and_a_duplicate_links_to_the_member(login, clerk, store):
    existing = MemberFactory(home_store=store, phone="13900001111", name="张三")
    client = login(clerk)
    page = client.post(reverse("member_create"), FORM).content.decode()
    assert "该手机号已属于会员 张三" in page
    assert reverse("member_detail", args=[existing.pk]) in page
    bad = client.post(reverse("member_create"), {**FORM, "phone": "12345", "birthday": "2999-01-01"})
    text = bad.content.decode()
    assert "不是有效的大陆手机号" in text and "生日不能是未来的日期" in text
    assert "12345" in text  # what the clerk typed is kept in the form
    assert Member.objects.count() == 1


def test_english_after_switching_the_language(login, clerk, store):
    client = login(clerk)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    text = client.post(reverse("member_create"), {**FORM, "phone": "12345"}).content.decode()
    assert "is not a valid mainland mobile number" in text and "Log out" in text


def test_profile_timeline_shows_purchases(login, clerk, store):
    member = MemberFactory(home_store=store)
    receipt = ReceiptFactory(store=store, member=member, clerk=clerk)
    ReceiptLineFactory(receipt=receipt)
    page = login(clerk).get(reverse("member_detail", args=[member.pk])).content.decode()
    assert "时间线" in page and "1699.15" in page and store.name in page


def test_staff_page_per_role(login, store, other_store, manager, specialist):
    mine = StaffFactory(role=Role.CLERK, stores=[store], display_name="本店店员")
    theirs = StaffFactory(role=Role.CLERK, stores=[other_store], display_name="外店店员")
    page = login(manager).get(reverse("staff")).content.decode()
    assert mine.display_name in page and theirs.display_name not in page
    clerk_page = login(mine).get(reverse("staff")).content.decode()
    assert theirs.display_name not in clerk_page and manager.display_name not in clerk_page
    hq = login(specialist).get(reverse("staff")).content.decode()
    assert mine.display_name in hq and theirs.display_name in hq


def test_assets_are_served_locally(login, clerk):
    page = login(clerk).get(reverse("member_search")).content.decode()
    assert "/static/vendor/htmx/htmx.min.js" in page and "http://" not in page.split("<body")[0].replace(
        "http://www.w3.org", "")
    response = login(clerk).get("/static/vendor/htmx/htmx.min.js")
    assert response.status_code == 200


def test_search_fragment_is_not_cached_as_the_page(login, clerk, store):
    MemberFactory(home_store=store, phone="13912345678")
    client = login(clerk)
    fragment = client.get(reverse("member_search"), {"q": "5678"}, HTTP_HX_REQUEST="true")
    page = client.get(reverse("member_search"), {"q": "5678"})
    assert "HX-Request" in fragment["Vary"] and "HX-Request" in page["Vary"]
    assert fragment["Cache-Control"] == "no-store"
    assert "<header" not in fragment.content.decode() and "<header" in page.content.decode()


def test_edit_history_speaks_the_users_language(login, clerk, store):
    client = login(clerk)
    client.post(reverse("member_create"), FORM)
    member = Member.objects.get(phone="13900001111")
    client.post(reverse("member_edit", args=[member.pk]), {**FORM, "consent_sms": "on", "decision_style": "decisive"})
    page = client.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert "同意营销短信：否 → 是" in page and "决策类型：— → 果断型" in page
    assert "consent_sms" not in page and "decision_style" not in page


def test_required_errors_are_said_once(login, clerk, store):
    page = login(clerk).post(reverse("member_create"), {**FORM, "name": ""}).content.decode()
    assert page.count("这个字段是必填项。") == 1


def test_refusal_and_missing_pages_are_friendly(login, clerk, settings):
    settings.DEBUG = False
    client = login(clerk)
    refused = client.get(reverse("member_export"))
    assert refused.status_code == 403 and "会员维护系统" in refused.content.decode()
    missing = client.get("/members/999999/")
    assert missing.status_code == 404 and "<header" in missing.content.decode()


def test_the_administrator_role_can_work_in_django_admin(login, admin_user):
    page = login(admin_user).get("/admin/org/store/")
    assert page.status_code == 200


def test_profile_shows_points_and_their_history(login, clerk, store):
    from membercare.loyalty.models import LoyaltyAccount, PointsEntry
    from membercare.loyalty.points import lock_account, points_earn

    member = MemberFactory(home_store=store)
    account = lock_account(member)
    points_earn(account, 120, expires_on=None, reason="开业积分")
    page = login(clerk).get(reverse("member_detail", args=[member.pk])).content.decode()
    assert re.search(r'id="points">\s*<h2>[^<]*: 120</h2>', page)
    assert "+120" in page and "开业积分" in page
    assert LoyaltyAccount.objects.get(member=member).points == 120 == PointsEntry.objects.get().points


def test_navigation_shows_what_the_role_may_open(login, clerk, specialist, admin_user):
    clerk_page = login(clerk).get(reverse("member_search")).content.decode()
    assert reverse("checkout") in clerk_page and reverse("card_applications") in clerk_page
    assert reverse("programme_edit") not in clerk_page and reverse("apikey_list") not in clerk_page
    hq = login(specialist).get(reverse("member_search")).content.decode()
    assert reverse("programme_edit") in hq and reverse("birthday_audit") in hq and reverse("apikey_list") not in hq
    assert reverse("apikey_list") in login(admin_user).get(reverse("member_search")).content.decode()


def test_profile_links_to_cards_and_checkout_for_the_member(login, clerk, store):
    member = MemberFactory(home_store=store, phone="13912345678")
    page = login(clerk).get(reverse("member_detail", args=[member.pk])).content.decode()
    assert reverse("card_member", args=[member.pk]) in page and f"{reverse('checkout')}?phone=13912345678" in page
    checkout = login(clerk).get(reverse("checkout"), {"phone": "13912345678"}).content.decode()
    assert 'value="13912345678"' in checkout
