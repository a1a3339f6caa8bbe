"""The programme editor and history pages: only the specialist and the admin; a form, not JSON."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from membercare.loyalty.models import ProgrammeVersion
from membercare.loyalty.programme import programme_at
from membercare.loyalty.programme_selectors import latest_version
from membercare.web.programme.forms import ProgrammeForm
from tests.loyalty.conftest import chain, member  # noqa: F401

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=TZ), tick=False):
        yield dt.date(2026, 6, 1)


def form_data(**changes):
    """What the editor shows, as the browser would post it back, with some fields changed."""
    base = latest_version()
    form = ProgrammeForm(base_rules=base.rules, base_version=base.pk)
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list):
            data[name] = value
        elif value is not None:
            data[name] = str(value)
    data.update({k: str(v) for k, v in changes.items()})
    return data


@pytest.mark.parametrize("user", ["clerk", "manager"])
def test_clerk_and_manager_are_refused(login, request, user):
    client = login(request.getfixturevalue(user))
    assert client.get(reverse("programme_edit")).status_code == 403
    assert client.get(reverse("programme_history")).status_code == 403
    assert client.post(reverse("programme_edit"), {"window_days": "10"}).status_code == 403
    assert ProgrammeVersion.objects.count() == 0


def test_the_editor_shows_discounts_as_zhe(login, specialist, chain):  # noqa: F811
    page = login(specialist).get(reverse("programme_edit")).content.decode()
    assert ProgrammeVersion.objects.count() == 1  # DOMAIN.md's programme stored as the first version
    assert 'name="t_elite_zhe"' in page and 'value="8.5"' in page
    assert 'name="t_elite_series_business"' in page and 'name="t_knight_bday_brands"' in page
    assert "<textarea" not in page  # not a raw JSON box
    assert 'name="effective_from" value="2026-06-01"' in page and 'name="max_redeem_share_pct" value="50"' in page


def test_specialist_edits_and_history_shows_the_change(login, specialist, chain):  # noqa: F811
    client = login(specialist)
    client.get(reverse("programme_edit"))
    response = client.post(reverse("programme_edit"), form_data(
        t_elite_zhe="8", t_elite_series_golf="", t_diamond_bday_items="4", window_days="180",
        effective_from="2026-07-01", note="summer"))
    assert response.status_code == 302 and response.url == reverse("programme_history")
    version = latest_version()
    assert version.effective_from == dt.date(2026, 7, 1) and version.created_by == specialist
    assert programme_at(dt.date(2026, 7, 1)).tier("elite").discount == Decimal("0.20")
    assert programme_at(dt.date(2026, 6, 30)).tier("elite").discount == Decimal("0.15")
    elite = programme_at(dt.date(2026, 7, 1)).tier("elite")
    assert "golf" not in elite.single_receipt_by_series and elite.single_receipt_by_series["business"] == 5000
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("programme_history")).content.decode()
    assert "summer" in page and "2026-07-01" in page and str(specialist) in page
    row = page[page.index("Elite card · full-price discount"):]
    assert row.index("8.5折 (15% off)") < row.index("8折 (20% off)") < row.index("</tr>")  # old -> new
    row = page[page.index("Rolling window (days)"):]
    assert row.index("365") < row.index("180") < row.index("</tr>")
    assert "Diamond card · birthday privilege · items" in page


def test_bad_input_is_shown_next_to_the_field_and_nothing_saved(login, specialist, chain):  # noqa: F811
    client = login(specialist)
    client.get(reverse("programme_edit"))
    response = client.post(reverse("programme_edit"), form_data(
        t_elite_zhe="0", t_knight_rolling_paid="-5", effective_from="2026-05-01"))
    assert response.status_code == 200
    form = response.context["form"]
    assert "t_knight_rolling_paid" in form.errors  # the form's own check (the service would refuse it too)
    assert ProgrammeVersion.objects.count() == 1
    # the service's own refusal (0折 = a discount of 1) lands next to the discount field
    response = client.post(reverse("programme_edit"), form_data(t_elite_zhe="0", effective_from="2026-06-01"))
    assert "t_elite_zhe" in response.context["form"].errors
    response = client.post(reverse("programme_edit"), form_data(effective_from="2026-05-31"))
    assert "effective_from" in response.context["form"].errors
    assert 'value="2026-05-31"' in response.content.decode()  # what was typed stays
    assert ProgrammeVersion.objects.count() == 1


def test_a_concurrent_save_is_not_overwritten_silently(login, specialist, admin_user, chain):  # noqa: F811
    client = login(specialist)
    client.get(reverse("programme_edit"))
    stale = form_data(t_elite_zhe="7")
    from membercare.loyalty.programme_services import programme_update
    programme_update(rules={"window_days": 200}, effective_from=dt.date(2026, 6, 1), by=admin_user)
    response = client.post(reverse("programme_edit"), stale)
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert ProgrammeVersion.objects.count() == 2


def test_the_editor_edits_perks_and_names_the_row_of_a_bad_one(login, specialist, chain):  # noqa: F811
    client = login(specialist)
    page = client.get(reverse("programme_edit")).content.decode()
    assert 'name="t_diamond_perk1_code" value="airport"' in page and 'value="机场绿色通道"' in page
    # a new perk on the elite card (its second row), the free alterations down to one a season
    response = client.post(reverse("programme_edit"), form_data(
        t_elite_perk0_quota="1", t_elite_perk1_code="lane", t_elite_perk1_name="机场绿色通道",
        t_elite_perk1_quota="1", t_elite_perk1_period="year", effective_from="2026-06-01"))
    assert response.status_code == 302
    elite = programme_at(dt.date(2026, 6, 1)).tier("elite")
    assert [(p.code, p.name, p.quota, p.period) for p in elite.perks] == [
        ("alteration", "免费改衣", 1, "season"), ("lane", "机场绿色通道", 1, "year")]
    # the same code twice: refused next to the second row's code, in Chinese; nothing saved
    response = client.post(reverse("programme_edit"), form_data(
        t_knight_perk1_code="alteration", t_knight_perk1_name="再改", effective_from="2026-06-01"))
    assert response.status_code == 200
    assert response.context["form"].errors["t_knight_perk1_code"] == ["权益“alteration”在此会员卡上出现了两次。"]
    response = client.post(reverse("programme_edit"), form_data(
        t_knight_perk1_code="gift", t_knight_perk1_name="", effective_from="2026-06-01"))
    assert response.context["form"].errors["t_knight_perk1_name"] == ["请填写权益名称。"]
    assert ProgrammeVersion.objects.count() == 2


def test_the_editor_sets_multipliers_series_rates_and_promotions(login, specialist, chain):  # noqa: F811
    client = login(specialist)
    page = client.get(reverse("programme_edit")).content.decode()
    assert 'name="t_elite_points_mult"' in page and 'name="series_rate_leather"' in page
    assert 'name="promo0_name"' in page and 'name="promo1_name"' in page and 'name="promo2_name"' not in page
    data = form_data(t_elite_points_mult="1.5", accumulation_points_multiplier="0.5", series_rate_leather="2",
                     promo0_name="会员日双倍积分", promo0_from="2026-12-01", promo0_to="2026-12-31",
                     promo0_multiplier="2", promo0_stores="SH01, BJ01", effective_from="2026-06-01")
    data.update({"promo0_weekdays": ["0", "6"], "promo0_tiers": ["elite", "diamond"]})
    response = client.post(reverse("programme_edit"), data)
    assert response.status_code == 302
    p = programme_at(dt.date(2026, 6, 1))
    assert p.tier("elite").points_multiplier == Decimal("1.5") and p.accumulation_points_multiplier == Decimal("0.5")
    assert p.series_points_per_yuan == {"leather": Decimal("2")}
    (promo,) = p.points_promotions
    assert (promo.name, promo.start, promo.end, promo.multiplier, promo.weekdays, promo.tiers, promo.stores) == (
        "会员日双倍积分", dt.date(2026, 12, 1), dt.date(2026, 12, 31), Decimal("2"), (0, 6), ("elite", "diamond"),
        ("SH01", "BJ01"))
    page = client.get(reverse("programme_edit")).content.decode()  # the saved promotion is its first row
    assert 'name="promo0_name" value="会员日双倍积分"' in page and 'name="promo2_name"' in page


def test_a_bad_promotion_is_refused_next_to_its_row_and_nothing_saved(login, specialist, chain):  # noqa: F811
    client = login(specialist)
    client.get(reverse("programme_edit"))
    # the first row empty, the second one's last day before its first: the error is on the second row
    response = client.post(reverse("programme_edit"), form_data(
        promo1_name="双倍", promo1_from="2026-12-31", promo1_to="2026-12-01", promo1_multiplier="2",
        effective_from="2026-06-01"))
    assert response.status_code == 200
    assert response.context["form"].errors["promo1_to"] == ["结束日期早于开始日期。"]
    response = client.post(reverse("programme_edit"), form_data(
        promo0_name="双倍", promo0_from="2026-12-01", promo0_to="2026-12-31", promo0_multiplier="2",
        promo0_stores="SH01 NOPE", effective_from="2026-06-01"))
    assert response.context["form"].errors["promo0_stores"] == ["未知代码“NOPE”。"]
    response = client.post(reverse("programme_edit"), form_data(
        promo0_name="双倍", promo0_from="2026-12-01", promo0_to="2026-12-31", effective_from="2026-06-01"))
    assert "promo0_multiplier" in response.context["form"].errors
    response = client.post(reverse("programme_edit"), form_data(t_diamond_points_mult="11",
                                                                effective_from="2026-06-01"))
    assert "t_diamond_points_mult" in response.context["form"].errors
    assert ProgrammeVersion.objects.count() == 1


def test_a_version_stored_before_the_earning_rules_is_not_shown_as_changing_them(login, specialist,
                                                                                  chain):  # noqa: F811
    from membercare.loyalty.programme import DEFAULT_RULES
    from membercare.loyalty.programme_selectors import programme_changes

    old = {k: v for k, v in DEFAULT_RULES.items()
           if k not in ("series_points_per_yuan", "accumulation_points_multiplier", "points_promotions")}
    ProgrammeVersion.objects.create(effective_from=dt.date(2000, 1, 1), rules=old,
                                    created_at=dt.datetime(2020, 1, 1, tzinfo=TZ))
    client = login(specialist)
    assert client.post(reverse("programme_edit"), form_data(effective_from="2026-06-01",
                                                            window_days="200")).status_code == 302
    assert [c[0] for c in programme_changes(latest_version())] == ["window_days"]


def four_levels_data(**more):
    """普通卡 / 银卡 / 金卡 / 钻石卡 typed into the editor over DOMAIN.md's programme: the elite and knight cards
    removed, two levels added, amount-or-days rules, multipliers and 免费改衣 on 金卡."""
    return form_data(**{**dict(
        accumulation_name="普通卡", t_elite_remove="on", t_knight_remove="on",
        t_diamond_requires="", t_diamond_rank="3", t_diamond_rolling_paid="10000", t_diamond_purchase_days="10",
        t_diamond_qualify="all", t_diamond_points_mult="2", t_diamond_color="#6d6d8a",
        new0_code="silver", new0_name="银卡", new0_color="#a8a9ad", new0_rank="1", new0_issue_brand="MAIN",
        new0_zhe="9.5", new0_rolling_paid="2000", new0_purchase_days="3", new0_qualify="any", new0_points_mult="1.2",
        new1_code="gold", new1_name="金卡", new1_rank="2", new1_issue_brand="MAIN", new1_zhe="9",
        new1_rolling_paid="5000", new1_purchase_days="6", new1_points_mult="1.5", new1_perk0_code="alteration",
        new1_perk0_name="免费改衣", new1_perk0_quota="2", new1_perk0_period="season", effective_from="2026-06-01"),
        **more})


def test_the_editor_adds_and_removes_levels(login, specialist, chain):  # noqa: F811
    client = login(specialist)
    page = client.get(reverse("programme_edit")).content.decode()
    assert 'name="new0_code"' in page and 'name="t_elite_remove"' in page and 'name="accumulation_name"' in page
    assert "新增等级" in page and "滚动期内购物天数" in page
    response = client.post(reverse("programme_edit"), four_levels_data())
    assert response.status_code == 302, response.context["form"].errors
    p = programme_at(dt.date(2026, 6, 1))
    assert [(c, label) for c, label in p.levels()] == [
        ("accumulation", "普通卡"), ("silver", "银卡"), ("gold", "金卡"), ("diamond", "钻石卡")]
    silver, gold, diamond = p.tier("silver"), p.tier("gold"), p.tier("diamond")
    assert (silver.rolling_paid, silver.purchase_days, silver.qualify, silver.points_multiplier, silver.discount,
            silver.color, silver.brands) == (Decimal("2000"), 3, "any", Decimal("1.2"), Decimal("0.05"), "#a8a9ad",
                                             ("MAIN",))
    assert [(x.code, x.name, x.quota, x.period) for x in gold.perks] == [("alteration", "免费改衣", 2, "season")]
    assert (diamond.qualify, diamond.purchase_days, diamond.requires) == ("all", 10, None)
    page = client.get(reverse("programme_edit")).content.decode()
    assert 'name="t_silver_name"' in page and 'value="银卡"' in page and 'name="t_elite_zhe"' not in page
    page = client.get(reverse("programme_history")).content.decode()
    assert "银卡" in page


def test_the_editor_refuses_levels_naming_the_field(login, specialist, chain):  # noqa: F811
    client = login(specialist)
    client.get(reverse("programme_edit"))
    response = client.post(reverse("programme_edit"), four_levels_data(new1_rank="1"))
    assert response.status_code == 200
    assert "级别同为 1" in response.context["form"].errors["new1_rank"][0]
    response = client.post(reverse("programme_edit"), four_levels_data(new1_name=""))
    assert response.context["form"].errors["new1_name"] == ["请填写等级名称。"]
    response = client.post(reverse("programme_edit"), four_levels_data(new0_code="Silver!"))
    assert "等级代码" in response.context["form"].errors["new0_code"][0]
    assert ProgrammeVersion.objects.count() == 1


def test_the_editor_refuses_to_remove_a_level_cards_hold(login, specialist, chain, member):  # noqa: F811
    from membercare.loyalty.models import Card
    from membercare.loyalty.tiers import issue_accumulation_card

    client = login(specialist)
    client.get(reverse("programme_edit"))
    card = issue_accumulation_card(member, chain.shop, programme_at(), at=dt.datetime(2026, 5, 1, tzinfo=TZ))
    Card.objects.filter(pk=card.pk).update(kind="knight")
    response = client.post(reverse("programme_edit"), four_levels_data())
    assert response.status_code == 200
    assert "不能删除等级“knight”" in " ".join(response.context["form"].non_field_errors())
    assert ProgrammeVersion.objects.count() == 1


def test_the_editor_sets_the_points_that_buy_a_level(login, specialist, chain):  # noqa: F811
    client = login(specialist)
    page = client.get(reverse("programme_edit"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'name="t_diamond_upgrade_points"' in page and "积分升级所需积分" in page
    response = client.post(reverse("programme_edit"), form_data(t_diamond_upgrade_points="0",
                                                                effective_from="2026-06-01"))
    assert response.status_code == 200 and programme_at(dt.date(2026, 6, 1)).tier("diamond").upgrade_points is None
    response = client.post(reverse("programme_edit"), form_data(t_diamond_upgrade_points="30000",
                                                                effective_from="2026-06-01"))
    assert response.status_code == 302
    assert programme_at(dt.date(2026, 6, 1)).tier("diamond").upgrade_points == 30000
    assert programme_at(dt.date(2026, 6, 1)).tier("elite").upgrade_points is None
