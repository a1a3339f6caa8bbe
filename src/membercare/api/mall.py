"""The POS's points mall (issue 19 part 2): the items this store can give, a redemption for a member at the till,
handing over a gift redeemed in the member centre against its pickup code. Writes need an Idempotency-Key: a
retry never spends the points twice. Refusals are 422 with the mall's codes (points_short, out_of_stock,
item_inactive, coupon_held, batch_over, other_store, collected, code_unknown)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import BaseModel, Field

from membercare.campaigns.mall import mall_items as on_sale
from membercare.campaigns.mall import mall_pickup, mall_redeem
from membercare.campaigns.models import MallItem, MallRedemption
from membercare.loyalty.points import points_balance
from membercare.service.errors import ServiceError
from membercare.service.models import GiftStock

from .auth import PosKeyAuth
from .errors import ApiError
from .idempotency import idempotent, require_key
from .pos import ERRORS, IdempotencyKey, _clerk, _member, _store

router = Router(auth=PosKeyAuth(), tags=["pos"])


class MallItemOut(Schema):
    id: int
    kind: str
    name: str
    points: int
    in_stock: int | None = Field(None, description="A gift: how many this store holds; a coupon: how many are "
                                                   "left (null: no limit).")


class MallRedeemIn(BaseModel):
    item_id: int = Field(..., ge=1)
    clerk: str = Field(..., min_length=1, max_length=150, description="Username of the clerk at the till.")


class MallPickupIn(BaseModel):
    clerk: str = Field(..., min_length=1, max_length=150, description="Username of the clerk handing it over.")


class MallRedemptionOut(Schema):
    id: int
    member_no: str
    item: str
    points: int
    status: str
    coupon_code: str | None = None
    balance: int


def _refused(exc: ServiceError) -> ApiError:
    return ApiError(422, exc.error_code, exc.text, None if exc.field == "__all__" else exc.field)


def _out(done: MallRedemption) -> dict[str, Any]:
    return {"id": done.pk, "member_no": done.member.member_no, "item": done.item_name, "points": done.points,
            "status": done.status, "coupon_code": done.coupon.code if done.coupon_id else None,
            "balance": points_balance(done.member)}


@router.get("/mall/items", response={200: list[MallItemOut], **ERRORS}, summary="The points mall at this store")
def mall_items(request):
    """Items on sale that this store can give now: coupons, and gifts it holds (with how many)."""
    store = _store(request)
    stock = dict(GiftStock.objects.filter(store=store).values_list("gift_id", "quantity"))
    items = on_sale().filter(Q(kind=MallItem.Kind.COUPON) | Q(gift_id__in=[g for g, n in stock.items() if n > 0]))
    return [{"id": i.pk, "kind": i.kind, "name": i.name, "points": i.points,
             "in_stock": stock.get(i.gift_id, 0) if i.kind == MallItem.Kind.GIFT else i.coupon_stock} for i in items]


@router.post("/members/{member_no}/mall/redeem", response={201: MallRedemptionOut, **ERRORS},
             summary="Redeem a points-mall item for the member at the till", auth=PosKeyAuth(for_write=True))
def mall_redeem_endpoint(request, member_no: str, payload: MallRedeemIn, idempotency_key: str | None = IdempotencyKey):
    """A gift is handed over from this store's stock at once; a coupon goes to the member's coupons. Points are
    taken from the balance (oldest first); nothing is written when refused."""
    store = _store(request)
    key = require_key(idempotency_key)

    def run() -> tuple[int, dict[str, Any]]:
        member = _member(member_no, store)
        item = MallItem.objects.filter(pk=payload.item_id).first()
        if item is None:
            raise ApiError(404, "item_unknown", _("No such item in the points mall."), "item_id")
        try:
            done = mall_redeem(member=member, item=item, channel=MallRedemption.Channel.COUNTER, store=store,
                               by=_clerk_required(store, payload.clerk))
        except ServiceError as exc:
            raise _refused(exc) from exc
        return 201, _out(done)

    return idempotent(request, key=key, endpoint=f"mall:{member_no}", body=payload.model_dump(mode="json"), run=run)


@router.post("/mall/pickups/{code}/collect", response={201: MallRedemptionOut, **ERRORS},
             summary="Hand over a gift redeemed in the member centre", auth=PosKeyAuth(for_write=True))
def mall_pickup_endpoint(request, code: str, payload: MallPickupIn, idempotency_key: str | None = IdempotencyKey):
    """At the store the gift was kept at, against the member's pickup code (XXXX-XXXX-XXXX, any case)."""
    store = _store(request)
    key = require_key(idempotency_key)
    if len(code) > 20:
        raise ApiError(422, "code_unknown", _("A pickup code has 12 characters."), "code")

    def run() -> tuple[int, dict[str, Any]]:
        try:
            done = mall_pickup(code=code, store=store, by=_clerk_required(store, payload.clerk))
        except ServiceError as exc:
            raise _refused(exc) from exc
        return 201, _out(done)

    return idempotent(request, key=key, endpoint=f"pickup:{code}", body=payload.model_dump(mode="json"), run=run)


def _clerk_required(store, username: str):
    clerk = _clerk(store, username)
    if clerk is None:
        raise ApiError(422, "clerk_required", _("Name the clerk."), "clerk")
    return clerk
