"""Summary exports in the background: a job with a status, scoped to its requester, a link that expires."""

import io
import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from evaluations import access
from reports.models import ExportJob
from tests.factories import login, make_evaluation, make_unit, make_user

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"
    settings.TASKS = IMMEDIATE



def start(client, year=2024):
    response = client.post("/reports/exports/summary/", {"year": year})
    assert response.status_code == 302
    return ExportJob.objects.latest("created_at")


def test_filler_exports_only_their_unit_and_downloads_it():
    mine, other = make_evaluation(), make_evaluation()
    filler = make_user(access.FILLER, units=[mine.unit])
    client = login(filler)
    job = start(client)
    page = client.get(f"/reports/exports/{job.pk}/").content.decode()
    assert "已完成" in page and "下载年度自评汇总表" in page
    response = client.get(f"/reports/exports/{job.pk}/download/")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    codes = [r[0] for r in wb["汇总"].iter_rows(min_row=3, values_only=True)]
    assert codes == [mine.unit.code] and other.unit.code not in codes


def test_someone_elses_job_is_404():
    make_evaluation()
    job = start(login(make_user(access.ADMIN)))
    stranger = login(make_user(access.FILLER, units=[make_unit()]))
    assert stranger.get(f"/reports/exports/{job.pk}/").status_code == 404
    assert stranger.get(f"/reports/exports/{job.pk}/download/").status_code == 404


def test_expired_link_is_gone():
    make_evaluation()
    client = login(make_user(access.ADMIN))
    job = start(client)
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.get(f"/reports/exports/{job.pk}/download/")
    assert response.status_code == 410 and "下载链接已于" in response.content.decode()


def test_unknown_year_is_refused():
    client = login(make_user(access.ADMIN))
    response = client.post("/reports/exports/summary/", {"year": "1999"}, follow=True)
    assert "请选择有指标体系的年度。" in response.content.decode() and not ExportJob.objects.exists()


def test_job_pages_query_count_does_not_grow_with_data():
    client = login(make_user(access.ADMIN))
    make_evaluation()
    job = start(client)
    counts = []
    for extra in (0, 5):
        for _ in range(extra):
            make_evaluation(extra_rows=5)
        with CaptureQueriesContext(connection) as ctx:
            client.get(f"/reports/exports/{job.pk}/")
            client.get("/reports/exports/")
        counts.append(len(ctx))
    assert counts[0] == counts[1]


@pytest.mark.django_db(transaction=True)
def test_database_queue_and_worker(settings):
    settings.TASKS = DATABASE
    make_evaluation()
    client = login(make_user(access.ADMIN))
    job = start(client)
    assert ExportJob.objects.get(pk=job.pk).status == ExportJob.Status.QUEUED
    assert "排队中" in client.get(f"/reports/exports/{job.pk}/").content.decode()
    call_command("db_worker", batch=True, startup_delay=False, interval=0.1, verbosity=0)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE and job.unit_count == 1 and job.path.exists()
    assert job.expires_at > timezone.now() + timedelta(hours=23)


def finished_job(user, hours_left, name=None):
    job = ExportJob.objects.create(year=2024, requested_by=user, status=ExportJob.Status.DONE,
                                   expires_at=timezone.now() + timedelta(hours=hours_left))
    job.path.parent.mkdir(parents=True, exist_ok=True)
    job.path.write_bytes(b"xlsx")
    return job


def test_purge_exports_deletes_expired_and_orphaned_files_only(settings):
    user = make_user(access.ADMIN)
    expired, current = finished_job(user, -1), finished_job(user, 5)
    root = settings.EXPORT_ROOT
    orphan = root / "0b0e6c8e-5b1e-4c41-9a43-3c1f0a6f3f11.xlsx"  # its job was deleted with its requester
    orphan.write_bytes(b"xlsx")
    a_day_ago = (timezone.now() - timedelta(hours=settings.EXPORT_LINK_HOURS + 1)).timestamp()
    os.utime(orphan, (a_day_ago, a_day_ago))
    recent = root / "5d1c3f0e-8a55-4c2e-b7a4-2f6f1d9c0a22.xlsx"  # maybe another database's: its link may still work
    recent.write_bytes(b"xlsx")
    left_over = expired.path.with_suffix(".part")
    left_over.write_bytes(b"part")
    other = root / "README.txt"
    other.write_text("not an export")
    out = io.StringIO()
    call_command("purge_exports", stdout=out)
    assert "已删除 3 个过期的导出文件。" in out.getvalue()
    assert not expired.path.exists() and not orphan.exists() and not left_over.exists()
    assert current.path.exists() and recent.exists() and other.exists()
    assert ExportJob.objects.filter(pk=expired.pk).exists()  # the record stays
    page = login(user).get(f"/reports/exports/{expired.pk}/download/")
    assert page.status_code == 410


def test_purge_exports_with_nothing_exported_yet():
    out = io.StringIO()
    call_command("purge_exports", stdout=out)
    assert "已删除 0 个过期的导出文件。" in out.getvalue()


def test_each_export_purges_expired_files_first():
    make_evaluation()
    user = make_user(access.ADMIN)
    expired = finished_job(user, -1)
    job = start(login(user))
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE and job.path.exists() and not expired.path.exists()


@pytest.mark.archive
def test_admin_gets_a_zip_of_the_years_approved_documents_in_the_background(settings, tmp_path):
    import zipfile

    from evaluations import workflow
    from evaluations.documents import html_pdf

    if html_pdf.pdf_unavailable_reason():
        pytest.skip(html_pdf.pdf_unavailable_reason())
    settings.MEDIA_ROOT = tmp_path / "media"
    approved, draft = make_evaluation(), make_evaluation()
    workflow.submit(approved, by=make_user(access.FILLER, units=[approved.unit]))
    workflow.approve(approved, by=make_user(access.REVIEWER, charge=approved.unit))
    filler = login(make_user(access.FILLER, units=[draft.unit]))
    assert filler.post("/reports/exports/documents/", {"year": 2024}).status_code == 403
    admin = login(make_user(access.ADMIN))
    admin.post("/reports/exports/documents/", {"year": 2024})
    job = ExportJob.objects.get(kind=ExportJob.Kind.DOCUMENTS)
    assert job.status == ExportJob.Status.DONE and job.unit_count == 1
    response = admin.get(f"/reports/exports/{job.pk}/download/")
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as bundle:
        [name] = bundle.namelist()
        assert approved.unit.code in name and bundle.read(name).startswith(b"%PDF")
