import pytest

from membercare.loyalty.models import Card
from membercare.members.selectors import member_search
from tests.factories import MemberFactory


@pytest.fixture
def members(store):
    wang = MemberFactory(name="王小明", phone="13812345678", home_store=store)
    li = MemberFactory(name="李晓红", phone="13900005678", home_store=store)
    zhang = MemberFactory(name="张伟", phone="13700001111", home_store=store)
    return wang, li, zhang


def test_last_four_digits_finds_every_member_ending_so(members):
    wang, li, _zhang = members
    result = member_search("5678")
    assert result.kind == "last4"
    assert {m.pk for m in result.members} == {wang.pk, li.pk}


@pytest.mark.parametrize("query", ["13812345678", "138 1234 5678", "+86 138-1234-5678", "008613812345678"])
def test_full_phone_in_any_common_spelling(members, query):
    result = member_search(query)
    assert result.kind == "phone"
    assert [m.name for m in result.members] == ["王小明"]


@pytest.mark.parametrize("query", ["小明", "王", "王小明", "明"])
def test_part_of_a_name(members, query):
    result = member_search(query)
    assert result.kind == "name"
    assert [m.name for m in result.members] == ["王小明"]


@pytest.mark.parametrize("query", ["JD880001234", "jd880001234", "JD 8800 01234", "JD-880001234"])
def test_card_number_in_any_spelling(members, store, query):
    wang = members[0]
    Card.objects.create(number="jd 880001234", member=wang, kind="elite", brand=store.brand,
                        issued_at=wang.created_at)
    assert Card.objects.get().number == "JD880001234"  # stored in one spelling, looked up exactly
    result = member_search(query)
    assert result.kind == "card"
    assert result.members == [wang]


def test_tag(members):
    from membercare.members.services import set_member_tags

    set_member_tags(members[2], ["喜欢喝茶", "有车"])
    result = member_search("喜欢喝茶")
    assert result.kind == "tag"
    assert result.members == [members[2]]


@pytest.mark.parametrize("lower", [False, True])
def test_member_number(members, lower):
    number = members[1].member_no
    result = member_search(number.lower() if lower else number)
    assert result.kind == "member_no"
    assert result.members == [members[1]]


def test_no_match_and_empty(members):
    assert member_search("赵钱孙").members == []
    assert member_search("  ").kind == "empty"


def test_truncates_at_limit(store):
    for i in range(5):
        MemberFactory(name=f"陈{i}", home_store=store)
    result = member_search("陈", limit=3)
    assert len(result.members) == 3 and result.truncated
