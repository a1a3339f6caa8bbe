"""Issue 20: the member export filtered by a saved audience — as many rows as the audience counts, nobody outside
it, a store manager's export within their own stores and only with an audience they may use; the list page."""

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from membercare.audiences.selectors import audience_count
from membercare.audiences.services import audience_create
from membercare.members.exports import export_headers, export_members
from membercare.members.models import ExportLog
from tests.factories import MemberFactory

WOMEN = {"include": {"op": "and", "items": [{"type": "gender", "params": {"values": ["F"]}}]},
         "exclude": {"op": "or", "items": []}}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(store, other_store):
    women = [MemberFactory(name=f"女{i}", home_store=store, gender="F") for i in range(3)]
    far_woman = MemberFactory(name="远方女士", home_store=other_store, gender="F")
    men = [MemberFactory(name=f"男{i}", home_store=store, gender="M") for i in range(2)]
    return women, far_woman, men


def names(out) -> set[str]:
    rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    at = export_headers().index(str(export_headers()[1]))
    return {row[at] for row in rows[1:]}


def test_the_export_is_the_audience(people, specialist):
    women, far_woman, men = people
    audience = audience_create(by=specialist, name="女士", definition=WOMEN)
    out, count = export_members(specialist, audience_id=audience.pk)
    assert count == audience_count(audience) == 4
    assert names(out) == {w.name for w in women} | {far_woman.name}
    log = ExportLog.objects.get()
    assert log.filters["audience"] == audience.pk and log.row_count == 4


def test_a_manager_exports_own_stores_only_and_only_an_audience_of_theirs(people, specialist, manager):
    women, _far, _men = people
    chain = audience_create(by=specialist, name="全部女士", definition=WOMEN)
    with pytest.raises(PermissionDenied):
        export_members(manager, audience_id=chain.pk)
    assert not ExportLog.objects.exists()
    own = audience_create(by=manager, name="本店女士", definition=WOMEN)
    out, count = export_members(manager, audience_id=own.pk)
    assert count == 3 == audience_count(own, user=manager)
    assert names(out) == {w.name for w in women}


def test_the_list_page_and_its_export_link(people, login, manager, specialist):
    own = audience_create(by=manager, name="本店女士", definition=WOMEN)
    chain = audience_create(by=specialist, name="全部女士", definition=WOMEN)
    client = login(manager)
    page = client.get(reverse("member_list"), {"audience": own.pk}).content.decode()
    assert "本店女士" in page and "全部女士" not in page and "女0" in page and "男0" not in page
    assert client.get(reverse("member_list"), {"audience": chain.pk}).status_code == 403
    response = client.get(reverse("member_export"), {"audience": own.pk})
    assert response.status_code == 200
    assert ExportLog.objects.get().row_count == 3
    assert client.get(reverse("member_export"), {"audience": chain.pk}).status_code == 403
