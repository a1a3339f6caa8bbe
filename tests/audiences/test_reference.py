"""Property: for generated members, cards, receipts, tags, contacts, segments and predictions, and generated
audience definitions (include and exclude, AND/OR groups nested three deep), the members the SQL gives equal a
plain-Python evaluation of the same definition over the same rows — on SQLite and on PostgreSQL (the same test
runs on whichever database the run uses)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membercare.audiences.conditions import Context, _stats_window, levels, years_before
from membercare.audiences.selectors import members_queryset
from membercare.care import purchase_days
from membercare.care.config import care_config
from membercare.care.models import SEVEN_SEGMENTS, Contact, Lifecycle, MemberSegments
from membercare.care.segment_stats import Windows, build_stats
from membercare.loyalty.birthday import birthday_period
from membercare.loyalty.models import Card
from membercare.members.models import Tag
from membercare.org.models import Role
from membercare.prediction.models import MemberPrediction
from membercare.sales.models import Receipt, ReceiptLine
from tests.factories import (
    BrandFactory,
    MemberFactory,
    ProductFactory,
    RegionFactory,
    SeriesFactory,
    StaffFactory,
    StoreFactory,
)

TZ = ZoneInfo("Asia/Shanghai")
FLAGS = [c for c, _l in SEVEN_SEGMENTS]
LEVELS = ["accumulation", "elite", "diamond", "knight"]


# ------------------------------------------------------------------------------------------ the reference


def _next_month(y: int, m: int) -> tuple[int, int]:
    return (y + 1, 1) if m == 12 else (y, m + 1)


def ref_months(values, today):
    out = set()
    for v in values:
        if v == "this":
            out.add((today.year, today.month))
        elif v == "next":
            out.add(_next_month(today.year, today.month))
        else:
            out.add((today.year if int(v) >= today.month else today.year + 1, int(v)))
    return out


def age(birthday: dt.date, today: dt.date) -> int:
    return today.year - birthday.year - ((today.month, today.day) < (birthday.month, birthday.day))


def between(v, low, high) -> bool:
    return (low is None or v >= low) and (high is None or v <= high)


def ref_condition(c: dict, m: dict, today: dt.date) -> bool:
    p, t = c["params"], c["type"]
    if t == "gender":
        return m["gender"] in p["values"]
    if t == "age":
        return between(age(m["birthday"], today), p.get("min"), p.get("max"))
    if t == "level":
        ranks = {code: rank for code, _l, rank in levels()}
        held = [ranks[k] for k, status, until in m["cards"]
                if status == "active" and (until is None or until >= today) and k in ranks]
        if p["op"] == "at_least":
            return any(r >= ranks[p["level"]] for r in held)
        return bool(held) and max(held) == ranks[p["level"]]
    if t == "birthday_month":
        return any(birthday_period(m["obj"], dt.date(y, mo, 1)) == f"{y}-{mo:02d}"
                   for y, mo in ref_months(p["months"], today))
    if t == "store":
        return str(m["store"]) in p["values"]
    if t == "region":
        return str(m["region"]) in p["values"]
    if t == "owner":
        return str(m["owner"]) in p["values"]
    if t == "tags":
        return bool({str(x) for x in m["tags"]} & set(p["values"]))
    if t == "consent":
        return m["consent"][p["channel"]] == (p["given"] == "yes")
    if t == "not_contacted":
        since = dt.datetime.combine(today - dt.timedelta(days=p["days"]), dt.time(), tzinfo=TZ)
        return not any(at >= since for at in m["contacts"])
    if t in ("spend", "purchase_days"):
        start = today - dt.timedelta(days=p["window"] - 1)
        days: dict[dt.date, int] = {}
        for local, cents, _series in m["receipts"]:
            if start <= local <= today:
                days[local] = days.get(local, 0) + cents
        if t == "spend":
            total = Decimal(sum(days.values())) / 100
        else:
            total = len(days)
        return between(total, p.get("min"), p.get("max"))
    if t == "last_purchase":
        past = [local for local, _c, _s in m["receipts"] if local <= today]
        if not past:
            return False
        return between((today - max(past)).days, p.get("min") or 0, p.get("max"))
    if t == "series":
        start = today - dt.timedelta(days=p["window"] - 1)
        return any(start <= local <= today and str(series) in p["values"] for local, _c, series in m["receipts"])
    if t == "segment_lifecycle":
        return m["segments"] is not None and m["segments"]["lifecycle"] in p["values"]
    if t == "segment_flag":
        return m["segments"] is not None and any(m["segments"][f] for f in p["values"])
    if t == "prediction":
        rows = [r for r in m["predictions"] if not p.get("brand") or str(r["brand"]) == p["brand"]]
        if p["measure"] == "p_alive":
            def ok(r):
                return ((p.get("min") is None or r["p_alive"] >= float(p["min"] * Decimal("0.01")))
                        and (p.get("max") is None or r["p_alive"] <= float(p["max"] * Decimal("0.01"))))
        else:
            def ok(r):
                return between(r["clv"], p.get("min"), p.get("max"))
        return any(ok(r) for r in rows)
    raise AssertionError(t)


def ref_group(g: dict, m: dict, today: dt.date) -> bool | None:
    """None: a group without conditions (no constraint)."""
    results = []
    for item in g["items"]:
        r = ref_condition(item, m, today) if "type" in item else ref_group(item, m, today)
        if r is not None:
            results.append(r)
    if not results:
        return None
    return all(results) if g["op"] == "and" else any(results)


def reference(definition: dict, members: list[dict], today: dt.date) -> set[int]:
    out = set()
    for m in members:
        inc = ref_group(definition["include"], m, today)
        exc = ref_group(definition["exclude"], m, today)
        if inc is not False and exc is not True:
            out.add(m["id"])
    return out


# -------------------------------------------------------------------------------------- the definitions

AMOUNTS = [100, 9900, 25000, 100000]


def _opt(s):
    return st.one_of(st.none(), s)


def _range(values):
    return st.tuples(_opt(st.sampled_from(values)), _opt(st.sampled_from(values))).filter(
        lambda t: (t[0] is not None or t[1] is not None) and (None in t or t[0] <= t[1]))


def _ix(n):  # indexes of generated rows, resolved to ids in the test
    return st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True)


WINDOWS = st.sampled_from([1, 30, 365])
condition_st = st.one_of(
    st.builds(lambda v: {"type": "gender", "params": {"values": v}},
              st.lists(st.sampled_from(["F", "M"]), min_size=1, max_size=2, unique=True)),
    st.builds(lambda r: {"type": "age", "params": {"min": r[0], "max": r[1]}}, _range([0, 20, 30, 41, 60])),
    st.builds(lambda op, lv: {"type": "level", "params": {"op": op, "level": lv}},
              st.sampled_from(["at_least", "exactly"]), st.sampled_from(LEVELS)),
    st.builds(lambda v: {"type": "birthday_month", "params": {"months": v}},
              st.lists(st.sampled_from(["this", "next", "1", "2", "6", "7", "11", "12"]), min_size=1, max_size=3,
                       unique=True)),
    st.builds(lambda v: {"type": "store", "params": {"values": ("store", v)}}, _ix(3)),
    st.builds(lambda v: {"type": "region", "params": {"values": ("region", v)}}, _ix(2)),
    st.builds(lambda v: {"type": "owner", "params": {"values": ("owner", v)}}, _ix(2)),
    st.builds(lambda v: {"type": "tags", "params": {"values": ("tag", v)}}, _ix(3)),
    st.builds(lambda c, g: {"type": "consent", "params": {"channel": c, "given": g}},
              st.sampled_from(["phone", "sms", "email", "wechat"]), st.sampled_from(["yes", "no"])),
    st.builds(lambda d: {"type": "not_contacted", "params": {"days": d}}, st.sampled_from([1, 7, 30, 60])),
    st.builds(lambda w, r: {"type": "spend", "params": {"window": w, "min": r[0], "max": r[1]}},
              WINDOWS, _range([Decimal(0), Decimal(99), Decimal(250), Decimal(1000), Decimal(1250)])),
    st.builds(lambda w, r: {"type": "purchase_days", "params": {"window": w, "min": r[0], "max": r[1]}},
              WINDOWS, _range([0, 1, 2, 3])),
    st.builds(lambda r: {"type": "last_purchase", "params": {"min": r[0], "max": r[1]}}, _range([0, 1, 10, 40])),
    st.builds(lambda v, w: {"type": "series", "params": {"values": ("series", v), "window": w}}, _ix(2), WINDOWS),
    st.builds(lambda v: {"type": "segment_lifecycle", "params": {"values": v}},
              st.lists(st.sampled_from(Lifecycle.values), min_size=1, max_size=3, unique=True)),
    st.builds(lambda v: {"type": "segment_flag", "params": {"values": v}},
              st.lists(st.sampled_from(FLAGS), min_size=1, max_size=2, unique=True)),
    st.builds(lambda r, b: {"type": "prediction", "params": {"measure": "p_alive", "min": r[0], "max": r[1],
                                                               "brand": b}},
              _range([Decimal(10), Decimal(50), Decimal(75), Decimal(90)]), st.sampled_from([None, ("brand", 0)])),
    st.builds(lambda r: {"type": "prediction", "params": {"measure": "clv", "min": r[0], "max": r[1]}},
              _range([Decimal(0), Decimal(100), Decimal("500.50")])),
)


def group_st(depth: int):
    items = condition_st if depth >= 3 else st.one_of(condition_st, st.deferred(lambda: group_st(depth + 1)))
    return st.builds(lambda op, its: {"op": op, "items": its}, st.sampled_from(["and", "or"]),
                     st.lists(items, max_size=3))


definition_st = st.builds(lambda i, e: {"include": i, "exclude": e}, group_st(1), group_st(1))


def resolve(node, ids: dict):
    if isinstance(node, dict):
        return {k: resolve(v, ids) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, ids) for v in node]
    if isinstance(node, tuple):
        kind, ix = node
        if kind == "brand":
            return str(ids["brand"][ix])
        return [str(ids[kind][i]) for i in ix]
    return node


# -------------------------------------------------------------------------------------------- the rows

member_st = st.fixed_dictionaries({
    "gender": st.sampled_from(["F", "M"]),
    "birthday": st.one_of(st.dates(dt.date(1940, 1, 1), dt.date(2020, 12, 31)), st.just(dt.date(2000, 2, 29)),
                          st.tuples(st.sampled_from([0, 1, 20, 21, 30, 31, 41, 42, 60, 61]),
                                    st.sampled_from([-1, 0, 1]))),
    "lunar": st.one_of(st.none(), st.tuples(st.integers(1, 12), st.integers(1, 30), st.booleans())),
    "celebrates_lunar": st.booleans(),
    "store": st.integers(0, 2), "owner": st.integers(0, 2),
    "tags": st.lists(st.integers(0, 2), max_size=2, unique=True),
    "consent": st.fixed_dictionaries({c: st.booleans() for c in ("phone", "sms", "email", "wechat")}),
    "cards": st.lists(st.tuples(st.sampled_from(LEVELS), st.sampled_from(["active", "active", "void", "pending"]),
                                st.one_of(st.none(), st.integers(-1, 1), st.integers(-30, 300))), max_size=2),
    "receipts": st.lists(st.tuples(st.one_of(st.sampled_from([0, 1, 9, 10, 11, 29, 30, 39, 40, 41, 364, 365]),
                                             st.integers(0, 400)), st.integers(0, 23), st.sampled_from(AMOUNTS),
                                   st.integers(0, 1), st.sampled_from([False, False, True])), max_size=4),
    "contacts": st.lists(st.tuples(st.sampled_from([0, 1, 6, 7, 8, 29, 30, 31, 59, 60, 61]), st.integers(0, 23)),
                         max_size=2),
    "segments": st.one_of(st.none(), st.fixed_dictionaries({
        "lifecycle": st.sampled_from(Lifecycle.values), **{f: st.booleans() for f in FLAGS}})),
    "predictions": st.lists(st.tuples(st.integers(0, 1), st.sampled_from([0.1, 0.5, 0.75, 0.9]),
                                      st.sampled_from([Decimal(0), Decimal(100), Decimal("500.50"), Decimal(2000)])),
                            max_size=2, unique_by=lambda t: t[0]),
})


class Rollback(Exception):
    pass


def _build(specs: list[dict], today: dt.date) -> tuple[list[dict], dict]:
    brands = [BrandFactory(code="MAIN"), BrandFactory(code="JUEDU", name="爵度")]
    regions = [RegionFactory(code="EAST"), RegionFactory(code="NORTH", name="华北区")]
    stores = [StoreFactory(region=regions[0], brand=brands[0]), StoreFactory(region=regions[1], brand=brands[0]),
              StoreFactory(region=regions[1], brand=brands[1])]
    owners = [StaffFactory(role=Role.CLERK), StaffFactory(role=Role.MANAGER), None]
    tags = [Tag.objects.create(name=f"标签{i}") for i in range(3)]
    series = [SeriesFactory(code="business"), SeriesFactory(code="golf", name="高尔夫系列")]
    products = [ProductFactory(series=s, brand=brands[0]) for s in series]
    ids = {"store": [s.pk for s in stores], "region": [r.pk for r in regions],
           "owner": [o.pk for o in owners if o], "tag": [t.pk for t in tags], "series": [s.pk for s in series],
           "brand": [b.pk for b in brands]}
    rows, n = [], 0
    for spec in specs:
        if isinstance(spec["birthday"], tuple):  # near an age boundary: years before today, a day either side
            years, delta = spec["birthday"]
            spec = {**spec, "birthday": years_before(today, years) + dt.timedelta(days=delta)}
        lunar = spec["lunar"]
        member = MemberFactory(
            gender=spec["gender"], birthday=spec["birthday"], home_store=stores[spec["store"]],
            owner=owners[spec["owner"]], celebrates_lunar=spec["celebrates_lunar"],
            lunar_birthday_month=lunar[0] if lunar else None, lunar_birthday_day=lunar[1] if lunar else None,
            lunar_birthday_leap=lunar[2] if lunar else False,
            **{f"consent_{c}": v for c, v in spec["consent"].items()})
        member.tags.set([tags[i] for i in spec["tags"]])
        for kind, status, until in spec["cards"]:
            n += 1
            Card.objects.create(number=f"C{n:08d}", member=member, kind=kind, status=status, brand=brands[0],
                                issued_at=dt.datetime(2020, 1, 1, tzinfo=TZ),
                                valid_until=None if until is None else today + dt.timedelta(days=until))
        receipts = []
        for before, hour, cents, si, returned in spec["receipts"]:
            n += 1
            local = today - dt.timedelta(days=before)
            sold = dt.datetime.combine(local, dt.time(hour, 30), tzinfo=TZ)
            receipt = Receipt.objects.create(number=f"T{n:08d}", store=stores[0], member=member, sold_at=sold,
                                             total_full_price=Decimal(cents) / 100, total_paid=Decimal(cents) / 100)
            line = ReceiptLine.objects.create(receipt=receipt, product=products[si], quantity=1,
                                              full_price=Decimal(cents) / 100, paid_amount=Decimal(cents) / 100)
            if returned:  # in full, a day later: neither a purchase (spend, days, last purchase) nor a series bought
                n += 1
                back = Receipt.objects.create(number=f"T{n:08d}", store=stores[0], member=member,
                                              sold_at=sold + dt.timedelta(days=1), original=receipt,
                                              total_full_price=-Decimal(cents) / 100,
                                              total_paid=-Decimal(cents) / 100)
                ReceiptLine.objects.create(receipt=back, product=products[si], quantity=-1, original_line=line,
                                           full_price=-Decimal(cents) / 100, paid_amount=-Decimal(cents) / 100)
                continue
            receipts.append((local, cents, series[si].pk))
        contacts = []
        for before, hour in spec["contacts"]:
            at = dt.datetime.combine(today - dt.timedelta(days=before), dt.time(hour, 15), tzinfo=TZ)
            Contact.objects.create(member=member, at=at, channel="phone", outcome="reached")
            contacts.append(at)
        if spec["segments"] is not None:
            MemberSegments.objects.create(member=member, computed_on=today, **spec["segments"])
        predictions = []
        for bi, p_alive, clv in spec["predictions"]:
            MemberPrediction.objects.create(member=member, brand=brands[bi], p_alive=p_alive,
                                            expected_purchases_12m=1.0, expected_spend=Decimal(1), clv=clv,
                                            computed_at=dt.datetime(2026, 1, 1, tzinfo=TZ))
            predictions.append({"brand": brands[bi].pk, "p_alive": p_alive, "clv": clv})
        rows.append({"id": member.pk, "obj": member, "gender": spec["gender"], "birthday": spec["birthday"],
                     "store": stores[spec["store"]].pk, "region": stores[spec["store"]].region_id,
                     "owner": owners[spec["owner"]].pk if owners[spec["owner"]] else None,
                     "tags": [tags[i].pk for i in spec["tags"]], "consent": spec["consent"],
                     "cards": [(k, s, None if u is None else today + dt.timedelta(days=u))
                               for k, s, u in spec["cards"]],
                     "receipts": receipts, "contacts": contacts, "segments": spec["segments"],
                     "predictions": predictions})
    purchase_days.rebuild_purchase_days()
    return rows, ids


@pytest.mark.django_db(transaction=False)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(specs=st.lists(member_st, min_size=1, max_size=8), definitions=st.lists(definition_st, min_size=1,
                                                                               max_size=4),
       today=st.sampled_from([dt.date(2026, 6, 30), dt.date(2026, 12, 20), dt.date(2027, 2, 28)]),
       with_stats=st.booleans())
def test_sql_equals_the_python_reference(db, specs, definitions, today, with_stats):
    """`with_stats`: the care job's statistics were made for `today`, so the 365-day spend and purchase-day
    conditions and the last purchase read them instead of the purchase days: the same members either way."""
    try:
        with transaction.atomic():
            members, ids = _build(specs, today)
            if with_stats:
                build_stats(Windows.of(today, care_config()["segments"]), touched=False)
            assert _stats_window(Context(today)) == (365 if with_stats else None)
            for raw in definitions:
                definition = resolve(raw, ids)
                got = set(members_queryset(definition, today=today).values_list("pk", flat=True))
                assert got == reference(definition, members, today), definition
            raise Rollback
    except Rollback:
        pass
