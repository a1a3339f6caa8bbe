"""Issue 22 part 4: the member's self-service — preferences and consent per channel, stopping a channel, a
complaint that enters the nine steps at the member's store, and data requests that land in HQ's queue."""

import pytest

from membercare.members.models import MemberChange
from membercare.messaging.models import OptOut
from membercare.org.models import Role
from membercare.privacy.models import DataRequest
from membercare.service.models import Complaint, ComplaintState
from tests.factories import MemberFactory, StaffFactory, StoreFactory

from .test_member_centre import PHONE, sign_in, sms  # noqa: F401  (the fixture)


@pytest.fixture
def member(db):
    store = StoreFactory(name="成都太古里店")
    clerk = StaffFactory(display_name="何静", stores=[store])
    return MemberFactory(phone=PHONE, home_store=store, owner=clerk, consent_sms=True, consent_email=False)


@pytest.fixture
def signed_in(client, member, sms):  # noqa: F811
    sign_in(client, sms)
    return client


def test_preferences_and_consents_are_saved_with_history(signed_in, member):
    page = signed_in.post("/m/me/", {"preferred_channel": "phone", "preferred_time": "evening", "clothing_size": "M",
                                     "shoe_size": "37", "consent_email": "on"})
    assert page.status_code == 200 and "已保存" in page.content.decode()
    member.refresh_from_db()
    assert member.clothing_size == "M" and member.shoe_size == "37"
    assert member.consent_email and not member.consent_sms  # unticked: withdrawn
    change = MemberChange.objects.filter(member=member).latest("changed_at")
    assert change.changed_by is None and "consent_sms" in change.changes


def test_stopping_a_channel_records_the_opt_out(signed_in, member):
    signed_in.post("/m/me/", {"stop": "sms"})
    assert OptOut.objects.filter(member=member, channel="sms", source="member centre").exists()
    member.refresh_from_db()
    assert not member.consent_sms
    assert "已停止" in signed_in.get("/m/me/").content.decode()
    signed_in.post("/m/me/", {"stop": "fax"})  # no such channel: nothing
    assert OptOut.objects.filter(member=member).count() == 1


def test_a_complaint_enters_the_first_step_at_the_members_store(signed_in, member):
    page = signed_in.post("/m/feedback/", {"category": "fit", "description": "裤长改短后不合适"}).content.decode()
    complaint = Complaint.objects.get()
    assert complaint.member == member and complaint.store == member.home_store and complaint.owner == member.owner
    assert complaint.state == ComplaintState.LISTEN and complaint.opened_by is None
    assert complaint.number in page
    # the store's complaint list shows it
    manager = StaffFactory(role=Role.MANAGER, stores=[member.home_store])
    from django.test import Client

    staff = Client()
    staff.force_login(manager)
    assert complaint.number in staff.get("/service/complaints/").content.decode()
    empty = signed_in.post("/m/feedback/", {"category": "fit", "description": "   "})
    assert empty.status_code == 200 and Complaint.objects.count() == 1


def test_data_requests_land_in_the_administrators_queue_once(signed_in, member):
    signed_in.post("/m/data/", {"kind": "erase"})
    signed_in.post("/m/data/", {"kind": "erase"})  # a double tap
    signed_in.post("/m/data/", {"kind": "nonsense"})
    request = DataRequest.objects.get()
    assert request.kind == "erase" and request.status == "pending"
    from django.test import Client

    admin = StaffFactory(role=Role.ADMIN)
    staff = Client()
    staff.force_login(admin)
    queue = staff.get("/privacy/requests/").content.decode()
    assert member.member_no in queue and f"/members/{member.pk}/erase/" in queue
    staff.post("/privacy/requests/", {"request": request.pk, "status": "refused", "note": ""})
    assert DataRequest.objects.get().status == "pending"  # a refusal needs its reason
    staff.post("/privacy/requests/", {"request": request.pk, "status": "done"})
    request.refresh_from_db()
    assert request.status == "done" and request.handled_by == admin
    clerk = Client()
    clerk.force_login(member.owner)
    assert clerk.get("/privacy/requests/").status_code == 403


def test_a_survey_is_answered_in_the_member_centre_once_and_only_ones_own(signed_in, member):
    import datetime as dt

    from django.utils import timezone

    from membercare.service.models import Survey

    now = timezone.now()
    mine = Survey.objects.create(member=member, store=member.home_store, source="callback", token_hash="a" * 64,
                                 created_at=now, expires_at=now + dt.timedelta(days=7))
    other = Survey.objects.create(member=MemberFactory(), source="callback", token_hash="b" * 64,
                                  created_at=now, expires_at=now + dt.timedelta(days=7))
    assert f"/m/surveys/{mine.pk}/" in signed_in.get("/m/card/").content.decode()
    assert signed_in.get(f"/m/surveys/{other.pk}/").status_code == 404
    page = signed_in.post(f"/m/surveys/{mine.pk}/", {"csat": "5", "nps": "9", "comment": "导购很耐心"})
    assert "感谢您的评价" in page.content.decode()
    mine.refresh_from_db()
    assert (mine.csat, mine.nps, mine.comment) == (5, 9, "导购很耐心")
    again = signed_in.post(f"/m/surveys/{mine.pk}/", {"csat": "1", "nps": "0"})
    assert "已经" in again.content.decode() or "已" in again.content.decode()
    mine.refresh_from_db()
    assert mine.csat == 5
    assert f"/m/surveys/{mine.pk}/" not in signed_in.get("/m/card/").content.decode()
