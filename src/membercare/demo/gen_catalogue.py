"""The demo generator's catalogue: series and products with their retail prices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from membercare.org.models import Brand
from membercare.sales.models import Product, Series

from . import data
from .gen_common import GenConfig, stream


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


def ean13(body: str) -> str:
    """An EAN-13 barcode from its 12 first digits: the check digit appended (weights 1 and 3)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def build_catalogue(cfg: GenConfig, brands: dict[str, Brand]) -> Catalogue:
    rng = stream(cfg.seed, "catalogue")
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
                    is_consumable=consumable, barcode=ean13(f"692000{len(wanted) + 1:06d}"),  # 69: China's prefix
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
