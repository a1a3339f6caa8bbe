"""A fake SMS provider speaking Alibaba Cloud's SendSms / QuerySendDetails on 127.0.0.1, with scripted
failures: "ok", "500", "503", "429", "limit" (200 with a rate-limit code), "timeout" (accepts the message,
answers too late), "illegal" (a permanent refusal). It checks every request's signature."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from membercare.messaging.backends.aliyun import sign

SECRET = "test-secret"


class FakeProvider:
    def __init__(self, script: list[str] | None = None, delay: float = 1.5):
        self.script = list(script or [])
        self.delay = delay
        self.accepted: list[dict] = []  # SendSms requests the provider took (it would deliver them)
        self.requests: list[str] = []
        self.bad_signatures = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                params = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                given = params.pop("Signature", "")
                if sign(params, SECRET) != given:
                    provider.bad_signatures += 1
                    return self._reply(400, {"Code": "SignatureDoesNotMatch"})
                action = params.get("Action")
                provider.requests.append(action)
                if action == "QuerySendDetails":
                    mine = [{"OutId": a["OutId"], "PhoneNum": a["PhoneNumbers"]} for a in provider.accepted
                            if a["PhoneNumbers"] == params.get("PhoneNumber")]
                    return self._reply(200, {"Code": "OK", "SmsSendDetailDTOs": {"SmsSendDetailDTO": mine}})
                step = provider.script.pop(0) if provider.script else "ok"
                if step == "500":
                    return self._reply(500, {"Code": "isp.SYSTEM_ERROR"})
                if step == "503":
                    return self._reply(503, {})
                if step == "429":
                    return self._reply(429, {"Code": "Throttling"}, {"Retry-After": "7"})
                if step == "limit":
                    return self._reply(200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发流控"})
                if step == "illegal":
                    return self._reply(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"})
                provider.accepted.append(params)
                if step == "timeout":
                    time.sleep(provider.delay)
                return self._reply(200, {"Code": "OK", "BizId": f"biz{len(provider.accepted)}"})

            def _reply(self, status, payload, headers=None):
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
