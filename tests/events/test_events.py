"""VIP events: create, invite with a hold-out group, RSVP by token, check-in, exclusive-sale discount, results."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from membercare.events.models import Attendance, Event, EventReceipt, Invitation
from membercare.events.selectors import event_results
from membercare.events.services import EventData, check_in, event_invite, event_save, rsvp_answer
from membercare.loyalty.models import PointsEntry
from membercare.loyalty.points import ledger_sum, points_balance
from membercare.messaging.models import Message
from tests.factories import MemberFactory, ReceiptFactory

from .conftest import at


def salon(by, chain, **kw):
    data = EventData(kind=kw.pop("kind", Event.Kind.SALON), title=kw.pop("title", "秋季沙龙"),
                     starts_at=kw.pop("starts_at", at(2026, 6, 20, 14)), ends_at=kw.pop("ends_at", at(2026, 6, 20, 17)),
                     stores=kw.pop("stores", [chain.shop]), **kw)
    return event_save(data=data, by=by)


def consenting(n, chain, **kw):
    return [MemberFactory(home_store=chain.shop, consent_sms=True, **kw) for _ in range(n)]


@pytest.fixture
def now():
    with time_machine.travel(at(2026, 6, 1, 10), tick=False):
        yield


def test_event_form_rules_name_the_field(chain, hq, shop_manager, now):
    with pytest.raises(ValidationError) as exc:
        salon(hq, chain, kind=Event.Kind.EXCLUSIVE_SALE, title="", stores=[])
    errors = exc.value.message_dict
    assert {"title", "stores", "extra_discount_pct", "sale_starts_on"} <= set(errors)
    with pytest.raises(ValidationError) as exc:  # a manager: own stores only, not the whole brand
        salon(shop_manager, chain, stores=[chain.shop2])
    assert "stores" in exc.value.message_dict
    assert salon(shop_manager, chain).stores.get() == chain.shop


def test_invite_holds_out_a_reproducible_share_and_sends_each_their_own_link(chain, hq, invite_template, now):
    members = consenting(40, chain)
    event = salon(hq, chain)
    result = event_invite(event=event, audience={"store_ids": [chain.shop.pk]}, template=invite_template, by=hq,
                          base_url="https://crm.example.cn", holdout_share=Decimal("0.25"), seed=7)
    held = set(Invitation.objects.filter(event=event, held_out=True).values_list("member_id", flat=True))
    assert result["held_out"] == len(held) and 3 <= len(held) <= 18  # about a quarter, recorded
    assert result["invited"] + result["held_out"] == len(members) == Invitation.objects.filter(event=event).count()
    assert result["sent"] == result["invited"]
    assert not Message.objects.filter(member_id__in=held).exists()  # the hold-out group gets nothing
    for inv in Invitation.objects.filter(event=event, held_out=False).select_related("message"):
        assert f"https://crm.example.cn/rsvp/{inv.token}/" in inv.message.body
    # the same seed picks the same members (reproducible)
    from membercare.messaging.bulk import audience_queryset
    from membercare.messaging.holdout import split

    again = set(split(audience_queryset({"store_ids": [chain.shop.pk]}), Decimal("0.25"), 7)[1]
                .values_list("pk", flat=True))
    assert again == held
    # inviting again invites nobody twice
    with pytest.raises(ValidationError):
        event_invite(event=event, audience={"store_ids": [chain.shop.pk]}, template=invite_template, by=hq,
                     base_url="https://crm.example.cn")


def test_rsvp_by_token_updates_rather_than_duplicates_and_forged_tokens_are_refused(
        chain, hq, invite_template, client, now):
    consenting(2, chain)
    event = salon(hq, chain, capacity=3)
    event_invite(event=event, audience={"store_ids": [chain.shop.pk]}, template=invite_template, by=hq,
                 base_url="http://testserver")
    inv, other = Invitation.objects.filter(event=event).order_by("pk")
    r = client.get(f"/rsvp/{inv.token}/")  # public: no login
    assert r.status_code == 200 and event.title in r.content.decode()
    r = client.post(f"/rsvp/{inv.token}/", {"answer": "yes", "party_size": 2})
    assert r.status_code == 200
    inv.refresh_from_db()
    assert (inv.rsvp, inv.party_size) == ("yes", 2)
    client.post(f"/rsvp/{inv.token}/", {"answer": "no"})  # answering again changes the answer
    inv.refresh_from_db()
    assert (inv.rsvp, inv.party_size) == ("no", 0)
    assert Invitation.objects.filter(event=event).count() == 2
    client.post(f"/rsvp/{inv.token}/", {"answer": "yes", "party_size": 2})
    with translation.override("en"), pytest.raises(ValidationError) as exc:  # 3 seats: 2 taken
        rsvp_answer(token=other.token, coming=True, party_size=2)
    assert "1 seat(s) are left" in exc.value.message_dict["party_size"][0]
    forged = inv.token[:-2] + ("AA" if not inv.token.endswith("AA") else "BB")
    r = client.get(f"/rsvp/{forged}/")
    assert r.status_code == 404
    r = client.post(f"/rsvp/{forged}/", {"answer": "yes", "party_size": 1})
    assert r.status_code == 404
    with pytest.raises(ValidationError):
        rsvp_answer(token=forged, coming=True)
    inv.refresh_from_db()
    assert inv.rsvp == "yes"


def test_checking_in_twice_is_one_attendance_with_points_once(chain, hq, invite_template, now):
    (guest,) = consenting(1, chain)
    event = salon(hq, chain, attendance_points=300)
    event_invite(event=event, audience={"member_ids": [guest.pk]}, template=invite_template, by=hq,
                 base_url="http://testserver")
    first = check_in(event=event, member=guest, by=chain.clerk, store=chain.shop)
    second = check_in(event=event, member=guest, by=chain.clerk, store=chain.shop)
    assert first.created and not second.created
    assert Attendance.objects.filter(event=event).count() == 1
    assert points_balance(guest) == 300 == ledger_sum(guest)
    assert PointsEntry.objects.filter(member=guest, kind="earn").count() == 1


def test_check_in_permissions(chain, hq, now):
    from membercare.org.models import Role
    from tests.factories import StaffFactory

    event = salon(hq, chain)
    far = StaffFactory(username="far", role=Role.CLERK, stores=[chain.shop2])
    with pytest.raises(PermissionDenied):
        check_in(event=event, member=MemberFactory(), by=far)


def test_check_in_page_finds_by_token_and_phone(chain, hq, invite_template, client, now):
    (guest,) = consenting(1, chain, phone="13912345678")
    event = salon(hq, chain)
    event_invite(event=event, audience={"member_ids": [guest.pk]}, template=invite_template, by=hq,
                 base_url="http://testserver")
    token = Invitation.objects.get().token
    client.force_login(chain.clerk)
    r = client.get(f"/events/{event.pk}/checkin/find/", {"q": f"http://testserver/rsvp/{token}/"})
    assert r.status_code == 200 and guest.name in r.content.decode()
    r = client.get(f"/events/{event.pk}/checkin/find/", {"q": "13912345678"})
    assert guest.name in r.content.decode()
    r = client.post(f"/events/{event.pk}/checkin/", {"member": guest.pk})
    r = client.post(f"/events/{event.pk}/checkin/", {"member": guest.pk})
    assert r.status_code == 200 and Attendance.objects.filter(event=event).count() == 1


def test_exclusive_sale_discount_at_checkout_through_the_api(chain, hq, invite_template, client, member):
    """Invited member: tier price, then 10% more off full-price lines (not promotion lines); receipt attributed."""
    from membercare.loyalty.apikeys import apikey_issue
    from tests.api.conftest import Pos

    member.consent_sms = True
    member.save()
    outsider = MemberFactory(home_store=chain.shop2, phone="13800009999")
    with time_machine.travel(at(2026, 6, 1, 10), tick=False):
        event = salon(hq, chain, kind=Event.Kind.EXCLUSIVE_SALE, title="VIP折上折", starts_at=at(2026, 6, 5, 10),
                      ends_at=at(2026, 6, 5, 20), extra_discount_pct=Decimal("10"),
                      sale_starts_on=dt.date(2026, 6, 5), sale_ends_on=dt.date(2026, 6, 7))
        event_invite(event=event, audience={"member_ids": [member.pk]}, template=invite_template, by=hq,
                     base_url="http://testserver")
    from membercare.org.models import Role
    from tests.factories import StaffFactory

    key = apikey_issue(store=chain.shop, name="POS", by=StaffFactory(username="root", role=Role.ADMIN))[1]
    pos = Pos(client, key)
    with time_machine.travel(at(2026, 6, 4, 12), tick=False):  # before the sale: tier price only
        status, body = pos.checkout(("SUIT", 1))  # 5000 -> elite card (15% off from the next sale)
        assert status == 201 and body["total_paid"] == "5000.00"
    with time_machine.travel(at(2026, 6, 5, 12), tick=False):
        status, quote = pos.quote(("SHIRT", 1), ("BELT", 1))
        assert status == 200 and quote["total_paid"] == "1529.24"  # 765.00 + 764.24
        status, body = pos.checkout(("SHIRT", 1), ("POLO", {"quantity": 1, "promo_price": "900.00"}))
        assert status == 201 and body["total_paid"] == "1665.00"  # 765.00 + promotion 900.00 untouched
        receipt_no = body["number"]
        status, body = pos.checkout(("SHIRT", 1), phone=outsider.phone)  # not invited: no extra discount
        assert status == 201 and body["total_paid"] == "1000.00"
    assert list(EventReceipt.objects.values_list("receipt__number", flat=True)) == [receipt_no]
    with time_machine.travel(at(2026, 6, 8, 12), tick=False):  # after the sale
        status, quote = pos.quote(("SHIRT", 1))
        assert quote["total_paid"] == "850.00"
    results = event_results(event)
    assert results["sales"] == Decimal("1665.00") and results["responded"] == 1


def test_no_query_for_the_extra_discount_when_no_sale_runs(chain, member, django_assert_num_queries):
    from membercare.events.exclusive import active_sales, exclusive_sale_discount

    active_sales(dt.date(2026, 6, 5))  # the day's sales read once per process
    with django_assert_num_queries(0):
        for _ in range(5):
            assert exclusive_sale_discount(member, chain.shop, dt.date(2026, 6, 5)) == 0


def test_results_on_a_hand_built_data_set(chain, hq, now):
    """Salon on 2026-06-20 at SH01. Invited A, B, C (A and B attend), hold-out H1, H2. Receipts:
    A 1000 at SH01 that day (counts), A 300 at BJ01 that day (other store: no), A 200 at SH01 next day (no),
    B 500 and a return of -100 at SH01 that day (net 400), C 800 at SH01 (invited, did not attend),
    H1 700 at SH01 that day (hold-out), H2 50 at SH01 the day before (outside the window).
    sales (every invited member, as the hold-out is measured) = 1000 + 400 + 800 = 2200; attributed to the
    event (those who came) = 1000 + 400 = 1400; holdout_sales = 700; responded = 2; reached = 3."""
    from membercare.messaging.models import MessageStatus

    event = salon(hq, chain)
    a, b, c, h1, h2 = (MemberFactory(home_store=chain.shop) for _ in range(5))
    msgs = [Message.objects.create(member=m, channel="sms", category="event", to=m.phone, body="x",
                                   status=MessageStatus.SENT, send_after=at(2026, 6, 1), created_at=at(2026, 6, 1))
            for m in (a, b, c)]
    for i, m in enumerate((a, b, c)):
        Invitation.objects.create(event=event, member=m, token=f"t{i}", invited_at=at(2026, 6, 1), message=msgs[i])
    for i, m in enumerate((h1, h2)):
        Invitation.objects.create(event=event, member=m, token=f"h{i}", held_out=True, invited_at=at(2026, 6, 1))
    for m in (a, b):
        Attendance.objects.create(event=event, member=m, checked_in_at=at(2026, 6, 20, 15))
    day = at(2026, 6, 20, 16)
    ReceiptFactory(member=a, store=chain.shop, sold_at=day, total_paid=Decimal("1000"))
    ReceiptFactory(member=a, store=chain.shop2, sold_at=day, total_paid=Decimal("300"))
    ReceiptFactory(member=a, store=chain.shop, sold_at=at(2026, 6, 21, 10), total_paid=Decimal("200"))
    sale = ReceiptFactory(member=b, store=chain.shop, sold_at=day, total_paid=Decimal("500"))
    ReceiptFactory(member=b, store=chain.shop, sold_at=at(2026, 6, 20, 23, 30), total_paid=Decimal("-100"),
                   original=sale)
    ReceiptFactory(member=c, store=chain.shop, sold_at=day, total_paid=Decimal("800"))
    ReceiptFactory(member=h1, store=chain.shop, sold_at=at(2026, 6, 20, 0, 5), total_paid=Decimal("700"))
    ReceiptFactory(member=h2, store=chain.shop, sold_at=at(2026, 6, 19, 23, 59), total_paid=Decimal("50"))
    results = event_results(event)
    assert results == {"reached": 3, "responded": 2, "group_size": 3, "sales": Decimal("2200.00"),
                       "attributed_sales": Decimal("1400.00"), "holdout_size": 2,
                       "holdout_sales": Decimal("700.00"), "window_start": at(2026, 6, 20, 0),
                       "window_end": at(2026, 6, 21, 0)}


def test_demo_events(db):
    """The demo loader's events: an upcoming salon with answers, a past show with attendance, a referral."""
    from django.core.management import call_command

    from membercare.events.models import Referral

    call_command("demo_load", members=150, seed=5, stdout=__import__("io").StringIO())
    salon, show = Event.objects.order_by("-starts_at")
    assert Invitation.objects.filter(event=salon, rsvp="yes").exists()
    assert Attendance.objects.filter(event=show).count() == 8
    referral = Referral.objects.get()
    assert referral.rewarded_at is not None


def test_a_template_without_the_link_gets_it_appended_in_chinese(chain, hq, now):
    """Issue 18: the appended link read "RSVP: …" inside a Chinese SMS."""
    from django.utils import timezone

    from membercare.messaging.models import MessageTemplate

    plain = MessageTemplate.objects.create(name="邀请（无链接）", category="event", channel="sms",
                                           body="{title}您好，诚邀您参加{event}。{store}", updated_at=timezone.now())
    consenting(1, chain)
    event = salon(hq, chain)
    event_invite(event=event, audience={"store_ids": [chain.shop.pk]}, template=plain, by=hq,
                 base_url="https://crm.example.cn")
    body = Message.objects.get().body
    assert "报名确认：https://crm.example.cn/rsvp/" in body and "RSVP" not in body
