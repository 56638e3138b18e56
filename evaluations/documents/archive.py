"""The 说明 as approved: rendered once at approval, stored, its SHA-256 written into the approval event, so any
copy can later be checked against what was approved (manage.py verify_document)."""

import hashlib
import logging
import zipfile

from django.conf import settings
from django.core.files.base import ContentFile

from evaluations.documents import html_pdf
from evaluations.documents.outline import document_filename
from evaluations.models import ArchivedDocument, Evaluation, EvaluationStatus, Event, EventAction

logger = logging.getLogger(__name__)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render_for_approval(evaluation) -> bytes | None:
    """The PDF to archive, or None where archiving is switched off or the machine cannot render PDFs (then the
    approval goes on and the log says why: a missing font must not stop the finance bureau's work)."""
    if not settings.ARCHIVE_APPROVED_DOCUMENTS:
        return None
    reason = html_pdf.pdf_unavailable_reason()
    if reason:
        logger.warning("审核通过时未能归档说明 PDF：%s", reason)
        return None
    return html_pdf.render_pdf(Evaluation.objects.with_document_data().get(pk=evaluation.pk))


def store(evaluation, event, pdf: bytes) -> ArchivedDocument:
    document = ArchivedDocument(evaluation=evaluation, event=event, sha256=sha256(pdf), size=len(pdf))
    document.file.save("approved.pdf", ContentFile(pdf), save=True)
    return document


def find(data: bytes):
    """The approval event whose archived document has exactly these bytes, or None."""
    return (
        Event.objects.filter(action=EventAction.APPROVE, document_sha256=sha256(data))
        .select_related("evaluation__unit", "evaluation__framework", "actor")
        .first()
    )


def write_year_zip(evaluations, target) -> int:
    """Every approved 说明 of `evaluations` into a zip written to `target` (a path or binary file), one at a time:
    the archived PDF where there is one, else rendered now. Memory stays flat however many there are."""
    count = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as bundle:
        for evaluation in evaluations.filter(status=EvaluationStatus.APPROVED).select_related("unit", "framework").iterator(chunk_size=20):
            archived = evaluation.latest_archive()
            name = document_filename(evaluation, "pdf")
            if archived:
                with archived.file.open("rb") as source, bundle.open(name, "w") as sink:
                    for chunk in iter(lambda: source.read(1 << 20), b""):
                        sink.write(chunk)
            else:
                bundle.writestr(name, html_pdf.render_pdf(Evaluation.objects.with_document_data().get(pk=evaluation.pk)))
            count += 1
    return count
