"""Issue 22: the member centre — sign-in by SMS code, joining by a store's or clerk's poster, the electronic card,
and a member session that opens only the member's own pages."""

import re
import time

import pytest
import time_machine
from django.core import signing

from membercare.membercentre.models import MemberSession
from membercare.membercentre.services import poster_token
from membercare.members.cardcode import card_code_member_id
from membercare.members.models import Member
from membercare.messaging.models import OneTimeCode
from membercare.org.models import Role
from tests.factories import MemberFactory, StaffFactory, StoreFactory

PHONE = "13912345678"


@pytest.fixture
def sms(outbox, django_capture_on_commit_callbacks):
    """post(client, url, data) with on-commit callbacks run (the SMS leaves after the commit); last_code()."""
    class Sms:
        def post(self, client, url, data):
            with django_capture_on_commit_callbacks(execute=True):
                return client.post(url, data)

        def last_code(self):
            messages = outbox()
            return re.search(r"\d{6}", messages[-1]["body"]).group() if messages else None

        def count(self):
            return len(outbox())
    return Sms()


@pytest.fixture
def member(db):
    return MemberFactory(phone=PHONE, name="林小雨")


def sign_in(client, sms, phone=PHONE):
    response = sms.post(client, "/m/", {"phone": phone})
    assert response.status_code == 302 and response["Location"].startswith("/m/code/?t=")
    return client.post(response["Location"], {"code": sms.last_code(), "t": response["Location"].split("t=")[1]})


def test_a_member_signs_in_by_sms_code_and_sees_their_card(client, member, sms):
    response = sign_in(client, sms)
    assert response.status_code == 302 and response["Location"] == "/m/card/"
    cookie = client.cookies["mc_member"]
    assert cookie["path"] == "/m/" and cookie["httponly"]
    assert MemberSession.objects.get().key_hash != cookie.value  # only the key's hash is stored
    page = client.get("/m/card/")
    html = page.content.decode()
    assert page.status_code == 200 and "林小雨" in html and "<svg" in html
    code = re.search(r"MC\d{18}", html).group()
    assert card_code_member_id(code) == member.pk
    assert page["Cache-Control"] == "no-store"
    # the member's session is no staff session
    assert client.get("/members/search/").status_code == 302


def test_a_wrong_code_is_refused_and_an_unknown_phone_gets_the_same_answer(client, member, sms):
    response = sms.post(client, "/m/", {"phone": PHONE})
    token = response["Location"].split("t=")[1]
    wrong = "000000" if sms.last_code() != "000000" else "111111"
    page = client.post("/m/code/", {"code": wrong, "t": token})
    assert page.status_code == 200 and "验证码错误或已失效" in page.content.decode()
    assert "mc_member" not in client.cookies or not client.cookies["mc_member"].value
    before = sms.count()
    unknown = sms.post(client, "/m/", {"phone": "13700000000"})
    assert unknown.status_code == 302 and unknown["Location"].startswith("/m/code/?t=")  # no enumeration
    assert sms.count() == before  # but nothing was sent
    assert client.get("/m/card/").status_code == 302


def test_a_forged_or_ended_session_opens_nothing(client, member, sms):
    client.cookies["mc_member"] = "forged-key"
    assert client.get("/m/card/")["Location"] == "/m/"
    assert client.get("/m/card/code/").status_code == 302
    sign_in(client, sms)
    assert client.get("/m/card/").status_code == 200
    client.post("/m/signout/")
    assert MemberSession.objects.get().ended_at is not None
    key = MemberSession.objects.get().key_hash
    assert client.get("/m/card/").status_code == 302 and key


def test_the_card_code_refreshes_and_is_always_the_members_own(client, member, sms):
    other = MemberFactory()
    sign_in(client, sms)
    first = client.get("/m/card/code/").json()
    assert card_code_member_id(first["code"]) == member.pk and "<svg" in first["qr"]
    with time_machine.travel(time.time() + 31, tick=False):
        later = client.get("/m/card/code/").json()["code"]
    assert later != first["code"] and card_code_member_id(later, at=time.time() + 31) == member.pk
    assert card_code_member_id(first["code"]) != other.pk
    # no page of the member centre takes a member's id: another member's id in the query changes nothing
    assert card_code_member_id(client.get(f"/m/card/code/?member={other.pk}").json()["code"]) == member.pk


def test_an_erased_member_is_signed_out(client, member, sms):
    sign_in(client, sms)
    Member.all_objects.filter(pk=member.pk).update(erased_at="2026-01-01T00:00:00Z")
    assert client.get("/m/card/").status_code == 302


@pytest.fixture
def poster(db):
    store = StoreFactory(name="杭州湖滨店")
    clerk = StaffFactory(display_name="周敏", stores=[store])
    return store, clerk, poster_token(store, clerk)


JOIN = {"name": "陈思", "phone": "13655556666", "birthday": "1992-04-05", "gender": "F", "consent_sms": "on",
        "privacy": "on"}


def test_joining_by_a_clerks_poster_proves_the_phone_then_registers(client, poster, sms):
    store, clerk, token = poster
    page = client.get(f"/m/join/?p={token}").content.decode()
    assert "杭州湖滨店" in page and "周敏" in page and "隐私声明" in page
    response = sms.post(client, f"/m/join/?p={token}", {**JOIN, "p": token})
    assert response.status_code == 302 and response["Location"].startswith("/m/join/code/?t=")
    assert not Member.objects.filter(phone=JOIN["phone"]).exists()  # nothing written before the code
    code = sms.last_code()
    t = response["Location"].split("t=")[1]
    assert client.post("/m/join/code/", {"code": code, "t": t})["Location"] == "/m/card/"
    joined = Member.objects.get(phone=JOIN["phone"])
    assert joined.home_store == store and joined.owner == clerk and joined.name == "陈思"
    assert joined.consent_sms and not (joined.consent_phone or joined.consent_wechat or joined.consent_email)
    assert client.get("/m/card/").status_code == 200
    # the same link used again does not register twice
    assert client.post("/m/join/code/", {"code": code, "t": t}).status_code == 200
    assert Member.objects.filter(phone=JOIN["phone"]).count() == 1


def test_joining_needs_the_privacy_notice_and_valid_fields_and_sends_nothing_otherwise(client, poster, sms):
    _store, _clerk, token = poster
    page = sms.post(client, f"/m/join/?p={token}", {**JOIN, "privacy": "", "p": token})
    assert page.status_code == 200 and sms.count() == 0
    page = sms.post(client, f"/m/join/?p={token}", {**JOIN, "phone": "12345", "p": token})
    assert page.status_code == 200 and sms.count() == 0 and "手机" in page.content.decode()
    assert not OneTimeCode.objects.exists()
    assert client.get("/m/join/?p=forged").status_code == 404
    other_store = StoreFactory()
    tampered = signing.dumps({"s": other_store.pk, "c": None}, salt="another salt")
    assert client.get(f"/m/join/?p={tampered}").status_code == 404


def test_joining_with_a_members_phone_signs_that_member_in_without_a_duplicate(client, member, poster, sms):
    _store, _clerk, token = poster
    response = sms.post(client, f"/m/join/?p={token}", {**JOIN, "phone": PHONE, "p": token})
    t = response["Location"].split("t=")[1]
    assert client.post("/m/join/code/", {"code": sms.last_code(), "t": t})["Location"] == "/m/card/"
    assert Member.objects.filter(phone=PHONE).count() == 1
    member.refresh_from_db()
    assert member.name == "林小雨"  # unchanged by the form
    assert MemberSession.objects.get().member_id == member.pk


def test_posters_for_the_stores_a_user_may_see(client, poster):
    store, clerk, _token = poster
    client.force_login(clerk)
    page = client.get("/member-centre/posters/").content.decode()
    assert "杭州湖滨店" in page
    poster_page = client.get(f"/member-centre/posters/{store.pk}/?clerk={clerk.pk}").content.decode()
    assert "/m/join/?p=" in poster_page and "<svg" in poster_page
    stranger = StaffFactory(role=Role.MANAGER, stores=[StoreFactory()])
    client.force_login(stranger)
    assert client.get(f"/member-centre/posters/{store.pk}/").status_code == 404
