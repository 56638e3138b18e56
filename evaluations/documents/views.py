"""The 说明 of one evaluation as HTML (the print page), PDF and Word, and the PDF archived at its approval: the same
scoped loading as every evaluation page (404 when not visible)."""

from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from evaluations.documents import html_pdf
from evaluations.documents.outline import build_document, document_filename
from evaluations.documents.word import DOCX_TYPE, render_docx
from evaluations.models import ArchivedDocument
from evaluations.views import load_evaluation


def _download(content, filename, content_type):
    return FileResponse(ContentFile(content), as_attachment=True, filename=filename, content_type=content_type)


@login_required
def evaluation_document(request, pk):
    evaluation = load_evaluation(request, pk)
    return render(request, "evaluations/document.html", {
        "document": build_document(evaluation),
        "page_tools": True,
        "back_url": reverse("evaluations:detail", args=[pk]), "back_label": "自评表",
        "pdf_url": reverse("evaluations:document_pdf", args=[pk]),
        "docx_url": reverse("evaluations:document_docx", args=[pk]),
        "pdf_unavailable": html_pdf.pdf_unavailable_reason() is not None,
    })


@login_required
def evaluation_pdf(request, pk):
    evaluation = load_evaluation(request, pk)
    if reason := html_pdf.pdf_unavailable_reason():
        return HttpResponse(reason, status=503, content_type="text/plain; charset=utf-8")
    pdf = html_pdf.render_pdf(evaluation)
    return _download(pdf, document_filename(evaluation, "pdf"), html_pdf.PDF_TYPE)


@login_required
def evaluation_docx(request, pk):
    evaluation = load_evaluation(request, pk)
    docx = render_docx(evaluation)
    return _download(docx, document_filename(evaluation, "docx"), DOCX_TYPE)


@login_required
def archived_document(request, pk, archive_pk):
    """The PDF stored at approval, byte for byte (verify_document checks copies of it)."""
    evaluation = load_evaluation(request, pk, contents=False)
    document = get_object_or_404(ArchivedDocument, pk=archive_pk, evaluation=evaluation)
    return FileResponse(
        document.file.open("rb"), as_attachment=True, content_type=html_pdf.PDF_TYPE,
        filename=document_filename(evaluation, "pdf").replace("自评表说明", "自评表说明（审核通过归档）"),
    )
