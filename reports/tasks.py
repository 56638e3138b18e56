"""The background half of an export: run by django-tasks' worker (`manage.py db_worker`), or at once in tests."""

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from evaluations.documents import archive
from evaluations.models import Evaluation
from evaluations.spreadsheets import summary
from ops.routers import reading_from_replica
from reports.models import ExportJob, export_root

logger = logging.getLogger(__name__)


@task()
def run_export(job_id: str) -> int:
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    if job.status != ExportJob.Status.QUEUED:
        return 0
    job.mark_running()
    purge_expired()
    export_root().mkdir(parents=True, exist_ok=True)
    partial = job.path.with_suffix(".part")
    try:
        # Scoped to what the requester may see at the time the export runs.
        if job.kind in (ExportJob.Kind.REPORT_DOCX, ExportJob.Kind.REPORT_PDF):
            count = write_report(job, partial)
        elif job.kind == ExportJob.Kind.DOCUMENTS:
            visible = Evaluation.objects.visible_to(job.requested_by).for_year(job.year)
            count = archive.write_year_zip(visible, str(partial))
        else:
            with reading_from_replica():  # a report: its reads may go to the replica (ops/routers.py)
                count = summary.write_summary(str(partial), job.year, user=job.requested_by)
        partial.replace(job.path)
    except Exception as e:
        logger.exception("export %s failed", job.pk)
        partial.unlink(missing_ok=True)
        job.mark_failed(f"生成失败：{e}")
        raise
    job.mark_done(count)
    return count


# Of a report's build, the share done once the data are read and the outline built (the rest: writing the file).
READ_SHARE = {ExportJob.Kind.REPORT_DOCX: 40, ExportJob.Kind.REPORT_PDF: 10}


def write_report(job, path):
    """The 汇总分析报告 for the units the requester oversees (an admin: all), as Word or PDF; the job's progress
    recorded as it goes (a long PDF: after each part printed)."""
    from evaluations.documents import summary as summary_report
    from evaluations.models import Unit

    units = Unit.objects.visible_to(job.requested_by)
    read = READ_SHARE.get(job.kind, 10)
    with reading_from_replica():
        report = summary_report.build_summary(units, job.year)
    job.set_progress(read)
    if job.kind == ExportJob.Kind.REPORT_DOCX:
        data = summary_report.render_docx(report)
    else:
        data = summary_report.render_pdf(report, progress=lambda done, total: job.set_progress(
            read + (100 - read - 1) * done // total))
    path.write_bytes(data)
    return report.figures["units"]


def purge_expired() -> list[str]:
    """Delete the files of expired exports, partial files of finished ones, and files no job of this database
    refers to once their link would have expired anyway (a deleted requester's jobs go with the user; another
    database may share the folder). Job rows stay as a record. Run before each export and by
    `manage.py purge_exports` (from cron, so files go even when nobody exports). Returns the names deleted."""
    root = export_root()
    files = {}
    for path in root.glob("*") if root.is_dir() else ():
        try:
            files[path] = uuid.UUID(path.stem)
        except ValueError:
            continue  # not ours: left alone
    jobs = ExportJob.objects.filter(pk__in=set(files.values())).only("status", "expires_at").in_bulk()
    stale = (timezone.now() - timedelta(hours=settings.EXPORT_LINK_HOURS)).timestamp()
    deleted = []
    for path, pk in files.items():
        job = jobs.get(pk)
        if job is None:
            gone = path.stat().st_mtime < stale
        elif path.suffix == ".part":
            gone = job.is_finished
        else:
            gone = job.is_expired
        if gone:
            path.unlink(missing_ok=True)
            deleted.append(path.name)
    return deleted
