"""Deterministic demo and benchmark data: a retail chain, its members and 2-3 years of purchases.

One generator for both uses: `demo_load` asks for a few thousand members with a natural purchase
history, `bench_generate` for a million members and an exact number of receipts. Everything comes
from numpy random streams derived from the seed (one stream per part, so changing one part never
shifts another), and columns are generated whole (vectorised), then written by `loader.BulkLoader`.

The rows look exactly like app-created data: derived member fields (member_no, phone_last4,
name_grams, id_number_index) are filled with the services' own functions, ID numbers are encrypted,
every member has its MemberChange "create" row, and member, receipt and card numbers are reserved
from NumberSequence, so later numbers never collide.

Same seed and same `today` give the same data (ids aside, which depend on what the tables held).

This module loads what the parts build and holds `generate`; the parts are modules of their own, by
domain: gen_common (settings, streams), gen_names, gen_org, gen_catalogue, gen_people, gen_purchases.
Their public names are importable from here as before.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from membercare.core.sequences import reserve_numbers
from membercare.loyalty.models import Card, LoyaltyAccount, PointsEntry
from membercare.loyalty.programme import programme_at
from membercare.members.models import (
    Member,
    MemberChange,
    Tag,
)
from membercare.members.services import format_member_no
from membercare.org.models import Staff
from membercare.sales.models import Receipt, ReceiptLine

from . import data
from .gen_catalogue import Catalogue, build_catalogue
from .gen_common import (
    CARD_NUMBER_SEQUENCE,
    CARD_PREFIX,
    DAY,
    DEMO_LOGINS,
    DEMO_PASSWORD,
    DIAMOND_12M,
    DIAMOND_SINGLE,
    ELITE_12M,
    ELITE_BUSINESS,
    ELITE_LEATHER_GOLF,
    EPOCH,
    KNIGHT_12M,
    KNIGHT_SINGLE,
    MEMBER_NUMBER_SEQUENCE,
    RECEIPT_NUMBER_SEQUENCE,
    TIER_DISCOUNT,
    TZ_OFFSET,
    GenConfig,
    Result,
    day_number,
    pick,
    stream,
)
from .gen_names import SURNAME_PINYIN, id_numbers, lunar_birthdays, make_names, make_phones, ymd
from .gen_org import Org, build_org, demo_logins
from .gen_people import People, changes_json, make_people
from .gen_purchases import Purchases, make_purchases
from .loader import (
    BulkLoader,
    analyze,
    bools,
    civil_from_days,
    code,
    const,
    dates,
    days_from_civil,
    ints,
    money,
    stamps,
    text,
)

# ------------------------------------------------------------------------------------------- load
LOADED_TABLES = [Member, Member.tags.through, MemberChange, Card, Receipt, ReceiptLine, LoyaltyAccount, PointsEntry]


@dataclass
class OpeningPoints:
    """The points of the purchase history, earned as a counter earns them: each receipt with a card earns on
    its own day at the programme's rate (`earned`, per receipt, what the receipt shows). One earn entry per
    receipt whose points are still valid on `today`, linked to it and dated when it was sold; points already
    expired on `today` were spent or expired before go-live and are not in the ledger."""

    earned: np.ndarray  # per receipt: points earned (0 without a card)
    receipt: np.ndarray  # per entry: receipt index
    member: np.ndarray  # per entry: member index
    points: np.ndarray
    expires: np.ndarray  # days since 1970-01-01; -1 = never
    at: np.ndarray  # UTC seconds: the receipt's time
    balance: np.ndarray  # per member
    has_account: np.ndarray  # per member


def opening_points(purchases: Purchases, n: int, today: int, today_date: dt.date) -> OpeningPoints:
    """1 point per whole yuan paid on receipts with a card (the programme's rate), each on its receipt; entries
    already expired on `today` are left out (they were spent or expired before go-live)."""
    programme = programme_at(today_date)
    earned = np.where(purchases.card != 0, purchases.paid * programme.points_per_yuan // 100, 0).astype(np.int64)
    day = (purchases.at + 8 * 3600) // 86400  # Asia/Shanghai dates
    if programme.points_expiry == "never":
        expires = np.full(len(day), -1, dtype=np.int64)
    elif programme.points_expiry.startswith("days:"):
        expires = day + int(programme.points_expiry[5:])
    else:
        year, _m, _d = civil_from_days(day)
        expires = days_from_civil(year + 1, np.full(len(day), 12), np.full(len(day), 31))
    keep = np.flatnonzero(((expires < 0) | (expires >= today)) & (earned > 0))
    member = purchases.member[keep]
    balance = np.bincount(member, weights=earned[keep], minlength=n).astype(np.int64)
    return OpeningPoints(earned=earned, receipt=keep, member=member, points=earned[keep], expires=expires[keep],
                         at=purchases.at[keep], balance=balance, has_account=balance > 0)


def generate(cfg: GenConfig, log: Callable[[str], None] | None = None) -> Result:
    """Build the organisation, catalogue, members, purchases and cards, and write them."""
    log = log or (lambda msg: None)
    result = Result()
    t_all = time.perf_counter()
    today_date = cfg.today or timezone.localdate()
    today = day_number(today_date)

    def step(name: str, t0: float) -> None:
        result.timings[name] = time.perf_counter() - t0
        log(f"  {name}: {result.timings[name]:.1f}s")

    with transaction.atomic():
        t0 = time.perf_counter()
        org = build_org(cfg, make_password(DEMO_PASSWORD))
        cat = build_catalogue(cfg, org.brands)
        tags = {name: Tag.objects.get_or_create(name=name)[0].pk
                for name in [t for t, _s in data.TAGS_GENERAL] + list(data.DECADE_TAGS.values())}
        result.logins = org.logins
        step("organisation and catalogue", t0)

        t0 = time.perf_counter()
        exclude = set(Member.objects.values_list("phone", flat=True)) if Member.objects.exists() else set()
        people = make_people(cfg, org, today, exclude)
        step("members generated", t0)
        t0 = time.perf_counter()
        purchases, ncards = make_purchases(cfg, org, cat, people, today)
        step("purchases and cards generated", t0)
        t0 = time.perf_counter()
        changes = changes_json(people.changes_src, ensure_ascii=connection.vendor != "postgresql")
        step("history rows generated", t0)

        loader = BulkLoader(LOADED_TABLES, drop_indexes=cfg.drop_indexes, chunk_rows=cfg.chunk_rows, log=log)
        n = people.n
        member_ids = loader.next_id(Member) + np.arange(n, dtype=np.int64)
        numbers = np.array(reserve_numbers(MEMBER_NUMBER_SEQUENCE, n) if n else [], dtype=np.int64)
        member_no = format_member_no(0)
        member_prefix, member_width = member_no.rstrip("0"), len(member_no) - len(member_no.rstrip("0"))
        store_ids = org.store_ids
        t0 = time.perf_counter()
        loader.write(Member, {
            "id": ints(member_ids), "member_no": code(numbers, prefix=member_prefix, width=member_width),
            **people.fields,
            "home_store_id": ints(store_ids[people.home]), "owner_id": ints(purchases.owner),
            "registered_by_id": ints(purchases.registered_by),
            "created_at": stamps(purchases.created_at), "updated_at": stamps(purchases.created_at),
        }, n)
        step("members written", t0)

        t0 = time.perf_counter()
        tag_member = np.concatenate(people.tags)
        tag_id = np.concatenate([np.full(len(ix), tags[name]) for name, ix in zip(people.tag_names, people.tags,
                                                                                    strict=True)])
        order = np.lexsort((tag_id, tag_member))
        tag_member, tag_id = tag_member[order], tag_id[order]
        through = Member.tags.through
        loader.write(through, {
            "id": ints(loader.next_id(through) + np.arange(len(tag_member))),
            "member_id": ints(member_ids[tag_member]), "tag_id": ints(tag_id),
        }, len(tag_member))
        step("member tags written", t0)
        t0 = time.perf_counter()
        loader.write(MemberChange, {
            "id": ints(loader.next_id(MemberChange) + np.arange(n)), "member_id": ints(member_ids),
            "action": const(MemberChange.Action.CREATE.value), "changed_by_id": ints(purchases.registered_by),
            "changed_at": stamps(purchases.created_at), "changes": text(changes),
        }, n)
        step("history written", t0)

        t0 = time.perf_counter()
        c = purchases.cards
        loader.write(Card, {
            "id": ints(loader.next_id(Card) + np.arange(ncards)), "number": code(c["number"], width=10),
            "member_id": ints(member_ids[c["member"]]), "kind": text(c["kind"].tolist()),
            "status": text([str(s) for s in c["status"].tolist()]), "brand_id": ints(c["brand"]),
            "issued_at": stamps(c["issued_at"]), "valid_until": dates(c["valid_until"], null=~c["has_until"]),
        }, ncards)
        step("cards written", t0)

        t0 = time.perf_counter()
        opening = opening_points(purchases, n, today, today_date)
        nr = len(purchases.member)
        receipt_ids = loader.next_id(Receipt) + np.arange(nr, dtype=np.int64)
        receipt_numbers = np.array(reserve_numbers(RECEIPT_NUMBER_SEQUENCE, nr) if nr else [], dtype=np.int64)
        source = np.where(org.store_networked[purchases.store], Receipt.Source.LIVE.value,
                          Receipt.Source.UPLOAD.value)
        loader.write(Receipt, {
            "id": ints(receipt_ids), "number": code(receipt_numbers, prefix="R", width=10),
            "store_id": ints(store_ids[purchases.store]), "clerk_id": ints(purchases.clerk),
            "member_id": ints(member_ids[purchases.member]),
            "card_number": code(purchases.card, width=10, blank_zero=True),
            "sold_at": stamps(purchases.at), "total_full_price": money(purchases.full),
            "total_paid": money(purchases.paid), "is_group_purchase": bools(purchases.group),
            "member_signed": bools(purchases.signed), "source": text(source), "points_earned": ints(opening.earned),
        }, nr)
        step("receipts written", t0)
        t0 = time.perf_counter()
        nl = len(purchases.line_receipt)
        loader.write(ReceiptLine, {
            "id": ints(loader.next_id(ReceiptLine) + np.arange(nl, dtype=np.int64)),
            "receipt_id": ints(receipt_ids[purchases.line_receipt]), "product_id": ints(purchases.line_product),
            "quantity": ints(purchases.line_qty), "full_price": money(purchases.line_full),
            "paid_amount": money(purchases.line_paid), "on_promotion": bools(purchases.line_promo),
        }, nl)
        step("receipt lines written", t0)
        t0 = time.perf_counter()
        with translation.override(settings.LANGUAGE_CODE):
            reason = gettext("Opening balance: points from the purchase history")
        nlots = len(opening.member)
        loader.write(PointsEntry, {
            "id": ints(loader.next_id(PointsEntry) + np.arange(nlots, dtype=np.int64)),
            "member_id": ints(member_ids[opening.member]), "receipt_id": ints(receipt_ids[opening.receipt]),
            "kind": const(PointsEntry.Kind.EARN.value),
            "points": ints(opening.points), "remaining": ints(opening.points),
            "expires_on": dates(opening.expires, null=opening.expires < 0), "reason": const(reason),
            "created_at": stamps(opening.at),
        }, nlots)
        accounts = np.flatnonzero(opening.has_account)
        loader.write(LoyaltyAccount, {
            "member_id": ints(member_ids[accounts]), "points": ints(opening.balance[accounts]),
            "updated_at": stamps(np.full(len(accounts), int(time.time()), dtype=np.int64)),
        }, len(accounts))
        step("points balances written", t0)
        t0 = time.perf_counter()
        loader.finish()
        step("indexes and sequences", t0)
    t0 = time.perf_counter()
    analyze(LOADED_TABLES)
    step("analyze", t0)
    result.timings["total"] = time.perf_counter() - t_all
    result.counts = {
        "stores": len(org.store_ids), "staff": Staff.objects.count(), "products": len(cat.ids),
        "members": n, "member_tags": len(tag_member), "cards": ncards, "receipts": nr, "receipt_lines": nl,
        "points_lots": nlots, "loyalty_accounts": len(accounts),
    }
    return result


__all__ = [
    "CARD_NUMBER_SEQUENCE",
    "CARD_PREFIX",
    "Catalogue",
    "DAY",
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "DIAMOND_12M",
    "DIAMOND_SINGLE",
    "ELITE_12M",
    "ELITE_BUSINESS",
    "ELITE_LEATHER_GOLF",
    "EPOCH",
    "GenConfig",
    "KNIGHT_12M",
    "KNIGHT_SINGLE",
    "LOADED_TABLES",
    "MEMBER_NUMBER_SEQUENCE",
    "OpeningPoints",
    "Org",
    "People",
    "Purchases",
    "RECEIPT_NUMBER_SEQUENCE",
    "Result",
    "SURNAME_PINYIN",
    "TIER_DISCOUNT",
    "TZ_OFFSET",
    "build_catalogue",
    "build_org",
    "changes_json",
    "day_number",
    "demo_logins",
    "generate",
    "id_numbers",
    "lunar_birthdays",
    "make_names",
    "make_people",
    "make_phones",
    "make_purchases",
    "opening_points",
    "pick",
    "stream",
    "ymd",
]
