"""Login throttling (issue 16, defect 5): a few wrong passwords lock the account and the address for a while."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from membercare.org.models import Role
from tests.factories import StaffFactory


@pytest.fixture
def clerk(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = StaffFactory(username="lockme", role=Role.CLERK)
    user.set_password("right-password-1")
    user.save()
    return user


def attempt(client, password, username="lockme", address="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_wrong_passwords_lock_the_account_even_with_the_right_one_then(client, clerk, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "wrong").status_code == 200  # the login form again, with the error
    locked = attempt(client, "wrong")
    assert locked.status_code == 429 and "密码错误次数过多" in locked.content.decode()
    right = attempt(client, "right-password-1", address="10.0.0.2")  # another address: the account is locked
    assert right.status_code == 429 and not client.session.get("_auth_user_id")


def test_wrong_passwords_from_one_address_lock_the_address(client, clerk, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "wrong", username=f"guess{i}", address="10.0.0.9")
    assert attempt(client, "right-password-1", address="10.0.0.9").status_code == 429
    assert attempt(client, "right-password-1", address="10.0.0.10").status_code == 302  # elsewhere: fine


def test_an_administrator_unlocks_the_account(client, clerk, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "wrong")
    assert attempt(client, "right-password-1").status_code == 429
    call_command("axes_reset_username", "lockme")
    call_command("axes_reset_ip", "10.0.0.1")
    assert attempt(client, "right-password-1").status_code == 302


def test_the_lockout_wears_off(client, clerk, settings):
    import datetime as dt

    import time_machine

    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "wrong")
    with time_machine.travel(dt.datetime.now(dt.UTC) + settings.AXES_COOLOFF_TIME + dt.timedelta(minutes=1)):
        assert attempt(client, "right-password-1").status_code == 302
