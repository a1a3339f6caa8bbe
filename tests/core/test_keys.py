"""Production keys (issue 16, defect 3): no start on the public default keys; the field key rotates online."""

import io
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from membercare.core.crypto import blind_index
from membercare.core.keys import DEV_SECRET_KEY, derived_field_key
from membercare.members.models import Member
from tests.factories import MemberFactory

ID_A, ID_B = "110105198503210026", "11010519900101003X"


# what production needs besides the keys (each refused alone below)
PRODUCTION = {"MEMBERCARE_PUBLIC_URL": "https://vip.example.com", "MESSAGING_OUTBOX_ALLOWED": "1"}
UNSET = ("DJANGO_SECRET_KEY", "MEMBERCARE_FIELD_KEY", "MEMBERCARE_PUBLIC_URL", "MESSAGING_OUTBOX_ALLOWED",
         "MESSAGING_SMS_ACCESS_KEY_ID", "MEMBERCARE_DEMO", "CELERY_TASK_ALWAYS_EAGER")


def _start(**env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in UNSET}
    return subprocess.run([sys.executable, "-c", "import django; django.setup(); print('started')"],
                          env={**base, "DJANGO_SETTINGS_MODULE": "membercare.settings", "DJANGO_DEBUG": "0",
                               **PRODUCTION, **env},
                          capture_output=True, text=True, timeout=60)


def test_production_mode_refuses_to_start_without_its_own_keys():
    secret = "a-real-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
    missing_secret = _start()
    assert missing_secret.returncode != 0 and "DJANGO_SECRET_KEY" in missing_secret.stderr
    assert "DJANGO_SECRET_KEY" in _start(DJANGO_SECRET_KEY=DEV_SECRET_KEY).stderr
    missing_field = _start(DJANGO_SECRET_KEY=secret)
    assert missing_field.returncode != 0 and "MEMBERCARE_FIELD_KEY is not set" in missing_field.stderr
    derived = _start(DJANGO_SECRET_KEY=secret, MEMBERCARE_FIELD_KEY=derived_field_key(secret))
    assert derived.returncode != 0 and "must not be derived" in derived.stderr
    assert "not a Fernet key" in _start(DJANGO_SECRET_KEY=secret, MEMBERCARE_FIELD_KEY="short").stderr
    ok = _start(DJANGO_SECRET_KEY=secret, MEMBERCARE_FIELD_KEY=Fernet.generate_key().decode())
    assert ok.returncode == 0 and "started" in ok.stdout, ok.stderr


def test_production_mode_needs_the_public_address_and_a_real_sms_channel():
    """Issue 17: links built by a worker pointed at 127.0.0.1; SMS went to a file on one server."""
    keys = {"DJANGO_SECRET_KEY": "a-real-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
            "MEMBERCARE_FIELD_KEY": Fernet.generate_key().decode()}
    no_url = _start(**keys, MEMBERCARE_PUBLIC_URL="")
    assert no_url.returncode != 0 and "MEMBERCARE_PUBLIC_URL is not set" in no_url.stderr
    outbox = _start(**keys, MESSAGING_OUTBOX_ALLOWED="")
    assert outbox.returncode != 0 and "MESSAGING_SMS_ACCESS_KEY_ID is not set" in outbox.stderr
    sms = _start(**keys, MESSAGING_OUTBOX_ALLOWED="", MESSAGING_SMS_ACCESS_KEY_ID="LTAI-test")
    assert sms.returncode == 0, sms.stderr
    demo = _start(**keys, MEMBERCARE_PUBLIC_URL="", MESSAGING_OUTBOX_ALLOWED="", MEMBERCARE_DEMO="1")
    assert demo.returncode == 0, demo.stderr  # the one-machine demo: the request's host, the outbox file


def _raw(member) -> tuple[str, str]:
    with connection.cursor() as cur:
        cur.execute("SELECT id_number, id_number_index FROM members_member WHERE id = %s", [member.pk])
        return cur.fetchone()


@pytest.mark.django_db
def test_the_field_key_rotates_while_the_app_keeps_working(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MEMBERCARE_FIELD_KEY = old
    members = [MemberFactory(id_number=ID_A), MemberFactory(id_number=ID_B), MemberFactory(id_number="")]
    for m in members[:2]:
        m.id_number_index = blind_index(m.id_number)
        m.save(update_fields=["id_number_index"])
    # 1) every server gets "new,old": both decrypt, new writes go under the new key
    settings.MEMBERCARE_FIELD_KEY = f"{new},{old}"
    assert Member.objects.get(pk=members[0].pk).id_number == ID_A
    out = io.StringIO()
    call_command("rotate_field_key", "--check", stdout=out)
    assert out.getvalue().startswith("2 ")
    # 2) the rotation, in small batches
    out = io.StringIO()
    call_command("rotate_field_key", "--batch", "1", stdout=out)
    assert "2 ID numbers re-encrypted" in out.getvalue()
    out = io.StringIO()
    call_command("rotate_field_key", stdout=out)
    assert "0 ID numbers re-encrypted" in out.getvalue()  # run again: nothing left, nothing done
    # 3) the new key alone reads everything; tokens and blind indexes are the new key's
    settings.MEMBERCARE_FIELD_KEY = new
    for m, plain in zip(members[:2], (ID_A, ID_B), strict=True):
        token, index = _raw(m)
        assert Fernet(new.encode()).decrypt(token.encode()).decode() == plain
        assert index == blind_index(plain) != ""
        assert Member.objects.get(pk=m.pk).id_number == plain
    assert _raw(members[2]) == ("", "")
    out = io.StringIO()
    call_command("rotate_field_key", "--check", stdout=out)
    assert out.getvalue().startswith("0 ")


def test_production_mode_sends_cookies_over_https_only_with_hsts():
    secret = "a-real-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS >= 31536000, "
            "s.SECURE_PROXY_SSL_HEADER)")
    base = {k: v for k, v in os.environ.items() if k not in UNSET}
    env = {**base, "DJANGO_SETTINGS_MODULE": "membercare.settings", "DJANGO_DEBUG": "0", **PRODUCTION,
           "DJANGO_SECRET_KEY": secret, "MEMBERCARE_FIELD_KEY": Fernet.generate_key().decode()}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", "True", "True", "('HTTP_X_FORWARDED_PROTO',", "'https')"], out.stderr
    demo = subprocess.run([sys.executable, "-c", code], env={**env, "MEMBERCARE_HTTPS": "0"}, capture_output=True,
                          text=True, timeout=60)
    assert demo.stdout.split() == ["False", "False", "False", "None"], demo.stderr


def test_production_runs_background_jobs_on_the_queue_not_in_the_request():
    """Issue 17: eager Celery was the default, so production ran exports inside web requests."""
    secret = "a-real-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
    keys = {"DJANGO_SECRET_KEY": secret, "MEMBERCARE_FIELD_KEY": Fernet.generate_key().decode()}
    code = "import django; django.setup(); from django.conf import settings as s; print(s.CELERY_TASK_ALWAYS_EAGER)"
    base = {k: v for k, v in os.environ.items() if k not in UNSET}
    env = {**base, "DJANGO_SETTINGS_MODULE": "membercare.settings", "DJANGO_DEBUG": "0", **PRODUCTION, **keys}

    def run(**extra):
        return subprocess.run([sys.executable, "-c", code], env={**env, **extra}, capture_output=True, text=True,
                              timeout=60)

    assert run().stdout.strip() == "False"  # production: the queue
    eager = run(CELERY_TASK_ALWAYS_EAGER="1")
    assert eager.returncode != 0 and "CELERY_TASK_ALWAYS_EAGER" in eager.stderr
    assert run(CELERY_TASK_ALWAYS_EAGER="1", MEMBERCARE_DEMO="1").stdout.strip() == "True"  # the demo
    dev = subprocess.run([sys.executable, "-c", code], env={**base, "DJANGO_SETTINGS_MODULE": "membercare.settings",
                                                            "DJANGO_DEBUG": "1"}, capture_output=True, text=True,
                         timeout=60)
    assert dev.stdout.strip() == "True"  # development: inline
