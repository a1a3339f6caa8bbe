"""Fixtures for the POS API tests: the loyalty test chain, an API key for its main store, a small client."""

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine

from membercare.loyalty.apikeys import apikey_issue
from tests.loyalty import conftest as loyalty_fixtures

TZ = ZoneInfo("Asia/Shanghai")
chain = loyalty_fixtures.chain  # the loyalty tests' chain and member 王芳
member = loyalty_fixtures.member


def at(y, m, d, h=12):
    return dt.datetime(y, m, d, h, tzinfo=TZ)


class Pos:
    """The POS side of the API for one store key: JSON in, (status, JSON) out."""

    def __init__(self, client, key: str, lang: str = "zh-hans"):
        self.client, self.key, self.lang = client, key, lang

    def headers(self, **extra):
        return {"Authorization": f"Bearer {self.key}", "Accept-Language": self.lang, **extra}

    def get(self, path, params=None):
        r = self.client.get(f"/api/pos/{path}", params or {}, headers=self.headers())
        return r.status_code, r.json()

    def post(self, path, body, idem: str | None = "auto", raw: str | None = None):
        headers = self.headers()
        if idem == "auto":
            idem = uuid.uuid4().hex
        if idem is not None:
            headers["Idempotency-Key"] = idem
        import json

        data = raw if raw is not None else json.dumps(body)
        r = self.client.post(f"/api/pos/{path}", data, content_type="application/json", headers=headers)
        return r.status_code, r.json()

    def checkout(self, *lines, idem="auto", **kw):
        body = {"lines": [{"sku": sku, "quantity": qty} if not isinstance(qty, dict) else {"sku": sku, **qty}
                          for sku, qty in lines], **kw}
        if not any(k in kw for k in ("card", "phone")):
            body["phone"] = "13800001234"
        return self.post("checkout", body, idem=idem)

    def quote(self, *lines, **kw):
        body = {"lines": [{"sku": sku, "quantity": qty} for sku, qty in lines], **kw}
        if not any(k in kw for k in ("card", "phone")):
            body["phone"] = "13800001234"
        return self.post("quote", body, idem=None)

    def ret(self, number, lines=None, idem="auto"):
        return self.post(f"receipts/{number}/return", {"lines": lines}, idem=idem)


@pytest.fixture
def hq_admin(chain):
    from membercare.org.models import Role
    from tests.factories import StaffFactory

    return StaffFactory(username="hq_admin", role=Role.ADMIN)


@pytest.fixture
def keys(chain, hq_admin):
    """Plaintext keys for the three stores of the chain."""
    return {store.code: apikey_issue(store=store, name=f"POS {store.code}", by=hq_admin)[1]
            for store in (chain.shop, chain.shop2, chain.jd_shop)}


@pytest.fixture
def pos(client, keys, member):
    return Pos(client, keys["SH01"])


@pytest.fixture
def pos2(client, keys, member):
    return Pos(client, keys["BJ01"])


@pytest.fixture
def jd_pos(client, keys, member):
    return Pos(client, keys["JD01"])


@pytest.fixture
def clock():
    """clock(y, m, d): move to noon of that day (Asia/Shanghai); time stands still in between."""
    travellers = []

    def _move(y, m, d, h=12):
        if travellers:
            travellers.pop().stop()
        t = time_machine.travel(at(y, m, d, h), tick=False)
        t.start()
        travellers.append(t)

    yield _move
    for t in travellers:
        t.stop()
