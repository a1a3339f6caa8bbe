"""What a hostile client tried (issue 16): control characters, oversized bodies, reading other brands' members."""

import json

import pytest

from membercare.members.models import Member
from membercare.sales.models import Receipt
from tests.factories import MemberFactory

from .conftest import Pos


def assert_error(answer, status, code, field=None):
    got_status, body = answer
    assert got_status == status, body
    assert body["code"] == code and body["message"], body
    if field is not None:
        assert body["field"] == field, body


@pytest.mark.parametrize("body,field", [
    ({"phone": "1380000\u00001234", "lines": [{"sku": "SHIRT", "quantity": 1}]}, "phone"),
    ({"card": "\u0000", "lines": [{"sku": "SHIRT", "quantity": 1}]}, "card"),
    ({"phone": "13800001234", "lines": [{"sku": "SHI\u0000RT", "quantity": 1}]}, "lines.0.sku"),
    ({"phone": "13800001234", "clerk": "c1\u0000", "lines": [{"sku": "SHIRT", "quantity": 1}]}, "clerk"),
    ({"phone": "13800001234", "coupon_code": "AB\u0007CD", "lines": [{"sku": "SHIRT", "quantity": 1}]},
     "coupon_code"),
])
def test_control_characters_in_a_body_are_refused_with_the_field(pos, clock, body, field):
    clock(2026, 6, 1)
    assert_error(pos.post("checkout", body), 422, "invalid_body", field)
    assert_error(pos.post("quote", body, idem=None), 422, "invalid_body", field)
    assert not Receipt.objects.exists()


def test_control_characters_in_paths_and_queries_are_refused(pos):
    assert_error(pos.get("members/lookup", {"phone": "138\x00"}), 422, "invalid_parameter", "phone")
    assert_error(pos.get("cards/AB%00CD"), 422, "invalid_parameter", "path")
    assert_error(pos.get("receipts/X%00/"), 422, "invalid_parameter", "path")
    assert_error(pos.get("members/M%00/points"), 422, "invalid_parameter", "path")


def test_the_staff_search_refuses_nul_instead_of_failing(client, chain):
    from membercare.org.models import Role
    from tests.factories import StaffFactory

    client.force_login(StaffFactory(role=Role.SPECIALIST))
    r = client.get("/api/members/search", {"q": "王\x00"})
    assert r.status_code == 422 and r.json()["field"] == "q"


def test_a_body_over_the_limit_is_refused_before_it_is_read(pos, clock):
    clock(2026, 6, 1)
    big = json.dumps({"phone": "13800001234", "lines": [{"sku": "SHIRT", "quantity": 1}], "name": "x" * 300_000})
    assert_error(pos.post("checkout", None, raw=big), 413, "body_too_large")
    assert not Receipt.objects.exists()


def test_chinese_sent_as_unicode_escapes_still_passes(pos, clock):
    clock(2026, 6, 1)
    raw = json.dumps({"name": "王芳", "phone": "13800001234", "birthday": "1985-03-21",
                      "lines": [{"sku": "SHIRT", "quantity": 1}]}, ensure_ascii=True)
    assert "\\u738b" in raw  # the client escaped the Chinese: the guard parses and lets it through
    status, answer = pos.post("quote", None, idem=None, raw=raw)
    assert status == 200 and answer["member"]["name"] == "王芳", answer


def test_a_key_reads_only_members_its_brand_knows(client, keys, chain, member, clock):
    clock(2026, 6, 1)
    main, juedu = Pos(client, keys["SH01"]), Pos(client, keys["JD01"])
    only_juedu = MemberFactory(name="爵度会员", phone="13900009999", home_store=chain.jd_shop)
    status, sale = juedu.checkout(("JDTEE", 1), phone=only_juedu.phone)  # the sub-brand's accumulation card
    assert status == 201
    # the sub-brand's own key reads its member; the main brand's key does not know the number
    assert juedu.get(f"members/{only_juedu.member_no}/points")[0] == 200
    assert_error(main.get(f"members/{only_juedu.member_no}/points"), 404, "member_unknown", "member_no")
    # the main brand's member, registered at its store, is read by its key
    assert main.get(f"members/{member.member_no}/points")[0] == 200
    # another brand's card: its status and why it is not usable here, not whose it is
    status, card = main.get(f"cards/{sale['card']['number']}")
    assert status == 200 and card["code"] == "card_wrong_brand" and card["member_no"] is None
    # a member of the main brand who bought at the sub-brand is known to both
    assert juedu.checkout(("JDTEE", 1), phone=member.phone)[0] == 201
    assert juedu.get(f"members/{member.member_no}/points")[0] == 200
    assert Member.objects.count() == 2


def test_a_basket_too_large_to_price_is_refused_quickly(pos, clock):
    import time

    clock(2026, 6, 1)
    started = time.process_time()
    huge = [{"sku": "SHIRT", "quantity": 9999}] * 200
    assert_error(pos.post("quote", {"phone": "13800001234", "lines": huge}, idem=None), 422, "quantity_too_large",
                 "lines")
    assert_error(pos.post("checkout", {"phone": "13800001234", "lines": [{"sku": "BELT", "quantity": 999}] * 3}),
                 422, "basket_too_large", "lines")
    assert time.process_time() - started < 1.0
    assert not Receipt.objects.exists()
    assert pos.post("quote", {"phone": "13800001234", "lines": [{"sku": "BELT", "quantity": 999}] * 2},
                    idem=None)[0] == 200


def test_a_key_that_floods_the_api_gets_429_and_the_others_do_not(client, keys, member, clock, settings):
    clock(2026, 6, 1)
    settings.MEMBERCARE_POS_RATE_PER_MINUTE = 5
    flooding, other = Pos(client, keys["SH01"]), Pos(client, keys["BJ01"])
    answers = [flooding.get(f"members/{member.member_no}/points")[0] for _ in range(7)]
    assert answers == [200] * 5 + [429] * 2
    assert_error(flooding.checkout(("SHIRT", 1)), 429, "too_many_requests")
    assert not Receipt.objects.exists()
    assert other.get(f"members/{member.member_no}/points")[0] == 200
    clock(2026, 6, 1, 13)  # a minute later (an hour here): the key works again
    assert flooding.get(f"members/{member.member_no}/points")[0] == 200


class _CommitThenLoseTheConnection:
    """transaction.atomic whose outermost block commits, then fails as a dropped connection would."""

    def __init__(self, real, outcome):
        self.real, self.outcome = real, outcome

    def __call__(self, *args, **kwargs):
        import contextlib

        from django.db import OperationalError, connection

        @contextlib.contextmanager
        def block():
            outermost = not connection.in_atomic_block
            with self.real(*args, **kwargs):
                yield
            if outermost and self.outcome == "committed":
                raise OperationalError("server closed the connection unexpectedly")
        return block()


def test_a_sale_committed_before_the_connection_dropped_is_answered_with_its_receipt(transactional_db, pos, clock,
                                                                                     monkeypatch):
    from django.db import connection

    from membercare.api import idempotency

    assert not connection.in_atomic_block  # the request's transaction is the outermost: it really commits

    clock(2026, 6, 1)
    monkeypatch.setattr(idempotency.transaction, "atomic",
                        _CommitThenLoseTheConnection(idempotency.transaction.atomic, "committed"))
    status, body = pos.checkout(("SHIRT", 1), idem="lost-answer-1")
    monkeypatch.undo()
    assert status == 201 and body["number"], body  # not "nothing was recorded"
    assert Receipt.objects.count() == 1
    again = pos.checkout(("SHIRT", 1), idem="lost-answer-1")
    assert again == (201, body) and Receipt.objects.count() == 1


def test_when_the_database_cannot_say_the_answer_is_outcome_unknown(transactional_db, pos, clock, monkeypatch):
    from django.db import OperationalError

    from membercare.api import idempotency

    clock(2026, 6, 1)
    monkeypatch.setattr(idempotency.transaction, "atomic",
                        _CommitThenLoseTheConnection(idempotency.transaction.atomic, "committed"))

    def lookup_fails(*args, **kwargs):
        raise OperationalError("the server is still down")

    monkeypatch.setattr(idempotency.IdempotencyRecord.objects, "filter", lookup_fails)
    status, body = pos.checkout(("SHIRT", 1), idem="lost-answer-2")
    monkeypatch.undo()
    assert status == 503 and body["code"] == "outcome_unknown" and "Idempotency-Key" in body["message"]
    assert pos.checkout(("SHIRT", 1), idem="lost-answer-2")[0] == 201 and Receipt.objects.count() == 1
