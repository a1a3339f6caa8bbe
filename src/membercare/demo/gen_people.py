"""The demo generator's members: their columns, tags, cards, and each member's "create" change row."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np

from membercare.core.crypto import blind_index, encrypt
from membercare.core.idnumber import mask_id_number
from membercare.members.models import (
    Channel,
    ContactTime,
    DecisionStyle,
    Gender,
    SkinTone,
)
from membercare.members.services import EDITABLE_FIELDS, name_grams

from . import data
from .gen_common import EPOCH, GenConfig, pick, stream
from .gen_names import SURNAME_PINYIN, id_numbers, lunar_birthdays, make_names, make_phones, ymd
from .gen_org import Org
from .loader import (
    bools,
    code,
    dates,
    ints,
    text,
)


@dataclass
class People:
    n: int
    male: np.ndarray
    names: list[str]
    surname: np.ndarray
    phone: np.ndarray
    birth: np.ndarray  # days
    home: np.ndarray  # store index
    segment: np.ndarray  # 0 casual, 1 regular, 2 frequent big spender
    purchaser: np.ndarray
    fields: dict  # column -> Col for the simple member fields
    changes_src: dict  # field -> list of python values for the "create" history row
    tags: list[np.ndarray]  # per tag: member indexes
    tag_names: list[str]


def make_people(cfg: GenConfig, org: Org, today: int, exclude_phones: set[str]) -> People:
    rng = stream(cfg.seed, "members")
    n = cfg.members
    male = rng.random(n) < 0.65  # business menswear: mostly men
    names, surname = make_names(rng, male)
    phone = make_phones(stream(cfg.seed, "phones"), n, exclude_phones)
    ages = 20 * 365.25 + rng.beta(2.0, 2.6, n) * 50 * 365.25
    birth = today - np.clip(ages.astype(np.int64), 20 * 366, 70 * 365)
    home = rng.choice(len(org.store_ids), n, p=org.store_weight)
    segment = rng.choice(3, n, p=[0.75, 0.20, 0.05])
    purchaser = rng.random(n) < cfg.purchaser_share

    # lunar birthday for about a fifth, computed from the solar birthday
    lunar = rng.random(n) < cfg.lunar_share
    lunar_month = np.zeros(n, dtype=np.int64)
    lunar_day = np.zeros(n, dtype=np.int64)
    lunar_leap = np.zeros(n, dtype=bool)
    if lunar.any():
        lunar_month[lunar], lunar_day[lunar], lunar_leap[lunar] = lunar_birthdays(birth[lunar])
    celebrates = lunar & (rng.random(n) < 0.5)

    city = np.array(org.store_city, dtype=object)[home]
    has_id = rng.random(n) < cfg.id_number_share
    id_plain = np.full(n, "", dtype=object)
    if has_id.any():
        area = np.array([int(data.CITIES[c][3]) for c in city[has_id]], dtype=np.int64)
        id_plain[has_id] = id_numbers(rng, area, birth[has_id], male[has_id])
    id_cipher = np.full(n, "", dtype=object)
    id_index = np.full(n, "", dtype=object)
    for i in np.flatnonzero(has_id).tolist():
        id_cipher[i] = encrypt(id_plain[i])
        id_index[i] = blind_index(id_plain[i])

    # contact details
    pinyin = SURNAME_PINYIN[surname]
    has_email = rng.random(n) < 0.2
    email = np.full(n, "", dtype=object)
    qq = rng.random(n) < 0.4
    numbers = rng.integers(10_000_000, 3_000_000_000, n)
    domains = np.array(data.EMAIL_DOMAINS, dtype=object)[rng.integers(0, len(data.EMAIL_DOMAINS), n)]
    short = rng.integers(10, 9999, n)
    for i in np.flatnonzero(has_email).tolist():
        email[i] = f"{numbers[i]}@qq.com" if qq[i] else f"{pinyin[i]}{short[i]}@{domains[i]}"
    has_wechat = rng.random(n) < 0.3
    wechat = np.full(n, "", dtype=object)
    letters = np.array(list("abcdefghijkmnpqrstuvwxyz23456789"))
    random_chars = letters[rng.integers(0, len(letters), (n, 8))]
    for i in np.flatnonzero(has_wechat).tolist():
        wechat[i] = ("wxid_" + "".join(random_chars[i])) if short[i] % 2 else f"{pinyin[i]}_{short[i]}"
    has_address = rng.random(n) < 0.5
    address = np.full(n, "", dtype=object)
    roads = ["人民路", "中山路", "解放路", "建设路", "和平路", "长江路", "淮海路", "滨江大道", "世纪大道", "新华路"]
    estates = ["花园", "小区", "公寓", "苑", "新村"]
    road_i, estate_i = rng.integers(0, len(roads), n), rng.integers(0, len(estates), n)
    house, block, room = rng.integers(1, 999, n), rng.integers(1, 30, n), rng.integers(101, 2800, n)
    for i in np.flatnonzero(has_address).tolist():
        road = roads[road_i[i]]
        address[i] = f"{city[i]}市{road}{house[i]}号{road[:2]}{estates[estate_i[i]]}{block[i]}栋{room[i]}室"

    # body and sizes
    has_body = rng.random(n) < 0.4
    height = np.where(male, rng.normal(173, 6, n), rng.normal(161, 5, n)).clip(150, 195).astype(np.int64)
    bmi = rng.normal(23, 2.5, n).clip(17, 32)
    weight = (bmi * (height / 100) ** 2).clip(40, 120).astype(np.int64)
    chest = (4 * np.round((weight - 60) / 8) + np.where(male, 92, 84)).clip(76, 116).astype(np.int64)
    size_letters = np.where(male, np.array(["M", "L", "XL", "XXL", "XXXL"], dtype=object)[rng.integers(0, 5, n)],
                            np.array(["S", "M", "L", "XL"], dtype=object)[rng.integers(0, 4, n)])
    clothing = np.full(n, "", dtype=object)
    has_size = rng.random(n) < 0.5
    for i in np.flatnonzero(has_size).tolist():
        clothing[i] = f"{int(round(height[i] / 5) * 5)}/{chest[i]}A" if has_body[i] else size_letters[i]
    shoe = np.where(male, rng.integers(39, 46, n), rng.integers(35, 40, n)).astype(str).astype(object)
    shoe[rng.random(n) >= 0.4] = ""

    decision = pick(rng, n, [c.value for c in DecisionStyle], 0.7)
    skin = pick(rng, n, [c.value for c in SkinTone], 0.3, [0.35, 0.4, 0.2, 0.05])
    channels = [Channel.PHONE, Channel.SMS, Channel.WECHAT, Channel.EMAIL]
    channel = np.array([c.value for c in channels], dtype=object)[rng.choice(4, n, p=[0.3, 0.2, 0.42, 0.08])]
    channel[(channel == Channel.EMAIL.value) & (email == "")] = Channel.SMS.value
    times = [ContactTime.ANY, ContactTime.EVENING, ContactTime.WEEKEND, ContactTime.AFTERNOON, ContactTime.NOON,
             ContactTime.MORNING]
    contact_time = np.array([t.value for t in times], dtype=object)[
        rng.choice(6, n, p=[0.4, 0.2, 0.15, 0.1, 0.08, 0.07])]
    consents = {}
    for ch, base in (("phone", 0.3), ("sms", 0.5), ("email", 0.15), ("wechat", 0.45)):
        consents[ch] = (rng.random(n) < base) | ((channel == ch) & (rng.random(n) < 0.8))
    consents["email"] &= email != ""
    other_brands = pick(rng, n, data.OTHER_BRANDS, 0.3)
    second_brand = np.array(data.OTHER_BRANDS, dtype=object)[rng.integers(0, len(data.OTHER_BRANDS), n)]
    both = (other_brands != "") & (rng.random(n) < 0.3) & (other_brands != second_brand)
    other_brands[both] = other_brands[both] + "、" + second_brand[both]

    text_fields = {
        "address": address, "email": email, "wechat_id": wechat,
        "occupation": pick(rng, n, data.OCCUPATIONS, 0.45),
        "skin_tone": skin, "clothing_size": clothing, "shoe_size": shoe,
        "first_purchase_style": pick(rng, n, data.FIRST_PURCHASE_STYLES, 0.4),
        "personality": pick(rng, n, data.PERSONALITIES, 0.3),
        "decision_style": decision,
        "shopping_time": pick(rng, n, data.SHOPPING_TIMES, 0.35),
        "shopping_places": pick(rng, n, data.SHOPPING_PLACES, 0.3),
        "other_brands": other_brands,
        "notes": pick(rng, n, data.NOTES, 0.12),
        "preferred_channel": channel, "preferred_time": contact_time,
    }
    grams = [name_grams(s) for s in names]
    fields = {
        "name": text(names), "phone": code(phone, width=11), "phone_last4": code(phone % 10000, width=4),
        "name_grams": text(grams), "gender": text(np.where(male, Gender.MALE.value, Gender.FEMALE.value).tolist()),
        "birthday": dates(birth),
        "lunar_birthday_month": ints(lunar_month, null=~lunar), "lunar_birthday_day": ints(lunar_day, null=~lunar),
        "lunar_birthday_leap": bools(lunar_leap), "celebrates_lunar": bools(celebrates),
        "id_number": text(id_cipher.tolist()), "id_number_index": text(id_index.tolist()),
        "height_cm": ints(height, null=~has_body), "weight_kg": ints(weight, null=~has_body),
        **{k: text(v.tolist()) for k, v in text_fields.items()},
        **{f"consent_{ch}": bools(v) for ch, v in consents.items()},
    }
    phone_text = [f"{p:011d}" for p in phone.tolist()]
    birth_iso = [d.isoformat() for d in (EPOCH + dt.timedelta(days=int(x)) for x in birth.tolist())]
    changes_src = {
        "name": names, "phone": phone_text, "gender": ["M" if m else "F" for m in male.tolist()],
        "birthday": birth_iso,
        "lunar_birthday_month": [m if has else None for m, has in zip(lunar_month.tolist(), lunar.tolist(),
                                                                       strict=True)],
        "lunar_birthday_day": [d if has else None for d, has in zip(lunar_day.tolist(), lunar.tolist(), strict=True)],
        "lunar_birthday_leap": lunar_leap.tolist(), "celebrates_lunar": celebrates.tolist(),
        "id_number": [mask_id_number(v) for v in id_plain.tolist()],
        "height_cm": [h if b else None for h, b in zip(height.tolist(), has_body.tolist(), strict=True)],
        "weight_kg": [w if b else None for w, b in zip(weight.tolist(), has_body.tolist(), strict=True)],
        **{k: v.tolist() for k, v in text_fields.items()},
        **{f"consent_{ch}": v.tolist() for ch, v in consents.items()},
    }

    # tags: general ones by share, a decade tag ("60后") consistent with the birth year
    tag_names = [t for t, _s in data.TAGS_GENERAL] + list(data.DECADE_TAGS.values())
    tags = [np.flatnonzero(rng.random(n) < share) for _t, share in data.TAGS_GENERAL]
    birth_year, _m, _d = ymd(birth)
    decade_pick = rng.random(n) < 0.3
    for decade in data.DECADE_TAGS:
        tags.append(np.flatnonzero(decade_pick & (birth_year // 10 * 10 == decade)))
    return People(n=n, male=male, names=names, surname=surname, phone=phone, birth=birth, home=home,
                  segment=segment, purchaser=purchaser, fields=fields, changes_src=changes_src, tags=tags,
                  tag_names=tag_names)


def changes_json(src: dict[str, list], ensure_ascii: bool = True) -> list[str]:
    """The MemberChange "create" payload, as member_create writes it: {field: [null, value]}.

    Django's JSONField writes ASCII-escaped JSON; PostgreSQL's jsonb stores the same value either
    way, so it gets the shorter (faster to parse) unescaped text."""
    per_field = []
    for name in EDITABLE_FIELDS:
        values = src.get(name)
        if values is None:
            continue
        key = json.dumps(name)
        cache: dict = {}
        fragments = []
        for v in values:
            if v is None or v == "":
                fragments.append("")
                continue
            fragment = cache.get(v)
            if fragment is None:
                fragment = f"{key}: [null, {json.dumps(v, ensure_ascii=ensure_ascii)}]"
                if len(cache) < 1000:
                    cache[v] = fragment
            fragments.append(fragment)
        per_field.append(fragments)
    return ["{" + ", ".join(filter(None, row)) + "}" for row in zip(*per_field, strict=True)]
