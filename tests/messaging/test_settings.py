"""The messaging settings as versioned data: messaging_config_save checks every value (a broken pattern is named
with the reason), refuses everything at once and writes nothing then; each save is a new version whose word
lists, quiet hours and weekly cap the content rules and the sending policy use at once."""

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext

from membercare.messaging.config import DEFAULTS, messaging_config
from membercare.messaging.content import content_violations
from membercare.messaging.models import MessagingSettings
from membercare.messaging.policy import in_quiet_hours, send_time
from membercare.messaging.services import (
    message_send,
    messaging_config_history,
    messaging_config_save,
    messaging_config_validate,
    regex_problem,
)
from tests.factories import MemberFactory, StaffFactory

from .conftest import at

GREETING_NO_PROMOTION = DEFAULTS["content_rules"]["birthday"][0]["rule"]


def refusal(params, by, note=""):
    with pytest.raises(ValidationError) as exc:
        messaging_config_save(params, by, note=note)
    return exc.value.message_dict


def birthday_rules(*, words=None, patterns=None):
    rules = [dict(rule) for rule in DEFAULTS["content_rules"]["birthday"]]
    if words is not None:
        rules[0]["forbid_words"] = words
    if patterns is not None:
        rules[0]["forbid_patterns"] = patterns
    return rules


def test_the_defaults_pass_their_own_checks():
    assert messaging_config_validate(DEFAULTS) == DEFAULTS


@pytest.mark.django_db
def test_a_broken_pattern_is_named_with_the_reason_and_nothing_is_saved(specialist):
    errors = refusal({"content_rules": {"birthday": birthday_rules(patterns=[r"\d+\s*折", "(打折|优惠"])}},
                     specialist)
    [message] = errors["content_rules.birthday.0.forbid_patterns"]
    assert "“(打折|优惠”" in message and r"\d+\s*折" not in message  # the broken one, not the good one
    assert gettext("a “(” is never closed") in message
    assert MessagingSettings.objects.count() == 0
    for pattern, reason in [("[a-", "a “[” is never closed"), ("*打折", "*, + or ? has nothing before it to repeat"),
                            ("z-a]+)", "a “)” has no “(” before it"), ("[z-a]", "a character range runs backwards "
                                                                      "(such as “z-a”)")]:
        assert f"“{pattern}”" in regex_problem(pattern) and gettext(reason) in regex_problem(pattern)
    assert "“x*”" in regex_problem("x*")  # matches an empty text: it would refuse every message
    assert regex_problem(r"\d+(\.\d+)?\s*折") == ""


@pytest.mark.django_db
def test_every_problem_is_refused_at_once_per_field(specialist):
    errors = refusal({
        "content_rules": {"birthday": [{"rule": "不提促销", "forbid_words": ["打折", "  ", 3]},
                                       {"rule": "", "forbid_words": ["x"]},
                                       {"rule": "没有检查"},
                                       {"rule": "署名", "require": ["{store}", "{shop}"]}],
                          "anniversary": []},
        "marketing_categories": ["promotion", "flyers"],
        "quiet_hours": {"start": "25:00", "end": "9点"},
        "weekly_cap": "-1",
        "sms": {"price_per_segment": "-0.01", "segment_chars": "0", "sign_name": " "},
        "email": {"price": "free"},
    }, specialist, note="x" * 201)
    assert set(errors) == {
        "content_rules.birthday.0.forbid_words", "content_rules.birthday.1.rule", "content_rules.birthday.2",
        "content_rules.birthday.3.require", "content_rules", "marketing_categories", "quiet_hours.start",
        "quiet_hours.end", "weekly_cap", "sms.price_per_segment", "sms.segment_chars", "sms.sign_name",
        "email.price", "note"}
    assert len(errors["content_rules.birthday.0.forbid_words"]) == 2  # the blank entry and the number
    assert "{shop}" in errors["content_rules.birthday.3.require"][0]
    assert "anniversary" in errors["content_rules"][0] and "flyers" in errors["marketing_categories"][0]
    assert errors["quiet_hours.start"] == [gettext("Give the time as HH:MM, e.g. 21:00.")]
    assert errors["weekly_cap"] == [gettext("The weekly limit must be a whole number, 0 or more.")]
    assert MessagingSettings.objects.count() == 0
    assert "weekly_cap.x" not in refusal({"weekly_cap": "2.5"}, specialist)
    assert set(refusal({"quiet_hours": {"start": "22:00", "end": "22:00"}}, specialist)) == {"quiet_hours.end"}
    assert set(refusal({"sms": {"segment_chars": 60, "long_segment_chars": 67}}, specialist)) == {
        "sms.long_segment_chars"}
    assert set(refusal({"weekly_cap": 1, "colour": "red"}, specialist)) == {"colour"}


@pytest.mark.django_db
def test_only_hq_saves_the_settings(clerk, manager):
    for user in (clerk, manager):
        with pytest.raises(PermissionDenied):
            messaging_config_save({"weekly_cap": 3}, user)
    assert MessagingSettings.objects.count() == 0


@pytest.mark.django_db
def test_each_save_is_a_version_the_latest_wins_and_the_history_says_old_and_new(specialist, admin_user):
    with time_machine.travel(at(2026, 6, 1), tick=False):
        first = messaging_config_save({"weekly_cap": "3", "quiet_hours": {"start": "22:00", "end": "8:30"}},
                                      specialist, note="旺季")
    with time_machine.travel(at(2026, 6, 2), tick=False):
        second = messaging_config_save({"content_rules": {"birthday": birthday_rules(
            words=[*DEFAULTS["content_rules"]["birthday"][0]["forbid_words"], "惊喜价"])},
            "sms": {"price_per_segment": "0.05"}}, admin_user)
    assert (first.created_by, second.created_by) == (specialist, admin_user)
    assert first.created_at == at(2026, 6, 1)
    config = messaging_config()
    assert config["weekly_cap"] == 3 and config["quiet_hours"] == {"start": "22:00", "end": "08:30"}  # kept
    assert config["sms"]["price_per_segment"] == "0.05" and config["sms"]["sign_name"] == "会员之家"
    newest, oldest = messaging_config_history()
    assert (newest.version, newest.note, oldest.version, oldest.note) == (second, "", first, "旺季")
    assert oldest.changes == [(("quiet_hours", "start"), "21:00", "22:00"), (("quiet_hours", "end"), "09:00", "08:30"),
                              (("weekly_cap",), 2, 3)]
    words = DEFAULTS["content_rules"]["birthday"][0]["forbid_words"]
    assert newest.changes == [
        (("content_rules", "birthday", GREETING_NO_PROMOTION, "forbid_words"), words, [*words, "惊喜价"]),
        (("sms", "price_per_segment"), "0.045", "0.05")]


@pytest.mark.django_db
def test_a_saved_word_list_changes_what_the_content_rules_refuse(specialist):
    text = "{title}，生日快乐！本周惊喜价等你。{store} {clerk}"
    assert content_violations("birthday", text) == []
    messaging_config_save({"content_rules": {"birthday": birthday_rules(words=["惊喜价"], patterns=[r"\d+元"])}},
                          specialist)
    [violation] = content_violations("birthday", text)
    assert violation.found == ["惊喜价"] and violation.rule == gettext(GREETING_NO_PROMOTION)
    assert [v.found for v in content_violations("birthday", "生日快乐，送您50元！{store} {clerk}")] == [["50元"]]
    assert content_violations("birthday", "生日快乐，全场打折！{store} {clerk}") == []  # no longer in the list
    # a rule removed is no longer checked; a rule added is
    messaging_config_save({"content_rules": {"birthday": [], "season": [
        {"rule": "换季不提羽绒服", "forbid_words": ["羽绒服"]}]}}, specialist)
    assert content_violations("birthday", "生日快乐，全场打折！") == []
    assert [(v.rule, v.found) for v in content_violations("season", "天冷了，羽绒服新品上新")] == [
        ("换季不提羽绒服", ["羽绒服"])]


@pytest.mark.django_db
def test_quiet_hours_and_the_weekly_cap_take_effect_in_the_policy(specialist, promo_template):
    late = at(2026, 6, 10, 21, 30)
    assert in_quiet_hours(late, messaging_config()) and send_time(late, messaging_config()) == at(2026, 6, 11, 9)
    member = MemberFactory(consent_sms=True, owner=StaffFactory())
    with time_machine.travel(at(2026, 6, 10, 10), tick=False) as clock:
        messaging_config_save({"quiet_hours": {"start": "22:00", "end": "07:30"}}, specialist)
        assert not in_quiet_hours(late, messaging_config()) and send_time(late, messaging_config()) == late
        assert send_time(at(2026, 6, 10, 23), messaging_config()) == at(2026, 6, 11, 7, 30)

        message = message_send(member=member, channel="sms", template=promo_template, category="", sender=None)
        assert message.is_marketing
        clock.shift(60)
        messaging_config_save({"weekly_cap": 1}, specialist)
        with pytest.raises(ValidationError) as exc:
            message_send(member=member, channel="sms", template=promo_template, category="", sender=None)
        assert exc.value.reason == "capped"
        clock.shift(60)
        messaging_config_save({"marketing_categories": ["promotion", "event"]}, specialist)  # not new arrivals
        assert not message_send(member=member, channel="sms", template=promo_template, category="",
                                sender=None).is_marketing
        clock.shift(60)
        messaging_config_save({"marketing_categories": ["new_arrivals"], "weekly_cap": 5}, specialist)
        late_message = message_send(member=MemberFactory(consent_sms=True, owner=StaffFactory()), channel="sms",
                                    template=promo_template, category="", sender=None, at=at(2026, 6, 10, 23))
        assert late_message.send_after == at(2026, 6, 11, 7, 30)  # held until the new quiet hours end
