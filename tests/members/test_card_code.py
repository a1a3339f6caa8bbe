"""Issue 22 part 3: the member's electronic card code — the counter search and the POS checkout find the member
by it; it rotates (a screenshot is useless 90 seconds later), cannot be forged for another member, and pays
one sale only."""

import time

import pytest
import time_machine
from django.core.cache import cache
from hypothesis import given, settings
from hypothesis import strategies as st

from membercare.members.cardcode import WINDOW_SECONDS, card_code, card_code_member_id
from membercare.members.selectors import member_search
from membercare.sales.models import Receipt
from tests.api.conftest import Pos, at, chain, hq_admin, keys, member, pos  # noqa: F401  (fixtures)


def test_a_code_names_its_member_for_ninety_seconds_and_no_longer():
    now = time.time()
    code = card_code(42, at=now)
    assert len(code) == 20 and code.startswith("MC")
    assert card_code_member_id(code, at=now) == 42
    assert card_code_member_id(code.lower(), at=now + 2 * WINDOW_SECONDS) == 42
    assert card_code_member_id(code, at=now + 3 * WINDOW_SECONDS) is None
    assert card_code_member_id(code, at=now - 2 * WINDOW_SECONDS) is None  # not before it was issued


@settings(max_examples=200, deadline=None)
@given(member_id=st.integers(1, 10**10 - 1), other=st.integers(1, 10**10 - 1), check=st.integers(0, 10**8 - 1))
def test_a_code_cannot_be_moved_to_another_member_nor_guessed(member_id, other, check):
    now = 1_800_000_000.0
    code = card_code(member_id, at=now)
    if other != member_id:
        assert card_code_member_id(f"MC{other:010d}{code[12:]}", at=now) is None
    guess = f"MC{member_id:010d}{check:08d}"
    assert card_code_member_id(guess, at=now) in (None, member_id)
    assert (card_code_member_id(guess, at=now) is not None) == any(
        guess == card_code(member_id, at=now - k * WINDOW_SECONDS) for k in range(3))


@pytest.mark.django_db
def test_the_counter_search_finds_the_member_by_the_code(member):  # noqa: F811
    code = card_code(member.pk)
    result = member_search(code)
    assert result.kind == "card_code" and [m.pk for m in result.members] == [member.pk]
    with time_machine.travel(time.time() + 120, tick=False):
        stale = member_search(code)
    assert stale.kind == "card_code" and stale.members == []


def test_the_counter_search_page_says_a_stale_code_is_stale(client, member):  # noqa: F811
    from tests.factories import StaffFactory

    client.force_login(StaffFactory(stores=[member.home_store]))
    stale = card_code(member.pk, at=time.time() - 300)
    page = client.get("/members/search/", {"q": stale}).content.decode()
    assert "此会员码无效或已过期" in page


@pytest.fixture
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_code_pays_one_sale_through_the_pos_api(pos, member, fresh_cache,  # noqa: F811
                                                 django_capture_on_commit_callbacks):
    code = card_code(member.pk)
    status, quote = pos.quote(("SHIRT", 1), card=code)  # a quote does not use the code up
    assert status == 200 and quote["member"]["member_no"] == member.member_no
    with django_capture_on_commit_callbacks(execute=True):
        status, body = pos.checkout(("SHIRT", 1), card=code)
    assert status == 201, body
    assert Receipt.objects.get(number=body["number"]).member_id == member.pk
    status, again = pos.checkout(("SHIRT", 1), card=code)
    assert status == 422 and again["code"] == "card_code_used_up"
    with time_machine.travel(time.time() + WINDOW_SECONDS, tick=False):
        status, body = pos.checkout(("SHIRT", 1), card=card_code(member.pk))
    assert status == 201, body
    assert Receipt.objects.filter(member=member).count() == 2


def test_a_forged_or_stale_code_is_refused_and_writes_nothing(pos, member, fresh_cache):  # noqa: F811
    forged = f"MC{member.pk:010d}{(int(card_code(member.pk)[12:]) + 1) % 10**8:08d}"
    stale = card_code(member.pk, at=time.time() - 200)
    for code in (forged, stale):
        status, body = pos.checkout(("SHIRT", 1), card=code)
        assert status == 422 and body["code"] == "card_code_invalid"
        assert "会员码" in body["message"]
    assert not Receipt.objects.exists()
