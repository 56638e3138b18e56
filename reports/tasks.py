"""The background half of an export: run by django-tasks' worker (`manage.py db_worker`), or at once in tests."""

import logging

from django_tasks import task

from evaluations import exports
from reports.models import ExportJob, export_root

logger = logging.getLogger(__name__)


@task()
def run_export(job_id: str) -> int:
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    if job.status != ExportJob.Status.QUEUED:
        return 0
    job.mark_running()
    prune_expired()
    export_root().mkdir(parents=True, exist_ok=True)
    partial = job.path.with_suffix(".part")
    try:
        # Scoped to what the requester may see at the time the export runs.
        count = exports.write_summary(str(partial), job.year, user=job.requested_by)
        partial.replace(job.path)
    except Exception as e:
        logger.exception("export %s failed", job.pk)
        partial.unlink(missing_ok=True)
        job.mark_failed(f"生成失败：{e}")
        raise
    job.mark_done(count)
    return count


def prune_expired():
    """Expired files are deleted when the next export runs; the job rows stay as a record."""
    for job in ExportJob.objects.expired().filter(status=ExportJob.Status.DONE):
        job.delete_file()
