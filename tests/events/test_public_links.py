"""Members' links (event RSVP, surveys) start with the address the site is served on (issue 18 part 6):
MEMBERCARE_PUBLIC_URL when set (`make demo` sets it from its HOST), else the host of the request building the
link, never a hard-coded 127.0.0.1:8000."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from membercare.core.public import FALLBACK, PublicUrlMiddleware, public_base_url
from membercare.events.models import Invitation
from membercare.messaging.models import Message
from membercare.service.surveys import survey_link

from .test_events import consenting, now, salon  # noqa: F401 — `now` is a fixture

HOST = "shop-tablet.local:8773"
ALLOWED = ["shop-tablet.local", "testserver"]


def served(host: str, build) -> str:
    """What `build()` returns while a request for `host` is handled."""
    request = RequestFactory().get("/", HTTP_HOST=host)
    return PublicUrlMiddleware(lambda _request: HttpResponse(build()))(request).content.decode()


@override_settings(MEMBERCARE_PUBLIC_URL="", ALLOWED_HOSTS=ALLOWED)
def test_without_the_setting_a_link_built_in_a_request_uses_its_host():
    assert served(HOST, public_base_url) == f"http://{HOST}"
    assert public_base_url(RequestFactory().get("/", HTTP_HOST=HOST)) == f"http://{HOST}"
    assert public_base_url() == FALLBACK  # outside a request (a job): the development address


@override_settings(MEMBERCARE_PUBLIC_URL="https://vip.example.com/", ALLOWED_HOSTS=ALLOWED)
def test_the_setting_wins_over_the_request():
    assert served(HOST, public_base_url) == "https://vip.example.com"
    assert public_base_url(RequestFactory().get("/", HTTP_HOST=HOST)) == "https://vip.example.com"
    assert public_base_url() == "https://vip.example.com"


@pytest.mark.django_db
@override_settings(MEMBERCARE_PUBLIC_URL="", ALLOWED_HOSTS=ALLOWED)
def test_a_survey_link_uses_the_host_serving_the_request():
    assert served(HOST, lambda: survey_link("tok")) == f"http://{HOST}/s/tok/"


@pytest.mark.django_db
@override_settings(MEMBERCARE_PUBLIC_URL="http://10.0.0.5:8773")
def test_a_survey_link_uses_the_setting():
    assert survey_link("tok") == "http://10.0.0.5:8773/s/tok/"


@pytest.mark.parametrize("public_url, expected", [("", f"http://{HOST}/rsvp/"),
                                                  ("http://10.0.0.5:8773", "http://10.0.0.5:8773/rsvp/")])
def test_the_invitations_sent_from_the_event_page_link_to_the_public_address(
        chain, hq, invite_template, client, now, settings, public_url, expected):  # noqa: F811
    settings.MEMBERCARE_PUBLIC_URL, settings.ALLOWED_HOSTS = public_url, ALLOWED
    guests = consenting(2, chain)
    event = salon(hq, chain)
    client.force_login(hq)
    r = client.post(f"/events/{event.pk}/invite/", {"action": "invite", "template": invite_template.pk,
                                                    "tags": "", "holdout_pct": "0", "seed": "7"}, HTTP_HOST=HOST)
    assert r.status_code == 302, r.content.decode()[:2000]
    assert Invitation.objects.filter(event=event).count() == len(guests)
    bodies = list(Message.objects.values_list("body", flat=True))
    assert len(bodies) == 2 and all(expected in body for body in bodies) and "127.0.0.1:8000" not in bodies[0]
