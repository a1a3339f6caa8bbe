"""Benchmark: the counter's product search (/checkout/products/, sales.selectors.product_search) at 100,000
products (issue 18: "counter product search p95 at 100,000 products").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/membercare_productbench \
        .venv/bin/python bench/bench_product_search.py [--products 100000] [--repeat 50]

On an empty database of its own (it migrates it), `--products` products over two brands and six series, each
with a SKU (BR-SER-000001), an EAN-13 barcode and a Chinese name of an adjective and an item. Times the whole
request through Django's test client for each kind of query a clerk types — a scanned barcode, a full SKU, the
start of a SKU, part of a name that many products share, a rare name, nothing found — as p50 / p95, and as a
ratio to the page's fixed cost (the same request with an empty query, measured in the same run).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, summary_ms, table  # noqa: E402

ADJECTIVES = ["经典", "轻薄", "修身", "商务", "休闲", "羊毛", "真丝", "纯棉", "复古", "简约", "加厚", "防水"]
ITEMS = ["西装", "衬衫", "领带", "皮带", "公文包", "钱包", "高尔夫衫", "球帽", "外套", "毛衣", "长裤", "皮鞋"]
SERIES = ["business", "leather", "golf", "casual", "formal", "accessories"]


def populate(n: int):
    from membercare.demo.gen_catalogue import ean13
    from membercare.org.models import Brand, Company
    from membercare.sales.models import Product, Series

    rng = random.Random(7)
    company = Company.objects.create(name="基准公司")
    brands = [Brand.objects.create(company=company, code=c, name=f"品牌{c}") for c in ("PB1", "PB2")]
    series = [Series.objects.get_or_create(code=c, defaults={"name": c})[0] for c in SERIES]
    batch = []
    for i in range(n):
        s = series[i % len(series)]
        batch.append(Product(sku=f"{brands[i % 2].code[:2]}-{s.code[:3].upper()}-{i:06d}",
                             name=f"{rng.choice(ADJECTIVES)}{rng.choice(ITEMS)}{i % 97:02d}",
                             brand=brands[i % 2], series=s, full_price=f"{rng.randint(100, 9000)}.00",
                             barcode=ean13(f"693{i:09d}")))
        if len(batch) == 5000:
            Product.objects.bulk_create(batch)
            batch = []
    Product.objects.bulk_create(batch)


def timed(client, query: str, repeat: int) -> list[float]:
    client.get("/checkout/products/", {"scan": query})  # warm
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get("/checkout/products/", {"scan": query})
        out.append(time.perf_counter() - start)
        assert response.status_code == 200, (query, response.status_code)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from membercare.demo.gen_catalogue import ean13
    from membercare.org.models import Brand, Region, Role, Staff, Store
    from membercare.sales.models import Product
    from membercare.sales.selectors import product_search

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    if Product.objects.exists():
        sys.exit("bench_product_search needs an empty database of its own (set DATABASE_URL)")
    start = time.perf_counter()
    populate(args.products)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE sales_product")
    loaded = time.perf_counter() - start
    brand = Brand.objects.first()
    store = Store.objects.create(code="PB01", name="基准门店", brand=brand,
                                 region=Region.objects.create(company=brand.company, code="PR", name="基准大区"))
    clerk = Staff.objects.create_user(username="bench_counter", password="x", role=Role.CLERK)
    clerk.stores.add(store)
    client = Client()
    client.force_login(clerk)
    middle = args.products // 2
    sku = Product.objects.order_by("pk").values_list("sku", flat=True)[middle + 2]
    queries = [("scanned barcode", ean13(f"693{middle:09d}")), ("full SKU", sku.lower()),
               ("start of a SKU", "PB-LEA-0500"), ("name part, common", "羊毛西装"), ("name part, rare", "真丝领带42"),
               ("nothing found", "不存在的商品")]
    reference = summary_ms(timed(client, "", args.repeat))
    rows = []
    for label, query in queries:
        found = len(product_search(query))
        s = summary_ms(timed(client, query, args.repeat))
        rows.append([label, query, found, f"{s['p50']:.1f}", f"{s['p95']:.1f}", f"{s['p50'] / reference['p50']:.1f}"])
    print(f"{connection.vendor}: {Product.objects.count()} products (loaded in {loaded:.0f} s); the empty query "
          f"p50 {reference['p50']:.1f} ms")
    print(table(["query", "typed", "found", "p50 ms", "p95 ms", "x empty query"], rows))


if __name__ == "__main__":
    main()
