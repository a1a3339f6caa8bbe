"""Run by tests/core/test_replica.py in its own process, with DATABASE_URL (a primary) and
DATABASE_REPLICA_URL (its streaming replica, replay paused by the test before the last step): prints one line
of JSON with what each kind of read saw."""

import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "membercare.settings")
django.setup()

from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from membercare.core.replica import from_replica  # noqa: E402
from membercare.core.sql import fetch  # noqa: E402
from membercare.members.models import Member  # noqa: E402
from membercare.org.models import Role, Staff  # noqa: E402

setup_test_environment()
step = os.environ["REPLICA_STEP"]
if step == "seed":
    from tests.factories import MemberFactory, StaffFactory, StoreFactory

    store = StoreFactory(code="RP01", name="副本门店")
    StaffFactory(username="rp_specialist", role=Role.SPECIALIST)
    MemberFactory(home_store=store, name="先到的会员", member_no="R0000001", phone="13900000001")
    print(json.dumps({"members": Member.objects.count()}))
else:  # the replica's replay is paused: a member written now exists on the primary only
    from tests.factories import MemberFactory

    MemberFactory(home_store=Member.objects.first().home_store, name="刚登记的会员", member_no="R0000002",
                  phone="13900000002")
    out = {"primary_orm": Member.objects.count()}  # a read after a write, as at the counter
    with from_replica():
        out["replica_orm"] = Member.objects.count()
        out["replica_sql"] = fetch("SELECT COUNT(*) FROM members_member")[0][0]
    client = Client()
    client.force_login(Staff.objects.get(username="rp_specialist"))
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        status = client.get("/analytics/").status_code
    out["dashboard_status"], out["dashboard_replica_queries"] = status, len(on_replica.captured_queries)
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        status = client.get("/prediction/").status_code  # the member value models' summary per brand
    out["prediction_status"], out["prediction_replica_queries"] = status, len(on_replica.captured_queries)
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        client.get("/members/")  # any other page: the primary
    out["members_page_replica_queries"] = len(on_replica.captured_queries)
    print(json.dumps(out))
