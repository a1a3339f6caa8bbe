"""Card tiers: which card a member qualifies for, issuing accumulation cards, upgrades after a sale."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from membercare.core.sequences import reserve_numbers
from membercare.members.models import Member
from membercare.org.models import Brand, Store
from membercare.sales.models import Receipt

from . import rows
from .models import Card, CardKind, CardStatus
from .programme import Programme, Tier
from .upgrades import propose_upgrade

ACCUMULATION_PREFIX = "A"


def card_rank(card: Card, programme: Programme) -> int:
    tier = programme.tier(card.kind)
    return tier.rank if tier else 0


def card_brands(card: Card, programme: Programme) -> tuple[str, ...]:
    """Brands whose stores accept the card: the tier's, or the issuing brand for an accumulation card."""
    tier = programme.tier(card.kind)
    return tier.brands if tier else (card.brand.code,)


_CARD_COLS, _CARD_FIELDS = rows.columns(Card, "c")
_BRAND_COLS, _BRAND_FIELDS = rows.columns(Brand, "b")
_PAID_FIELD = rows.fields_of(Receipt, "total_paid")
_CARDS_ROW = _CARD_FIELDS + _BRAND_FIELDS
_CARDS_ROLLING_ROW = _CARD_FIELDS + _BRAND_FIELDS + _PAID_FIELD


def _usable(found: list, store, programme: Programme, on: dt.date) -> list[Card]:
    n = len(_CARD_FIELDS)
    cards = []
    for row in found:
        if row[0] is None:  # no card (the row of a LEFT JOIN)
            continue
        card = rows.instance(Card, _CARD_FIELDS, row[:n])
        card.brand = rows.instance(Brand, _BRAND_FIELDS, row[n:n + len(_BRAND_FIELDS)])
        if (card.valid_until is None or card.valid_until >= on) and store.brand.code in card_brands(card, programme):
            cards.append(card)
    # best first; between equal ranks the store's own brand's card (the one its sales upgrade)
    return sorted(cards, key=lambda c: (-card_rank(c, programme), c.brand_id != store.brand_id, c.pk))


def usable_cards(member: Member | int, store, programme: Programme, *, on: dt.date) -> list[Card]:
    """The member's active, unexpired cards this store accepts, best first (each with its brand loaded)."""
    member_id = member if isinstance(member, int) else member.pk
    found = rows.fetch_all(
        f"SELECT {_CARD_COLS}, {_BRAND_COLS} FROM {Card._meta.db_table} c JOIN {Brand._meta.db_table} b "
        "ON b.id = c.brand_id WHERE c.member_id = %s AND c.status = %s", [member_id, CardStatus.ACTIVE], _CARDS_ROW)
    return _usable(found, store, programme, on)


@dataclass(frozen=True)
class RollingBefore:
    """What a member had paid at a brand's stores in the window ending at a sale, read under the member's
    lock before the sale was recorded (so the window including the sale is this plus the sale)."""

    brand_code: str
    until: dt.datetime
    days: int
    paid: Decimal


def _rolling_sql(member: str, brand: str = "%s") -> str:
    """SUM (`paid`) of the member's receipts at a brand's stores in a window, an index-only scan of the
    (member, sold_at) index that carries store and paid; parameters: since, until, then the brand's id (or
    what `brand` takes). With statistics on the stores PostgreSQL hashes the brand's stores once; without any
    (a database never analysed: autovacuum off) it may take the brand for one store and scan the member's
    receipts once per store instead (0.7 ms a sale on the benchmark data) — bench_generate analyses."""
    return (f"SELECT SUM(r.total_paid) AS paid FROM {Receipt._meta.db_table} r JOIN {Store._meta.db_table} s "
            f"ON s.id = r.store_id WHERE r.member_id = {member} AND r.sold_at > %s AND r.sold_at <= %s "
            f"AND s.brand_id = {brand}")


def _window(until: dt.datetime, days: int) -> list:
    return [rows.param(Receipt, "sold_at", until - dt.timedelta(days=days)), rows.param(Receipt, "sold_at", until)]


def _cents(total) -> Decimal:
    # SQLite sums decimals as floats (8000 may come back as 7999.999999999): back to exact cents
    return (Decimal(str(total)) if total is not None else Decimal("0")).quantize(Decimal("0.01"))


def usable_cards_and_rolling(member_id: int, store, programme: Programme, *, on: dt.date,
                             until: dt.datetime) -> tuple[list[Card], RollingBefore]:
    """usable_cards and, in the same query, what the member paid at the store's brand in the programme's
    window up to `until` (for the tier evaluation after a sale at `until`)."""
    found = rows.fetch_all(
        f"SELECT {_CARD_COLS}, {_BRAND_COLS}, t.paid FROM ({_rolling_sql('%s')}) t "
        f"LEFT JOIN ({Card._meta.db_table} c JOIN {Brand._meta.db_table} b ON b.id = c.brand_id) "
        "ON c.member_id = %s AND c.status = %s",
        [member_id, *_window(until, programme.window_days), store.brand_id, member_id, CardStatus.ACTIVE],
        _CARDS_ROLLING_ROW)
    rolling = RollingBefore(store.brand.code, until, programme.window_days, _cents(found[0][-1]))
    return _usable(found, store, programme, on), rolling


def card_rolling_sql() -> str:
    """A column for a query over loyalty_card c: rolling_sql for the card's member (parameters as there)."""
    return f"({_rolling_sql('c.member_id')})"


def rolling_before(card_row_paid, store, programme: Programme, until: dt.datetime) -> RollingBefore:
    return RollingBefore(store.brand.code, until, programme.window_days, _cents(card_row_paid))


def rolling_params(store, programme: Programme, until: dt.datetime) -> list:
    return [*_window(until, programme.window_days), store.brand_id]


def rolling_paid(member: Member | int, brand_code: str, *, until: dt.datetime, days: int) -> Decimal:
    """Paid at the brand's stores within the window (returns are negative receipts, so they count)."""
    member_id = member if isinstance(member, int) else member.pk
    brand = f"(SELECT b.id FROM {Brand._meta.db_table} b WHERE b.code = %s)"
    row = rows.fetch_one(_rolling_sql("%s", brand), [member_id, *_window(until, days), brand_code], _PAID_FIELD)
    return _cents(row[0] if row else None)


def purchase_days(member: Member | int, brand_code: str, *, until: dt.datetime, days: int) -> int:
    """Distinct local days (Asia/Shanghai) the member bought at the brand's stores within the window ending at
    `until`, returns netted as the rolling amount nets them: a receipt counts with its returns in the window,
    and a day counts when one of its receipts still has something paid (a sale returned in full is no purchase)."""
    return purchase_days_since(member, brand_code, until=until, days=days)[0]


def purchase_days_since(member: Member | int, brand_code: str, *, until: dt.datetime,
                        days: int) -> tuple[int, dt.datetime | None]:
    """purchase_days, and the time of the oldest purchase counted (None: none)."""
    member_id = member if isinstance(member, int) else member.pk
    groups = (Receipt.objects.filter(member_id=member_id, store__brand__code=brand_code,
                                     sold_at__gt=until - dt.timedelta(days=days), sold_at__lte=until)
              .annotate(key=Coalesce("original_id", "id")).order_by().values("key")
              .annotate(net=Sum("total_paid"), first=Min("sold_at"), originals=Count("pk", filter=Q(
                  original__isnull=True))))
    counted = [g["first"] for g in groups if g["originals"] and _cents(g["net"]) > 0]
    return len({timezone.localtime(at).date() for at in counted}), min(counted, default=None)


def window_rules(tier: Tier) -> int:
    """How many rules over the rolling window the tier has (amount, purchase days)."""
    return (tier.rolling_paid is not None) + (tier.purchase_days is not None)


def _series_paid(receipt) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for line in receipt.lines.select_related("product__series"):
        code = line.product.series.code
        out[code] = out.get(code, Decimal("0")) + line.paid_amount
    return out


def qualifies(tier: Tier, member: Member, receipt, *, current: Card | None, programme: Programme,
              series_paid: dict[str, Decimal] | None = None, before: RollingBefore | None = None) -> bool:
    """Does this sale (or the rolling window up to it) earn `tier`? A group purchase earns at most rank 1, and only
    by a single receipt. The tier's rules: one receipt (in total or in a series), the amount paid in the rolling
    window, purchase days in the window; `qualify` "any": one of them met is enough, "all": every rule the tier
    has. The window's rules need the prerequisite card (`requires`), a single receipt does not.
    `series_paid`: the receipt's paid amount per series when the caller has it (else read from its lines);
    `before`: the rolling amount before this sale when the caller read it (else summed now)."""
    if receipt.store.brand.code != tier.issue_brand:
        return False
    rolling_ok = not (tier.requires and not (current and current.kind in (tier.requires, tier.code)))
    if receipt.is_group_purchase and tier.rank > 1:
        return False
    def single() -> bool:
        if tier.single_receipt is not None and receipt.total_paid >= tier.single_receipt:
            return True
        if tier.single_receipt_by_series:
            by_series = series_paid if series_paid is not None else _series_paid(receipt)
            return any(by_series.get(s, Decimal("0")) >= amount
                       for s, amount in tier.single_receipt_by_series.items())
        return False

    def amount() -> bool:
        if receipt.is_group_purchase or not rolling_ok:
            return False
        if before and (before.brand_code, before.until, before.days) == (tier.issue_brand, receipt.sold_at,
                                                                          programme.window_days):
            paid = before.paid + receipt.total_paid
        else:
            paid = rolling_paid(member, tier.issue_brand, until=receipt.sold_at, days=programme.window_days)
        return paid >= tier.rolling_paid

    def frequency() -> bool:
        if receipt.is_group_purchase or not rolling_ok:
            return False
        return purchase_days(member, tier.issue_brand, until=receipt.sold_at,
                             days=programme.window_days) >= tier.purchase_days

    return combine_rules(tier, single=single, amount=amount, frequency=frequency)


def issue_accumulation_card(member: Member, store, programme: Programme, *, at: dt.datetime) -> Card:
    number = f"{ACCUMULATION_PREFIX}{reserve_numbers('accumulation_card')[0]:09d}"
    return Card.objects.create(
        number=number, member=member, kind=CardKind.ACCUMULATION, status=CardStatus.ACTIVE, brand=store.brand,
        issued_at=at, activated_at=at,
        valid_until=timezone.localtime(at).date() + dt.timedelta(days=programme.accumulation_valid_days),
    )


def evaluate_after_sale(member: Member, receipt, card: Card | None, programme: Programme, *,
                        series_paid: dict[str, Decimal] | None = None,
                        before: RollingBefore | None = None) -> Card | None:
    """After a sale: the best tier the member now qualifies for at this brand. With auto-approval the
    card is upgraded at once (same number; the next sale gets the new discount); otherwise a proposal
    is left for the specialist. Returns the upgraded card, if any.

    The card upgraded is the member's card of the store's own brand: a card of another brand that this store
    honours (seed 001's knight card at the main brand) keeps its level, and the sale counts for the store's brand
    (a new card of that brand when the member qualifies and has none)."""
    if card is not None and card.brand_id != receipt.store.brand_id:
        on = timezone.localtime(receipt.sold_at).date()
        card = next((c for c in usable_cards(member, receipt.store, programme, on=on)
                     if c.brand_id == receipt.store.brand_id), None)
    current_rank = card_rank(card, programme) if card else 0
    best: Tier | None = None
    for tier in sorted(programme.tiers, key=lambda t: -t.rank):
        if tier.rank > current_rank and qualifies(tier, member, receipt, current=card, programme=programme,
                                                  series_paid=series_paid, before=before):
            best = tier
            break
    if best is None:
        return None
    if card is None and programme.auto_approve_upgrades:
        card = issue_accumulation_card(member, receipt.store, programme, at=receipt.sold_at)
    return propose_upgrade(member=member, card=card, tier=best, receipt=receipt, programme=programme)


def revert_upgrade_of(receipt) -> None:
    """A return of the receipt that caused an upgrade, when the member no longer qualifies, undoes it."""
    from .programme import programme_at

    programme = programme_at(timezone.localtime(receipt.sold_at).date())
    for card in Card.objects.filter(upgraded_by=receipt, status=CardStatus.ACTIVE):
        tier = programme.tier(card.kind)
        receipt.refresh_from_db()
        net = receipt.total_paid + sum((r.total_paid for r in receipt.returns.all()), Decimal("0"))
        still = tier is not None and _still_qualifies(tier, card, receipt, net, programme)
        if not still:
            card.kind = card.previous_kind or CardKind.ACCUMULATION
            card.upgraded_by = None
            card.previous_kind = ""
            card.save(update_fields=["kind", "upgraded_by", "previous_kind"])


def _still_qualifies(tier: Tier, card: Card, receipt, net_paid: Decimal, programme: Programme) -> bool:
    """After a return of the upgrading receipt: the tier's rules (combined as `qualifies` does) with the receipt
    netted and the window up to now."""
    def single() -> bool:
        if tier.single_receipt is not None and net_paid >= tier.single_receipt:
            return True
        if tier.single_receipt_by_series:
            by_series = _series_paid(receipt)
            for ret in receipt.returns.all():
                for code, amount in _series_paid(ret).items():
                    by_series[code] = by_series.get(code, Decimal("0")) + amount
            return any(by_series.get(s, Decimal("0")) >= a for s, a in tier.single_receipt_by_series.items())
        return False

    def amount() -> bool:
        return not receipt.is_group_purchase and rolling_paid(
            card.member, tier.issue_brand, until=timezone.now(), days=programme.window_days) >= tier.rolling_paid

    def frequency() -> bool:
        return not receipt.is_group_purchase and purchase_days(
            card.member, tier.issue_brand, until=timezone.now(), days=programme.window_days) >= tier.purchase_days

    return combine_rules(tier, single=single, amount=amount, frequency=frequency)


def combine_rules(tier: Tier, *, single: Callable[[], bool] | None, amount: Callable[[], bool],
                  frequency: Callable[[], bool]) -> bool:
    """The rules `tier` has (one receipt, the window's amount, its purchase days), each evaluated only when needed:
    "all" needs every one of them, "any" one; a tier with no rule is never earned. `single` None: the check
    leaves the one-receipt rule out (the anniversary retention looks at the window only)."""
    rules = []
    if single is not None and (tier.single_receipt is not None or tier.single_receipt_by_series):
        rules.append(single)
    if tier.rolling_paid is not None:
        rules.append(amount)
    if tier.purchase_days is not None:
        rules.append(frequency)
    if not rules:
        return False
    return all(rule() for rule in rules) if tier.qualify == "all" else any(rule() for rule in rules)
