"""The counter's perks (issue 19 part 1): what is left in the member panel (one query more), a perk ticked on the
sale, refused past its quota next to the field, shown on the receipt."""

import copy
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from membercare.checkout.pipeline import LineIn, checkout_post
from membercare.loyalty.models import Card, PerkUse, ProgrammeVersion
from membercare.loyalty.programme import DEFAULT_RULES
from tests.loyalty.conftest import chain, member  # noqa: F401

from .test_checkout_views import err, form

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def counter(client, chain):  # noqa: F811
    client.force_login(chain.clerk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    return client


@pytest.fixture
def elite(chain, member):  # noqa: F811
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 1)],
                  sold_at=dt.datetime(2026, 5, 20, 12, tzinfo=TZ))
    return Card.objects.get(member=member)


def _text(html: str, dd_id: str) -> str:
    match = re.search(rf'<dd id="{dd_id}">(.*?)</dd>', html, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip() if match else ""


def _quote_queries(counter, chain, elite):  # noqa: F811
    with CaptureQueriesContext(connection) as q:
        html = counter.post(reverse("checkout_quote"), form(chain, [("SHIRT", 1)], card=elite.number)).content.decode()
    return html, len(q.captured_queries), [x["sql"][:150] for x in q.captured_queries]


def test_the_member_panel_shows_what_is_left_with_one_query_more(counter, chain, member, elite):  # noqa: F811
    _quote_queries(counter, chain, elite)  # the first request of the process reads what it keeps after
    html, with_perks, a = _quote_queries(counter, chain, elite)
    assert _text(html, "perks-left") == "免费改衣 剩 2/2 次，每季度 · 至 2026-06-30"
    assert 'name="perks" value="alteration"' in html
    rules = copy.deepcopy(DEFAULT_RULES)
    for tier in rules["tiers"]:
        tier["perks"] = []
    ProgrammeVersion.objects.create(effective_from=dt.date(2000, 1, 1), rules=rules,
                                    created_at=dt.datetime(2026, 1, 1, tzinfo=TZ))
    html, without, b = _quote_queries(counter, chain, elite)
    assert 'id="perks-left"' not in html
    assert with_perks - without <= 1, "\n".join(a) + "\n-----\n" + "\n".join(b)


def test_a_perk_ticked_on_the_sale_is_on_the_receipt_and_refused_past_the_quota(counter, chain, member, elite):  # noqa: F811
    for token in ("t1", "t2"):
        response = counter.post(reverse("checkout"), form(chain, [("SHIRT", 1)], token=token, card=elite.number,
                                                          perks="alteration", action="post"))
        assert response.status_code == 302, err(response.content.decode(), "__all__")
    receipt = counter.get(response["Location"]).content.decode()
    assert _text(receipt, "perk-uses") == "免费改衣"
    html = counter.post(reverse("checkout_quote"), form(chain, [("SHIRT", 1)], card=elite.number)).content.decode()
    assert "剩 0/2 次" in _text(html, "perks-left") and "disabled" in html
    response = counter.post(reverse("checkout"), form(chain, [("SHIRT", 1)], token="t3", card=elite.number,
                                                      perks="alteration", action="post"))
    assert response.status_code == 422
    assert err(response.content.decode(), "perks") == "本季度免费改衣已用 2 次（每季度 2 次）。"
    assert PerkUse.objects.count() == 2


def test_the_form_bounds_the_perks(counter, chain, member, elite):  # noqa: F811
    data = form(chain, [("SHIRT", 1)], token="t9", card=elite.number, action="post")
    data["perks"] = [f"p{i}" for i in range(11)]
    response = counter.post(reverse("checkout"), data)
    assert response.status_code == 422 and err(response.content.decode(), "perks")
    assert not PerkUse.objects.exists()
