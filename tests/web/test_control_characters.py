"""Control characters in a page's input (issue 16, defect 6): a 400 page naming the field, never a 500."""

import pytest
from django.urls import reverse

from tests.factories import MemberFactory


@pytest.mark.parametrize("name", ["member_search", "member_list"])
def test_a_search_with_nul_gets_a_clear_refusal(client, specialist, name):
    client.force_login(specialist)
    response = client.get(reverse(name), {"q": "王\x00"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "输入有误" in page and "“搜索内容”" in page and "“q”" not in page


def test_a_form_field_with_a_control_character_is_refused_and_nothing_changes(client, specialist, store):
    member = MemberFactory(name="王芳", home_store=store)
    client.force_login(specialist)
    response = client.post(reverse("member_edit", args=[member.pk]), {"name": "王\x07芳", "phone": member.phone})
    assert response.status_code == 400 and "“姓名”" in response.content.decode()
    member.refresh_from_db()
    assert member.name == "王芳"


def test_an_unknown_key_is_never_shown_raw(client, specialist):
    client.force_login(specialist)
    page = client.get(reverse("member_search"), {"x_internal": "\x01"}).content.decode()
    assert "“某一项”" in page and "“x_internal”" not in page


def test_ordinary_input_passes(client, specialist):
    client.force_login(specialist)
    assert client.get(reverse("member_search"), {"q": "王芳\t"}).status_code == 200
