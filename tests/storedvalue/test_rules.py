"""The stored-value rules' checks (parse_rules, rules_update): the 2012 measures' limits (rules.LEGAL) and the
settings' sense are enforced; each refusal names the setting (and the bonus tier's row) in Chinese and
nothing is saved. Hypothesis: any accepted rules respect LEGAL; a random edit either saves a version that
parses back equal or is refused with a field named."""

import copy
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.storedvalue.models import StoredValueSettings
from membercare.storedvalue.rules import (
    DEFAULTS,
    LEGAL,
    current_rules,
    merge,
    parse_rules,
    rules_document,
    rules_update,
)

D = Decimal
TIER = {"min_amount": "1000.00", "bonus": "100.00", "tiers": [], "from": None, "until": None}


def refused(changes):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        parse_rules(merge(DEFAULTS, changes))
    ((field, messages),) = exc.value.message_dict.items()
    return field, messages[0]


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"named": {"max_balance": "5000.01"}}, "named.max_balance", ["记名卡", "5000.00", "单用途商业预付卡管理办法"]),
    ({"anonymous": {"max_balance": "1000.01"}}, "anonymous.max_balance", ["不记名卡", "1000.00"]),
    ({"anonymous": {"valid_days": 1094}}, "anonymous.valid_days", ["不记名卡", "1095"]),
    ({"anonymous": {"valid_days": None}}, "anonymous.valid_days", ["不记名卡"]),
    ({"named": {"valid_days": 3650}}, "named.valid_days", ["记名卡", "有效期"]),
    ({"named": {"max_balance": "0"}}, "named.max_balance", ["大于 0"]),
    ({"min_top_up": "-1"}, "min_top_up", ["最低充值金额"]),
    ({"min_top_up": "0.00"}, "min_top_up", ["最低充值金额"]),
    ({"min_top_up": "6000"}, "min_top_up", ["最低充值金额"]),
    ({"non_cash_from": "0"}, "non_cash_from", ["不收现金"]),
    ({"real_name_from": "abc"}, "real_name_from", ["实名"]),
    ({"member_code_tries": 0}, "member_code_tries", ["会员密码"]),
    ({"member_code_lock_minutes": 10**9}, "member_code_lock_minutes", ["会员密码"]),
    ({"cash_methods": ["stored_value"]}, "cash_methods", ["现金"]),
    ({"scope": "store"}, "scope", ["储值卡范围"]),
    ({"bonus_tiers": [TIER, {**TIER, "min_amount": "500.00", "bonus": "500.00"}]}, "bonus_tiers[1].bonus",
     ["第 2 档", "赠送金额"]),
    ({"bonus_tiers": [TIER, {**TIER, "bonus": "150.00"}]}, "bonus_tiers[1].min_amount", ["第 2 档", "第 1 档"]),
    ({"bonus_tiers": [{**TIER, "tiers": ["gold"]}]}, "bonus_tiers[0].tiers", ["第 1 档", "gold"]),
    ({"bonus_tiers": [{**TIER, "from": "2026-07-01", "until": "2026-06-30"}]}, "bonus_tiers[0].until",
     ["第 1 档", "结束日期"]),
    ({"bonus_tiers": [{**TIER, "min_amount": "0"}]}, "bonus_tiers[0].min_amount", ["第 1 档"]),
    ({"bonus_tiers": [{**TIER, "min_amount": str(100 + i)} for i in range(21)]}, "bonus_tiers", ["20"]),
])
def test_each_refusal_names_the_setting_in_chinese(changes, field, words):
    got_field, message = refused(changes)
    assert got_field == field
    for word in words:
        assert word in message, message


def test_tiers_for_other_levels_or_periods_may_share_a_threshold():
    rules = parse_rules(merge(DEFAULTS, {"bonus_tiers": [
        TIER, {**TIER, "bonus": "150.00", "tiers": ["elite"]},
        {**TIER, "bonus": "200.00", "from": "2026-06-01", "until": "2026-06-30"},
        {**TIER, "bonus": "250.00", "from": "2026-07-01", "until": "2026-07-31"}]}))
    assert len(rules.bonus_tiers) == 4
    field, _message = refused({"bonus_tiers": [
        {**TIER, "from": "2026-06-01", "until": "2026-06-30", "tiers": ["elite", "knight"]},
        {**TIER, "bonus": "90.00", "from": "2026-06-01", "until": "2026-06-30", "tiers": ["knight", "elite"]}]})
    assert field == "bonus_tiers[1].min_amount"  # the same threshold, levels and period twice


def test_rules_update_refuses_unknown_payment_methods_and_saves_nothing(chain, hq):
    payment_methods_ensure_default()
    with pytest.raises(ValidationError) as exc:
        rules_update(by=hq, changes={"cash_methods": ["cash", "bitcoin"]})
    assert list(exc.value.message_dict) == ["cash_methods"]
    with pytest.raises(ValidationError):
        rules_update(by=hq, changes={"named": {"max_balance": "100000.00"}})
    assert not StoredValueSettings.objects.exists()
    with pytest.raises(PermissionDenied):
        rules_update(by=chain.clerk, changes={"min_top_up": "10.00"})
    rules_update(by=hq, changes={"cash_methods": ["cash", "alipay"]})
    assert current_rules().cash_methods == ("cash", "alipay")


# -------------------------------------------------------------------------------------------- hypothesis

amounts = st.one_of(
    st.decimals(min_value=-10, max_value=7000, places=2, allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(["", "abc", "1e3", "0", "1.001", "NaN", "99999999999"]), st.none(), st.integers(-5, 8000))
days = st.one_of(st.none(), st.integers(-1, 4000), st.sampled_from(["x", True]))
dates = st.one_of(st.none(), st.sampled_from(["2026-01-01", "2026-06-30", "2026-07-01", "2026-13-01", "x"]))
tiers = st.fixed_dictionaries({
    "min_amount": amounts, "bonus": amounts,
    "tiers": st.lists(st.sampled_from(["elite", "diamond", "knight", "accumulation", "gold"]), max_size=3),
    "from": dates, "until": dates})
edits = st.fixed_dictionaries({}, optional={
    "scope": st.sampled_from(["chain", "brand", "store"]),
    "spend_order": st.sampled_from(["proportional", "principal_first", "bonus_first", "random"]),
    "points_on": st.sampled_from(["principal", "all", "none", "bonus"]),
    "named": st.fixed_dictionaries({}, optional={"max_balance": amounts, "valid_days": days}),
    "anonymous": st.fixed_dictionaries({}, optional={"max_balance": amounts, "valid_days": days}),
    "min_top_up": amounts, "non_cash_from": amounts, "real_name_from": amounts, "member_code_above": amounts,
    "cash_methods": st.lists(st.sampled_from(["cash", "bank_card", "wechat_pay", "stored_value", "bitcoin"]),
                             max_size=3),
    "bonus_tiers": st.lists(tiers, max_size=4),
    "member_code_tries": st.one_of(st.integers(-1, 30), st.none()),
    "member_code_lock_minutes": st.integers(-1, 20000),
})


def respects_legal(rules) -> None:
    assert rules.named.max_balance <= LEGAL["named_max"] and rules.named.valid_days is None
    assert rules.anonymous.max_balance <= LEGAL["anonymous_max"]
    assert rules.anonymous.valid_days is not None and rules.anonymous.valid_days >= LEGAL["anonymous_min_days"]
    assert rules.min_top_up > 0 and rules.named.max_balance > 0
    for tier in rules.bonus_tiers:
        assert 0 < tier.bonus < tier.min_amount
        assert tier.start is None or tier.end is None or tier.start <= tier.end


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edit=edits)
def test_a_random_edit_is_saved_and_parses_back_equal_or_refused_with_a_field(hq, edit):
    payment_methods_ensure_default()
    before = StoredValueSettings.objects.count()
    in_force = copy.deepcopy(rules_document())
    try:
        rules = rules_update(by=hq, changes=edit)
    except ValidationError as exc:
        fields = list(exc.message_dict)
        assert len(fields) == 1 and fields[0] != "__all__", exc.message_dict
        assert fields[0].split(".")[0].split("[")[0] in DEFAULTS
        assert StoredValueSettings.objects.count() == before  # nothing saved
        assert rules_document() == in_force
        return
    assert StoredValueSettings.objects.count() == before + 1
    respects_legal(rules)
    assert current_rules() == rules  # the stored version parses back equal


def test_bonus_tiers_name_the_chains_own_levels(hq, client):
    """Levels are the chain's data (issue 19): a bonus tier may name any level of the programme in force (金卡), by
    its name on the rules page; an unknown one is refused naming the tier; a stored tier whose level was removed
    since still reads at a sale (it matches no card)."""
    import datetime as dt

    from django.urls import reverse
    from django.utils import timezone

    from membercare.loyalty.programme import DEFAULT_RULES
    from membercare.loyalty.programme_services import programme_update
    from membercare.storedvalue.rules import current_rules, rules_update

    payment_methods_ensure_default()
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["tiers"].append({"code": "gold", "name": "金卡", "rank": 3, "brands": ["MAIN"], "issue_brand": "MAIN",
                           "discount": "0.25", "single_receipt": "30000", "rolling_paid": "50000",
                           "requires": "diamond", "single_receipt_by_series": {}, "birthday": None, "perks": []})
    programme_update(rules=rules, effective_from=timezone.localdate(), by=hq)
    saved = rules_update(by=hq, changes={"bonus_tiers": [{**TIER, "tiers": ["gold", "elite"]}]})
    assert saved.bonus_tiers[0].tiers == ("gold", "elite")
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        rules_update(by=hq, changes={"bonus_tiers": [{**TIER, "tiers": ["platinum"]}]})
    assert list(exc.value.message_dict) == ["bonus_tiers[0].tiers"]
    assert "platinum" in exc.value.message_dict["bonus_tiers[0].tiers"][0]
    client.force_login(hq)
    page = client.get(reverse("stored_value_rules"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'value="gold"' in page and "金卡" in page
    # the programme drops the level later: the stored tier still parses where sales read it
    programme_update(rules=DEFAULT_RULES, effective_from=timezone.localdate() + dt.timedelta(days=1), by=hq)
    assert current_rules().bonus_tiers[0].tiers == ("gold", "elite")
