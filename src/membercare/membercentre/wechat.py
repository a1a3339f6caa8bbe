"""WeChat for the member centre (issue 22 part 5): sign-in through the official account's web authorisation, and
the WeChat membership card (微信会员卡) kept in step with the member's level, points and stored value, with a
template message when points change.

No network here: the real endpoints belong to each chain's official account. `WeChatAdapter` is the interface;
`FakeWeChat` (tests, demo) records every call in memory; a deployment points `MEMBERCARE_WECHAT_ADAPTER` at its
own subclass (dotted path) and gives it the account's settings through the environment — see docs/deploy.md
("WeChat"). Unset: no WeChat sign-in button, no card pushes.

Written by hand: the official account's API is a handful of HTTPS calls (OAuth code → openid, card create /
activate / update, template message) that every chain configures differently (its app id, card template id,
template ids); a WeChat SDK would still need this adapter around it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from membercare.loyalty.models import Card, CardStatus, LoyaltyAccount
from membercare.loyalty.programme import card_label
from membercare.members.models import Member
from membercare.storedvalue.models import CardState, StoredValueCard

log = logging.getLogger("membercare.membercentre.wechat")


@dataclass(frozen=True)
class WeChatCardState:
    """What the WeChat membership card shows."""

    card_no: str
    level: str
    points: int
    balance: str  # stored value, yuan with 2 places ("0.00" without a card)


class WeChatAdapter:
    """The official account's calls the member centre needs. Subclass and implement each for a real account."""

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """The web authorisation page (snsapi_base) that returns to `redirect_uri` with ?code=&state=."""
        raise NotImplementedError

    def openid_from_code(self, code: str) -> str | None:
        """The openid of the user who authorised (None: a code that is invalid or used)."""
        raise NotImplementedError

    def card_activate(self, openid: str, state: WeChatCardState) -> None:
        """Create or activate the member's WeChat membership card with its number."""
        raise NotImplementedError

    def card_update(self, openid: str, state: WeChatCardState) -> None:
        """Push the level, points and balance to the member's WeChat card."""
        raise NotImplementedError

    def template_send(self, openid: str, template: str, data: dict[str, str]) -> None:
        """A template message (e.g. points changed) to the member's WeChat."""
        raise NotImplementedError


@dataclass
class FakeWeChat(WeChatAdapter):
    """In memory, for tests and the demo: codes are "code-<openid>", every call is recorded in `calls`."""

    calls: list[tuple[str, Any]] = field(default_factory=list)

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        return f"{redirect_uri}?{urlencode({'code': 'code-demo-openid', 'state': state})}"

    def openid_from_code(self, code: str) -> str | None:
        return code[5:] if code.startswith("code-") and 5 < len(code) <= 64 else None

    def card_activate(self, openid: str, state: WeChatCardState) -> None:
        self.calls.append(("card_activate", (openid, state)))

    def card_update(self, openid: str, state: WeChatCardState) -> None:
        self.calls.append(("card_update", (openid, state)))

    def template_send(self, openid: str, template: str, data: dict[str, str]) -> None:
        self.calls.append(("template_send", (openid, template, data)))


_adapter: WeChatAdapter | None = None
_adapter_path: str | None = None


def get_adapter() -> WeChatAdapter | None:
    """The configured adapter (one per process), or None when WeChat is not connected."""
    global _adapter, _adapter_path
    path = getattr(settings, "MEMBERCARE_WECHAT_ADAPTER", "") or ""
    if not path:
        return None
    if _adapter is None or _adapter_path != path:
        _adapter, _adapter_path = import_string(path)(), path
    return _adapter


def card_state(member: Member) -> WeChatCardState:
    card = (Card.objects.filter(member=member, status=CardStatus.ACTIVE).order_by("-issued_at").first())
    account = LoyaltyAccount.objects.filter(member=member).first()
    balance = sum((c.principal + c.bonus for c in StoredValueCard.objects.filter(member=member)
                   .exclude(status=CardState.CLOSED)), start=0)
    return WeChatCardState(card_no=card.number if card else member.member_no,
                      level=card_label(card.kind) if card else "",
                      points=account.points if account else 0, balance=f"{balance:.2f}")


def push_member(member_id: int, *, points_changed: bool = True) -> None:
    """Bring the member's WeChat card up to date and tell them their points changed (when WeChat is connected
    and the member has linked it). A WeChat failure is logged, never raised: the sale is done."""
    adapter = get_adapter()
    member = Member.objects.filter(pk=member_id).exclude(wechat_id="").first()
    if adapter is None or member is None:
        return
    try:
        state = card_state(member)
        adapter.card_update(member.wechat_id, state)
        if points_changed:
            adapter.template_send(member.wechat_id, "points_changed", {"card_no": state.card_no,
                                                                       "points": str(state.points)})
    except Exception:  # noqa: BLE001 - WeChat being down must not disturb the counter
        log.warning("WeChat card update for member %s failed", member_id, exc_info=True)


def on_sale(sender, receipt, **kwargs) -> None:
    """sales.signals sale_posted / return_posted: push after the commit (never inside the sale)."""
    if receipt.member_id and get_adapter() is not None:
        member_id = receipt.member_id
        transaction.on_commit(lambda: push_member(member_id))


def link_openid(member: Member, openid: str) -> None:
    """Link a WeChat openid to the member (their first WeChat sign-in after a phone sign-in) and activate the
    WeChat card."""
    from membercare.members.services import member_update

    member_update(member=member, data={"wechat_id": openid}, by=None)
    adapter = get_adapter()
    if adapter is not None:
        try:
            adapter.card_activate(openid, card_state(member))
        except Exception:  # noqa: BLE001
            log.warning("WeChat card activation for member %s failed", member.pk, exc_info=True)
