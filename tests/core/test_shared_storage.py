"""Every file through the shared object storage (issue 17): with MEMBERCARE_S3_BUCKET set, imports, sales
uploads and exports are written to an S3-compatible service and read back from it, so a member import previewed
on one app server is confirmed on another and an export made by a worker downloads from any server. Tested
against a real S3 server (moto's server mode, over HTTP on a port of this machine), not a mock of the client;
the local media folder stays empty."""

import io
import socket

import boto3
import pytest
from django.urls import reverse
from openpyxl import load_workbook

from membercare.analytics.facts import analytics_refresh
from membercare.core.models import Job
from membercare.members.models import ImportJob, Member
from membercare.sales.models import Receipt, SalesUpload
from tests.analytics.conftest import world  # noqa: F401
from tests.analytics.test_pages import login as login_analytics
from tests.loyalty.conftest import chain, member  # noqa: F401
from tests.members.test_import import xlsx_bytes
from tests.sales.test_upload_views import sales_csv
from tests.web.test_import_export_views import ROWS, upload

BUCKET = "membercare-files"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_server, settings, tmp_path, monkeypatch):
    """The app's default storage on a fresh bucket of the S3 server; returns a client to look into it."""
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                        ("AWS_DEFAULT_REGION", "cn-north-1")):
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []) if BUCKET in [
            b["Name"] for b in client.list_buckets()["Buckets"]] else []:
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": BUCKET, "endpoint_url": s3_server, "access_key": "test", "secret_key": "test",
                    "region_name": "us-east-1", "addressing_style": "path", "default_acl": None,
                    "file_overwrite": False}}}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return client


def keys(client) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_the_storage_settings_follow_the_environment(monkeypatch):
    import importlib

    import membercare.settings as s

    monkeypatch.setenv("MEMBERCARE_S3_BUCKET", "chain-files")
    monkeypatch.setenv("MEMBERCARE_S3_ENDPOINT_URL", "https://oss-cn-shanghai.aliyuncs.com")
    try:
        default = importlib.reload(s).STORAGES["default"]
        assert default["BACKEND"] == "storages.backends.s3.S3Storage"
        assert default["OPTIONS"]["bucket_name"] == "chain-files"
        assert default["OPTIONS"]["endpoint_url"] == "https://oss-cn-shanghai.aliyuncs.com"
        monkeypatch.delenv("MEMBERCARE_S3_BUCKET")
        assert importlib.reload(s).STORAGES["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    finally:
        monkeypatch.delenv("MEMBERCARE_S3_BUCKET", raising=False)
        importlib.reload(s)


def test_an_import_previewed_on_one_server_is_confirmed_from_the_bucket(s3, store, manager, login, settings):
    client = login(manager)
    response = upload(client, store, xlsx_bytes(ROWS))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and keys(s3) == [job.file.name]
    assert not (settings.MEDIA_ROOT).exists()  # nothing on this server's disk
    # the confirm reads the file back from the bucket, as a second app server would (its disk has nothing)
    response = client.post(reverse("member_import_preview", args=[job.pk]), {"action": "confirm"})
    assert response.status_code == 302
    assert sorted(Member.objects.values_list("phone", flat=True)) == ["13700002222", "13812345678"]
    assert not settings.MEDIA_ROOT.exists()


def test_an_export_made_by_a_worker_downloads_from_the_bucket(s3, client, world, settings):  # noqa: F811
    analytics_refresh()
    c = login_analytics(client, world.specialist)
    response = c.get(reverse("analytics_vip_list"), {"brand": world.main.pk, "start": "2026-01-01",
                                                     "end": "2026-03-31", "limit": "1000", "format": "xlsx"})
    job = response.context["job"]
    assert job.status == "done" and job.result["path"] == f"exports/vip-{job.pk}.xlsx"
    assert keys(s3) == [job.result["path"]] and not settings.MEDIA_ROOT.exists()
    download = c.get(job.result["url"])
    workbook = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert download.status_code == 200 and workbook.active.max_row == 4
    # a path that is not the job's export is never served, even when it exists in the bucket
    Job.objects.filter(pk=job.pk).update(result={**job.result, "path": "imports/other.xlsx"})
    s3.put_object(Bucket=BUCKET, Key="imports/other.xlsx", Body=b"x")
    assert c.get(job.result["url"]).status_code == 404


def test_a_sales_upload_is_kept_in_the_bucket(s3, chain, member, login, settings):  # noqa: F811
    chain.shop.networked = False
    chain.shop.save()
    client = login(chain.clerk)
    response = client.post(reverse("sales_upload"), {
        "store": chain.shop.pk, "file": sales_csv([("W1", "2026-06-01 10:00", "13800001234", "SHIRT", 1)])})
    record = SalesUpload.objects.get()
    assert response.status_code == 302 and keys(s3) == [record.file.name]
    client.post(response.url, {"action": "confirm"})
    assert list(Receipt.objects.values_list("number", flat=True)) == ["SH01/W1"]
    assert not settings.MEDIA_ROOT.exists()



def test_a_large_member_export_runs_as_a_job_into_the_bucket(s3, store, manager, login, settings, monkeypatch):
    from membercare.web.members import import_export
    from tests.factories import MemberFactory

    monkeypatch.setattr(import_export, "EXPORT_INLINE_LIMIT", 2)
    for _ in range(5):
        MemberFactory(home_store=store)
    client = login(manager)
    page = client.get(reverse("member_export"))
    job = Job.objects.get(kind="members_export")
    assert page.status_code == 200 and job.status == "done" and job.result["rows"] == 5
    assert keys(s3) == [job.result["path"]] and job.result["path"] == f"exports/members-{job.pk}.xlsx"
    download = client.get(job.result["url"])
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    assert sheet.max_row == 6 and any("****" in str(c.value) for c in sheet[2])  # a manager's file: masked phones
    assert not settings.MEDIA_ROOT.exists()
    assert client.get(reverse("analytics_export_download", args=[job.pk])).status_code == 200  # the old address
