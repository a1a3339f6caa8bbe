"""The demo generator's organisation: the company, brands, regions, stores and staff (with the demo logins)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from membercare.org.models import Brand, Company, Region, Role, Staff, Store

from . import data
from .gen_common import DEMO_LOGINS, DEMO_PASSWORD, GenConfig, stream
from .gen_names import make_names


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
    rng = stream(cfg.seed, "org")
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
