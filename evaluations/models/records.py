"""The record kept beside an evaluation: workflow events, review comments, field history and files."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from evaluations.models.choices import SCORE, ContentChannel, EventAction
from evaluations.models.evaluations import Evaluation, EvaluationStatus, IndicatorResult, NarrativeSection
from evaluations.models.projects import Project, ProjectIndicator
from evaluations.text import COMMENT_LIMIT, REASON_LIMIT


class Event(models.Model):
    """One workflow transition, written in the same transaction as the status change. Never changed or deleted."""

    evaluation = models.ForeignKey(Evaluation, verbose_name="自评", on_delete=models.PROTECT, related_name="events")
    action = models.CharField("操作", max_length=30, choices=EventAction.choices)
    from_status = models.CharField("原状态", max_length=24, choices=EvaluationStatus.choices)
    to_status = models.CharField("新状态", max_length=24, choices=EvaluationStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="操作人", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField("原因或意见", blank=True, max_length=REASON_LIMIT)
    total_score = models.DecimalField("当时综合得分", **SCORE)
    version = models.PositiveIntegerField("当时版本")
    document_sha256 = models.CharField("归档文件 SHA-256", max_length=64, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "流程记录"
        verbose_name_plural = "流程记录"
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("流程记录只能追加，不能修改。")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("流程记录只能追加，不能删除。")

    @property
    def changed_status(self):
        """False for publication, which is recorded but leaves the status as it was."""
        return self.from_status != self.to_status


class ReviewComment(models.Model):
    """审核意见 pinned to a row or a narrative section (or the whole evaluation). Sent to the unit on return."""

    evaluation = models.ForeignKey(Evaluation, verbose_name="自评", on_delete=models.CASCADE, related_name="comments")
    result = models.ForeignKey(
        IndicatorResult, verbose_name="指标", null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    section = models.ForeignKey(
        NarrativeSection, verbose_name="说明章节", null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    # A row of one of the package's projects (issue 16: reviewers comment on any row of any project).
    project_row = models.ForeignKey(
        ProjectIndicator, verbose_name="项目指标", null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="审核人", on_delete=models.PROTECT, related_name="+")
    text = models.TextField("审核意见", max_length=COMMENT_LIMIT)
    created_at = models.DateTimeField("提出时间", auto_now_add=True)
    sent_in = models.ForeignKey(
        Event, verbose_name="随退回发出", null=True, blank=True, on_delete=models.PROTECT, related_name="comments"
    )
    answer = models.TextField("单位答复", blank=True, max_length=COMMENT_LIMIT)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="答复人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField("答复时间", null=True, blank=True)

    class Meta:
        verbose_name = "审核意见"
        verbose_name_plural = "审核意见"
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.text[:30]

    @property
    def target_label(self):
        if self.project_row_id:
            return f"项目“{self.project_row.project.name}”指标“{self.project_row.name}”"
        if self.result_id:
            return f"指标“{self.result.name}”"
        if self.section_id:
            return f"“{self.section.title}”"
        return "整体"

    @property
    def is_open(self):
        """Sent to the unit and not yet answered."""
        return self.sent_in_id is not None and not self.answer.strip()


def archive_path(instance, filename):
    return f"archive/{instance.evaluation_id}/{instance.sha256}.pdf"


class ArchivedDocument(models.Model):
    """The 说明 as approved: rendered once at approval, stored, and its SHA-256 recorded in the approval event."""

    evaluation = models.ForeignKey(Evaluation, verbose_name="自评", on_delete=models.PROTECT, related_name="archives")
    event = models.OneToOneField(Event, verbose_name="审核通过记录", on_delete=models.PROTECT, related_name="archive")
    file = models.FileField("归档 PDF", upload_to=archive_path, max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    size = models.PositiveBigIntegerField("大小（字节）")
    created_at = models.DateTimeField("归档时间", auto_now_add=True)

    class Meta:
        verbose_name = "归档说明"
        verbose_name_plural = "归档说明"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.evaluation}（{self.created_at:%Y-%m-%d}）"


def rendered_path(instance, filename):
    return f"rendered/{instance.evaluation_id}/{instance.key}.pdf"


class RenderedDocument(models.Model):
    """The 说明's PDF as rendered for download, kept in storage so that the same text is rendered once, however
    many people download it (issue 13). `key` names exactly what was rendered (evaluations.documents.rendered):
    a new version of the text, the template or the renderer gets a new key; old ones are removed."""

    evaluation = models.ForeignKey(Evaluation, verbose_name="自评", on_delete=models.CASCADE, related_name="+")
    key = models.CharField("内容标识", max_length=64, unique=True)
    file = models.FileField("PDF", upload_to=rendered_path, max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.PositiveBigIntegerField("大小（字节）")
    created_at = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        verbose_name = "已生成的说明 PDF"
        verbose_name_plural = "已生成的说明 PDF"

    def __str__(self):
        return f"{self.evaluation_id}/{self.key[:12]}"


def project_archive_path(instance, filename):
    return f"archive/{instance.evaluation_id}/projects/{instance.sha256}.pdf"


class ArchivedProjectDocument(models.Model):
    """A project's 自评表 as approved with its package: rendered at the approval, stored, its SHA-256 kept here
    (the approval event carries the 说明's; verify_document finds either)."""

    evaluation = models.ForeignKey(Evaluation, verbose_name="自评", on_delete=models.PROTECT, related_name="project_archives")
    event = models.ForeignKey(Event, verbose_name="审核通过记录", on_delete=models.PROTECT, related_name="project_archives")
    project = models.ForeignKey(
        Project, verbose_name="项目", null=True, on_delete=models.SET_NULL, related_name="archives"
    )
    project_name = models.CharField("项目名称（归档时）", max_length=200)
    file = models.FileField("归档 PDF", upload_to=project_archive_path, max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    size = models.PositiveBigIntegerField("大小（字节）")
    created_at = models.DateTimeField("归档时间", auto_now_add=True)

    class Meta:
        verbose_name = "归档项目自评表"
        verbose_name_plural = "归档项目自评表"
        ordering = ["-created_at", "pk"]

    def __str__(self):
        return f"{self.project_name}（{self.created_at:%Y-%m-%d}）"


def evidence_path(instance, filename):
    """A safe name chosen by us (the uploaded name is kept only as a label)."""
    return f"evidence/{instance.evaluation_id}/{uuid.uuid4().hex}.{instance.kind}"


class Evidence(models.Model):
    """佐证材料: a file attached to an evaluation or one of its rows, kept outside the static files."""

    evaluation = models.ForeignKey(Evaluation, verbose_name="自评", on_delete=models.CASCADE, related_name="evidence")
    result = models.ForeignKey(
        IndicatorResult, verbose_name="指标", null=True, blank=True, on_delete=models.SET_NULL, related_name="evidence"
    )
    # A project of the package, and optionally one of its rows (issue 16): the same files, checks and access as the
    # 部门整体's. A project deleted takes its files with it; a row deleted leaves its files on the project.
    project = models.ForeignKey(
        Project, verbose_name="项目", null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    project_row = models.ForeignKey(
        ProjectIndicator, verbose_name="项目指标", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="evidence",
    )
    file = models.FileField("文件", upload_to=evidence_path, max_length=200)
    original_name = models.CharField("原文件名", max_length=255)
    kind = models.CharField("类型", max_length=10)
    size = models.PositiveBigIntegerField("大小（字节）")
    sha256 = models.CharField("SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="上传人", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "佐证材料"
        verbose_name_plural = "佐证材料"
        ordering = ["uploaded_at", "pk"]

    def __str__(self):
        return self.original_name

    @property
    def target_label(self):
        """What the file supports, as the lists say it: "项目“…”指标“…”", "项目“…”", "指标“…”" or ""."""
        if self.project_row_id:
            return f"项目“{self.project.name}”指标“{self.project_row.name}”"
        if self.project_id:
            return f"项目“{self.project.name}”"
        if self.result_id:
            return f"指标“{self.result.name}”"
        return ""


@receiver(post_delete, sender=Evidence)
def _remove_evidence_file(sender, instance, **kwargs):
    """A 佐证材料 row deleted (by itself or with its project) takes its stored file, once the deletion commits."""
    if instance.file.name:
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: storage.delete(name))


class FieldChange(models.Model):
    """Field-level history of an evaluation's content, written in bulk by each save."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="changes")
    object_label = models.CharField("对象", max_length=250)
    field_label = models.CharField("字段", max_length=100)
    old_value = models.TextField("原值", blank=True)
    new_value = models.TextField("新值", blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="修改人", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField("修改时间", auto_now_add=True, db_index=True)
    version = models.PositiveIntegerField("保存后版本")
    channel = models.CharField(
        "修改途径", max_length=20, choices=ContentChannel.choices, default=ContentChannel.EDIT_PAGE
    )

    class Meta:
        verbose_name = "修改记录"
        verbose_name_plural = "修改记录"
        ordering = ["changed_at", "pk"]

    def __str__(self):
        return f"{self.object_label} · {self.field_label}"
