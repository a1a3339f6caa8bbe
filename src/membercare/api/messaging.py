"""Inbound messages from the SMS provider (mounted at /api/messaging/): a member's reply, e.g. TD / 退订 /
STOP, which opts them out of SMS (messaging.services.inbound_receive).

The provider authenticates with a shared secret in the `X-Messaging-Secret` header, configured in
settings.MESSAGING_INBOUND_SECRET (environment variable of the same name). Without a configured secret every
request is refused: the endpoint is closed until someone sets one.
"""

from __future__ import annotations

import datetime as dt
import hmac

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.security import APIKeyHeader

from membercare.messaging.models import MessageChannel
from membercare.messaging.services import inbound_receive

from .errors import ApiError, ErrorOut


class InboundSecret(APIKeyHeader):
    param_name = "X-Messaging-Secret"

    def __call__(self, request: HttpRequest):
        given = request.headers.get(self.param_name, "")
        return self.authenticate(request, given)

    def authenticate(self, request: HttpRequest, key: str | None) -> bool:
        expected = getattr(settings, "MESSAGING_INBOUND_SECRET", "") or ""
        if not expected or not key or not hmac.compare_digest(key.encode(), expected.encode()):
            raise ApiError(401, "unauthenticated", _("The inbound message secret is missing or wrong."))
        return True


router = Router(auth=InboundSecret(), tags=["messaging"])


class InboundSmsIn(Schema):
    sender: str = Field(..., alias="from", description="The member's mobile number (+86 allowed)")
    text: str = Field(..., description="What the member wrote")
    received_at: dt.datetime | None = Field(None, description="When the provider received it; default now")


class InboundOut(Schema):
    id: int
    member_no: str | None
    action: str


@router.post("/inbound/sms", response={200: InboundOut, 401: ErrorOut, 422: ErrorOut})
def inbound_sms(request: HttpRequest, payload: InboundSmsIn):
    """A member's SMS reply. TD / 退订 / STOP alone opts them out of SMS; anything else is stored."""
    inbound = inbound_receive(channel=MessageChannel.SMS, sender=payload.sender, body=payload.text,
                              at=payload.received_at)
    return {"id": inbound.pk, "member_no": inbound.member.member_no if inbound.member else None,
            "action": inbound.action}
