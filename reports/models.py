"""Background exports: who asked for what, how far it got, and a download link that expires."""

import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone


def export_root() -> Path:
    return Path(settings.EXPORT_ROOT)


SUFFIXES = {"documents": "zip", "report_docx": "docx", "report_pdf": "pdf"}


class ExportJobQuerySet(models.QuerySet):
    def of(self, user):
        """A job is its requester's alone: anyone else gets 404."""
        return self.filter(requested_by=user) if user.is_authenticated else self.none()


class ExportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "正在生成"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    class Kind(models.TextChoices):
        SUMMARY = "summary", "年度自评汇总表"
        DOCUMENTS = "documents", "年度已通过说明（zip）"
        REPORT_DOCX = "report_docx", "年度自评结果汇总分析报告（Word）"
        REPORT_PDF = "report_pdf", "年度自评结果汇总分析报告（PDF）"

    # A random id in the URL: download links cannot be guessed by counting.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField("类型", max_length=20, choices=Kind.choices, default=Kind.SUMMARY)
    year = models.PositiveIntegerField("年度")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="申请人", on_delete=models.CASCADE, related_name="export_jobs"
    )
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    expires_at = models.DateTimeField("下载链接有效期至", null=True, blank=True)
    file_name = models.CharField("文件", max_length=200, blank=True)
    unit_count = models.PositiveIntegerField("单位数", null=True, blank=True)
    # How far a running build has got, in percent (the 汇总分析报告's; the status page shows it).
    progress = models.PositiveSmallIntegerField("进度（%）", default=0)
    error = models.TextField("错误信息", blank=True)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        verbose_name = "导出任务"
        verbose_name_plural = "导出任务"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()}（{self.year}年）"

    @property
    def path(self) -> Path:
        return export_root() / f"{self.pk}.{SUFFIXES.get(self.kind, 'xlsx')}"

    @property
    def is_expired(self):
        return self.expires_at is not None and self.expires_at < timezone.now()

    @property
    def is_downloadable(self):
        return self.status == self.Status.DONE and not self.is_expired and self.path.exists()

    @property
    def is_failed(self):
        return self.status == self.Status.FAILED

    @property
    def is_finished(self):
        return self.status in (self.Status.DONE, self.Status.FAILED)

    def mark_running(self):
        self.status, self.started_at = self.Status.RUNNING, timezone.now()
        self.save(update_fields=["status", "started_at"])

    def set_progress(self, percent):
        """Record how far the build has got (0–100, only ever forward), at once: the status page reads it while
        the build goes on."""
        percent = max(0, min(100, int(percent)))
        if percent > self.progress:
            self.progress = percent
            ExportJob.objects.filter(pk=self.pk).update(progress=percent)

    def mark_done(self, unit_count):
        now = timezone.now()
        self.status, self.finished_at, self.unit_count, self.progress = self.Status.DONE, now, unit_count, 100
        self.expires_at = now + timedelta(hours=settings.EXPORT_LINK_HOURS)
        self.save(update_fields=["status", "finished_at", "unit_count", "expires_at", "progress"])

    def mark_failed(self, message):
        self.status, self.finished_at, self.error = self.Status.FAILED, timezone.now(), message
        self.save(update_fields=["status", "finished_at", "error"])
