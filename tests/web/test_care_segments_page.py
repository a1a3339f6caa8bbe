"""/care/segments/: current counts per segment and the month-over-month movement, scoped per role."""

import datetime as dt

import pytest
from django.urls import reverse

from membercare.care.models import MemberSegments, SegmentSpan
from membercare.org.models import Role
from tests.factories import MemberFactory, StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db
OCT31, NOV23 = dt.date(2026, 10, 31), dt.date(2026, 11, 23)


def _member(store, before, after, spend_class="A"):
    """A member whose lifecycle was `before` on Oct 31 and is `after` now (history spans + current row)."""
    m = MemberFactory(home_store=store)
    SegmentSpan.objects.create(member=m, valid_from=dt.date(2026, 10, 1), valid_to=dt.date(2026, 11, 10),
                               lifecycle=before, spend_class=spend_class)
    SegmentSpan.objects.create(member=m, valid_from=dt.date(2026, 11, 10), lifecycle=after, spend_class=spend_class)
    MemberSegments.objects.create(member=m, computed_on=NOV23, lifecycle=after, spend_class=spend_class,
                                  high_value=spend_class == "A")
    return m


@pytest.fixture
def chain(store, other_store):
    _member(store, "active", "active")
    _member(store, "active", "dormant")
    _member(store, "new", "active", spend_class="B")
    _member(other_store, "dormant", "sleeping")


def test_specialist_sees_the_chain_counts_and_the_movement(client, specialist, chain):
    client.force_login(specialist)
    html = client.get(reverse("care_segments"), {"from": "2026-10-31", "to": "2026-11-23",
                                                  "dimension": "lifecycle"}).content.decode()
    assert "4 位会员" in html or "4 members" in html
    grid = html.split('id="migration"')[1].split("</table>")[0]
    rows = {r.split("</th>")[0].split(">")[-1]: [c.split("<")[0] for c in r.split('class="num">')[1:]]
            for r in grid.split("<tr><th>")[1:]}
    # on the first day ↓ / on the last day →: active, dormant, sleeping (ordered as the lifecycle), then totals
    assert rows["活跃"] == ["1", "1", "0", "2", "50%"]  # one stayed active, one became dormant
    assert rows["新会员"] == ["1", "0", "0", "1", "0%"]
    assert rows["休眠"] == ["0", "0", "1", "1", "0%"]  # dormant on Oct 31, sleeping now


def test_a_manager_sees_only_their_stores_members(client, manager, chain):
    client.force_login(manager)
    html = client.get(reverse("care_segments")).content.decode()
    assert "3 位会员" in html or "3 members" in html  # the other store's member is not counted
    other = StoreFactory()
    assert client.get(reverse("care_segments"), {"store": other.pk}).status_code == 403


def test_clerks_may_not_see_it(client, clerk):
    client.force_login(clerk)
    assert client.get(reverse("care_segments")).status_code == 403


def test_nav_links_it_for_managers(client, manager):
    client.force_login(manager)
    assert reverse("care_segments") in client.get(reverse("care_store")).content.decode()
    clerk = StaffFactory(role=Role.CLERK)
    client.force_login(clerk)
    assert reverse("care_segments") not in client.get(reverse("care_tasks")).content.decode()
