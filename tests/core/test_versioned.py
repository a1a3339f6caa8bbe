"""core.versioned: the one reader of the four versioned settings (latest version merged over the defaults)."""

import datetime as dt

import pytest
from django.utils import timezone

from membercare.care.config import DEFAULTS as CARE_DEFAULTS
from membercare.care.config import care_config
from membercare.care.models import CareConfig
from membercare.core.models import VersionedSettings
from membercare.core.versioned import latest_document, latest_document_sql, latest_merged, merge
from membercare.loyalty.models import ProgrammeVersion
from membercare.loyalty.programme import programme_text_sql
from membercare.messaging.models import MessagingSettings
from membercare.service.models import ServiceSettings

AT = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)


def test_the_four_settings_share_the_abstract_model():
    for model in (ProgrammeVersion, CareConfig, MessagingSettings, ServiceSettings):
        assert issubclass(model, VersionedSettings)
        assert {"created_by", "created_at", model.document_field} <= {f.name for f in model._meta.fields}
    assert ProgrammeVersion.effective_field == "effective_from"


def test_the_programme_statement_is_the_hand_written_one():
    """The checkout's hot path reads the programme with this statement: same text as before it was shared."""
    assert programme_text_sql() == (
        "SELECT CAST(v.rules AS text) FROM loyalty_programmeversion v WHERE v.effective_from <= %s "
        "ORDER BY v.effective_from DESC, v.id DESC LIMIT 1")
    assert latest_document_sql(CareConfig) == (
        "SELECT CAST(v.params AS text) FROM care_careconfig v ORDER BY v.created_at DESC, v.id DESC LIMIT 1")


def test_merge_is_deep_and_copies():
    base = {"a": {"x": 1, "y": [1]}, "b": 2}
    out = merge(base, {"a": {"x": 5}, "c": 3})
    assert out == {"a": {"x": 5, "y": [1]}, "b": 2, "c": 3}
    out["a"]["y"].append(2)
    assert base["a"]["y"] == [1]


@pytest.mark.django_db
def test_newest_version_merged_over_the_defaults():
    assert latest_document(CareConfig) is None
    assert latest_merged(CareConfig, CARE_DEFAULTS) == CARE_DEFAULTS == care_config()
    CareConfig.objects.create(params={"rules": {"birthday_greeting": {"enabled": False}}}, created_at=AT)
    CareConfig.objects.create(params={"rules": {"sleeping_call": {"enabled": False}}}, created_at=AT)  # same time
    config = care_config()
    assert config["rules"]["sleeping_call"]["enabled"] is False  # the newest (same time: highest id)
    assert config["rules"]["birthday_greeting"] == CARE_DEFAULTS["rules"]["birthday_greeting"]  # not the older
    assert config["segments"] == CARE_DEFAULTS["segments"]


@pytest.mark.django_db
def test_dated_versions_apply_from_their_day():
    today = timezone.localdate()
    ProgrammeVersion.objects.create(effective_from=today - dt.timedelta(days=10), rules={"window_days": 300},
                                    created_at=AT)
    ProgrammeVersion.objects.create(effective_from=today + dt.timedelta(days=10), rules={"window_days": 200},
                                    created_at=AT)
    assert latest_document(ProgrammeVersion) == {"window_days": 300}
    assert latest_document(ProgrammeVersion, today + dt.timedelta(days=10)) == {"window_days": 200}
    assert latest_document(ProgrammeVersion, today - dt.timedelta(days=11)) is None
