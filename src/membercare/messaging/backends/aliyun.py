"""SMS through Alibaba Cloud's SMS service (dysmsapi, RPC style, signature version 1.0, HMAC-SHA1).

A Chinese SMS provider sends pre-approved templates only: the message carries the provider's template
code (MessageTemplate.sms_template_code) and the placeholder values as TemplateParam; the sign name
(签名) is the chain's approved signature. Our message id goes as OutId, so after a timeout we can ask
the provider (QuerySendDetails) whether the message went out before trying again — a timeout never
makes a member get the message twice.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid

from django.utils import timezone

from .base import Backend, PermanentFailure, SendResult, TemporaryFailure

TEMPORARY_CODES = {"isv.BUSINESS_LIMIT_CONTROL", "isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY", "Throttling",
                   "ServiceUnavailable", "isv.DAY_LIMIT_CONTROL"}


def percent_encode(value: str) -> str:
    return urllib.parse.quote(str(value), safe="~")


def sign(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """The RPC signature: HMAC-SHA1 over METHOD&%2F&encoded(sorted, encoded query), key = secret + '&'."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsBackend(Backend):
    def __init__(self, channel: str, access_key_id: str = "", access_key_secret: str = "", sign_name: str = "",
                 endpoint: str = "https://dysmsapi.aliyuncs.com/", timeout: float = 5.0, **options):
        super().__init__(channel, **options)
        self.access_key_id, self.secret, self.sign_name = access_key_id, access_key_secret, sign_name
        self.endpoint, self.timeout = endpoint, timeout

    def _call(self, action: str, params: dict[str, str]) -> dict:
        body = {
            "Action": action, "Version": "2017-05-25", "Format": "JSON", "AccessKeyId": self.access_key_id,
            "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "RegionId": "cn-hangzhou",
            **params,
        }
        body["Signature"] = sign(body, self.secret)
        request = urllib.request.Request(self.endpoint, data=urllib.parse.urlencode(body).encode(), method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            payload = _json(exc.read())
            code = payload.get("Code", "")
            if exc.code == 429 or exc.code >= 500 or code in TEMPORARY_CODES:
                retry_after = exc.headers.get("Retry-After")
                raise TemporaryFailure(f"HTTP {exc.code} {code}".strip(),
                                       float(retry_after) if retry_after and retry_after.isdigit() else None
                                       ) from exc
            raise PermanentFailure(f"HTTP {exc.code} {code} {payload.get('Message', '')}".strip()) from exc
        except TimeoutError as exc:
            raise _Timeout(str(exc) or "timeout") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError | socket.timeout):
                raise _Timeout(str(exc.reason)) from exc
            raise TemporaryFailure(f"connection failed: {exc.reason}") from exc  # never reached the provider

    def send(self, message) -> SendResult:
        template_code = (message.params or {}).get("_template_code") or ""
        if not template_code:
            raise PermanentFailure("the template has no SMS provider template code")
        params = {k: str(v) for k, v in (message.params or {}).items() if not k.startswith("_")}
        try:
            reply = self._call("SendSms", {
                "PhoneNumbers": message.to, "SignName": self.sign_name, "TemplateCode": template_code,
                "TemplateParam": json.dumps(params, ensure_ascii=False), "OutId": str(message.pk)})
        except _Timeout as exc:  # the provider may have it: ask before trying again
            if self.was_sent(message):
                return SendResult(provider_id="", segments=_segments(message))
            raise TemporaryFailure(f"timeout: {exc}") from exc
        code = reply.get("Code")
        if code == "OK":
            return SendResult(provider_id=reply.get("BizId", ""), segments=_segments(message))
        if code in TEMPORARY_CODES:
            raise TemporaryFailure(f"{code}: {reply.get('Message', '')}")
        raise PermanentFailure(f"{code}: {reply.get('Message', '')}")

    def was_sent(self, message) -> bool | None:
        day = timezone.localtime(message.sent_at or message.created_at).strftime("%Y%m%d")
        try:
            reply = self._call("QuerySendDetails", {"PhoneNumber": message.to, "SendDate": day, "PageSize": "50",
                                                    "CurrentPage": "1"})
        except (TemporaryFailure, PermanentFailure, _Timeout):
            return None
        if reply.get("Code") != "OK":
            return None
        details = (reply.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
        return any(str(d.get("OutId")) == str(message.pk) for d in details)


class _Timeout(Exception):
    pass


def _json(raw: bytes) -> dict:
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return {}


def _segments(message) -> int:
    from ..config import messaging_config
    from ..policy import sms_segments

    return sms_segments(message.body, messaging_config())
