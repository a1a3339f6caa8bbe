"""Seed 003's four levels as a chain would configure them (普通/银卡/金卡/钻石), for the level tests."""

import copy
import datetime as dt

from django.utils import timezone

from membercare.loyalty.programme import DEFAULT_RULES


def four_levels(**changes) -> dict:
    """普通卡 (the accumulation card), 银卡 ¥2,000 or 3 purchase days, 金卡 ¥5,000 or 6 days (免费改衣),
    钻石卡 ¥10,000 and 10 days, or one receipt of ¥15,000: the main brand's stores, no prerequisites.
    `changes`: {tier code: {key: value}} over these."""
    def tier(code, name, rank, color, discount, rolling, days, qualify, multiplier, perks=(), single=None):
        return {"code": code, "name": name, "rank": rank, "color": color, "brands": ["MAIN"], "issue_brand": "MAIN",
                "discount": discount, "single_receipt_by_series": {}, "single_receipt": single,
                "rolling_paid": rolling, "purchase_days": days, "qualify": qualify, "requires": None,
                "birthday": None, "points_multiplier": multiplier, "perks": list(perks)}

    alteration = {"code": "alteration", "name": "免费改衣", "quota": 2, "period": "season"}
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["accumulation_name"] = "普通卡"
    rules["tiers"] = [
        tier("silver", "银卡", 1, "#a8a9ad", "0.05", "2000", 3, "any", "1.2"),
        tier("gold", "金卡", 2, "#c9a227", "0.10", "5000", 6, "any", "1.5", [alteration]),
        tier("diamond", "钻石卡", 3, "#6d6d8a", "0.15", "10000", 10, "all", "2",
             [{**alteration, "quota": 4}], single="15000"),
    ]
    for t in rules["tiers"]:
        t.update(changes.get(t["code"], {}))
    return rules


def store_programme(rules: dict, effective_from: dt.date = dt.date(2000, 1, 1)):
    from membercare.loyalty.models import ProgrammeVersion
    from membercare.loyalty.programme_services import normalize_rules

    return ProgrammeVersion.objects.create(effective_from=effective_from, rules=normalize_rules(rules),
                                           created_at=timezone.now())
