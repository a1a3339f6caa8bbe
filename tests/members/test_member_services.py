"""member_create / member_update / member_reveal_id_number: history, encryption at rest, logging."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from membercare.core.crypto import blind_index
from membercare.core.idnumber import id_check_char
from membercare.members.models import Member, MemberChange, SensitiveAccessLog
from membercare.members.services import member_create, member_reveal_id_number, member_update

FIRST17 = "11010519850321002"
ID_NUMBER = FIRST17 + id_check_char(FIRST17)
DATA = {"name": "王小明", "phone": "+86 138 1234 5678", "birthday": "1985-03-21", "gender": "女",
        "id_number": ID_NUMBER, "tags": "喜欢喝茶, 有车"}


def test_create_normalises_numbers_the_member_and_records_who_registered(store, clerk):
    member = member_create(data=DATA, store=store, by=clerk)
    member.refresh_from_db()
    assert member.phone == "13812345678" and member.phone_last4 == "5678"
    assert member.member_no.startswith("M") and len(member.member_no) == 9
    assert member.owner == clerk and member.registered_by == clerk and member.home_store == store
    assert set(member.tags.values_list("name", flat=True)) == {"有车", "喜欢喝茶"}
    change = MemberChange.objects.get(member=member)
    assert change.action == MemberChange.Action.CREATE and change.changed_by == clerk
    assert change.changes["name"] == [None, "王小明"]
    # the history never holds a full ID number
    assert ID_NUMBER not in str(change.changes) and change.changes["id_number"][1].startswith("110")


def test_member_numbers_are_unique_and_increasing(store, clerk):
    numbers = [member_create(data={**DATA, "phone": f"1381234{i:04d}", "id_number": ""}, store=store,
                             by=clerk).member_no for i in range(3)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3


def test_id_number_is_encrypted_at_rest_and_found_by_blind_index(store, clerk):
    member = member_create(data=DATA, store=store, by=clerk)
    with connection.cursor() as cur:
        cur.execute("SELECT id_number, id_number_index FROM members_member WHERE id = %s", [member.pk])
        raw, index = cur.fetchone()
    assert ID_NUMBER not in raw and FIRST17[:6] not in raw
    assert index == blind_index(ID_NUMBER) and ID_NUMBER not in index
    assert Member.objects.get(pk=member.pk).id_number == ID_NUMBER


def test_duplicate_phone_is_refused_in_any_spelling(store, clerk):
    first = member_create(data=DATA, store=store, by=clerk)
    with pytest.raises(ValidationError) as exc:
        member_create(data={**DATA, "phone": "138-1234-5678", "id_number": ""}, store=store, by=clerk)
    assert first.member_no in str(exc.value.message_dict["phone"])
    assert Member.objects.count() == 1


def test_update_records_old_and_new_values_and_nothing_when_unchanged(store, clerk, manager):
    member = member_create(data=DATA, store=store, by=clerk)
    member_update(member=member, data={"clothing_size": "L", "tags": "喜欢喝茶"}, by=manager)
    change = MemberChange.objects.filter(member=member, action=MemberChange.Action.UPDATE).get()
    assert change.changed_by == manager
    assert change.changes == {"clothing_size": ["", "L"], "tags": ["喜欢喝茶, 有车", "喜欢喝茶"]}
    member_update(member=member, data={"clothing_size": "L"}, by=manager)
    assert MemberChange.objects.filter(member=member, action=MemberChange.Action.UPDATE).count() == 1


def test_bad_update_leaves_the_member_unchanged(store, clerk):
    member = member_create(data=DATA, store=store, by=clerk)
    with pytest.raises(ValidationError):
        member_update(member=member, data={"clothing_size": "XL", "birthday": "2999-01-01"}, by=clerk)
    member.refresh_from_db()
    assert member.clothing_size == "" and MemberChange.objects.filter(member=member).count() == 1


def test_a_clerk_cannot_reveal_an_id_number_and_nothing_is_logged(store, clerk):
    member = member_create(data=DATA, store=store, by=clerk)
    with pytest.raises(PermissionDenied):
        member_reveal_id_number(member=member, by=clerk)
    assert not SensitiveAccessLog.objects.exists()


def test_every_reveal_of_a_full_id_number_is_logged(store, clerk, specialist):
    member = member_create(data=DATA, store=store, by=clerk)
    assert member_reveal_id_number(member=member, by=specialist) == ID_NUMBER
    assert member_reveal_id_number(member=member, by=specialist) == ID_NUMBER
    logs = SensitiveAccessLog.objects.filter(member=member, viewer=specialist, field="id_number")
    assert logs.count() == 2
