"""Pages: offline sales upload (upload -> preview -> confirm/discard) and the birthday audit."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from membercare.checkout.pipeline import LineIn, checkout_post
from membercare.members.models import ExportLog
from membercare.org.models import Role
from membercare.sales.models import Receipt, SalesUpload
from tests.factories import StaffFactory

TZ = ZoneInfo("Asia/Shanghai")


def sales_csv(rows, name="sales.csv"):
    lines = ["receipt number,sale date,phone,sku,quantity"] + [",".join(map(str, r)) for r in rows]
    return SimpleUploadedFile(name, "\n".join(lines).encode())


def test_upload_preview_confirm_in_the_browser(offline, member, login):
    client = login(offline.clerk)
    page = client.get(reverse("sales_upload"))
    assert page.status_code == 200 and offline.shop.name in page.content.decode()
    assert offline.shop2.name not in page.content.decode()  # networked: not offered
    response = client.post(reverse("sales_upload"), {
        "store": offline.shop.pk, "file": sales_csv([("W1", "2026-06-01 10:00", "13800001234", "SHIRT", 1),
                                                     ("W2", "2026-06-01 11:00", "13800001234", "NOPE", 1)])})
    record = SalesUpload.objects.get()
    assert response.status_code == 302 and response.url == reverse("sales_upload_preview", args=[record.pk])
    with translation.override("en"):
        preview = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "W1" in preview and "NOPE" in preview and not Receipt.objects.exists()
    client.post(response.url, {"action": "confirm"})
    record.refresh_from_db()
    assert record.status == SalesUpload.Status.POSTED
    assert list(Receipt.objects.values_list("number", flat=True)) == ["SH01/W1"]
    assert client.get(response.url).status_code == 200


def test_bad_file_is_shown_on_the_form_and_networked_store_cannot_be_chosen(offline, member, login):
    client = login(offline.clerk)
    response = client.post(reverse("sales_upload"), {"store": offline.shop.pk,
                                                     "file": SimpleUploadedFile("x.pdf", b"%PDF")})
    assert response.status_code == 200 and "file" in response.context["form"].errors
    response = client.post(reverse("sales_upload"), {"store": offline.shop2.pk, "file": sales_csv([])})
    assert response.status_code == 200 and "store" in response.context["form"].errors
    assert not SalesUpload.objects.exists()


def test_other_stores_cannot_see_an_upload(offline, member, login):
    record = SalesUpload.objects.create(store=offline.shop, original_name="a.csv", created_at=dt.datetime.now(TZ),
                                        summary={"rows": 0})
    outsider = StaffFactory(username="outsider", role=Role.MANAGER, stores=[offline.shop2])
    client = login(outsider)
    assert client.get(reverse("sales_upload_preview", args=[record.pk])).status_code == 404
    assert client.post(reverse("sales_upload_preview", args=[record.pk]), {"action": "discard"}).status_code == 404


def test_discard(offline, member, login):
    client = login(offline.clerk)
    client.post(reverse("sales_upload"), {"store": offline.shop.pk,
                                          "file": sales_csv([("W1", "2026-06-01", "13800001234", "SHIRT", 1)])})
    record = SalesUpload.objects.get()
    client.post(reverse("sales_upload_preview", args=[record.pk]), {"action": "discard"})
    record.refresh_from_db()
    assert record.status == SalesUpload.Status.DISCARDED and not Receipt.objects.exists()


def test_birthday_audit_page_and_export_for_the_specialist_only(chain, member, specialist, login):
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 1)],
                  sold_at=dt.datetime(2026, 2, 1, 12, tzinfo=TZ))
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 2)],
                  sold_at=dt.datetime(2026, 3, 10, 12, tzinfo=TZ), birthday=True)
    clerk_client = login(chain.clerk)
    assert clerk_client.get(reverse("birthday_audit")).status_code == 403
    assert clerk_client.get(reverse("birthday_audit_export")).status_code == 403
    client = login(specialist)
    query = {"since": "2026-03-01", "until": "2026-03-31", "store": chain.shop.pk}
    page = client.get(reverse("birthday_audit"), query)
    assert page.status_code == 200 and page.context["total"] == 1 and member.name in page.content.decode()
    assert client.get(reverse("birthday_audit"), {**query, "flagged": "on"}).context["total"] == 0
    assert client.get(reverse("birthday_audit")).status_code == 200  # default period
    export = client.get(reverse("birthday_audit_export"), query)
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(b"".join(export.streaming_content))).active.iter_rows(values_only=True))
    assert len(rows) == 2 and ExportLog.objects.get().kind == "birthday_audit"
