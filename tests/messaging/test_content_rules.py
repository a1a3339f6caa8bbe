"""The playbook's content rules: messages that pass and messages that must fail, on save and on send."""

import pytest
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from membercare.messaging.config import DEFAULTS
from membercare.messaging.content import content_violations
from membercare.messaging.services import message_send, template_save
from tests.factories import MemberFactory, StaffFactory

GOOD = {
    "birthday": "{title}，祝您生日快乐，万事如意！{store} {clerk}敬上",
    "holiday": "{title}，中秋快乐，阖家团圆！{store} {clerk}",
    "season": "{title}，立秋后早晚转凉，记得添衣，多喝温水。{store} {clerk}",
    "missing_you": "{title}，好久不见，天气转凉注意休息，有空来店里坐坐喝杯茶。{clerk}",
    "survey": "{title}，请花一分钟告诉我们您的感受：{link}",
}
BAD = [  # (category, text, rule words, what must be named)
    ("birthday", "{title}生日快乐！本月到店全场8折优惠。{store} {clerk}", "promotions", ["8折", "优惠", "到店"]),
    ("birthday", "{title}，祝您生日快乐！", "signed", ["{store}", "{clerk}"]),
    ("holiday", "{title}国庆快乐！国庆促销活动火热进行中。{store} {clerk}", "promotions", ["促销", "活动"]),
    ("season", "{title}天冷了注意保暖，新款羽绒服已到货。{store} {clerk}", "new products", ["新款", "到货"]),
    ("missing_you", "{title}，好久没见您了，是不是发生了什么事？{clerk}", "whether something happened",
     ["发生"]),
    ("missing_you", "{title}，最近怎么了？好久不见。{clerk}", "whether something happened", ["怎么了"]),
    ("survey", "{title}，请给我们的服务打分。", "survey link", ["{link}"]),
]


@pytest.mark.parametrize("category,text", GOOD.items())
def test_messages_that_pass(category, text):
    assert content_violations(category, text, DEFAULTS) == []


@pytest.mark.parametrize("category,text,rule_words,named", BAD)
def test_messages_that_fail_name_the_rule_and_the_words(category, text, rule_words, named):
    violations = content_violations(category, text, DEFAULTS)
    assert violations, text
    rules = {rule["rule"]: rule for rule in DEFAULTS["content_rules"][category]}
    broken = [v for v in violations if rule_words in next(k for k in rules if _(k) == v.rule)]
    assert broken, [v.rule for v in violations]
    words = [w for v in broken for w in v.found + v.missing]
    for word in named:
        assert any(word in w for w in words), (word, words)
    for v in broken:  # the message names the rule (in the user's language) and each word
        text_shown = v.message()
        assert v.rule in text_shown and all(w in text_shown for w in v.found + v.missing)


@pytest.mark.django_db
def test_template_save_refuses_with_every_broken_rule_and_saves_nothing(specialist):
    from membercare.messaging.models import MessageTemplate

    before = MessageTemplate.objects.count()
    with pytest.raises(ValidationError) as exc:
        template_save(by=specialist, name="生日", category="birthday",
                      body="{title}生日快乐，全场5折！{nickname}")
    messages = exc.value.message_dict["body"]
    assert any("5折" in m for m in messages)  # the promotion rule, with the word
    assert any("{store}" in m and "{clerk}" in m for m in messages)  # the signature rule
    assert any("{nickname}" in m for m in messages)  # the unknown placeholder
    assert MessageTemplate.objects.count() == before  # nothing saved
    saved = template_save(by=specialist, name="生日", category="birthday", body=GOOD["birthday"])
    assert saved.pk and saved.updated_by == specialist


@pytest.mark.django_db
def test_rules_are_checked_again_at_send_on_the_rendered_text(store):
    """A free-text greeting that slips a promotion in is refused at send, and the store's and clerk's names
    in the rendered text satisfy the signature rule."""
    clerk = StaffFactory(display_name="李娜", stores=[store])
    member = MemberFactory(home_store=store, owner=clerk)
    with pytest.raises(ValidationError) as exc:
        message_send(member=member, channel="sms", category="holiday", sender=clerk,
                     body="{title}中秋快乐！月饼买一送一活动。{store} {clerk}")
    assert "活动" in str(exc.value)
    sent = message_send(member=member, channel="sms", category="holiday", sender=clerk,
                        body="{title}中秋快乐！{store} {clerk}")
    assert store.name in sent.body and "李娜" in sent.body and "{" not in sent.body


@pytest.mark.django_db
def test_content_rules_are_configurable(specialist):
    from django.utils import timezone

    from membercare.messaging.models import MessagingSettings

    text = "{title}，祝您生日快乐，我们准备了小惊喜！{store} {clerk}"
    assert content_violations("birthday", text) == []
    MessagingSettings.objects.create(created_by=specialist, created_at=timezone.now(), params={"content_rules": {
        "birthday": [{"rule": "No surprises.", "forbid_words": ["惊喜"]}]}})
    assert [v.found for v in content_violations("birthday", text)] == [["惊喜"]]


@pytest.mark.django_db
def test_a_new_installation_has_one_template_per_category_and_each_passes_its_rules():
    from membercare.messaging.models import Category, MessageTemplate

    templates = {t.category: t for t in MessageTemplate.objects.all()}
    assert set(templates) == set(Category.values)
    for category, template in templates.items():
        assert content_violations(category, template.body) == [], (category, template.body)
