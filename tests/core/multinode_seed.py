"""Run by tests/core/test_multinode.py in its own process with the app servers' environment (DATABASE_URL: the
primary the test created): a store and a VIP specialist who logs in with the password "pass12345"."""

import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "membercare.settings")
django.setup()

from membercare.org.models import Role  # noqa: E402
from tests.factories import StaffFactory, StoreFactory  # noqa: E402

store = StoreFactory(code="MN01", name="多节点门店")
staff = StaffFactory(username="mn_specialist", role=Role.SPECIALIST)
print(json.dumps({"store": store.pk, "staff": staff.pk}))
