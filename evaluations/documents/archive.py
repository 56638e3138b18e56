"""The 说明 as approved: rendered once at approval, stored, its SHA-256 written into the approval event, so any
copy can later be checked against what was approved (manage.py verify_document)."""

import hashlib
import logging
import zipfile

from django.conf import settings
from django.core.files.base import ContentFile

from evaluations.documents import html_pdf, rendered
from evaluations.documents.outline import document_filename
from evaluations.documents.project_table import project_filename
from evaluations.models import (
    ArchivedDocument,
    ArchivedProjectDocument,
    Evaluation,
    EvaluationStatus,
    Event,
    EventAction,
    Project,
)

logger = logging.getLogger(__name__)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Unarchivable(Exception):
    """The approval cannot archive its 说明; the message says in Chinese why (the approval does not happen)."""


# How long an approval waits for a render slot when every one is taken by downloads.
APPROVAL_WAIT_SECONDS = 30


def render_for_approval(evaluation) -> bytes | None:
    """The PDF to archive: the 说明 of exactly the version being approved, or Unarchivable. The PDF reviewers
    downloaded of that version is reused, byte for byte. None only where archiving is switched off
    (ARCHIVE_APPROVED_DOCUMENTS=0: the test suite, for speed); a machine that cannot render PDFs refuses the
    approval, since keeping an earlier archive as the approved one would be wrong (issue 13, item 10)."""
    if not settings.ARCHIVE_APPROVED_DOCUMENTS:
        return None
    if reason := html_pdf.pdf_unavailable_reason():
        raise Unarchivable(f"暂不能审核通过：审核通过时须归档说明 PDF，但{reason}")
    loaded = Evaluation.objects.select_related("unit", "framework").get(pk=evaluation.pk)
    if loaded.version != evaluation.version:
        raise Unarchivable("页面显示的不是最新内容（其他人刚刚修改或处理了该自评），请刷新页面后再操作。")
    try:
        document = rendered.pdf_document(loaded, wait=APPROVAL_WAIT_SECONDS)
        return rendered.read(document)
    except rendered.Busy:
        raise Unarchivable("系统正在生成其他说明 PDF，暂不能归档，请稍后再点“审核通过”。") from None
    except Exception:
        logger.exception("说明 PDF 生成失败（自评 %s）", evaluation.pk)
        raise Unarchivable("暂不能审核通过：说明 PDF 生成失败，请稍后重试；如仍失败请联系系统管理员。") from None


def render_projects_for_approval(evaluation) -> list[tuple[Project, bytes]]:
    """Each project's 自评表 PDF, rendered with the 说明 (issue 16: approval archives every document of the package)."""
    if not settings.ARCHIVE_APPROVED_DOCUMENTS or html_pdf.pdf_unavailable_reason():
        return []
    projects = Project.objects.with_table_data().filter(evaluation=evaluation).order_by("order", "pk")
    return [(project, html_pdf.render_project_pdf(project)) for project in projects]


def store_projects(evaluation, event, rendered) -> list[ArchivedProjectDocument]:
    stored = []
    for project, pdf in rendered:
        document = ArchivedProjectDocument(
            evaluation=evaluation, event=event, project=project, project_name=project.name, sha256=sha256(pdf),
            size=len(pdf),
        )
        document.file.save("approved.pdf", ContentFile(pdf), save=True)
        stored.append(document)
    return stored


def store(evaluation, event, pdf: bytes) -> ArchivedDocument:
    """Store the approved PDF and read it back: the approval completes only if storage holds exactly these bytes."""
    document = ArchivedDocument(evaluation=evaluation, event=event, sha256=sha256(pdf), size=len(pdf))
    document.file.save("approved.pdf", ContentFile(pdf), save=True)
    with document.file.open("rb") as f:
        if sha256(f.read()) != document.sha256:
            raise Unarchivable("暂不能审核通过：归档的说明 PDF 写入存储后校验不一致，请稍后重试。")
    return document


def find(data: bytes):
    """The approval event whose archived document (the 说明 or one of the package's project tables) has exactly
    these bytes, or None."""
    digest = sha256(data)
    events = Event.objects.filter(action=EventAction.APPROVE).select_related(
        "evaluation__unit", "evaluation__framework", "actor"
    )
    return (
        events.filter(document_sha256=digest).first()
        or events.filter(project_archives__sha256=digest).first()
    )


def write_year_zip(evaluations, target) -> int:
    """Every approved 说明 of `evaluations`, and each of its projects' 自评表, into a zip written to `target` (a path
    or binary file), one at a time: the archived PDF where there is one, else rendered now. Memory stays flat
    however many there are. Returns the number of 说明."""
    count = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as bundle:
        for evaluation in evaluations.filter(status=EvaluationStatus.APPROVED).select_related("unit", "framework").iterator(chunk_size=20):
            archived = evaluation.approved_archive()
            name = document_filename(evaluation, "pdf")
            if archived:
                with archived.file.open("rb") as source, bundle.open(name, "w") as sink:
                    for chunk in iter(lambda: source.read(1 << 20), b""):
                        sink.write(chunk)
            else:
                bundle.writestr(name, html_pdf.render_pdf(Evaluation.objects.with_document_data().get(pk=evaluation.pk)))
            _write_projects(bundle, evaluation, archived)
            count += 1
    return count


def _write_projects(bundle, evaluation, archived):
    """The package's project tables beside its 说明: those archived with the same approval, else rendered now."""
    stored = {}
    if archived is not None:
        stored = {d.project_id: d for d in ArchivedProjectDocument.objects.filter(event_id=archived.event_id)}
    projects = Project.objects.with_table_data().filter(evaluation=evaluation).order_by("order", "pk")
    for project in projects:
        name = project_filename(project, "pdf")
        document = stored.get(project.pk)
        if document is not None:
            with document.file.open("rb") as source, bundle.open(name, "w") as sink:
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    sink.write(chunk)
        else:
            bundle.writestr(name, html_pdf.render_project_pdf(project))
