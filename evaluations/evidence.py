"""佐证材料 uploads: checked by their content, not just their name, and stored under a name we choose."""

import hashlib
import zipfile
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError

from evaluations.models import Evidence
from evaluations.spreadsheets.uploads import unpacked_size

ALLOWED = {"pdf": "PDF", "docx": "Word（.docx）", "xlsx": "Excel（.xlsx）", "jpg": "JPG 图片", "png": "PNG 图片"}
ALIASES = {"jpeg": "jpg"}


def _sniff(upload):
    """The kind of file the bytes say it is, or None."""
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(upload) as archive:
                # An Office file is a zip: its declared unpacked size is checked before anything reads it.
                if unpacked_size(archive) > settings.EVIDENCE_MAX_UNPACKED_SIZE:
                    raise ValidationError("文件解压后过大，可能已损坏，请重新导出后再上传。")
                names = {i.filename for i in archive.infolist()}
        except zipfile.BadZipFile:
            return None
        finally:
            upload.seek(0)
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
    return None


def check_upload(upload):
    """The file's kind when it may be stored; otherwise a ValidationError saying in Chinese what to do."""
    if upload is None:
        raise ValidationError("请选择要上传的文件。")
    limit = settings.EVIDENCE_MAX_SIZE
    if upload.size > limit:
        raise ValidationError(
            f"文件“{upload.name}”大小为 {upload.size / 1024 / 1024:.1f} MB，超过 {limit / 1024 / 1024:.0f} MB 的上限，请压缩或拆分后上传。"
        )
    suffix = PurePath(upload.name).suffix.lower().lstrip(".")
    suffix = ALIASES.get(suffix, suffix)
    allowed = "、".join(ALLOWED.values())
    if suffix not in ALLOWED:
        raise ValidationError(f"不支持“.{suffix or '无扩展名'}”文件。佐证材料只接受 {allowed}。")
    kind = _sniff(upload)
    if kind != suffix:
        raise ValidationError(f"文件“{upload.name}”的内容不是{ALLOWED[suffix]}（文件可能已损坏或扩展名被改过），请检查后重新上传。")
    return kind


def attach(evaluation, upload, *, by, result=None, project=None, project_row=None):
    """Store a checked upload for the evaluation, one of its rows, or one of its projects (and a row of it)."""
    if project_row is not None:
        project = project or project_row.project
        if project_row.project_id != project.pk:
            raise ValidationError("所选指标不属于这个项目，请刷新页面后重新选择。")
    if project is not None and project.evaluation_id != evaluation.pk:
        raise ValidationError("这个项目不属于本自评，请刷新页面后重试。")
    kind = check_upload(upload)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    evidence = Evidence(
        evaluation=evaluation, result=result, project=project, project_row=project_row, original_name=PurePath(upload.name).name[:255], kind=kind,
        size=upload.size, sha256=digest.hexdigest(), uploaded_by=by,
    )
    evidence.file.save("ignored", upload, save=False)  # the name comes from evidence_path
    evidence.save()
    return evidence
