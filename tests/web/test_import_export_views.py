"""Import and export pages: permissions on the server, the two-step import, file errors, the download."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from membercare.members.models import ExportLog, ImportJob, Member, MemberChange
from tests.factories import MemberFactory, StaffFactory
from tests.members.test_import import xlsx_bytes

HEADER = ["姓名", "手机号", "生日", "性别", "门店编码"]
ROWS = [
    HEADER,
    ["王小明", "138 1234 5678", "1985-03-21", "男", ""],
    ["李晓红", "13900001111", "1990-01-02", "女", "XX99"],
    ["张伟", "+86 137-0000-2222", "1991-05-06", "男", "SH01"],
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def upload(client, store, data: bytes, name="members.xlsx", **extra):
    return client.post(reverse("member_import"), {"file": SimpleUploadedFile(name, data), "default_store": store.pk},
                       **extra)


def test_clerk_is_refused_everywhere(store, clerk, manager, login):
    job = ImportJob.objects.create(original_name="x.xlsx", default_store=store, created_by=manager,
                                   created_at="2025-01-01T00:00:00Z", summary={})
    client = login(clerk)
    assert client.get(reverse("member_import")).status_code == 403
    assert upload(client, store, xlsx_bytes(ROWS)).status_code == 403
    assert client.get(reverse("member_import_preview", args=[job.pk])).status_code == 403
    assert client.post(reverse("member_import_preview", args=[job.pk]), {"action": "confirm"}).status_code == 403
    assert client.get(reverse("member_export")).status_code == 403
    assert ExportLog.objects.count() == 0 and Member.objects.count() == 0


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("member_import"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_upload_page_offers_only_the_users_stores(store, other_store, manager, login):
    response = login(manager).get(reverse("member_import"))
    assert response.status_code == 200
    html = response.content.decode()
    assert store.name in html and other_store.name not in html
    assert "门店编码 / store code" in html


def test_upload_preview_confirm(store, manager, login):
    client = login(manager)
    response = upload(client, store, xlsx_bytes(ROWS))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("member_import_preview", args=[job.pk])
    assert Member.objects.count() == 0  # preview only

    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "XX99" in html and "门店编码" in html  # the bad row: its column and reason
    assert page.context["summary"]["new"] == 2 and page.context["summary"]["bad"] == 1
    assert page.context["summary"]["errors"] == [
        {"row": 3, "column": "门店编码", "message": page.context["summary"]["errors"][0]["message"]}]

    response = client.post(reverse("member_import_preview", args=[job.pk]), {"action": "confirm"})
    assert response.status_code == 302
    assert sorted(Member.objects.values_list("phone", flat=True)) == ["13700002222", "13812345678"]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.IMPORTED
    assert MemberChange.objects.filter(action="import").count() == 2

    # a second confirm (double click, back button) imports nothing more
    client.post(reverse("member_import_preview", args=[job.pk]), {"action": "confirm"})
    assert Member.objects.count() == 2
    assert client.get(reverse("member_import_preview", args=[job.pk])).status_code == 200


def test_merge_through_the_pages(store, manager, login):
    existing = MemberFactory(name="王小明", phone="13812345678", home_store=store, address="")
    client = login(manager)
    upload(client, store, xlsx_bytes([["姓名", "手机号", "生日", "性别", "地址"],
                                      ["王小明", "138-1234-5678", "1985-03-21", "男", "上海"]]))
    job = ImportJob.objects.get()
    page = client.get(reverse("member_import_preview", args=[job.pk]))
    assert page.context["summary"]["merge"] == 1 and existing.member_no in page.content.decode()
    client.post(reverse("member_import_preview", args=[job.pk]), {"action": "confirm"})
    assert Member.objects.count() == 1
    existing.refresh_from_db()
    assert existing.address == "上海"
    assert MemberChange.objects.get(member=existing).action == "merge"


def test_discard(store, manager, login):
    client = login(manager)
    upload(client, store, xlsx_bytes(ROWS))
    job = ImportJob.objects.get()
    response = client.post(reverse("member_import_preview", args=[job.pk]), {"action": "discard"})
    assert response.status_code == 302 and response["Location"] == reverse("member_import")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.REJECTED and Member.objects.count() == 0


@pytest.mark.parametrize("name,data,message", [
    ("members.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "not a readable Excel workbook"),
    ("members.xlsx", xlsx_bytes([["Name", "Colour"], ["Ann", "red"]]), "Missing required columns"),
    ("members.csv", "姓名,手机号,生日,性别\n".encode("gbk"), "no member rows"),
])
def test_bad_files_show_a_message_and_write_nothing(store, manager, login, name, data, message):
    response = upload(login(manager), store, data, name=name, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert ImportJob.objects.count() == 0 and Member.objects.count() == 0


def test_empty_upload_is_refused(store, manager, login):
    response = upload(login(manager), store, b"")
    assert response.status_code == 200 and response.context["form"].errors["file"]
    assert ImportJob.objects.count() == 0


def test_a_50_mb_file_is_refused(store, manager, login):
    big = b"PK\x03\x04" + b"\x00" * (50 * 1024 * 1024)
    response = upload(login(manager), store, big, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "The file is 50 MB; the limit is 20 MB" in response.content.decode()
    assert ImportJob.objects.count() == 0 and Member.objects.count() == 0


def test_default_store_outside_the_users_stores_is_refused(store, other_store, manager, login):
    response = upload(login(manager), other_store, xlsx_bytes(ROWS))
    assert response.status_code == 200 and response.context["form"].errors["default_store"]
    assert ImportJob.objects.count() == 0


def test_another_managers_import_is_not_visible(store, manager, login):
    client = login(manager)
    upload(client, store, xlsx_bytes(ROWS))
    job = ImportJob.objects.get()
    other = StaffFactory(username="manager2", role="manager", stores=[store])
    client = login(other)
    assert client.get(reverse("member_import_preview", args=[job.pk])).status_code == 404
    assert client.post(reverse("member_import_preview", args=[job.pk]), {"action": "confirm"}).status_code == 404
    assert Member.objects.count() == 0


def test_bad_rows_download(store, manager, login):
    client = login(manager)
    upload(client, store, xlsx_bytes(ROWS))
    job = ImportJob.objects.get()
    response = client.get(reverse("member_import_preview", args=[job.pk]) + "?download=errors")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert [r[:2] for r in rows[1:]] == [(3, "门店编码")]


def test_export_download_masks_and_logs(store, manager, specialist, login):
    MemberFactory(name="王小明", phone="13812345678", home_store=store)
    client = login(manager)
    response = client.get(reverse("member_export") + f"?store={store.pk}&q=王&tag=", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"] and ".xlsx" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    rows = list(openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Member number", "Name", "Mobile phone")
    assert rows[1][1:3] == ("王小明", "138****5678")
    log = ExportLog.objects.get()
    assert log.exported_by == manager and log.row_count == 1 and log.full_data is False
    assert log.filters == {"store": store.pk, "tag": "", "q": "王", "format": "xlsx"}

    response = login(specialist).get(reverse("member_export"))
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
                .iter_rows(values_only=True))
    assert rows[1][2] == "13812345678"
    assert ExportLog.objects.filter(exported_by=specialist, full_data=True).count() == 1


def test_export_as_csv_from_the_list_and_as_a_background_job(store, manager, login, monkeypatch, settings):
    import csv

    from membercare.core.models import Job
    from membercare.web.members import import_export

    MemberFactory(name="王小明", phone="13812345678", home_store=store)
    client = login(manager)
    response = client.get(reverse("member_export") + "?format=csv", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert '.csv"' in response["Content-Disposition"]
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"), newline="")))
    assert table[0][:3] == ["会员编号", "姓名", "手机号"] and table[1][1:3] == ["王小明", "138****5678"]

    monkeypatch.setattr(import_export, "EXPORT_INLINE_LIMIT", 0)  # larger than inline: a background job
    response = client.get(reverse("member_export") + "?format=csv")
    job = Job.objects.get(kind="members_export")
    assert job.result["path"].endswith(".csv")
    response = client.get(reverse("job_download", args=[job.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "王小明" in body and "13812345678" not in body


def test_member_list_links_to_import_and_export(store, manager, login):
    html = login(manager).get(reverse("member_list")).content.decode()
    assert reverse("member_import") in html and reverse("member_export") in html


def test_the_registration_form_asks_for_the_members_姓名(client, django_user_model):
    """Issue 18: a person's name is 姓名 (名称 names a store, a template or a batch)."""
    from tests.factories import StaffFactory, StoreFactory

    clerk = StaffFactory(stores=[StoreFactory()])
    client.force_login(clerk)
    page = client.get("/members/new/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert ">姓名" in page and ">名称" not in page
