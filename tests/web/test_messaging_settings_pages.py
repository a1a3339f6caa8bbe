"""The messaging settings pages: the editor (content rules per category with add / remove, marketing categories,
quiet hours, weekly limit, SMS price and signature) saves a version; refusals are shown inline in Chinese with
what was typed and nothing saved; the "test a text" box (htmx); the history (who, when, note, old -> new);
HQ only."""

import re

import pytest
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext

from membercare.messaging.config import DEFAULTS, messaging_config
from membercare.messaging.content import content_violations
from membercare.messaging.models import Category, MessagingSettings
from membercare.messaging.services import SETTINGS_NOTE_KEY, messaging_config_save

HTMX = {"HTTP_HX_REQUEST": "true"}
NO_PROMOTION = DEFAULTS["content_rules"]["birthday"][0]["rule"]


def form_data(config=None, **overrides):
    """What the editor posts for `config` unchanged (as the page shows it), with `overrides` (None drops a key)."""
    config = config or messaging_config()
    latest = MessagingSettings.objects.order_by("-created_at", "-pk").values_list("pk", flat=True).first()
    data = {"base_version": str(latest or ""), "note": "", "marketing_categories": config["marketing_categories"],
            "quiet_start": config["quiet_hours"]["start"], "quiet_end": config["quiet_hours"]["end"],
            "weekly_cap": str(config["weekly_cap"]), "sms_price": config["sms"]["price_per_segment"],
            "sms_sign_name": config["sms"]["sign_name"], "sms_segment_chars": str(config["sms"]["segment_chars"]),
            "sms_long_segment_chars": str(config["sms"]["long_segment_chars"])}
    for category in Category.values:
        rules = config["content_rules"][category]
        data[f"r-{category}-count"] = str(len(rules))
        for i, rule in enumerate(rules):
            data[f"r-{category}-{i}-rule"] = gettext(rule["rule"])
            for key in ("forbid_words", "forbid_patterns", "require"):
                data[f"r-{category}-{i}-{key}"] = "\n".join(rule.get(key, []))
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def stored():
    config = messaging_config()
    config.pop(SETTINGS_NOTE_KEY, None)
    return config


def test_the_editor_shows_the_rules_and_saves_a_version(login, specialist):
    client = login(specialist)
    page = client.get(reverse("messaging_settings")).content.decode()
    assert f'name="r-birthday-0-rule" value="{escape(gettext(NO_PROMOTION))}"' in page
    assert re.search(r'name="r-birthday-0-forbid_words" rows="4">打折\n折扣', page)
    assert 'name="quiet_start" value="21:00"' in page and 'name="weekly_cap" value="2"' in page
    assert 'name="sms_sign_name" value="会员之家"' in page
    assert 'value="promotion" checked' in re.sub(r'\s+id="[^"]+"', "", page)
    words = "\n".join(DEFAULTS["content_rules"]["birthday"][0]["forbid_words"]) + "\n惊喜价、限量，福利"
    response = client.post(reverse("messaging_settings"), form_data(**{
        "r-birthday-0-forbid_words": words, "quiet_start": "22:00", "quiet_end": "8:00", "weekly_cap": "3",
        "sms_price": "0.05", "sms_sign_name": "静安会员", "marketing_categories": ["promotion", "event"],
        "note": "旺季调整"}))
    assert response.status_code == 302 and response.url == reverse("messaging_settings_history")
    version = MessagingSettings.objects.get()
    assert version.created_by == specialist and version.params[SETTINGS_NOTE_KEY] == "旺季调整"
    config = stored()
    birthday = config["content_rules"]["birthday"]
    assert birthday[0]["rule"] == NO_PROMOTION  # stored as the untranslated rule, not the Chinese on screen
    assert birthday[0]["forbid_words"][-3:] == ["惊喜价", "限量", "福利"] and birthday[1] == DEFAULTS[
        "content_rules"]["birthday"][1]
    assert config["quiet_hours"] == {"start": "22:00", "end": "08:00"} and config["weekly_cap"] == 3
    assert config["sms"]["price_per_segment"] == "0.05" and config["sms"]["sign_name"] == "静安会员"
    assert config["marketing_categories"] == ["promotion", "event"]
    assert config["content_rules"]["season"] == DEFAULTS["content_rules"]["season"]
    text = "生日快乐，限量福利！{store} {clerk}"
    assert [v.found for v in content_violations("birthday", text)] == [["限量", "福利"]]


def test_the_form_saved_unchanged_keeps_the_settings(login, specialist):
    client = login(specialist)
    assert client.post(reverse("messaging_settings"), form_data()).status_code == 302
    assert stored() == DEFAULTS
    history = client.get(reverse("messaging_settings_history")).content.decode()
    assert gettext("No change to the settings.") in history


def test_rules_are_added_and_removed(login, specialist):
    client = login(specialist)
    response = client.post(reverse("messaging_settings"),
                           form_data(add="season", **{"r-season-0-forbid_words": "新品"}))
    page = response.content.decode()
    assert response.status_code == 200 and MessagingSettings.objects.count() == 0  # only a new empty rule
    assert 'name="r-season-2-rule" value=""' in page and 'name="r-season-count" value="3"' in page
    assert re.search(r'name="r-season-0-forbid_words" rows="4">新品</textarea>', page)  # what was typed stays
    response = client.post(reverse("messaging_settings"), form_data(**{
        "r-season-count": "3", "r-season-2-rule": "换季问候不提羽绒服", "r-season-2-forbid_words": "羽绒服，棉服",
        "r-missing_you-1-remove": "on"}))
    assert response.status_code == 302
    config = stored()
    assert config["content_rules"]["season"][2] == {"rule": "换季问候不提羽绒服", "forbid_words": ["羽绒服", "棉服"]}
    assert config["content_rules"]["missing_you"] == DEFAULTS["content_rules"]["missing_you"][:1]
    history = client.get(reverse("messaging_settings_history")).content.decode()
    removed = DEFAULTS["content_rules"]["missing_you"][1]["rule"]
    assert "“换季问候不提羽绒服”" in history and escape(gettext(removed)) in history


def test_bad_input_is_refused_inline_in_chinese_and_nothing_is_saved(login, specialist):
    client = login(specialist)
    response = client.post(reverse("messaging_settings"), form_data(**{
        "r-birthday-0-forbid_patterns": "\\d+折\n(打折|优惠", "r-survey-0-require": "{link}\n{coupon}",
        "quiet_start": "25:00", "weekly_cap": "-1", "sms_price": "一毛", "r-event-count": "1",
        "r-event-0-forbid_words": "抢购", "note": "试一下"}))
    assert response.status_code == 200 and MessagingSettings.objects.count() == 0
    page = response.content.decode()
    assert escape(gettext("Pattern “%(pattern)s” is not a valid regular expression: %(reason)s (at character "
                          "%(pos)d).") % {"pattern": "(打折|优惠", "reason": gettext("a “(” is never closed"),
                                          "pos": 1}) in page
    assert escape(gettext("Give the time as HH:MM, e.g. 21:00.")) in page
    assert escape(gettext("The weekly limit must be a whole number, 0 or more.")) in page
    assert escape(gettext("Must be an amount of 0 or more, e.g. 0.045.")) in page
    assert "{coupon}" in page and escape(gettext(
        "Give the rule a text: a refusal quotes it to say which rule was broken.")) in page
    assert gettext("Nothing was saved: some settings need fixing, see the fields marked below.") in page
    # the errors sit in the rule they concern, and everything typed is still there
    row = page[page.index('id="r-birthday-0"'):page.index('id="r-birthday-1"')]
    assert "errorlist" in row and "(打折|优惠</textarea>" in row
    assert 'value="25:00"' in page and 'value="-1"' in page and 'value="一毛"' in page and "试一下" in page
    assert "保存为新版本" in page  # the page is in Chinese


def test_a_stale_form_is_not_saved_over_a_newer_version(login, specialist, admin_user):
    client = login(specialist)
    data = form_data(weekly_cap="5")
    messaging_config_save({"weekly_cap": 4}, admin_user)
    response = client.post(reverse("messaging_settings"), data)
    assert response.status_code == 200 and MessagingSettings.objects.count() == 1 and stored()["weekly_cap"] == 4
    assert 'value="5"' in response.content.decode()


def test_the_test_box_shows_which_rules_a_text_breaks_with_the_words(login, specialist):
    client = login(specialist)
    url = reverse("messaging_settings_test")
    unsaved = {"r-birthday-0-forbid_words": "惊喜价\n打折"}  # typed in the editor, not saved
    response = client.post(url, form_data(test_category="birthday", test_text="生日快乐！惊喜价等你", **unsaved),
                           **HTMX)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    part = response.content.decode()
    assert escape(gettext(NO_PROMOTION)) in part and "<mark>惊喜价</mark>" in part
    assert "<code>{store}</code>" in part and "<code>{clerk}</code>" in part  # the signature rule
    part = client.post(url, form_data(test_category="birthday", test_text="生日快乐！{store} {clerk}", **unsaved),
                       **HTMX).content.decode()
    assert 'id="test-ok"' in part
    part = client.post(url, form_data(test_category="season", test_text="天冷加衣，新款到了",
                                      **{"r-season-0-forbid_patterns": "新款(到"}), **HTMX).content.decode()
    assert "<mark>新款</mark>" in part and "“新款(到”" in part  # words found; the broken pattern is named
    assert MessagingSettings.objects.count() == 0


def test_the_history_shows_who_when_the_note_and_old_to_new(login, specialist):
    client = login(specialist)
    words = DEFAULTS["content_rules"]["birthday"][0]["forbid_words"]
    client.post(reverse("messaging_settings"), form_data(**{
        "quiet_start": "22:00", "note": "旺季", "r-birthday-0-forbid_words": "\n".join([*words[1:], "惊喜价"])}))
    client.post(reverse("messaging_settings"), form_data(weekly_cap="4"))
    history = client.get(reverse("messaging_settings_history")).content.decode()
    assert history.count("settings-version") == 2 and history.count(gettext("in force")) == 1
    assert "旺季" in history and str(specialist) in history
    assert "<td>21:00</td><td>→ 22:00</td>" in history and "<td>2</td><td>→ 4</td>" in history
    label = f"{Category.BIRTHDAY.label} · “{gettext(NO_PROMOTION)}” · {gettext('Forbidden words')}"
    assert escape(label) in history
    assert f"{gettext('added:')} 惊喜价" in history and f"{gettext('removed:')} {words[0]}" in history
    assert history.index("<td>2</td><td>→ 4</td>") < history.index("<td>21:00</td><td>→ 22:00</td>")  # newest first


def test_linked_from_the_templates_page_and_the_messaging_nav(login, specialist):
    page = login(specialist).get(reverse("messaging_templates")).content.decode()
    assert page.count(f'href="{reverse("messaging_settings")}"') == 2


@pytest.mark.parametrize("user", ["clerk", "manager"])
def test_the_settings_are_for_hq_only(login, request, user):
    client = login(request.getfixturevalue(user))
    for name in ("messaging_settings", "messaging_settings_history"):
        assert client.get(reverse(name)).status_code == 403
    assert client.post(reverse("messaging_settings"), form_data(weekly_cap="9")).status_code == 403
    assert client.post(reverse("messaging_settings_test"), {"test_category": "birthday", "test_text": "x"},
                       **HTMX).status_code == 403
    assert MessagingSettings.objects.count() == 0
