import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from membercare.core.idnumber import id_check_char, mask_id_number, normalize_id_number
from membercare.core.phone import mask_phone, normalize_phone
from membercare.members.validation import clean_member_data, lunar_birthday_in_year
from tests.factories import MemberFactory

VALID = {"name": "王小明", "phone": "13812345678", "birthday": "1985-03-21", "gender": "女"}


@pytest.mark.parametrize("raw", ["13812345678", "138 1234 5678", "138-1234-5678", "+86 13812345678",
                                 "+8613812345678", "0086 138 1234 5678", "8613812345678", "13812345678.0",
                                 "１３８１２３４５６７８", " 13812345678 "])
def test_phone_spellings_normalise_to_one_number(raw):
    assert normalize_phone(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["", "1381234567", "138123456789", "12812345678", "23812345678", "abc",
                                 "+1 2025550123"])
def test_invalid_phones_are_refused(raw):
    with pytest.raises(ValidationError):
        normalize_phone(raw)


@given(prefix=st.sampled_from("3456789"), rest=st.text(alphabet="0123456789", min_size=9, max_size=9),
       sep=st.sampled_from(["", " ", "-"]), country=st.sampled_from(["", "+86", "0086", "86"]))
def test_phone_normalisation_property(prefix, rest, sep, country):
    number = "1" + prefix + rest
    spelled = country + sep + number[:3] + sep + number[3:7] + sep + number[7:]
    assert normalize_phone(spelled) == number
    assert mask_phone(number) == number[:3] + "****" + number[-4:]


def test_id_number_checksum_and_masking():
    first17 = "11010519491231002"
    good = first17 + id_check_char(first17)
    assert normalize_id_number(good.lower()) == good
    assert mask_id_number(good) == good[:3] + "*" * 11 + good[-4:]
    wrong = first17 + ("0" if good[-1] != "0" else "1")
    with pytest.raises(ValidationError, match="校验"):
        normalize_id_number(wrong)


def test_valid_record_is_cleaned(db):
    out = clean_member_data({**VALID, "tags": "喜欢喝茶，60后, 有车", "height_cm": "172", "consent_sms": "是"})
    assert out["phone"] == "13812345678" and out["gender"] == "F"
    assert out["birthday"] == dt.date(1985, 3, 21)
    assert out["tags"] == ["喜欢喝茶", "60后", "有车"]
    assert out["height_cm"] == 172 and out["consent_sms"] is True


def test_errors_are_in_chinese_by_default_and_name_the_field(db):
    with pytest.raises(ValidationError) as exc:
        clean_member_data({"name": "", "phone": "12345", "birthday": "2999-01-01", "gender": "x"})
    errors = exc.value.message_dict
    assert set(errors) == {"name", "phone", "birthday", "gender"}
    assert "必填" in errors["name"][0]
    assert "手机号" in errors["phone"][0]
    assert "未来" in errors["birthday"][0]


def test_errors_in_english_when_switched(db):
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        clean_member_data({**VALID, "birthday": "2999-01-01"})
    assert exc.value.message_dict["birthday"] == ["The birthday is in the future."]


def test_duplicate_phone_names_the_existing_member(db, store):
    existing = MemberFactory(name="李晓红", phone="13812345678", home_store=store)
    with pytest.raises(ValidationError) as exc:
        clean_member_data({**VALID, "phone": "+86 138 1234 5678"})
    assert exc.value.duplicate_of == existing.pk
    assert existing.member_no in exc.value.message_dict["phone"][0]
    # editing the member itself is not a duplicate
    assert clean_member_data({**VALID}, instance=existing)["phone"] == "13812345678"


def test_lunar_birthday_fields(db):
    with pytest.raises(ValidationError) as exc:
        clean_member_data({**VALID, "lunar_birthday_month": "13", "lunar_birthday_day": "1"})
    assert "lunar_birthday_month" in exc.value.message_dict
    with pytest.raises(ValidationError):
        clean_member_data({**VALID, "lunar_birthday_month": "3", "lunar_birthday_day": ""})
    with pytest.raises(ValidationError) as exc:
        clean_member_data({**VALID, "celebrates_lunar": "1"})
    assert "celebrates_lunar" in exc.value.message_dict


def test_lunar_birthday_to_solar_date(db):
    member = MemberFactory.build(lunar_birthday_month=8, lunar_birthday_day=15)
    assert lunar_birthday_in_year(member, 2026) == dt.date(2026, 9, 25)  # Mid-Autumn 2026
    # leap 6th month exists in 2025 but not 2026: celebrated in the ordinary 6th month then
    leap = MemberFactory.build(lunar_birthday_month=6, lunar_birthday_day=10, lunar_birthday_leap=True)
    assert lunar_birthday_in_year(leap, 2025) == dt.date(2025, 8, 3)
    assert lunar_birthday_in_year(leap, 2026) == dt.date(2026, 7, 23)
