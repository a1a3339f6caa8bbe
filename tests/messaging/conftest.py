import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from membercare.messaging.backends import reset_backends
from membercare.messaging.models import Category, MessageChannel, MessageTemplate

SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=10, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture(autouse=True)
def outbox(settings, tmp_path):
    """SMS and WeChat go to files under tmp_path; returns a reader of the SMS outbox."""
    settings.MESSAGING_BACKENDS = {
        "sms": {"class": "membercare.messaging.backends.outbox.OutboxBackend", "path": str(tmp_path / "sms.jsonl")},
        "email": "membercare.messaging.backends.email.EmailBackend",
        "wechat": {"class": "membercare.messaging.backends.outbox.OutboxBackend",
                   "path": str(tmp_path / "wechat.jsonl")},
    }
    reset_backends()

    def read(channel="sms"):
        path = tmp_path / f"{channel}.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    yield read
    reset_backends()


@pytest.fixture
def promo_template(db):
    return MessageTemplate.objects.create(
        name="秋季新品", category=Category.NEW_ARRIVALS, channel=MessageChannel.SMS,
        body="{title}您好，{store}秋季新品已到，欢迎来试穿。", updated_at=at(2026, 9, 1))


@pytest.fixture
def birthday_template(db):
    return MessageTemplate.objects.create(
        name="生日祝福", category=Category.BIRTHDAY, channel=MessageChannel.SMS,
        body="{title}，祝您生日快乐，身体健康！{store} {clerk}", updated_at=at(2026, 9, 1))
