"""Loyalty's parts of a sale, as providers of the sale pipeline: the card's discount, the birthday privilege,
points as a cash offset, points earned, and the tier evaluation after the sale (and each one backwards on a
return). Registered in LoyaltyConfig.ready; the order is declared by each provider's `order` (sales.pipeline).

- tier discount (adjustment 10): every full-price unit at the card's discount;
- birthday privilege (adjustment 30): the most expensive full-price units, up to the tier's count, at the
  birthday discount, once per birthday month and scope (a unique constraint on BirthdayUse guards it across
  stores); outside the month only with an approved exception;
- points offset (tender 10): points redeemed as cash, within the balance and the programme's share of the
  receipt; taken from the oldest lots in the receipt's statement;
- points earned (reward 10): on what was paid, less birthday units and the offset, at the series' rate, the card
  level's multiplier and the best promotion per line (loyalty.earning: one floor on the total); the net balance
  change of every points entry of the sale in one UPDATE; a return takes back the points of the lines returned
  (their share of the sale's earning weight, amount × the line's points factor) and refunds the offset's points in
  proportion to the amount (cumulative targets: partial returns never reverse more than the sale earned, a full
  one exactly that);
- tier evaluation (reward 20): after the sale (an upgrade at once or a proposal); a return of the receipt
  that caused an upgrade undoes it when the member no longer qualifies.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from membercare.core.crypto import blind_index
from membercare.core.idnumber import normalize_id_number
from membercare.sales.pipeline import Adjustment, CheckoutError, SaleRows, money, register

from .birthday import birthday_period, not_birthday_month_text
from .birthday_exceptions import approved_exception_on
from .earning import EarnLine, points_earned
from .models import BirthdayUse, PointsEntry
from .points import balance_change, consume_statement, earn_entry, lots_agree, points_earn, points_take, redeem_entry
from .programme import programme_at
from .tiers import evaluate_after_sale, revert_upgrade_of

ZERO = Decimal("0")


# ------------------------------------------------------------------------------------------- the card's discount


class TierDiscount(Adjustment):
    name, stage, order = "tier_discount", "adjustment", 10
    label = gettext_lazy("Card discount")

    def quote(self, sale) -> None:
        tier = sale.programme.tier(sale.card.kind) if sale.card else None
        discount = tier.discount if tier else ZERO
        for ql in sale.lines:
            if not ql.on_promotion:
                ql.unit_prices = [money(ql.full_price * (1 - discount))] * ql.quantity


# --------------------------------------------------------------------------------------- the birthday privilege


def _check_birthday(sale) -> tuple[str, str, int, Decimal, bool]:
    card, store = sale.card, sale.store
    tier = sale.programme.tier(card.kind) if card else None
    if tier is None or tier.birthday is None:
        raise CheckoutError("birthday_not_eligible", _("The birthday privilege needs an active elite, diamond or "
                                                       "knight card."), "birthday")
    if store.brand.code not in tier.birthday.brands:
        raise CheckoutError("birthday_wrong_store", _("This card's birthday privilege is not valid at %(brand)s "
                                                      "stores.") % {"brand": store.brand.name}, "birthday")
    if tier.birthday.self_operated_only and not store.self_operated:
        raise CheckoutError("birthday_franchise_store", _("The birthday privilege is used at self-operated stores "
                                                          "only; %(store)s is a franchise store.") % {
            "store": store.name}, "birthday")
    period, exception = birthday_period(sale.member, sale.on), False
    if period is None:  # outside the month only with an exception the specialist approved
        approved = approved_exception_on(sale.member, sale.on)
        if approved is None:
            raise CheckoutError("birthday_not_month", not_birthday_month_text(sale.member, sale.on), "birthday")
        period, exception = approved.period, True
    if tier.birthday.id_number_required:
        _check_id_number(sale)
    scope = ",".join(sorted(tier.birthday.brands))
    used = (BirthdayUse.objects.select_related("store")
            .filter(member=sale.member, scope=scope, period=period).first())
    if used:
        raise CheckoutError("birthday_used", _("The birthday privilege of this month was already used on %(date)s "
                                               "at %(store)s.") % {
            "date": formats.date_format(timezone.localtime(used.used_at), "SHORT_DATETIME_FORMAT"),
            "store": used.store.name}, "birthday")
    return scope, period, tier.birthday.items, tier.birthday.discount, exception


def _check_id_number(sale) -> None:
    """Seed 001: the birthday receipt carries the member's ID number. The clerk types it from the member's ID card;
    it must match the profile's (compared by its keyed hash: the number is never decrypted here)."""
    member = sale.member
    if not member.id_number_index:
        raise CheckoutError("birthday_id_not_on_file", _("The birthday privilege needs the member's ID number, and "
                                                         "the profile has none: record it on the profile first."),
                            "id_number")
    given = (sale.request.id_number or "").strip()
    if not given:
        raise CheckoutError("birthday_id_required", _("The birthday privilege needs the member's ID number: enter "
                                                      "it from the member's ID card."), "id_number")
    try:
        number = normalize_id_number(given[:40])
    except ValidationError as exc:
        raise CheckoutError("birthday_id_invalid", exc.messages[0], "id_number") from exc
    if blind_index(number) != member.id_number_index:
        raise CheckoutError("birthday_id_mismatch", _("The ID number does not match the member's profile."),
                            "id_number")
    sale.birthday_id_checked = True


class BirthdayPrivilege(Adjustment):
    name, stage, order = "birthday", "adjustment", 30
    label = gettext_lazy("Birthday privilege")

    def quote(self, sale) -> None:
        if not sale.request.birthday:
            return
        scope, period, max_items, discount, exception = _check_birthday(sale)
        # the most expensive full-price units get the privilege
        candidates = sorted(((ql.full_price, idx) for idx, ql in enumerate(sale.lines) if not ql.on_promotion
                             for _u in range(ql.quantity)), reverse=True)[:max_items]
        if not candidates:
            raise CheckoutError("birthday_no_items", _("The birthday privilege applies to full-price items only."),
                                "birthday")
        for _price, idx in candidates:
            ql = sale.lines[idx]
            ql.unit_prices[ql.birthday_items] = money(ql.full_price * (1 - discount))
            ql.birthday_items += 1
        sale.birthday_items = len(candidates)
        sale.birthday_scope, sale.birthday_period, sale.birthday_exception = scope, period, exception

    def rows(self, sale, receipt, out: SaleRows) -> None:
        receipt.birthday_privilege = sale.birthday_items > 0

    def commit(self, sale, receipt) -> None:
        if not sale.birthday_items:
            return
        try:
            with transaction.atomic():
                BirthdayUse.objects.create(member=sale.member, scope=sale.birthday_scope, period=sale.birthday_period,
                                           card_number=receipt.card_number, store=sale.store, receipt=receipt,
                                           items=sale.birthday_items, used_at=receipt.sold_at,
                                           exception=sale.birthday_exception,
                                           id_number_checked=getattr(sale, "birthday_id_checked", False))
        except IntegrityError as exc:  # another store got there first (unique constraint)
            raise CheckoutError("birthday_used", _("The birthday privilege of this month was already used."),
                                "birthday") from exc


# ------------------------------------------------------------------------------------------------ points offset


def most_points_redeemable(programme, amount_due: Decimal, balance: int | None) -> int:
    """The most points a receipt of `amount_due` (after the adjustments) may take as a cash offset: the
    programme's share of the receipt, within the member's balance (None: the share alone)."""
    cap = money(amount_due * programme.max_redeem_share)
    most = int((cap / programme.point_value).to_integral_value(rounding=ROUND_DOWN)) if programme.point_value else 0
    return max(0, most if balance is None else min(most, balance))


class PointsOffset(Adjustment):
    name, stage, order = "points_offset", "tender", 10
    label = gettext_lazy("Points offset")

    def quote(self, sale) -> None:
        points = sale.request.redeem_points
        if not points:
            return
        programme = sale.programme
        if points < 0:
            raise CheckoutError("points_invalid", _("Points to redeem must not be negative."), "redeem_points")
        balance = sale.balance
        if balance is None:
            balance = getattr(getattr(sale.member, "loyalty", None), "points", 0)
        if points > balance:
            raise CheckoutError("points_insufficient", _("Only %(n)d points are available.") % {"n": balance},
                                "redeem_points")
        offset = money(points * programme.point_value)
        if offset > money(sale.total_paid * programme.max_redeem_share):
            most = most_points_redeemable(programme, sale.total_paid, None)
            raise CheckoutError("points_over_limit", _("At most %(n)d points can be used on this receipt.") % {
                "n": most}, "redeem_points")
        sale.points_redeemed, sale.points_offset = points, offset
        sale.offset += offset

    def rows(self, sale, receipt, out: SaleRows) -> None:
        receipt.points_redeemed, receipt.points_offset = sale.points_redeemed, sale.points_offset
        if not sale.points_redeemed:
            return
        # taken from the lots there were before this sale (this sale's lot is not among them)
        out.linked.append(redeem_entry(sale.account, sale.points_redeemed, receipt=receipt, operator=sale.clerk,
                                       at=receipt.sold_at,
                                       reason=_("Cash offset ¥%(amount)s") % {"amount": sale.points_offset}))
        member_id, points = sale.member.pk, sale.points_redeemed
        out.before.append(consume_statement(member_id, points))
        out.checks.append(lambda changed: lots_agree(changed, member_id, points))


# ------------------------------------------------------------------------------------------------ points earned


class PointsEarned(Adjustment):
    """Points earned by the sale: loyalty.earning.points_earned (rates by series, the card level's multiplier,
    the best promotion per line, no stacking; one floor on the total). What the points offset and stored value's
    bonus (sale.unearned) paid earns nothing. What raised the points (a promotion, the level's multiplier) is the
    earn entry's reason, shown on the receipt."""

    name, stage, order = "points_earned", "reward", 10

    def quote(self, sale) -> None:
        # a member without a card yet: the sale issues an accumulation card, and earns as one
        kind = sale.card.kind if sale.card else "accumulation"
        earning = points_earned(
            sale.programme, [EarnLine(ql.product.series.code, ql.paid - ql.birthday_paid) for ql in sale.lines],
            unearned=sale.offset + getattr(sale, "unearned", ZERO), on=sale.on, card_kind=kind,
            store_code=sale.store.code if sale.store else "")
        sale.points_earned = earning.points
        label = sale.programme.label(kind)
        sale.parts["points_note"] = "、".join(earning.labels(str(label)))[:200]

    def rows(self, sale, receipt, out: SaleRows) -> None:
        receipt.points_earned = sale.points_earned
        receipt.points_note = sale.parts.get("points_note", "") if sale.points_earned else ""
        earn = earn_entry(sale.account, sale.points_earned, expires_on=sale.programme.points_expire_on(sale.on),
                          receipt=receipt, operator=sale.clerk, at=receipt.sold_at, reason=receipt.points_note)
        if earn:
            out.linked.append(earn)
        # the balance moves once for every points entry of the sale (the offset's and this one)
        change = sum(e.points for e in out.linked if isinstance(e, PointsEntry))
        if change:
            out.also.append(balance_change(sale.account, change))
        sale.account.points += change

    def reverse(self, ret) -> None:
        if ret.account is not None:
            _reverse_points(ret.account, ret.original, ret.receipt, ret.clerk, ret.at)


def _returned_share(original) -> tuple[Decimal, Decimal]:
    """(paid returned so far, paid originally): the share of the receipt that has come back."""
    returned = -sum((r.total_paid for r in original.returns.all()), ZERO)
    return returned, original.total_paid


def _returned_earning_share(original) -> tuple[Decimal, Decimal]:
    """(earning weight returned so far, earning weight of the sale): each line weighs what it paid × the points
    factor of its series on the sale's day (the series' rate, the card level's multiplier, the best promotion:
    loyalty.earning), so returning a line of a double-points series takes back what that line earned, not a share
    by amount. With one factor for every line this is the share by amount."""
    on = timezone.localtime(original.sold_at).date()
    programme = programme_at(on)
    kind = original.tier or "accumulation"
    store_code = original.store.code if original.store_id else ""
    multiplier = programme.points_multiplier(kind)
    factors: dict[int, Decimal] = {}
    total = ZERO
    for line in original.lines.select_related("product__series"):
        series = line.product.series.code
        promo = programme.best_promotion(on, series=series, tier=kind, store=store_code)
        factors[line.pk] = programme.points_rate(series) * multiplier * (promo.multiplier if promo else 1)
        total += max(line.paid_amount, ZERO) * factors[line.pk]
    returned = ZERO
    for line in original.lines.model.objects.filter(receipt__original=original, original_line__isnull=False):
        returned += max(-line.paid_amount, ZERO) * factors.get(line.original_line_id, ZERO)
    return min(returned, total), total


def _part(points: int, returned: Decimal, whole: Decimal) -> int:
    """points × returned / whole, rounded down (multiply first: 3000 x 1000 / 3000 is exactly 1000); all of them
    once everything has come back."""
    if not whole or returned >= whole:
        return points
    return int((points * returned / whole).to_integral_value(rounding=ROUND_DOWN))


def _reverse_points(account, original, ret, clerk, at) -> None:
    returned, paid = _returned_share(original)
    returned = min(returned, paid)
    # cumulative targets, so a series of partial returns reverses exactly what a full return would: the points
    # earned by the share of the earning weight returned, the offset's points by the share of the amount
    weight_back, weight = _returned_earning_share(original) if original.points_earned else (ZERO, ZERO)
    target_reversed = _part(original.points_earned, weight_back, weight)
    target_refund = _part(original.points_redeemed, returned, paid)
    if paid and returned >= paid:
        target_reversed = original.points_earned
    done_reversed = -sum(e.points for e in PointsEntry.objects.filter(
        receipt__original=original, kind=PointsEntry.Kind.REVERSE).exclude(receipt=ret))
    done_refund = sum(e.points for e in PointsEntry.objects.filter(
        receipt__original=original, kind=PointsEntry.Kind.REFUND).exclude(receipt=ret))
    reverse = target_reversed - done_reversed
    refund = target_refund - done_refund
    programme = programme_at(timezone.localtime(at).date())
    if refund > 0:
        points_earn(account, refund, expires_on=programme.points_expire_on(timezone.localtime(at).date()),
                    receipt=ret, reason=_("Points offset refunded"), operator=clerk, kind=PointsEntry.Kind.REFUND,
                    at=at)
    if reverse > 0:
        taken = points_take(account, reverse, kind=PointsEntry.Kind.REVERSE, receipt=ret,
                            reason=_("Return of receipt %(number)s") % {"number": original.number},
                            operator=clerk, at=at, allow_short=True)
        if taken < reverse:
            entry = PointsEntry.objects.filter(receipt=ret, kind=PointsEntry.Kind.REVERSE).last()
            if entry is None:
                entry = PointsEntry.objects.create(member_id=account.member_id, kind=PointsEntry.Kind.REVERSE,
                                                   points=0, receipt=ret, operator=clerk, created_at=at, reason="")
            entry.reason += " " + _("(%(n)d points were already spent and could not be reversed)") % {
                "n": reverse - taken}
            entry.save(update_fields=["reason"])


# ------------------------------------------------------------------------------------------------ tier evaluation


class TierEvaluation(Adjustment):
    name, stage, order = "tier_evaluation", "reward", 20

    def commit(self, sale, receipt) -> None:
        series_paid: dict[str, Decimal] = {}
        for line in receipt.posted_lines:
            code = line.product.series.code
            series_paid[code] = series_paid.get(code, ZERO) + line.paid_amount
        upgraded = evaluate_after_sale(sale.member, receipt, sale.card, sale.programme, series_paid=series_paid,
                                       before=sale.before)
        # a card of the store's own brand raised by this sale when the card presented is another brand's
        receipt.level_card = upgraded if upgraded is not None and upgraded.pk != sale.card.pk else None

    def reverse(self, ret) -> None:
        revert_upgrade_of(ret.original)


def register_providers() -> None:
    for provider in (TierDiscount(), BirthdayPrivilege(), PointsOffset(), PointsEarned(), TierEvaluation()):
        register(provider)
