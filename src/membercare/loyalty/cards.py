"""Card lifecycle: applications, review, activation on signature, lost cards, upgrades, expiry, retention.

The flow (DOMAIN.md, "Cards and tiers"):
  card_apply (clerk) -> application_approve / application_reject (VIP specialist) -> the new card is
  issued PENDING (awaiting the member's signature) -> card_activate_on_signature (clerk at the
  application's store): the card becomes ACTIVE and, for a reissue or exchange, the old card VOID
  (replaced_by = the new card) in the same transaction.
A lost card is made VOID at once by card_report_lost, and a reissue application is filed for it.
Points live on the member (LoyaltyAccount), so they follow the member to any new card; receipts keep the
card number they were made with (history); the new card takes over the old card's tier.

Every write for a member locks the member's LoyaltyAccount first (as checkout does), so a card change
and a checkout for the same member never interleave.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import can_edit_programme, can_work_members, require, visible_stores
from membercare.core.sequences import reserve_numbers
from membercare.members.models import Member
from membercare.org.models import Brand, Staff, Store

from .cards_daily import RetentionChange, card_anniversary_base, cards_expire_due, cards_retention_due
from .models import Card, CardApplication, CardKind, CardStatus, normalize_card_number
from .points import lock_account
from .programme import programme_at
from .tiers import ACCUMULATION_PREFIX, card_rank
from .upgrades import OPEN_STATUSES, propose_upgrade

CARD_PREFIX = {CardKind.ELITE: "E", CardKind.DIAMOND: "D", CardKind.KNIGHT: "K"}
CARD_SEQUENCE = "card"
ACCUMULATION_SEQUENCE = "accumulation_card"  # shared with tiers.issue_accumulation_card


class CardError(ValidationError):
    """A refusal with a stable code and a message naming the field (like checkout's CheckoutError)."""

    def __init__(self, code: str, message: str, field: str = "__all__"):
        super().__init__({field: [ValidationError(message, code=code)]})
        self.error_code = code
        self.text = message
        self.field = field


def new_card_number(kind: str) -> str:
    if kind == CardKind.ACCUMULATION:
        return f"{ACCUMULATION_PREFIX}{reserve_numbers(ACCUMULATION_SEQUENCE)[0]:09d}"
    return f"{card_prefix(kind)}{reserve_numbers(CARD_SEQUENCE)[0]:09d}"


def card_prefix(kind: str) -> str:
    """A card number's letter: E/D/K for the default levels, else the code's first letter upper-case (a code
    starting with a digit or _ keeps it: numbers are upper-cased anyway)."""
    return CARD_PREFIX.get(kind) or kind[:1].upper()


# ------------------------------------------------------------------------------------------- applications


def _old_card_problem(kind: str, old: Card, *, filing: bool = True) -> CardError | None:
    """Can `old` be replaced by an application of this kind? When filing: a reissue takes an active or
    lost card, an exchange an active or expired one. Later (review, signature) it only must not have
    been replaced meanwhile."""
    if old.replaced_by_id:
        return CardError("old_card_replaced", _("Card %(number)s was already replaced by card %(new)s.") % {
            "number": old.number, "new": old.replaced_by.number}, "old_card_number")
    if not filing:
        return None
    if old.status == CardStatus.PENDING:
        return CardError("old_card_not_active", _("Card %(number)s is not active yet.") % {"number": old.number},
                         "old_card_number")
    if kind == CardApplication.Kind.UPGRADE and old.status == CardStatus.VOID:
        return CardError("old_card_void", _("Card %(number)s is void: file a lost-card reissue instead.") % {
            "number": old.number}, "old_card_number")
    if kind == CardApplication.Kind.REISSUE and old.status == CardStatus.EXPIRED:
        return CardError("old_card_expired", _("Card %(number)s has expired: it cannot be reissued.") % {
            "number": old.number}, "old_card_number")
    return None


def _lost_reason(reason: str) -> str:
    return (_("Reported lost: %(reason)s") % {"reason": reason.strip()})[:200]


def _file(*, member_id: int, kind: str, card_kind: str, old: Card | None, store: Store, by: Staff,
          note: str) -> CardApplication:
    """Create the application unless one for the same card is open (caller holds the member's lock)."""
    open_apps = CardApplication.objects.filter(member_id=member_id, status__in=OPEN_STATUSES)
    clash = open_apps.filter(old_card=old).first() if old else open_apps.filter(
        card_kind=card_kind, old_card__isnull=True).first()
    if clash:
        raise CardError("application_open", _("An application for this card is already open (filed on %(date)s).")
                        % {"date": timezone.localtime(clash.filed_at).strftime("%Y-%m-%d")}, "kind")
    return CardApplication.objects.create(member_id=member_id, kind=kind, card_kind=card_kind, old_card=old,
                                          store=store, filed_by=by, filed_at=timezone.now(), note=note.strip())


@transaction.atomic
def card_apply(*, member: Member, kind: str, card_kind: str, store: Store, by: Staff, old_card_number: str = "",
               note: str = "") -> CardApplication:
    """A clerk files an application: new card, accumulation card, lost-card reissue or exchange/upgrade.
    Reissue and exchange need the old card's number, which must be one of the member's cards."""
    require(can_work_members(by))
    if store is None or not visible_stores(by).filter(pk=store.pk).exists():
        raise CardError("store_not_yours", _("You can only file applications for your own stores."), "store")
    if kind not in CardApplication.Kind.values:
        raise CardError("kind_invalid", _("Choose the kind of application."), "kind")
    programme = programme_at()
    old: Card | None = None
    if kind in (CardApplication.Kind.REISSUE, CardApplication.Kind.UPGRADE):
        number = normalize_card_number(old_card_number)
        if not number:
            raise CardError("old_card_required", _("A reissue or exchange needs the old card's number."),
                            "old_card_number")
        old = Card.objects.select_related("replaced_by").filter(number=number).first()
        if old is None:
            raise CardError("old_card_unknown", _("Card %(number)s is unknown.") % {"number": old_card_number},
                            "old_card_number")
        if old.member_id != member.pk:
            raise CardError("old_card_other_member", _("Card %(number)s does not belong to %(name)s.") % {
                "number": old.number, "name": member.name}, "old_card_number")
        problem = _old_card_problem(kind, old)
        if problem:
            raise problem
    elif old_card_number.strip():
        raise CardError("old_card_not_expected", _("Only a reissue or an exchange takes an old card number."),
                        "old_card_number")

    if kind == CardApplication.Kind.REISSUE:
        card_kind = old.kind  # a reissue is the same card under a new number
    elif kind == CardApplication.Kind.ACCUMULATION:
        card_kind = card_kind or CardKind.ACCUMULATION
        if card_kind != CardKind.ACCUMULATION:
            raise CardError("card_kind_invalid", _("An accumulation application is for an accumulation card."),
                            "card_kind")
    else:
        tier = programme.tier(card_kind)
        if tier is None:
            raise CardError("card_kind_invalid", _("Choose a level of the programme."), "card_kind")
        if old is not None and card_rank(old, programme) > tier.rank:
            raise CardError("card_kind_lower", _("An exchange cannot lower the card: %(number)s is a %(kind)s.")
                            % {"number": old.number, "kind": programme.label(old.kind)}, "card_kind")
        if kind == CardApplication.Kind.NEW and member.cards.filter(kind=card_kind, status=CardStatus.ACTIVE).exists():
            raise CardError("card_held", _("%(name)s already holds an active card of this kind.") % {
                "name": member.name}, "card_kind")

    lock_account(member)  # one application at a time per member
    if old is not None:
        old = Card.objects.select_for_update(of=("self",)).select_related("replaced_by").get(pk=old.pk)
        problem = _old_card_problem(kind, old)
        if problem:
            raise problem
    app = _file(member_id=member.pk, kind=kind, card_kind=card_kind, old=old, store=store, by=by, note=note)
    if kind == CardApplication.Kind.REISSUE and old.status == CardStatus.ACTIVE:
        # a lost card's number stops working at once, before the new card is signed for
        old.status = CardStatus.VOID
        old.void_reason = _lost_reason(note or _("lost-card reissue filed"))
        old.save(update_fields=["status", "void_reason"])
    return app


def _lock_application(application: CardApplication) -> CardApplication:
    return (CardApplication.objects.select_for_update(of=("self",)).select_related("member", "old_card", "store")
            .get(pk=application.pk))


@transaction.atomic
def application_approve(*, application: CardApplication, by: Staff) -> Card:
    """The specialist approves: a new card is issued, PENDING until the member signs for it."""
    require(can_edit_programme(by))
    lock_account(application.member_id)
    app = _lock_application(application)
    if app.status != CardApplication.Status.PENDING:
        raise CardError("application_not_pending", _("This application was already reviewed."), "status")
    old = Card.objects.select_related("replaced_by").get(pk=app.old_card_id) if app.old_card_id else None
    if old is not None:
        problem = _old_card_problem(app.kind, old, filing=False)
        if problem:
            raise problem
    if app.card_kind == CardKind.ACCUMULATION:
        brand = old.brand if old else app.store.brand
    elif app.kind == CardApplication.Kind.REISSUE and old is not None:
        brand = old.brand
    else:
        tier = programme_at().tier(app.card_kind)
        brand = Brand.objects.filter(code=tier.issue_brand).first() if tier else None
        brand = brand or app.store.brand
    now = timezone.now()
    card = Card.objects.create(number=new_card_number(app.card_kind), member_id=app.member_id, kind=app.card_kind,
                               status=CardStatus.PENDING, brand=brand, issued_at=now)
    app.status = CardApplication.Status.APPROVED
    app.new_card = card
    app.reviewed_by = by
    app.reviewed_at = now
    app.save(update_fields=["status", "new_card", "reviewed_by", "reviewed_at"])
    application.refresh_from_db()
    return card


@transaction.atomic
def application_reject(*, application: CardApplication, by: Staff, reason: str) -> CardApplication:
    require(can_edit_programme(by))
    if not (reason or "").strip():
        raise CardError("reason_required", _("Give a reason for the rejection."), "reason")
    app = _lock_application(application)
    if app.status != CardApplication.Status.PENDING:
        raise CardError("application_not_pending", _("This application was already reviewed."), "status")
    app.status = CardApplication.Status.REJECTED
    app.reviewed_by = by
    app.reviewed_at = timezone.now()
    app.note = "\n".join(filter(None, [app.note, _("Rejected: %(reason)s") % {"reason": reason.strip()}]))
    app.save(update_fields=["status", "reviewed_by", "reviewed_at", "note"])
    application.refresh_from_db()
    return app


# ------------------------------------------------------------------------------------ signature, lost card


@transaction.atomic
def card_activate_on_signature(*, card: Card, by: Staff) -> Card:
    """The member signs for the card at the application's store: it becomes ACTIVE; a replaced card
    becomes VOID at the same moment, and the new card takes over its tier."""
    require(can_work_members(by))
    lock_account(card.member_id)
    card = Card.objects.select_for_update().get(pk=card.pk)
    app = (CardApplication.objects.select_for_update(of=("self",)).select_related("store", "receipt")
           .filter(new_card=card, status=CardApplication.Status.APPROVED).first())
    if card.status != CardStatus.PENDING or app is None:
        raise CardError("card_not_pending", _("Card %(number)s is not waiting for a signature.") % {
            "number": card.number}, "card")
    if not visible_stores(by).filter(pk=app.store_id).exists():
        raise CardError("store_not_yours", _("The member signs for the card at %(store)s.") % {
            "store": app.store.name}, "store")
    now = timezone.now()
    today = timezone.localdate()
    programme = programme_at(today)
    old = Card.objects.select_for_update().get(pk=app.old_card_id) if app.old_card_id else None
    if old is not None:
        problem = _old_card_problem(app.kind, old, filing=False)
        if problem:
            raise problem
    fields = ["status", "activated_at", "kind", "valid_until", "previous_kind", "upgraded_by", "is_group_purchase"]
    card.status = CardStatus.ACTIVE
    card.activated_at = now
    if old is not None and (app.kind == CardApplication.Kind.REISSUE or old.kind == card.kind
                            or card_rank(old, programme) > card_rank(card, programme)):
        # the new card takes over the old card's tier (an in-place upgrade since filing included, with
        # what a return of the upgrading receipt needs to undo it)
        card.kind, card.previous_kind, card.upgraded_by_id = old.kind, old.previous_kind, old.upgraded_by_id
        card.is_group_purchase = old.is_group_purchase
    elif old is not None:
        card.previous_kind = old.kind
    if app.proposed_by_rules and app.receipt_id and card.upgraded_by_id is None:
        card.upgraded_by_id = app.receipt_id  # a return of the qualifying receipt can undo the upgrade
        card.is_group_purchase = app.receipt.is_group_purchase
    if card.kind == CardKind.ACCUMULATION:
        keep = old.valid_until if old is not None and old.kind == CardKind.ACCUMULATION else None
        card.valid_until = keep or today + dt.timedelta(days=programme.accumulation_valid_days)
    else:
        card.valid_until = None
    card.save(update_fields=fields)
    if old is not None:
        old.replaced_by = card
        if old.status != CardStatus.VOID:
            old.status = CardStatus.VOID
            old.void_reason = _("Replaced by card %(number)s.") % {"number": card.number}
        old.save(update_fields=["status", "replaced_by", "void_reason"])
    app.status = CardApplication.Status.DONE
    app.save(update_fields=["status"])
    return card


@transaction.atomic
def card_report_lost(*, card: Card, by: Staff, reason: str, store: Store | None = None) -> CardApplication:
    """The member reports the card lost (identity checked by the clerk): its number stops working at once,
    everywhere, and a reissue application is filed for the specialist."""
    require(can_work_members(by))
    if not (reason or "").strip():
        raise CardError("reason_required", _("Give the reason and how the member's identity was checked."),
                        "reason")
    stores = visible_stores(by)
    store = store or by.stores.order_by("pk").first() or card.member.home_store
    if not stores.filter(pk=store.pk).exists():
        raise CardError("store_not_yours", _("You can only file applications for your own stores."), "store")
    lock_account(card.member_id)
    card = Card.objects.select_for_update().get(pk=card.pk)
    if card.status != CardStatus.ACTIVE:
        raise CardError("card_not_active", _("Only an active card can be reported lost; card %(number)s is "
                                             "%(status)s.") % {"number": card.number,
                                                               "status": card.get_status_display()}, "card")
    card.status = CardStatus.VOID
    card.void_reason = _lost_reason(reason)
    card.save(update_fields=["status", "void_reason"])
    now = timezone.now()
    approved = CardApplication.objects.filter(old_card=card, status=CardApplication.Status.APPROVED).first()
    if approved:  # an exchange already approved: the member signs for that card, which replaces this one
        return approved
    # a pending exchange of this card is superseded by the reissue
    for stale in CardApplication.objects.filter(old_card=card, status=CardApplication.Status.PENDING):
        stale.status = CardApplication.Status.REJECTED
        stale.reviewed_at = now
        stale.note = "\n".join(filter(None, [stale.note, _("Superseded: the card was reported lost.")]))
        stale.save(update_fields=["status", "reviewed_at", "note"])
    return _file(member_id=card.member_id, kind=CardApplication.Kind.REISSUE, card_kind=card.kind, old=card,
                 store=store, by=by, note=reason)


__all__ = [
    "CardError", "RetentionChange", "application_approve", "application_reject", "card_activate_on_signature",
    "card_anniversary_base", "card_apply", "card_report_lost", "cards_expire_due", "cards_retention_due",
    "new_card_number", "propose_upgrade",
]
