"""WeChat (公众号 template messages / 企业微信): the adapter interface a deployment fills in.

A chain connects its own official account: subclass WeChatBackend, implement `send` with the account's
API (access token, template id, openid = Member.wechat_id) and point settings.MESSAGING_BACKENDS["wechat"]
at it. Until then WeChat messages fail permanently with a clear reason (or the demo's outbox is used)."""

from __future__ import annotations

from .base import Backend, PermanentFailure, SendResult


class WeChatBackend(Backend):
    def send(self, message) -> SendResult:
        raise PermanentFailure("WeChat is not connected: configure MESSAGING_BACKENDS['wechat']")
