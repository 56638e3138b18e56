"""The 说明 of one evaluation as HTML (the print page), PDF and Word, and the PDF archived at its approval: the same
scoped loading as every evaluation page (404 when not visible).

The PDF is served from storage: the approved archive when the evaluation is approved, else the stored render of
its current text (rendered.py), rendered by this request only when a render slot is free; otherwise the answer is
a page saying "正在生成，请稍候" that asks again every few seconds (a meta refresh: no script) and shows the PDF
once it is there."""

from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from evaluations.documents import html_pdf, rendered
from evaluations.documents.outline import build_document, document_filename
from evaluations.documents.project_table import project_filename
from evaluations.documents.word import DOCX_TYPE, render_docx, render_project_docx
from evaluations.models import ArchivedDocument, ArchivedProjectDocument
from evaluations.project_views import load_project
from evaluations.views import load_evaluation

RETRY_SECONDS = 3
RETRY_PARAMETER = "retry"  # the waiting page's refresh: the PDF is then shown in the browser, replacing the page


def _download(content, filename, content_type):
    return FileResponse(ContentFile(content), as_attachment=True, filename=filename, content_type=content_type)


def pdf_response(request, evaluation, filename, base_template="base.html", inline=False):
    """The 说明's PDF of `evaluation` (loaded with its unit and framework), or the waiting page while rendered.
    Shown in the browser when `inline` or asked again from the waiting page, else downloaded."""
    inline = inline or RETRY_PARAMETER in request.GET
    if archived := evaluation.approved_archive():
        return _file(archived.file, filename, inline)
    if reason := html_pdf.pdf_unavailable_reason():
        return HttpResponse(reason, status=503, content_type="text/plain; charset=utf-8")
    for _attempt in range(2):
        try:
            document = rendered.pdf_document(evaluation)
        except rendered.Busy:
            return _pending(request, evaluation, base_template)
        try:
            return _file(document.file, filename, inline)
        except FileNotFoundError:  # removed from storage by hand: render it again
            document.delete()
    raise FileNotFoundError(document.file.name)


def _file(field_file, filename, inline):
    return FileResponse(
        field_file.open("rb"), as_attachment=not inline, filename=filename, content_type=html_pdf.PDF_TYPE
    )


def _pending(request, evaluation, base_template):
    retry_url = f"{request.path}?{RETRY_PARAMETER}=1"
    response = render(
        request, "evaluations/document_pending.html",
        {"evaluation": evaluation, "retry_url": retry_url, "retry_seconds": RETRY_SECONDS, "base_template": base_template},
        status=202,
    )
    response["Retry-After"] = str(RETRY_SECONDS)
    add_never_cache_headers(response)
    return response


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
    evaluation = load_evaluation(request, pk, contents=False)  # the contents only if it is rendered now
    return pdf_response(request, evaluation, document_filename(evaluation, "pdf"))


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


# --- A project's 项目支出绩效自评表 (issue 16) -------------------------------------------------------------


@login_required
def project_document(request, project_pk):
    project = load_project(request, project_pk)
    return HttpResponse(html_pdf.render_project_html(project, standalone=False))


@login_required
def project_pdf(request, project_pk):
    project = load_project(request, project_pk)
    if reason := html_pdf.pdf_unavailable_reason():
        return HttpResponse(reason, status=503, content_type="text/plain; charset=utf-8")
    return _download(html_pdf.render_project_pdf(project), project_filename(project, "pdf"), html_pdf.PDF_TYPE)


@login_required
def project_docx(request, project_pk):
    project = load_project(request, project_pk)
    return _download(render_project_docx(project), project_filename(project, "docx"), DOCX_TYPE)


@login_required
def archived_project_document(request, project_pk, archive_pk):
    """A project's 自评表 PDF stored at its package's approval, byte for byte."""
    project = load_project(request, project_pk)
    document = get_object_or_404(ArchivedProjectDocument, pk=archive_pk, project=project)
    return FileResponse(
        document.file.open("rb"), as_attachment=True, content_type=html_pdf.PDF_TYPE,
        filename=project_filename(project, "pdf").replace("自评表", "自评表（审核通过归档）"),
    )
