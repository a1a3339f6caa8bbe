"""Bulk sends with a hold-out group: picked at random but reproducibly, recorded, sent nothing; results."""

from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from membercare.messaging.bulk import audience_queryset, bulk_enqueue, bulk_preview, bulk_schedule
from membercare.messaging.delivery import deliver_all
from membercare.messaging.holdout import split
from membercare.messaging.models import BulkHoldout, Message, MessageStatus
from membercare.messaging.selectors import bulk_send_results
from tests.factories import MemberFactory, ReceiptFactory

from .conftest import at


@pytest.fixture
def audience(store, specialist):
    return [MemberFactory(home_store=store, owner=specialist, consent_sms=True) for _ in range(60)]


def test_the_hold_out_share_gets_nothing_and_is_recorded(outbox, birthday_template, store, audience, specialist):
    with time_machine.travel(at(2026, 9, 10, 10), tick=False):
        preview = bulk_preview(template=birthday_template, audience={"store_ids": [store.pk]}, at=at(2026, 9, 10, 10),
                               holdout_share=Decimal("0.2"), holdout_seed=42)
        bulk = bulk_schedule(name="生日", template=birthday_template, audience={"store_ids": [store.pk]},
                             scheduled_at=at(2026, 9, 10, 10), by=specialist, holdout_share=Decimal("0.2"),
                             holdout_seed=42)
        held = set(BulkHoldout.objects.filter(bulk=bulk).values_list("member_id", flat=True))
        assert preview["total"] == 60 and preview["holdout"]["size"] == len(held) == bulk.preview["holdout"]["size"]
        assert 4 <= len(held) <= 20  # about a fifth
        assert preview["receive"] == 60 - len(held)  # everyone else may receive a birthday greeting
        queued = bulk_enqueue(bulk)
        assert queued == 60 - len(held)
        assert not Message.objects.filter(bulk=bulk, member_id__in=held).exists()
        assert Message.objects.filter(bulk=bulk).count() == 60 - len(held)
    # the same seed picks the same members; another seed others
    again = set(split(audience_queryset({"store_ids": [store.pk]}), Decimal("0.2"), 42)[1].values_list("pk", flat=True))
    other = set(split(audience_queryset({"store_ids": [store.pk]}), Decimal("0.2"), 43)[1].values_list("pk", flat=True))
    assert again == held and other != held


def test_a_hold_out_share_over_half_is_refused(birthday_template, store, audience, specialist):
    with pytest.raises(ValidationError) as exc:
        bulk_schedule(name="x", template=birthday_template, audience={"store_ids": [store.pk]},
                      scheduled_at=at(2026, 9, 10), by=specialist, holdout_share=Decimal("0.6"))
    assert "holdout_share" in exc.value.message_dict


def test_results_on_a_hand_built_data_set(outbox, birthday_template, store, audience, specialist):
    """Sent 2026-09-10 10:00; window to 09-24 10:00. Recipients r1 (bought 300 and 200), r2 (bought 100, returned
    -100: bought but net 0), r3 (bought 500 on 09-24 10:00, outside); hold-out h1 (bought 700), h2 (bought 50 on
    09-10 09:59, before); r4's message was not sent (opted out) but r4 bought 400. reached = delivered;
    responded = 2; attributed (recipients reached) = 500; the treated group's sales (everyone outside the
    hold-out, reached or not, as the hold-out is measured) = 900; holdout_sales = 700."""
    with time_machine.travel(at(2026, 9, 10, 10), tick=False):
        bulk = bulk_schedule(name="生日", template=birthday_template, audience={"store_ids": [store.pk]},
                             scheduled_at=at(2026, 9, 10, 10), by=specialist, holdout_share=Decimal("0.2"),
                             holdout_seed=42)
        bulk_enqueue(bulk)
        deliver_all()
    reached = Message.objects.filter(bulk=bulk, status=MessageStatus.SENT)
    r1, r2, r3, r4 = [m.member for m in reached.select_related("member").order_by("pk")[:4]]
    Message.objects.filter(bulk=bulk, member=r4).update(status=MessageStatus.SKIPPED, skip_reason="opted_out")
    ReceiptFactory(member=r4, store=store, sold_at=at(2026, 9, 16), total_paid=Decimal("400"))
    h1, h2 = [h.member for h in BulkHoldout.objects.filter(bulk=bulk).select_related("member").order_by("pk")[:2]]
    ReceiptFactory(member=r1, store=store, sold_at=at(2026, 9, 11), total_paid=Decimal("300"))
    ReceiptFactory(member=r1, store=store, sold_at=at(2026, 9, 20), total_paid=Decimal("200"))
    sale = ReceiptFactory(member=r2, store=store, sold_at=at(2026, 9, 12), total_paid=Decimal("100"))
    ReceiptFactory(member=r2, store=store, sold_at=at(2026, 9, 13), total_paid=Decimal("-100"), original=sale)
    ReceiptFactory(member=r3, store=store, sold_at=at(2026, 9, 24, 10), total_paid=Decimal("500"))
    ReceiptFactory(member=h1, store=store, sold_at=at(2026, 9, 15), total_paid=Decimal("700"))
    ReceiptFactory(member=h2, store=store, sold_at=at(2026, 9, 10, 9, 59), total_paid=Decimal("50"))
    results = bulk_send_results(bulk)
    held = BulkHoldout.objects.filter(bulk=bulk).count()
    assert results == {"reached": 60 - held - 1, "responded": 2, "attributed_sales": Decimal("500.00"),
                       "group_size": 60 - held, "sales": Decimal("900.00"), "holdout_size": held,
                       "holdout_sales": Decimal("700.00"), "window_start": at(2026, 9, 10, 10),
                       "window_end": at(2026, 9, 24, 10)}


def test_the_bulk_page_takes_a_hold_out_share(client, promo_template, store, audience, specialist):
    client.force_login(specialist)
    with time_machine.travel(at(2026, 9, 10, 10), tick=False):
        data = {"name": "秋季", "template": promo_template.pk, "stores": [store.pk], "holdout_pct": "25",
                "seed": "9", "scheduled_at": "2026-09-10T10:00"}
        r = client.post("/messaging/bulk/new/", {**data, "action": "preview"})
        assert r.status_code == 200 and 'id="preview-holdout"' in r.content.decode()
        r = client.post("/messaging/bulk/new/", {**data, "action": "schedule"})
        assert r.status_code == 302
    held = BulkHoldout.objects.values_list("member_id", flat=True)
    assert set(held) == set(split(audience_queryset({"store_ids": [store.pk]}), Decimal("0.25"), 9)[1]
                            .values_list("pk", flat=True))
