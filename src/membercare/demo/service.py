"""The demo's service data: gifts with stock in every store (one running low at the demo clerk's store), a few
complaints at different steps (one past its deadline and escalated, one closed), a few survey answers, and three
after-sales service orders (one overdue in the workshop, one ready to collect, one just taken in)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from membercare.members.models import Member
from membercare.org.models import Role, Staff, Store
from membercare.sales.models import ReceiptLine
from membercare.service.aftersales import service_order_open, service_order_ready, service_order_to_workshop
from membercare.service.complaints import complaint_open, complaint_step_record, complaints_escalate
from membercare.service.gifts import gift_issue, gift_save, stock_receive
from membercare.service.models import STEPS, Complaint, Gift, GiftStock
from membercare.service.surveys import survey_answer, survey_send

GIFTS = [("SCARF", "真丝方巾", "199.00", 800), ("UMBRELLA", "品牌晴雨伞", "129.00", 500),
         ("CARE-KIT", "皮具护理套装", "89.00", 300), ("MOONCAKE", "中秋月饼礼盒", "168.00", None)]
NOTES = {"listen": "耐心听完会员的讲述，没有打断。", "talk": "请会员到休息区坐下，倒了茶。",
         "apologise": "真诚道歉：给您添麻烦了。", "analyse": "复述问题：穿着两次后出现起球，会员希望换货。",
         "explain": "解释面料特性与保养方法。", "handle": "同意免费更换同款。", "compensate": "赠送护理套装表示歉意。",
         "result": "会员表示满意。", "follow_up": "三天后回访：新衣服穿着很好。"}


def _walk(complaint: Complaint, by: Staff, until: str, *, gift: Gift | None = None) -> Complaint:
    for step in STEPS:
        if step == until:
            break
        complaint = complaint_step_record(
            complaint=complaint, step=step, note=NOTES[step], by=by, remedy="免费更换同款" if step == "handle" else "",
            satisfied=True if step == "result" else None, gift=gift if step == "compensate" else None)
    return complaint


@transaction.atomic
def demo_service(today: dt.date | None = None) -> dict[str, int]:
    if Gift.objects.exists():
        return {}
    specialist = Staff.objects.filter(role=Role.SPECIALIST).order_by("pk").first()
    clerk = Staff.objects.filter(username="clerk").first() or Staff.objects.filter(role=Role.CLERK).first()
    if specialist is None or clerk is None:
        return {}
    store = clerk.stores.order_by("pk").first()
    gifts = [gift_save(by=specialist, code=code, name=name, value=value, points_cost=points)
             for code, name, value, points in GIFTS]
    for s in Store.objects.filter(is_active=True).order_by("pk"):
        for i, gift in enumerate(gifts):
            stock_receive(gift=gift, store=s, quantity=20 + 5 * i, by=specialist, reason="总部首批配送")
    GiftStock.objects.filter(store=store, gift=gifts[0]).update(quantity=3)  # running low at the demo store
    members = list(Member.objects.filter(home_store=store).order_by("pk")[:6])
    if len(members) < 4:
        return {"gifts": len(gifts)}
    now = timezone.now()
    if today is not None and today != timezone.localdate():  # the demo's "today", mid-afternoon
        now = timezone.make_aware(dt.datetime.combine(today, dt.time(15, 0)))
    kit = gifts[2]
    closed = complaint_open(by=clerk, member=members[0], store=store, category="quality", severity="medium",
                            description="大衣穿了两次就起球，希望换货。", sku="", at=now - dt.timedelta(days=6))
    _walk(closed, clerk, "closed", gift=kit)
    mid = complaint_open(by=clerk, member=members[1], store=store, category="service", severity="medium",
                         description="周末店里人多，等了很久没人接待。", at=now - dt.timedelta(hours=5))
    _walk(mid, clerk, "explain")
    complaint_open(by=clerk, member=members[2], store=store, category="fit", severity="low",
                   description="裤长改短后不合适。", at=now - dt.timedelta(hours=1))
    late = complaint_open(by=clerk, member=members[3], store=store, category="membership", severity="high",
                          description="生日折扣在另一家店被拒绝。", at=now - dt.timedelta(hours=30))
    _walk(late, clerk, "talk")
    complaints_escalate(now)
    gift_issue(member=members[4 % len(members)], gift=gifts[1], store=store, reason="birthday", by=clerk)
    answers = [(5, 10, "导购非常耐心，谢谢！"), (4, 8, ""), (2, 5, "等待时间太长。")]
    for member, (csat, nps, comment) in zip(members, answers, strict=False):
        _survey, token = survey_send(member=member, store=store, clerk=clerk, source="callback",
                                     at=now - dt.timedelta(days=2))
        survey_answer(token=token, csat=csat, nps=nps, comment=comment, at=now - dt.timedelta(days=1))
    orders = _service_orders(clerk, store, members, now)
    return {"gifts": len(gifts), "complaints": Complaint.objects.count(), "service_orders": orders}


def _service_orders(clerk: Staff, store: Store, members: list[Member], now: dt.datetime) -> int:
    """After-sales: an alteration in the workshop past its promised date, a repair ready to collect (its call
    task on the clerk's list), and one just taken in on a line of the member's last receipt."""
    day = timezone.localdate(now)
    late = service_order_open(by=clerk, member=members[0], store=store, kind="alteration", item="羊毛西裤",
                              work="裤长改短2厘米，保留原边", promised_on=day - dt.timedelta(days=1),
                              at=now - dt.timedelta(days=4))
    service_order_to_workshop(order=late, by=clerk, at=now - dt.timedelta(days=3))
    ready = service_order_open(by=clerk, member=members[1], store=store, kind="repair", item="真皮公文包",
                               work="更换拉链（同色）", promised_on=day, charged=True, amount=Decimal("80.00"),
                               at=now - dt.timedelta(days=2))
    ready = service_order_to_workshop(order=ready, by=clerk, at=now - dt.timedelta(days=2))
    service_order_ready(order=ready, by=clerk, at=now - dt.timedelta(hours=3))
    line = (ReceiptLine.objects.filter(receipt__member=members[2], quantity__gt=0).select_related("product")
            .order_by("-receipt__sold_at", "pk").first())
    service_order_open(by=clerk, member=members[2], store=store, kind="alteration", receipt_line=line,
                       item="" if line else "衬衫", work="袖口收窄1厘米", promised_on=day + dt.timedelta(days=5),
                       at=now - dt.timedelta(hours=2))
    return 3
