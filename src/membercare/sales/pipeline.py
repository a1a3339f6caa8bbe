"""The sale pipeline's floor: the basket's types, the refusal, and the registry of price adjustments.

The pipeline itself (membercare.checkout.pipeline) sits above loyalty, campaigns and events and runs a sale in
steps: identify the member (loyalty) → price the basket at the catalogue (sales) → apply the registered
adjustments in their declared order → take the tenders → write the receipt, its ledger entries and claims in
one transaction → notify (the `sale_posted` signal). Every kind of price adjustment or tender is a small
`Adjustment` registered here by the app that owns it (in its AppConfig.ready), so the pipeline imports none of
them and none of them imports the pipeline: the registry is at the bottom, the providers above it, the
pipeline on top.

An adjustment has three hooks, all optional:
- `quote(sale)`: price its part of the basket — change `QuoteLine.unit_prices`, put what it decided in
  `sale.parts[name]`, or refuse with a CheckoutError. No writes.
- `rows(sale, receipt, out)`: contribute to the receipt's single insert (lines, ledger entries linked to the
  receipt, statements to run before or with it: `SaleRows`).
- `commit(sale, receipt)`: its other writes, inside the sale's transaction, with its own concurrency guard (a
  conditional claim, a unique constraint); raise CheckoutError to roll the sale back.
- `reverse(ret)`: on a return of a receipt, run backwards (points given back, an upgrade undone…).

A sale without a member (a walk-in customer) runs only the providers that say `member_only = False` (items
on promotion at their price): a card discount, a privilege, a coupon or points need a member.

`order` numbers declare the order within a stage (lower first); the stages run one after the other:
"adjustment" (re-prices units), "tender" (takes part of the amount due: a points offset, later stored value or
gift cards) and "reward" (what the sale earns: points). Adding a provider touches
its own module and its registration, nothing here or in the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection

CENT = Decimal("0.01")
ZERO = Decimal("0")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class CheckoutError(ValidationError):
    """A refusal with a stable code (for the API) and a message in the user's language."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__({field or "__all__": [message]}, code=code)
        self.error_code = code
        self.text = message
        self.field = field


def after_rollback(exc: Exception) -> None:
    """Run a refusal's `after_rollback` write (a wrong member code's count where the database has one writer)
    once no transaction is open any more, i.e. after the refused sale's rollback; every caller that catches a
    refusal outside its transaction calls it (the checkout, the POS API, the counter's page)."""
    hook = getattr(exc, "after_rollback", None)
    if hook is not None and not connection.in_atomic_block:
        exc.after_rollback = None
        hook()


@dataclass
class LineIn:
    sku: str
    quantity: int
    full_price: Decimal | None = None  # the POS's catalogue price, checked against ours when given
    promo_price: Decimal | None = None  # unit price of an item on promotion (keeps its price)


@dataclass
class PaymentIn:
    method: str  # a sales.PaymentMethod code
    amount: Decimal | None = None  # None: the whole amount due (one method only)
    code: str = ""  # the gift card's code when the method is `gift_card` (storedvalue.gift_tender)


@dataclass
class ReturnLineIn:
    line_id: int
    quantity: int


@dataclass
class QuoteLine:
    product: Any  # sales.Product (with its series)
    quantity: int
    full_price: Decimal  # per unit
    on_promotion: bool
    unit_prices: list[Decimal]  # per unit, after the adjustments so far
    birthday_items: int  # the first `birthday_items` units carry the birthday privilege (earn no points)
    promo_price: Decimal | None = None  # the POS's promotion price of a unit (sales.promotions applies it)

    @property
    def paid(self) -> Decimal:
        return sum(self.unit_prices, ZERO)

    @property
    def birthday_paid(self) -> Decimal:
        return sum(self.unit_prices[: self.birthday_items], ZERO)


@dataclass
class SaleRequest:
    """What the counter asked for, beyond the basket: each adjustment reads its own option."""

    birthday: bool = False
    redeem_points: int = 0
    coupon_code: str = ""
    payments: list[PaymentIn] = field(default_factory=list)  # how it is paid (a tender like stored value reads it)
    member_code: str = ""  # the member's code (PIN) the stored-value tender asks for above its limit
    id_number: str = ""  # the member's ID number, which the birthday privilege asks for where the programme says so
    perks: list[str] = field(default_factory=list)  # codes of the card's perks used on this sale (loyalty.perks)


@dataclass
class SaleRows:
    """What the adjustments add to the receipt's one insert (loyalty.rows.insert_linked): rows linked to the
    receipt by `receipt_id`, statements run before it (their changed-row counts come back to `checks`) and
    statements run with it."""

    linked: list[Any] = field(default_factory=list)
    before: list[tuple[str, list]] = field(default_factory=list)
    checks: list[Callable[[int], None]] = field(default_factory=list)  # one per `before` statement
    also: list[tuple[str, list]] = field(default_factory=list)


class Adjustment:
    """A price adjustment or tender provided by an app (see the module's docstring)."""

    name: str = ""
    stage: str = "adjustment"  # or "tender", "reward"
    order: int = 100
    label: Any = ""  # what the receipt calls what it took off (translated); "" for rewards
    member_only: bool = True  # skipped on a sale without a member

    def lock_read(self, request: SaleRequest) -> tuple[str, list] | None:
        """What this provider wants read with the member's lock for a sale asking `request`: one SQL expression
        over the member's row (alias `m`) and its parameters, read in the statement that locks the member (one
        round trip less on the checkout's hot path); the value comes back as `sale.reads[name]` (absent when
        the lock was taken another way, e.g. on the member's first write: read it yourself then). None: nothing."""
        return None

    def quote(self, sale: Any) -> None:
        return None

    def rows(self, sale: Any, receipt: Any, out: SaleRows) -> None:
        return None

    def commit(self, sale: Any, receipt: Any) -> None:
        return None

    def reverse(self, ret: Any) -> None:
        return None


STAGES = ("adjustment", "tender", "reward")  # reward: what the sale earns (points), after the tenders
_REGISTRY: dict[str, Adjustment] = {}
_ORDERED: list[tuple[Adjustment, ...]] = []


def register(provider: Adjustment) -> None:
    """Register (or replace, by name) a provider; called from the owning app's AppConfig.ready."""
    if provider.stage not in STAGES:
        raise ValueError(f"unknown stage {provider.stage!r} of {provider.name!r}")
    _REGISTRY[provider.name] = provider
    _ORDERED.clear()


def unregister(name: str) -> None:
    """Remove a provider (tests; a chain switching a kind of adjustment off would do it in its settings)."""
    _REGISTRY.pop(name, None)
    _ORDERED.clear()


def providers() -> tuple[Adjustment, ...]:
    """Every registered provider in the declared order: adjustments first, then tenders, each by `order`."""
    if not _ORDERED:
        _ORDERED.append(tuple(sorted(_REGISTRY.values(), key=lambda p: (STAGES.index(p.stage), p.order, p.name))))
    return _ORDERED[0]


def provider(name: str) -> Adjustment | None:
    return _REGISTRY.get(name)


def provider_label(name: str) -> str:
    """The receipt's label of the adjustment or tender called `name` (its name when it is not registered)."""
    provider = _REGISTRY.get(name)
    return str(provider.label) if provider is not None and provider.label else name
