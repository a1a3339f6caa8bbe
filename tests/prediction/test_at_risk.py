"""Issue 23 item 2: the list "high value, probability of being active fallen" — each recompute keeps the figure
it replaces, the list takes members whose P(active) fell by 20 points or is below 50 %, the page shows previous
→ now, and the list goes on to a bulk send (HQ) or an event invitation (a manager: their stores' members only)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from membercare.care.config import DEFAULTS, merge
from membercare.care.models import Task
from membercare.events.models import Event, Invitation
from membercare.messaging.models import BulkSend, MessageTemplate
from membercare.org.models import Role
from membercare.prediction.care_rule import slipping_call
from membercare.prediction.models import MemberPrediction, PredictionFit
from membercare.prediction.selectors import AT_RISK_FALL, at_risk, at_risk_member_ids, at_risk_q, latest_fits
from membercare.prediction.services import predictions_recompute
from tests.factories import MemberFactory, StaffFactory, StoreFactory

from .test_services import AS_OF, history  # noqa: F401  (the fixture)

DAY = dt.date(2026, 6, 30)
BEFORE = timezone.now() - dt.timedelta(days=7)


def _fit(brand, quality="good"):
    return PredictionFit.objects.create(brand=brand, as_of=DAY, params={"value_cutoff": 500.0}, converged=True,
                                        quality=quality, model="mbgnbd")


def _predict(member, brand, p_alive, previous=None, value="900.00"):
    MemberPrediction.objects.create(member=member, brand=brand, p_alive=p_alive, expected_purchases_12m=0.5,
                                    expected_spend="100.00", clv="50.00", value_active=value, frequency=2,
                                    recency_days=10, age_days=300, computed_at=timezone.now(),
                                    p_alive_previous=previous,
                                    previous_computed_at=BEFORE if previous is not None else None)


def test_a_recompute_keeps_the_figure_it_replaces(brands, history):  # noqa: F811
    main = brands[0]
    predictions_recompute(main, as_of=AS_OF)
    first = {p.member_id: p for p in MemberPrediction.objects.filter(brand=main)}
    assert all(p.p_alive_previous is None and p.previous_computed_at is None for p in first.values())
    changed, gone = history[0].pk, history[1].pk
    MemberPrediction.objects.filter(brand=main, member_id=changed).update(p_alive=0.987654)
    MemberPrediction.objects.filter(brand=main, member_id=gone).delete()  # as if new at the brand
    predictions_recompute(main, as_of=AS_OF)
    second = {p.member_id: p for p in MemberPrediction.objects.filter(brand=main)}
    assert set(second) == set(first)
    assert second[changed].p_alive_previous == pytest.approx(0.987654)
    assert second[gone].p_alive_previous is None and second[gone].previous_computed_at is None
    computed = first[changed].computed_at
    for member_id, p in second.items():
        if member_id not in (changed, gone):
            assert p.p_alive_previous == pytest.approx(first[member_id].p_alive, abs=1e-9)
            assert p.previous_computed_at == computed and p.computed_at > computed


@pytest.fixture
def at_risk_members(brands, stores):
    """At the main brand (check good, value cut-off ¥500): who is on the list and who is not."""
    main = brands[0]
    other_store = StoreFactory(code="M02", brand=main)
    _fit(main)
    m = {name: MemberFactory(home_store=stores[0], name=name) for name in
         ("fell", "fell_less", "below", "cheap", "rose", "steady")}
    m["elsewhere"] = MemberFactory(home_store=other_store, name="elsewhere")
    _predict(m["fell"], main, 0.7, previous=0.9)  # fell by exactly 20 points
    _predict(m["fell_less"], main, 0.71, previous=0.9)
    _predict(m["below"], main, 0.4)  # no previous figure: below 50 %
    _predict(m["cheap"], main, 0.3, previous=0.9, value="499.99")
    _predict(m["rose"], main, 0.6, previous=0.3)
    _predict(m["steady"], main, 0.95, previous=0.96)
    _predict(m["elsewhere"], main, 0.45, previous=0.8)
    return m


def test_the_list_is_high_value_and_fallen_or_below_the_threshold(brands, at_risk_members):
    m = at_risk_members
    assert AT_RISK_FALL == 0.2
    assert {p.member_id for p in at_risk(brands[0])} == {m["fell"].pk, m["below"].pk, m["elsewhere"].pk}
    assert at_risk(brands[0], stores=[m["fell"].home_store_id]) and {
        p.member_id for p in at_risk(brands[0], stores=[m["fell"].home_store_id])} == {m["fell"].pk, m["below"].pk}
    _fit(brands[0], quality="poor")  # a poor check: no list
    assert at_risk(brands[0]) == []


def test_the_care_rule_calls_those_whose_probability_fell(brands, at_risk_members):
    m = at_risk_members
    config = merge(DEFAULTS, {"rules": {"slipping_call": {"enabled": True}}})  # threshold 0.3
    assert slipping_call(DAY, config) == 2
    assert set(Task.objects.filter(rule="slipping_call").values_list("member_id", flat=True)) == {
        m["fell"].pk, m["elsewhere"].pk}


def test_page_shows_previous_and_now_and_a_manager_sees_only_their_stores(client, specialist, clerk, brands,
                                                                         stores, at_risk_members):
    m = at_risk_members
    m["fell"].owner = clerk
    m["fell"].save(update_fields=["owner"])
    client.force_login(specialist)
    page = client.get(reverse("prediction_page")).content.decode()  # Chinese, the default
    assert f"<td>{clerk.display_name}</td>" in page  # the relationship owner
    assert f'data-member="{m["fell"].pk}"' in page and f'data-member="{m["elsewhere"].pk}"' in page
    assert "90%</span> → 70%" in page and "仍活跃概率（上次 → 本次）" in page
    assert "发送给这些会员" in page and "prediction/recompute" in page
    assert 'class="error"' not in page and "高价值但活跃概率下降的会员" in page
    manager = StaffFactory(username="mgr1", role=Role.MANAGER, stores=[stores[0]])
    client.force_login(manager)
    page = client.get(reverse("prediction_page")).content.decode()
    assert f'data-member="{m["fell"].pk}"' in page and f'data-member="{m["elsewhere"].pk}"' not in page
    assert 'data-scope="stores"' in page and "prediction/recompute" not in page
    assert "发送给这些会员" not in page  # bulk sends are HQ's
    assert client.post(reverse("prediction_recompute")).status_code == 403
    client.force_login(clerk)
    assert client.get(reverse("prediction_page")).status_code == 403
    assert client.get(reverse("prediction_invite"), {"brand": "MAIN", "event": 1}).status_code == 403


def _template(category="new_arrivals"):
    return MessageTemplate.objects.create(name="关怀", category=category, channel="sms", body="{title}您好，好久不见。",
                                          updated_at=timezone.now())


def test_bulk_send_from_the_list_has_exactly_the_list_as_audience(client, specialist, manager, brands,
                                                                  at_risk_members):
    listed = at_risk_member_ids(brands[0], specialist)
    assert len(listed) == 3
    template = _template()
    client.force_login(specialist)
    url = reverse("messaging_bulk_new")
    page = client.get(url, {"at_risk": "MAIN"}).content.decode()
    assert 'data-audience="at-risk"' in page and 'name="at_risk" value="MAIN"' in page
    data = {"name": "挽回", "template": template.pk, "scheduled_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "holdout_pct": "0", "at_risk": "MAIN", "action": "schedule"}
    response = client.post(url, data)
    assert response.status_code == 302
    assert BulkSend.objects.get().audience == {"member_ids": listed}
    # an emptied list refuses the send instead of falling back to every member
    MemberPrediction.objects.filter(member_id__in=listed).update(p_alive=0.99, p_alive_previous=None)
    html = client.post(url, {**data, "name": "二次"}).content.decode()
    assert "主品牌 目前没有高价值但活跃概率下降的会员" in html and BulkSend.objects.count() == 1
    client.force_login(manager)
    assert client.get(url, {"at_risk": "MAIN"}).status_code == 403


def test_a_manager_invites_the_list_of_their_stores_to_their_event(client, manager, specialist, brands, stores,
                                                                   at_risk_members):
    m = at_risk_members
    manager.stores.set([stores[0]])
    now = timezone.now()
    ours = Event.objects.create(kind="salon", title="秋季沙龙", starts_at=now + dt.timedelta(days=7),
                                ends_at=now + dt.timedelta(days=7, hours=2), created_at=now)
    ours.stores.set([stores[0]])
    theirs = Event.objects.create(kind="salon", title="别店沙龙", starts_at=now + dt.timedelta(days=7),
                                  ends_at=now + dt.timedelta(days=7, hours=2), created_at=now)
    theirs.stores.set([m["elsewhere"].home_store])
    template = _template(category="event")
    client.force_login(manager)
    page = client.get(reverse("prediction_page")).content.decode()
    assert f'<option value="{ours.pk}">' in page and f'<option value="{theirs.pk}">' not in page
    response = client.get(reverse("prediction_invite"), {"brand": "MAIN", "event": ours.pk})
    assert response.status_code == 302 and response["Location"].endswith(f"/events/{ours.pk}/invite/?at_risk=MAIN")
    assert client.get(reverse("prediction_invite"), {"brand": "MAIN", "event": theirs.pk}).status_code == 403
    response = client.post(reverse("event_invite", args=[ours.pk]), {
        "template": template.pk, "holdout_pct": "0", "at_risk": "MAIN", "action": "invite"})
    assert response.status_code == 302
    invited = set(Invitation.objects.filter(event=ours).values_list("member_id", flat=True))
    assert invited == set(at_risk_member_ids(brands[0], manager)) == {m["fell"].pk, m["below"].pk}


def test_the_latest_fit_per_brand_is_read_alone_whatever_the_history(brands):
    """Every weekly recompute keeps its fit: the newest per brand is taken in the database (one query, only the
    newest rows), and the at-risk list of a brand whose newest check is poor is empty even when an older one
    was good."""
    main, other = brands[0], brands[1]
    for _ in range(5):
        _fit(main)
        _fit(other, quality="poor")
    newest_main = _fit(main, quality="poor")
    newest_other = _fit(other)
    with CaptureQueriesContext(connection) as ctx:
        fits = latest_fits()
    assert len(ctx.captured_queries) == 1
    assert {b: f.pk for b, f in fits.items()} == {main.pk: newest_main.pk, other.pk: newest_other.pk}
    assert {b: f.pk for b, f in latest_fits(main.pk).items()} == {main.pk: newest_main.pk}
    member = MemberFactory(home_store=StoreFactory(brand=main))
    _predict(member, main, 0.1)
    _predict(member, other, 0.1)
    assert list(MemberPrediction.objects.filter(at_risk_q()).values_list("brand_id", flat=True)) == [other.pk]
    assert at_risk(main) == []
