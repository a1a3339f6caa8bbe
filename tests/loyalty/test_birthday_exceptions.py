"""Birthday privilege exceptions: asked by a store, approved by the specialist, used once for its month."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from membercare.checkout.pipeline import CheckoutError
from membercare.loyalty.audit import birthday_audit
from membercare.loyalty.birthday_exceptions import (
    ExceptionError,
    birthday_exception_decide,
    birthday_exception_request,
    candidate_periods,
)
from membercare.loyalty.models import BirthdayException, BirthdayUse, Card
from membercare.org.models import Role
from tests.factories import StaffFactory

from .test_checkout import at, buy

APRIL = dt.datetime(2026, 4, 5, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def elite(chain, member):
    buy(chain, lines=[("SUIT", 1)], when=at(2026, 2, 1))  # ¥5,000 of business wear: elite card
    return Card.objects.get(member=member)


@pytest.fixture
def specialist(db):
    return StaffFactory(username="vip", role=Role.SPECIALIST)


def ask(chain, member, by=None, **kw):
    args = {"period": "2026-03", "valid_from": dt.date(2026, 4, 5), "valid_to": dt.date(2026, 4, 18),
            "reason": "三月整月在国外"} | kw
    return birthday_exception_request(member=member, store=kw.pop("store", chain.shop), by=by or chain.clerk,
                                      **{k: v for k, v in args.items() if k != "store"})


@time_machine.travel(APRIL, tick=False)
def test_an_approved_exception_gives_the_privilege_once_for_its_month(chain, member, elite, specialist):
    assert candidate_periods(member) == ["2026-03", "2027-03"]
    request = ask(chain, member)
    assert request.status == BirthdayException.Status.PENDING
    with pytest.raises(CheckoutError) as exc:  # waiting for approval: still refused
        buy(chain, card=elite.number, lines=[("SHIRT", 1)], when=at(2026, 4, 6), birthday=True)
    assert exc.value.error_code == "birthday_not_month"

    birthday_exception_decide(request, by=specialist, approve=True)
    receipt = buy(chain, store=chain.shop2, card=elite.number, lines=[("SHIRT", 1)], when=at(2026, 4, 6),
                  birthday=True)
    use = BirthdayUse.objects.get(receipt=receipt)
    assert (use.period, use.exception, receipt.points_earned) == ("2026-03", True, 0)
    with pytest.raises(CheckoutError) as exc:  # the month it stands for is used: not twice, in any store
        buy(chain, card=elite.number, lines=[("SHIRT", 1)], when=at(2026, 4, 7), birthday=True)
    assert exc.value.error_code == "birthday_used"
    assert BirthdayUse.objects.count() == 1
    [row] = birthday_audit(since=dt.date(2026, 4, 1), until=dt.date(2026, 4, 30))
    assert "exception" in row.flags


@time_machine.travel(APRIL, tick=False)
def test_an_exception_works_only_inside_its_window(chain, member, elite, specialist):
    ask(chain, member, by=specialist)  # the specialist's own request is approved at once
    with pytest.raises(CheckoutError) as exc:
        buy(chain, card=elite.number, lines=[("SHIRT", 1)], when=at(2026, 4, 19), birthday=True)
    assert exc.value.error_code == "birthday_not_month"
    assert buy(chain, card=elite.number, lines=[("SHIRT", 1)], when=at(2026, 4, 18), birthday=True).birthday_use


@time_machine.travel(APRIL, tick=False)
def test_a_used_month_cannot_get_an_exception(chain, member, elite):
    buy(chain, card=elite.number, lines=[("SHIRT", 1)], when=at(2026, 3, 22), birthday=True)
    with pytest.raises(ExceptionError) as exc:
        ask(chain, member)
    assert exc.value.code == "period_used" and chain.shop.name in exc.value.messages[0]


@time_machine.travel(APRIL, tick=False)
@pytest.mark.parametrize("kw,code", [
    ({"reason": "  "}, "reason_required"),
    ({"valid_from": dt.date(2026, 4, 10), "valid_to": dt.date(2026, 4, 9)}, "window_reversed"),
    ({"valid_from": dt.date(2026, 3, 1), "valid_to": dt.date(2026, 4, 4)}, "window_past"),
    ({"valid_to": dt.date(2026, 5, 6)}, "window_too_long"),
    ({"period": "2026-02"}, "period_invalid"),
])
def test_bad_requests_are_refused_with_their_reason(chain, member, kw, code):
    with pytest.raises(ExceptionError) as exc:
        ask(chain, member, **kw)
    assert exc.value.code == code
    assert not BirthdayException.objects.exists()


@time_machine.travel(APRIL, tick=False)
def test_one_open_request_per_month_and_decisions_by_the_specialist_only(chain, member, specialist):
    request = ask(chain, member)
    with pytest.raises(ExceptionError) as exc:
        ask(chain, member)
    assert exc.value.code == "already_requested"
    with pytest.raises(PermissionDenied):
        birthday_exception_decide(request, by=chain.clerk, approve=True)
    with pytest.raises(ExceptionError) as exc:
        birthday_exception_decide(request, by=specialist, approve=False)
    assert exc.value.code == "note_required"
    birthday_exception_decide(request, by=specialist, approve=False, note="证据不足")
    with pytest.raises(ExceptionError) as exc:
        birthday_exception_decide(request, by=specialist, approve=True)
    assert exc.value.code == "already_decided"
    assert ask(chain, member).status == BirthdayException.Status.PENDING  # after a rejection, ask again


@time_machine.travel(APRIL, tick=False)
def test_a_clerk_asks_only_for_own_stores(chain, member):
    with pytest.raises(ExceptionError) as exc:
        ask(chain, member, store=chain.shop2)
    assert exc.value.code == "store_not_yours"


@time_machine.travel(APRIL, tick=False)
def test_pages_ask_from_the_profile_and_decide_in_the_queue(client, chain, member, elite, specialist):
    client.force_login(chain.clerk)
    profile = client.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert reverse("birthday_exception_new", args=[member.pk]) in profile
    response = client.post(reverse("birthday_exception_new", args=[member.pk]), {
        "period": "2026-03", "valid_from": "2026-04-05", "valid_to": "2026-04-18", "store": chain.shop.pk,
        "reason": "出差"})
    assert response.status_code == 302
    request = BirthdayException.objects.get()
    assert client.post(reverse("birthday_exception_decide", args=[request.pk, "approve"])).status_code == 403

    client.force_login(specialist)
    queue = client.get(reverse("birthday_exceptions")).content.decode()
    assert member.name in queue and "出差" in queue
    row = client.post(reverse("birthday_exception_decide", args=[request.pk, "approve"]), HTTP_HX_REQUEST="true")
    assert row.status_code == 200 and 'data-status="approved"' in row.content.decode()
    request.refresh_from_db()
    assert request.status == BirthdayException.Status.APPROVED and request.decided_by == specialist


@time_machine.travel(APRIL, tick=False)
def test_the_request_form_keeps_what_was_typed_and_names_the_field(client, chain, member):
    client.force_login(chain.clerk)
    response = client.post(reverse("birthday_exception_new", args=[member.pk]), {
        "period": "2026-03", "valid_from": "2026-04-05", "valid_to": "2026-05-30", "store": chain.shop.pk,
        "reason": "出差在外"})
    page = response.content.decode()
    assert response.status_code == 200 and "出差在外" in page and "has-error" in page
    assert not BirthdayException.objects.exists()
