"""Deterministic demo and benchmark data: a retail chain, its members and 2-3 years of purchases.

One generator for both uses: `demo_load` asks for a few thousand members with a natural purchase
history, `bench_generate` for a million members and an exact number of receipts. Everything comes
from numpy random streams derived from the seed (one stream per part, so changing one part never
shifts another), and columns are generated whole (vectorised), then written by `loader.BulkLoader`.

The rows look exactly like app-created data: derived member fields (member_no, phone_last4,
name_grams, id_number_index) are filled with the services' own functions, ID numbers are encrypted,
every member has its MemberChange "create" row, and member, receipt and card numbers are reserved
from NumberSequence, so later numbers never collide.

Same seed and same `today` give the same data (ids aside, which depend on what the tables held).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from membercare.core.crypto import blind_index, encrypt
from membercare.core.idnumber import id_check_char, mask_id_number
from membercare.core.sequences import reserve_numbers
from membercare.loyalty.models import Card, CardKind, CardStatus, LoyaltyAccount, PointsEntry
from membercare.loyalty.programme import programme_at
from membercare.members.models import (
    Channel,
    ContactTime,
    DecisionStyle,
    Gender,
    Member,
    MemberChange,
    SkinTone,
    Tag,
)
from membercare.members.services import EDITABLE_FIELDS, format_member_no, name_grams
from membercare.org.models import Brand, Company, Region, Role, Staff, Store
from membercare.sales.models import Product, Receipt, ReceiptLine, Series

from . import data
from .loader import (
    BulkLoader,
    analyze,
    bools,
    civil_from_days,
    code,
    const,
    dates,
    days_from_civil,
    ints,
    money,
    stamps,
    text,
)

DEMO_PASSWORD = "demo1234"
DAY = 86400
TZ_OFFSET = 8 * 3600  # Asia/Shanghai has had no daylight saving time since 1991
EPOCH = dt.date(1970, 1, 1)

# Card numbers: 10 digits, first digit by kind, then a 9-digit number from the "card" sequence.
CARD_PREFIX = {CardKind.ACCUMULATION: 6, CardKind.KNIGHT: 7, CardKind.ELITE: 8, CardKind.DIAMOND: 9}
CARD_NUMBER_SEQUENCE = "card"
RECEIPT_NUMBER_SEQUENCE = "receipt"
MEMBER_NUMBER_SEQUENCE = "member"

# Tier thresholds of the default programme (DOMAIN.md), in cents of paid amounts.
ELITE_BUSINESS, ELITE_LEATHER_GOLF, ELITE_12M = 500_000, 300_000, 800_000
DIAMOND_SINGLE, DIAMOND_12M = 1_500_000, 2_000_000
KNIGHT_SINGLE, KNIGHT_12M = 300_000, 800_000
TIER_DISCOUNT = {1: 1000, 2: 850, 3: 800, 4: 850}  # permille paid of full price, by card rank below

# Fixed demo logins, one per role.
DEMO_LOGINS = [
    ("clerk", Role.CLERK), ("manager", Role.MANAGER), ("specialist", Role.SPECIALIST), ("admin", Role.ADMIN),
]


@dataclass
class GenConfig:
    members: int = 5000
    receipts: int | None = None  # None: each member's natural history (demo); else exactly this many
    seed: int = 42
    stores: int = 12
    today: dt.date | None = None
    history_days: int = 1000  # purchase history: about 2.7 years up to yesterday
    purchaser_share: float = 0.9
    id_number_share: float = 0.15
    lunar_share: float = 0.2
    drop_indexes: bool = True
    chunk_rows: int = 500_000


@dataclass
class Result:
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)  # role, username, password, store


def _rng(seed: int, part: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *part.encode()]))


def _days(date: dt.date) -> int:
    return (date - EPOCH).days


def _pick(rng: np.random.Generator, n: int, options: list[str], share: float,
          p: list[float] | None = None) -> np.ndarray:
    """n values from options, '' for the (1 - share) left blank."""
    arr = np.array(options, dtype=object)[rng.choice(len(options), n, p=p)]
    arr[rng.random(n) >= share] = ""
    return arr


# ------------------------------------------------------------------------------------------ names
_SURNAME_CHARS = np.array([s for s, _p, _w in data.SURNAMES], dtype=object)
_SURNAME_PINYIN = np.array([p for _s, p, _w in data.SURNAMES], dtype=object)
_SURNAME_P = np.array([w for _s, _p, w in data.SURNAMES], dtype=float)
_SURNAME_P /= _SURNAME_P.sum()


def make_names(rng: np.random.Generator, male: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Chinese names: a weighted common surname and a 1-2 character given name by gender."""
    n = len(male)
    surname = rng.choice(len(_SURNAME_CHARS), n, p=_SURNAME_P)
    gm, gf = np.array(data.GIVEN_MALE, dtype=object), np.array(data.GIVEN_FEMALE, dtype=object)
    neutral = np.array(data.GIVEN_FIRST_NEUTRAL, dtype=object)
    single = rng.random(n) < 0.2
    first = np.where(male, gm[rng.integers(0, len(gm), n)], gf[rng.integers(0, len(gf), n)])
    first = np.where(~single & (rng.random(n) < 0.3), neutral[rng.integers(0, len(neutral), n)], first)
    second = np.where(male, gm[rng.integers(0, len(gm), n)], gf[rng.integers(0, len(gf), n)])
    second[single] = ""
    names = [s + a + b for s, a, b in zip(_SURNAME_CHARS[surname].tolist(), first.tolist(), second.tolist(),
                                          strict=True)]
    return names, surname


def make_phones(rng: np.random.Generator, n: int, exclude: set[str] | None = None) -> np.ndarray:
    """n distinct mainland mobile numbers (1[3-9] + 9 digits) as int64, none in `exclude`."""
    prefixes = np.array(data.PHONE_PREFIXES, dtype=np.int64)
    taken = np.array(sorted(int(p) for p in exclude or ()), dtype=np.int64)
    out = np.zeros(0, dtype=np.int64)
    while len(out) < n:
        need = n - len(out)
        batch = prefixes[rng.integers(0, len(prefixes), need)] * 100_000_000 + rng.integers(0, 100_000_000, need)
        merged = np.concatenate([out, batch])
        _u, first = np.unique(merged, return_index=True)
        keep = np.zeros(len(merged), dtype=bool)
        keep[first] = True
        if len(taken):
            keep &= ~np.isin(merged, taken)
        out = merged[keep]
    return out[:n]


@cache
def _lunar_of(day: int) -> tuple[int, int, bool]:
    from lunardate import LunarDate

    convert = getattr(LunarDate, "from_solar_date", None) or LunarDate.fromSolarDate
    lunar = convert(*(EPOCH + dt.timedelta(days=day)).timetuple()[:3])
    leap = getattr(lunar, "is_leap_month", None)
    return lunar.month, lunar.day, bool(lunar.isLeapMonth if leap is None else leap)


def lunar_birthdays(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lunar month, day and leap flag of solar dates (days since 1970-01-01)."""
    uniq, inverse = np.unique(days, return_inverse=True)
    table = np.array([_lunar_of(int(d)) for d in uniq], dtype=np.int64).reshape(-1, 3)
    return table[inverse, 0], table[inverse, 1], table[inverse, 2].astype(bool)


def id_numbers(rng: np.random.Generator, area: np.ndarray, birth_days: np.ndarray, male: np.ndarray) -> list[str]:
    """Valid 18-character resident ID numbers (GB 11643): area, birth date, sequence (odd for men), check."""
    y, m, d = _ymd(birth_days)
    seq = rng.integers(0, 500, len(area)) * 2 + male.astype(np.int64)  # odd = male
    first17 = [f"{a:06d}{yy:04d}{mm:02d}{dd:02d}{s:03d}" for a, yy, mm, dd, s in
               zip(area.tolist(), y.tolist(), m.tolist(), d.tolist(), seq.tolist(), strict=True)]
    return [f + id_check_char(f) for f in first17]


def _ymd(days: np.ndarray):
    from .loader import civil_from_days

    return civil_from_days(days)


# ----------------------------------------------------------------------------------- organisation
@dataclass
class Org:
    company: Company
    brands: dict[str, Brand]
    store_ids: np.ndarray  # by store index
    store_brand: np.ndarray  # 0 main brand, 1 sub-brand
    store_networked: np.ndarray
    store_city: list[str]
    store_weight: np.ndarray
    staff: np.ndarray  # (stores, k) manager then clerks, 0-padded
    staff_count: np.ndarray
    clerks: np.ndarray  # (stores, k) clerks only
    clerk_count: np.ndarray
    logins: list[tuple[str, str, str, str]]


def _store_plan(count: int) -> list[tuple[str, str, str, str, bool]]:
    """(code, city, district, brand code, networked): the 12 demo stores, then more of the same kind."""
    plan = list(data.DEMO_STORES[:count])
    used: dict[str, int] = {}
    for code_, *_rest in plan:
        used[code_[:2]] = used.get(code_[:2], 0) + 1
    cities = list(data.CITIES)
    k = 0
    while len(plan) < count:
        city = cities[k % len(cities)]
        region, prefix, _area, _id_area, districts = data.CITIES[city]
        used[prefix] = used.get(prefix, 0) + 1
        number = used[prefix]
        district = districts[number % len(districts)]
        if number > len(districts):
            district += f"{number // len(districts) + 1}"
        brand = "JUEDU" if k % 7 == 3 else "MAIN"
        plan.append((f"{prefix}{number:02d}", city, district, brand, k % 9 != 4))
        k += 1
    return plan


def build_org(cfg: GenConfig, password_hash: str) -> Org:
    """Company, brands, regions, stores and staff (get-or-create by code and username)."""
    rng = _rng(cfg.seed, "org")
    company = Company.objects.filter(name=data.COMPANY_NAME).first() or Company.objects.create(name=data.COMPANY_NAME)
    brands: dict[str, Brand] = {}
    for code_, name, parent in data.BRANDS:
        brands[code_], _ = Brand.objects.get_or_create(
            code=code_, defaults={"company": company, "name": name, "parent": brands.get(parent) if parent else None}
        )
    regions = {}
    for code_, name in data.REGIONS:
        regions[code_], _ = Region.objects.get_or_create(code=code_, defaults={"company": company, "name": name})

    plan = _store_plan(cfg.stores)
    stores: list[Store] = []
    for i, (code_, city, district, brand_code, networked) in enumerate(plan):
        region, _prefix, area_code, _id_area, _districts = data.CITIES[city]
        prefix = "爵度" if brand_code == "JUEDU" else ""
        store, _ = Store.objects.get_or_create(code=code_, defaults={
            "name": f"{prefix}{city}{district}店", "brand": brands[brand_code], "region": regions[region],
            "networked": networked, "address": f"{city}市{district}{(i * 37) % 300 + 1}号",
            "phone": f"{area_code}-{6000_0000 + (i * 7919) % 4000_0000}",
        })
        stores.append(store)

    staff_names, _s = make_names(rng, rng.random(cfg.stores * 4 + 2) < 0.5)
    name_iter = iter(staff_names)
    logins: list[tuple[str, str, str, str]] = []
    existing = {s.username: s for s in Staff.objects.filter(username__in=_all_usernames(plan))}
    new_staff: list[tuple[Staff, Store | None]] = []

    def person(username: str, role: str, store: Store | None, **extra) -> None:
        display = next(name_iter)
        if username in existing:
            return
        user = Staff(username=username, role=role, display_name=display, password=password_hash,
                     first_name=display[1:], last_name=display[:1], **extra)
        new_staff.append((user, store))

    clerks_per_store = 1 + (rng.random(len(stores)) < 0.5)
    for i, store in enumerate(stores):
        code_ = store.code.lower()
        person("manager" if i == 0 else f"{code_}_manager", Role.MANAGER, store)
        for k in range(int(clerks_per_store[i])):
            person("clerk" if i == 0 and k == 0 else f"{code_}_clerk{k + 1}", Role.CLERK, store)
    person("specialist", Role.SPECIALIST, None)
    person("admin", Role.ADMIN, None, is_staff=True)
    if new_staff:
        Staff.objects.bulk_create([u for u, _s in new_staff])
        created = {u.username: u for u in Staff.objects.filter(username__in=[u.username for u, _s in new_staff])}
        through = Staff.stores.through
        through.objects.bulk_create([through(staff_id=created[u.username].pk, store_id=s.pk)
                                     for u, s in new_staff if s is not None], ignore_conflicts=True)
    for username, role in DEMO_LOGINS:
        user = Staff.objects.get(username=username)
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        store = user.stores.first()
        logins.append((str(role.label), username, DEMO_PASSWORD, store.name if store else "—"))

    n = len(stores)
    staff_rows = Staff.objects.filter(stores__in=stores, is_active=True).values_list("stores__id", "id", "role")
    by_store: dict[int, list[tuple[int, str]]] = {}
    for store_id, staff_id, role in staff_rows.order_by("stores__id", "role", "id"):
        by_store.setdefault(store_id, []).append((staff_id, role))
    k = max(len(v) for v in by_store.values())
    staff = np.zeros((n, k), dtype=np.int64)
    clerks = np.zeros((n, k), dtype=np.int64)
    staff_count = np.zeros(n, dtype=np.int64)
    clerk_count = np.zeros(n, dtype=np.int64)
    for i, store in enumerate(stores):
        rows = by_store.get(store.pk, [])
        ids = [sid for sid, _r in sorted(rows, key=lambda r: (r[1] != Role.MANAGER, r[0]))]
        cids = [sid for sid, r in sorted(rows) if r == Role.CLERK] or ids
        staff[i, : len(ids)], staff_count[i] = ids, len(ids)
        clerks[i, : len(cids)], clerk_count[i] = cids, len(cids)
    weight = rng.lognormal(0, 0.4, n) * np.where([s.brand.code == "JUEDU" for s in stores], 0.5, 1.0)
    return Org(
        company=company, brands=brands,
        store_ids=np.array([s.pk for s in stores], dtype=np.int64),
        store_brand=np.array([s.brand.code == "JUEDU" for s in stores], dtype=np.int64),
        store_networked=np.array([s.networked for s in stores], dtype=bool),
        store_city=[p[1] for p in plan],
        store_weight=weight / weight.sum(),
        staff=staff, staff_count=staff_count, clerks=clerks, clerk_count=clerk_count, logins=logins,
    )


def _all_usernames(plan) -> list[str]:
    names = ["manager", "clerk", "specialist", "admin"]
    for code_, *_rest in plan:
        names += [f"{code_.lower()}_manager", f"{code_.lower()}_clerk1", f"{code_.lower()}_clerk2"]
    return names


def demo_logins() -> list[tuple[str, str, str, str]]:
    out = []
    for username, role in DEMO_LOGINS:
        user = Staff.objects.filter(username=username).first()
        if user is not None:
            store = user.stores.first()
            out.append((str(role.label), username, DEMO_PASSWORD, store.name if store else "—"))
    return out


# -------------------------------------------------------------------------------------- catalogue
@dataclass
class Catalogue:
    ids: np.ndarray
    brand: np.ndarray  # 0 main, 1 sub-brand
    series: np.ndarray  # index into data.SERIES
    price: np.ndarray  # cents
    multi: np.ndarray  # may be bought 2 at a time (consumables, accessories)


def _retail_price(value: float) -> int:
    """Prices as shops write them: 2980, 388 (yuan)."""
    if value >= 1000:
        return int(round(value / 100) * 100 - 20)
    return max(200, int(round(value / 10) * 10 - 2))


def build_catalogue(cfg: GenConfig, brands: dict[str, Brand]) -> Catalogue:
    rng = _rng(cfg.seed, "catalogue")
    series = {}
    for code_, name in data.SERIES:
        series[code_], _ = Series.objects.get_or_create(code=code_, defaults={"name": name})
    series_index = {code_: i for i, (code_, _n) in enumerate(data.SERIES)}
    wanted: list[Product] = []
    for brand_code, sizes in data.CATALOGUE_SIZE.items():
        for series_code, count in sizes.items():
            items = data.CATALOGUE_ITEMS[series_code]
            adjectives = data.ADJECTIVES[series_code]
            for k in range(count):
                item, low, high, consumable = items[k % len(items)]
                price = _retail_price(float(np.exp(rng.uniform(np.log(low), np.log(high)))))
                adjective = adjectives[int(rng.integers(0, len(adjectives)))]
                wanted.append(Product(
                    sku=f"{brand_code[:2]}-{series_code[:3].upper()}-{k + 1:03d}", name=f"{adjective}{item}",
                    brand=brands[brand_code], series=series[series_code], full_price=f"{price}.00",
                    is_consumable=consumable,
                ))
    existing = set(Product.objects.filter(sku__in=[p.sku for p in wanted]).values_list("sku", flat=True))
    Product.objects.bulk_create([p for p in wanted if p.sku not in existing])
    rows = Product.objects.filter(sku__in=[p.sku for p in wanted]).select_related("series", "brand").order_by("sku")
    products = list(rows)
    return Catalogue(
        ids=np.array([p.pk for p in products], dtype=np.int64),
        brand=np.array([p.brand.code == "JUEDU" for p in products], dtype=np.int64),
        series=np.array([series_index[p.series.code] for p in products], dtype=np.int64),
        price=np.array([int(p.full_price * 100) for p in products], dtype=np.int64),
        multi=np.array([p.is_consumable or p.series.code == "accessories" for p in products], dtype=bool),
    )


# ---------------------------------------------------------------------------------------- members
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
    rng = _rng(cfg.seed, "members")
    n = cfg.members
    male = rng.random(n) < 0.65  # business menswear: mostly men
    names, surname = make_names(rng, male)
    phone = make_phones(_rng(cfg.seed, "phones"), n, exclude_phones)
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
    pinyin = _SURNAME_PINYIN[surname]
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

    decision = _pick(rng, n, [c.value for c in DecisionStyle], 0.7)
    skin = _pick(rng, n, [c.value for c in SkinTone], 0.3, [0.35, 0.4, 0.2, 0.05])
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
    other_brands = _pick(rng, n, data.OTHER_BRANDS, 0.3)
    second_brand = np.array(data.OTHER_BRANDS, dtype=object)[rng.integers(0, len(data.OTHER_BRANDS), n)]
    both = (other_brands != "") & (rng.random(n) < 0.3) & (other_brands != second_brand)
    other_brands[both] = other_brands[both] + "、" + second_brand[both]

    text_fields = {
        "address": address, "email": email, "wechat_id": wechat,
        "occupation": _pick(rng, n, data.OCCUPATIONS, 0.45),
        "skin_tone": skin, "clothing_size": clothing, "shoe_size": shoe,
        "first_purchase_style": _pick(rng, n, data.FIRST_PURCHASE_STYLES, 0.4),
        "personality": _pick(rng, n, data.PERSONALITIES, 0.3),
        "decision_style": decision,
        "shopping_time": _pick(rng, n, data.SHOPPING_TIMES, 0.35),
        "shopping_places": _pick(rng, n, data.SHOPPING_PLACES, 0.3),
        "other_brands": other_brands,
        "notes": _pick(rng, n, data.NOTES, 0.12),
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
    birth_year, _m, _d = _ymd(birth)
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


# -------------------------------------------------------------------------------------- purchases
@dataclass
class Purchases:
    member: np.ndarray  # per receipt, member index; receipts sorted by time
    at: np.ndarray  # UTC seconds
    store: np.ndarray  # store index
    clerk: np.ndarray  # staff id
    card: np.ndarray  # card number or 0
    signed: np.ndarray
    group: np.ndarray
    full: np.ndarray  # cents
    paid: np.ndarray
    line_receipt: np.ndarray
    line_product: np.ndarray  # product id
    line_qty: np.ndarray
    line_full: np.ndarray
    line_paid: np.ndarray
    line_promo: np.ndarray
    created_at: np.ndarray  # per member
    owner: np.ndarray  # per member: staff id
    registered_by: np.ndarray
    cards: dict  # column -> array, for loyalty_card


def _receipt_counts(cfg: GenConfig, rng: np.random.Generator, people: People) -> np.ndarray:
    n, seg, purchaser = people.n, people.segment, people.purchaser.copy()
    if cfg.receipts is None:
        casual = rng.choice([1, 2, 3], n, p=[0.62, 0.26, 0.12])
        regular = rng.integers(3, 11, n)
        frequent = rng.integers(8, 41, n)
        counts = np.select([seg == 0, seg == 1], [casual, regular], frequent)
        return np.where(purchaser, counts, 0).astype(np.int64)
    total = cfg.receipts
    if purchaser.sum() > total:  # fewer receipts than purchasers: only the first ones buy
        purchaser[np.flatnonzero(purchaser)[total:]] = False
    base = purchaser.astype(np.int64)
    weight = np.array([1.0, 4.0, 15.0])[seg] * rng.lognormal(0, 0.5, n) * purchaser
    extra = total - int(base.sum())
    if extra > 0 and weight.sum() > 0:
        base += rng.multinomial(extra, weight / weight.sum())
    return base


def _first_per_member(member_sorted: np.ndarray, mask: np.ndarray, values: np.ndarray, n: int,
                      empty: int) -> np.ndarray:
    """For receipts sorted by (member, time): the value at each member's first receipt where mask."""
    out = np.full(n, empty, dtype=np.int64)
    members, first = np.unique(member_sorted[mask], return_index=True)
    out[members] = values[mask][first]
    return out


def make_purchases(cfg: GenConfig, org: Org, cat: Catalogue, people: People, today: int) -> tuple[Purchases, int]:
    rng = _rng(cfg.seed, "purchases")
    n = people.n
    counts = _receipt_counts(cfg, rng, people)
    history = cfg.history_days
    start_day = today - history
    # registration day: later days a little more likely (the chain grows)
    reg_off = np.minimum((history * rng.random(n) ** 0.8).astype(np.int64), history - 1)
    hour_p = np.array([3, 5, 6, 5, 6, 7, 8, 8, 9, 10, 9, 6], dtype=float)
    hour_p /= hour_p.sum()

    def time_of_day(size: int) -> np.ndarray:
        return (10 + rng.choice(12, size, p=hour_p)) * 3600 + rng.integers(0, 3600, size)

    # owner: a clerk of the home store; registered by the owner (sometimes the manager)
    home = people.home
    owner = org.clerks[home, (rng.random(n) * org.clerk_count[home]).astype(np.int64)]
    registered_by = np.where(rng.random(n) < 0.1, org.staff[home, 0], owner)

    total = int(counts.sum())
    member = np.repeat(np.arange(n, dtype=np.int64), counts)
    first = np.zeros(total, dtype=bool)
    first[(np.cumsum(counts) - counts)[counts > 0]] = True
    span = history - reg_off[member]
    day = reg_off[member] + np.where(first, 0, (rng.random(total) * span).astype(np.int64))
    weekday = (start_day + day + 3) % 7  # 0 = Monday
    to_weekend = ~first & (weekday < 5) & (rng.random(total) < 0.3)
    moved = day + (5 - weekday)
    day = np.where(to_weekend & (moved < history), moved, day)
    at = (start_day + day) * DAY + time_of_day(total) - TZ_OFFSET

    # store: mostly the home store, else one of the same brand, rarely any store
    store_brand = org.store_brand
    store = home[member].copy()
    roll = rng.random(total)
    for b in (0, 1):
        same = np.flatnonzero(store_brand == b)
        mask = (roll >= 0.85) & (roll < 0.97) & (store_brand[store] == b) & ~first
        store[mask] = same[rng.integers(0, len(same), int(mask.sum()))]
    anywhere = (roll >= 0.97) & ~first
    store[anywhere] = rng.integers(0, len(org.store_ids), int(anywhere.sum()))
    own_clerk = (store == home[member]) & (first | (rng.random(total) < 0.6))
    clerk = np.where(own_clerk, np.where(first, registered_by[member], owner[member]),
                     org.staff[store, (rng.random(total) * org.staff_count[store]).astype(np.int64)])

    # receipts in time order: ids and numbers grow with time
    order = np.lexsort((member, at))
    member, at, store, clerk = member[order], at[order], store[order], clerk[order]
    segment = people.segment[member]
    brand = store_brand[store]

    # lines: 1-3 per receipt, frequent big spenders buy more and dearer
    nlines = np.where(segment == 2, rng.choice([1, 2, 3], total, p=[0.6, 0.3, 0.1]),
                      rng.choice([1, 2, 3], total, p=[0.84, 0.13, 0.03]))
    line_receipt = np.repeat(np.arange(total, dtype=np.int64), nlines)
    nl = len(line_receipt)
    line_brand = brand[line_receipt]
    line_big = segment[line_receipt] == 2
    product = np.zeros(nl, dtype=np.int64)
    for b in (0, 1):
        pool = np.flatnonzero(cat.brand == b)
        for big, power in ((False, -0.6), (True, 0.25)):
            mask = (line_brand == b) & (line_big == big)
            cdf = np.cumsum(cat.price[pool].astype(float) ** power)
            cdf /= cdf[-1]
            product[mask] = pool[np.minimum(np.searchsorted(cdf, rng.random(int(mask.sum()))), len(pool) - 1)]
    qty = np.where(cat.multi[product] & (rng.random(nl) < 0.25), 2, 1)
    line_full = cat.price[product] * qty
    promo = rng.random(nl) < 0.18
    promo_rate = np.array([500, 600, 700, 800, 880])[rng.choice(5, nl, p=[0.1, 0.2, 0.3, 0.3, 0.1])]
    paid_pre = np.where(promo, (line_full * promo_rate + 500) // 1000, line_full)

    def per_receipt(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        weights = values if mask is None else np.where(mask, values, 0)
        return np.bincount(line_receipt, weights=weights, minlength=total).astype(np.int64)

    series = cat.series[product]
    rec_paid = per_receipt(paid_pre)
    rec_business = per_receipt(paid_pre, series == 0)
    rec_leather_golf = per_receipt(paid_pre, (series == 1) | (series == 2))

    # tiers from the history (paid amounts): first qualifying receipt per member
    by_member = np.lexsort((at, member))
    m_s, t_s = member[by_member], at[by_member]
    base = t_s.min() - 400 * DAY if total else 0
    key = (m_s << 32) + (t_s - base)
    window_start = np.searchsorted(key, key - 365 * DAY, side="left")

    def rolling(values: np.ndarray) -> np.ndarray:
        cs = np.cumsum(values)
        return cs - np.where(window_start > 0, cs[np.maximum(window_start - 1, 0)], 0)

    main_s = brand[by_member] == 0
    paid_s = rec_paid[by_member]
    main_12m = rolling(np.where(main_s, paid_s, 0))
    sub_12m = rolling(np.where(~main_s, paid_s, 0))
    elite_q = main_s & ((rec_business[by_member] >= ELITE_BUSINESS) |
                        (rec_leather_golf[by_member] >= ELITE_LEATHER_GOLF) | (main_12m >= ELITE_12M))
    diamond_q = main_s & ((paid_s >= DIAMOND_SINGLE) | (main_12m >= DIAMOND_12M))
    knight_q = ~main_s & ((paid_s >= KNIGHT_SINGLE) | (sub_12m >= KNIGHT_12M))
    never = 1 << 62
    elite_t = _first_per_member(m_s, elite_q, t_s, n, never)
    diamond_t = _first_per_member(m_s, diamond_q, t_s, n, never)
    knight_t = _first_per_member(m_s, knight_q, t_s, n, never)
    elite_t[diamond_t <= elite_t] = never  # straight to diamond
    first_t = _first_per_member(m_s, np.ones(total, dtype=bool), t_s, n, never)

    has_acc = first_t != never
    created_at = np.where(has_acc, first_t - rng.integers(120, 900, n),
                          (start_day + reg_off) * DAY + time_of_day(n) - TZ_OFFSET)

    # cards: accumulation at the first purchase (valid 1 year), then elite / diamond / knight
    acc_issue = np.where(has_acc, first_t - 30, never)
    y, mo, d = _ymd((np.where(has_acc, first_t, 0) - 30 + TZ_OFFSET) // DAY)
    from .loader import days_from_civil

    acc_until = days_from_civil(y + 1, mo, np.where((mo == 2) & (d == 29), 28, d))
    acc_until_end = (acc_until + 1) * DAY - TZ_OFFSET  # valid through that whole local day
    has_elite, has_diamond, has_knight = elite_t != never, diamond_t != never, knight_t != never
    kinds = [(CardKind.ACCUMULATION, has_acc, acc_issue), (CardKind.ELITE, has_elite, elite_t + 300),
             (CardKind.DIAMOND, has_diamond, diamond_t + 300), (CardKind.KNIGHT, has_knight, knight_t + 300)]
    card_member = np.concatenate([np.flatnonzero(has) for _k, has, _t in kinds])
    card_kind = np.concatenate([np.full(int(has.sum()), i) for i, (_k, has, _t) in enumerate(kinds)])
    card_issue = np.concatenate([t[has] for _k, has, t in kinds])
    card_order = np.lexsort((card_kind, card_member, card_issue))
    card_member, card_kind, card_issue = card_member[card_order], card_kind[card_order], card_issue[card_order]
    ncards = len(card_member)
    seq = np.array(reserve_numbers(CARD_NUMBER_SEQUENCE, ncards) if ncards else [], dtype=np.int64)
    prefix = np.array([CARD_PREFIX[k] for k, _h, _t in kinds], dtype=np.int64)
    card_number = prefix[card_kind] * 1_000_000_000 + seq
    number_of = np.zeros((4, n), dtype=np.int64)
    number_of[card_kind, card_member] = card_number
    upgraded = has_elite | has_diamond
    void, expired, active = CardStatus.VOID.value, CardStatus.EXPIRED.value, CardStatus.ACTIVE.value
    acc_status = np.where(upgraded, void, np.where(acc_until < today, expired, active))
    status_by_kind = [acc_status, np.where(has_diamond, void, active), np.full(n, active), np.full(n, active)]
    card_status = np.empty(ncards, dtype=object)
    for i in range(4):
        sel = card_kind == i
        card_status[sel] = np.asarray(status_by_kind[i], dtype=object)[card_member[sel]]
    cards = {
        "number": card_number, "member": card_member, "issued_at": card_issue,
        "kind": np.array([k.value for k, _h, _t in kinds], dtype=object)[card_kind],
        "status": card_status,
        "brand": np.where(card_kind == 3, org.brands["JUEDU"].pk, org.brands["MAIN"].pk),
        "valid_until": np.where(card_kind == 0, acc_until[card_member], 0), "has_until": card_kind == 0,
    }

    # the card each receipt carries (the best valid one at the time) and its discount on full-price lines
    rank = np.zeros(total, dtype=np.int64)  # 0 none, 1 accumulation, 2 elite, 3 diamond, 4 knight
    card = np.zeros(total, dtype=np.int64)
    m = member
    for r, valid in (
        (1, (acc_issue[m] <= at) & (at < acc_until_end[m])),
        (2, has_elite[m] & (elite_t[m] + 300 <= at)),
        (3, has_diamond[m] & (diamond_t[m] + 300 <= at)),
        (4, has_knight[m] & (knight_t[m] + 300 <= at) & (brand == 1)),
    ):
        kind_index = {1: 0, 2: 1, 3: 2, 4: 3}[r]
        rank = np.where(valid, r, rank)
        card = np.where(valid, number_of[kind_index, m], card)
    rate = np.array([1000, *[TIER_DISCOUNT[k] for k in (1, 2, 3, 4)]])[rank]
    line_rate = rate[line_receipt]
    line_paid = np.where(promo | (line_rate == 1000), paid_pre, (line_full * line_rate + 500) // 1000)
    signed = np.where(rank >= 2, rng.random(total) < 0.95, (rank == 1) & (rng.random(total) < 0.3))
    group = rng.random(total) < 0.01
    purchases = Purchases(
        member=member, at=at, store=store, clerk=clerk, card=card, signed=signed, group=group,
        full=per_receipt(line_full), paid=per_receipt(line_paid),
        line_receipt=line_receipt, line_product=cat.ids[product], line_qty=qty, line_full=line_full,
        line_paid=line_paid, line_promo=promo, created_at=created_at, owner=owner, registered_by=registered_by,
        cards=cards,
    )
    return purchases, ncards


# ------------------------------------------------------------------------------------------- load
LOADED_TABLES = [Member, Member.tags.through, MemberChange, Card, Receipt, ReceiptLine, LoyaltyAccount, PointsEntry]


@dataclass
class OpeningPoints:
    """Points still valid on `today` from the purchase history: one earn lot per member and expiry date."""

    member: np.ndarray  # member index per lot
    points: np.ndarray
    expires: np.ndarray  # days since 1970-01-01; -1 = never
    at: np.ndarray  # UTC seconds of the last purchase in the lot
    balance: np.ndarray  # per member
    has_account: np.ndarray  # per member


def opening_points(purchases: Purchases, n: int, today: int, today_date: dt.date) -> OpeningPoints:
    """1 point per whole yuan paid on receipts with a card (the programme's rate), grouped by expiry date;
    lots already expired on `today` are left out (they were spent or expired before go-live)."""
    programme = programme_at(today_date)
    with_card = purchases.card != 0
    member, at = purchases.member[with_card], purchases.at[with_card]
    points = (purchases.paid[with_card] * programme.points_per_yuan // 100).astype(np.int64)
    day = (at + 8 * 3600) // 86400  # Asia/Shanghai dates
    if programme.points_expiry == "never":
        expires = np.full(len(day), -1, dtype=np.int64)
    elif programme.points_expiry.startswith("days:"):
        expires = day + int(programme.points_expiry[5:])
    else:
        year, _m, _d = civil_from_days(day)
        expires = days_from_civil(year + 1, np.full(len(day), 12), np.full(len(day), 31))
    keep = ((expires < 0) | (expires >= today)) & (points > 0)
    member, at, points, expires = member[keep], at[keep], points[keep], expires[keep]
    keys, lot = np.unique(np.stack([member, expires]), axis=1, return_inverse=True)
    lot = lot.ravel()
    lot_points = np.bincount(lot, weights=points, minlength=keys.shape[1]).astype(np.int64)
    lot_at = np.zeros(keys.shape[1], dtype=np.int64)
    np.maximum.at(lot_at, lot, at)
    balance = np.bincount(keys[0], weights=lot_points, minlength=n).astype(np.int64)
    return OpeningPoints(member=keys[0], points=lot_points, expires=keys[1], at=lot_at, balance=balance,
                         has_account=balance > 0)


def generate(cfg: GenConfig, log: Callable[[str], None] | None = None) -> Result:
    """Build the organisation, catalogue, members, purchases and cards, and write them."""
    log = log or (lambda msg: None)
    result = Result()
    t_all = time.perf_counter()
    today_date = cfg.today or timezone.localdate()
    today = _days(today_date)

    def step(name: str, t0: float) -> None:
        result.timings[name] = time.perf_counter() - t0
        log(f"  {name}: {result.timings[name]:.1f}s")

    with transaction.atomic():
        t0 = time.perf_counter()
        org = build_org(cfg, make_password(DEMO_PASSWORD))
        cat = build_catalogue(cfg, org.brands)
        tags = {name: Tag.objects.get_or_create(name=name)[0].pk
                for name in [t for t, _s in data.TAGS_GENERAL] + list(data.DECADE_TAGS.values())}
        result.logins = org.logins
        step("organisation and catalogue", t0)

        t0 = time.perf_counter()
        exclude = set(Member.objects.values_list("phone", flat=True)) if Member.objects.exists() else set()
        people = make_people(cfg, org, today, exclude)
        step("members generated", t0)
        t0 = time.perf_counter()
        purchases, ncards = make_purchases(cfg, org, cat, people, today)
        step("purchases and cards generated", t0)
        t0 = time.perf_counter()
        changes = changes_json(people.changes_src, ensure_ascii=connection.vendor != "postgresql")
        step("history rows generated", t0)

        loader = BulkLoader(LOADED_TABLES, drop_indexes=cfg.drop_indexes, chunk_rows=cfg.chunk_rows, log=log)
        n = people.n
        member_ids = loader.next_id(Member) + np.arange(n, dtype=np.int64)
        numbers = np.array(reserve_numbers(MEMBER_NUMBER_SEQUENCE, n) if n else [], dtype=np.int64)
        member_no = format_member_no(0)
        member_prefix, member_width = member_no.rstrip("0"), len(member_no) - len(member_no.rstrip("0"))
        store_ids = org.store_ids
        t0 = time.perf_counter()
        loader.write(Member, {
            "id": ints(member_ids), "member_no": code(numbers, prefix=member_prefix, width=member_width),
            **people.fields,
            "home_store_id": ints(store_ids[people.home]), "owner_id": ints(purchases.owner),
            "registered_by_id": ints(purchases.registered_by),
            "created_at": stamps(purchases.created_at), "updated_at": stamps(purchases.created_at),
        }, n)
        step("members written", t0)

        t0 = time.perf_counter()
        tag_member = np.concatenate(people.tags)
        tag_id = np.concatenate([np.full(len(ix), tags[name]) for name, ix in zip(people.tag_names, people.tags,
                                                                                    strict=True)])
        order = np.lexsort((tag_id, tag_member))
        tag_member, tag_id = tag_member[order], tag_id[order]
        through = Member.tags.through
        loader.write(through, {
            "id": ints(loader.next_id(through) + np.arange(len(tag_member))),
            "member_id": ints(member_ids[tag_member]), "tag_id": ints(tag_id),
        }, len(tag_member))
        step("member tags written", t0)
        t0 = time.perf_counter()
        loader.write(MemberChange, {
            "id": ints(loader.next_id(MemberChange) + np.arange(n)), "member_id": ints(member_ids),
            "action": const(MemberChange.Action.CREATE.value), "changed_by_id": ints(purchases.registered_by),
            "changed_at": stamps(purchases.created_at), "changes": text(changes),
        }, n)
        step("history written", t0)

        t0 = time.perf_counter()
        c = purchases.cards
        loader.write(Card, {
            "id": ints(loader.next_id(Card) + np.arange(ncards)), "number": code(c["number"], width=10),
            "member_id": ints(member_ids[c["member"]]), "kind": text(c["kind"].tolist()),
            "status": text([str(s) for s in c["status"].tolist()]), "brand_id": ints(c["brand"]),
            "issued_at": stamps(c["issued_at"]), "valid_until": dates(c["valid_until"], null=~c["has_until"]),
        }, ncards)
        step("cards written", t0)

        t0 = time.perf_counter()
        nr = len(purchases.member)
        receipt_ids = loader.next_id(Receipt) + np.arange(nr, dtype=np.int64)
        receipt_numbers = np.array(reserve_numbers(RECEIPT_NUMBER_SEQUENCE, nr) if nr else [], dtype=np.int64)
        source = np.where(org.store_networked[purchases.store], Receipt.Source.LIVE.value,
                          Receipt.Source.UPLOAD.value)
        loader.write(Receipt, {
            "id": ints(receipt_ids), "number": code(receipt_numbers, prefix="R", width=10),
            "store_id": ints(store_ids[purchases.store]), "clerk_id": ints(purchases.clerk),
            "member_id": ints(member_ids[purchases.member]),
            "card_number": code(purchases.card, width=10, blank_zero=True),
            "sold_at": stamps(purchases.at), "total_full_price": money(purchases.full),
            "total_paid": money(purchases.paid), "is_group_purchase": bools(purchases.group),
            "member_signed": bools(purchases.signed), "source": text(source),
        }, nr)
        step("receipts written", t0)
        t0 = time.perf_counter()
        nl = len(purchases.line_receipt)
        loader.write(ReceiptLine, {
            "id": ints(loader.next_id(ReceiptLine) + np.arange(nl, dtype=np.int64)),
            "receipt_id": ints(receipt_ids[purchases.line_receipt]), "product_id": ints(purchases.line_product),
            "quantity": ints(purchases.line_qty), "full_price": money(purchases.line_full),
            "paid_amount": money(purchases.line_paid), "on_promotion": bools(purchases.line_promo),
        }, nl)
        step("receipt lines written", t0)
        t0 = time.perf_counter()
        opening = opening_points(purchases, n, today, today_date)
        with translation.override(settings.LANGUAGE_CODE):
            reason = gettext("Opening balance: points from the purchase history")
        nlots = len(opening.member)
        loader.write(PointsEntry, {
            "id": ints(loader.next_id(PointsEntry) + np.arange(nlots, dtype=np.int64)),
            "member_id": ints(member_ids[opening.member]), "kind": const(PointsEntry.Kind.EARN.value),
            "points": ints(opening.points), "remaining": ints(opening.points),
            "expires_on": dates(opening.expires, null=opening.expires < 0), "reason": const(reason),
            "created_at": stamps(opening.at),
        }, nlots)
        accounts = np.flatnonzero(opening.has_account)
        loader.write(LoyaltyAccount, {
            "member_id": ints(member_ids[accounts]), "points": ints(opening.balance[accounts]),
            "updated_at": stamps(np.full(len(accounts), int(time.time()), dtype=np.int64)),
        }, len(accounts))
        step("points balances written", t0)
        t0 = time.perf_counter()
        loader.finish()
        step("indexes and sequences", t0)
    t0 = time.perf_counter()
    analyze(LOADED_TABLES)
    step("analyze", t0)
    result.timings["total"] = time.perf_counter() - t_all
    result.counts = {
        "stores": len(org.store_ids), "staff": Staff.objects.count(), "products": len(cat.ids),
        "members": n, "member_tags": len(tag_member), "cards": ncards, "receipts": nr, "receipt_lines": nl,
        "points_lots": nlots, "loyalty_accounts": len(accounts),
    }
    return result
